#!/usr/bin/env bash
# Shared set-up for ./run.sh and ./test.sh: find Python >= 3.12, create .venv, install the project.
# Idempotent: reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
    local c
    for c in "${KEKTRADE_PYTHON:-}" python3.13 python3.12 python3 "$HOME/.pyenv/versions/3.12.1/bin/python"; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$c"; return 0
        fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        local v; v="$(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9]' | sort -V | tail -n 1 || true)"
        if [ -n "$v" ]; then echo "$(pyenv root)/versions/$v/bin/python"; return 0; fi
    fi
    echo "kektrade needs Python >= 3.12 (set KEKTRADE_PYTHON to its path)" >&2
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    PY="$(find_python)"
    echo "setting up $VENV with $PY" >&2
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.kektrade-installed"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "installing kektrade and its dependencies into .venv" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2
    "$VENV/bin/python" -m pip install -q -e "$ROOT[dev]" >&2
    echo "$WANT" > "$STAMP"
fi
