#!/usr/bin/env bash
# Shared set-up for ./run.sh and ./test.sh: find Python >= 3.12, create .venv, install the project.
# ./run.sh installs what running needs; ./test.sh passes "dev" to add the test and lint tools
# (pytest, ruff, mypy, import-linter, ...). A dev install also serves ./run.sh.
# Idempotent: reinstalls only when pyproject.toml, setup.py or native-modules.txt changed since the last
# install, when a compiled module's source is newer than its extension (setup.py compiles the simulator
# with mypyc, in place), or when KEKTRADE_PURE=1 (pure Python, no compiler needed) is switched on or off.
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
MODE="compiled"; [ "${KEKTRADE_PURE:-}" = 1 ] && MODE="pure"
EXTRAS="${1:-runtime}"  # runtime | dev
BASE="$(cat "$ROOT/pyproject.toml" "$ROOT/setup.py" "$ROOT/native-modules.txt" | sha256sum | cut -d' ' -f1) $MODE"
WANT="$BASE $EXTRAS"
HAVE="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$EXTRAS" = runtime ] && [ "$HAVE" = "$BASE dev" ]; then
    WANT="$HAVE"  # the dev install holds everything running needs
fi

native_outdated() {  # a listed module not compiled, or a source newer than the compiled code
    PYTHONPATH="$ROOT" "$VENV/bin/python" -c \
        'import sys; from kektrade.native import native_state; sys.exit(1 if native_state().fully_compiled else 0)'
}

clean_native() {
    rm -rf "$ROOT/build"
    find "$ROOT/kektrade" -name '*.cpython-*.so' -delete
    rm -f "$ROOT"/kektrade_native__mypyc*.so
}

dev_requirements() {  # the "dev" extra of pyproject.toml, one requirement a line
    "$VENV/bin/python" -c 'import sys, tomllib; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["dev"]))' "$ROOT/pyproject.toml"
}

if [ "$EXTRAS" = dev ] && [ "$HAVE" = "$BASE runtime" ] && ! { [ "$MODE" = compiled ] && native_outdated; }; then
    echo "adding the test and lint tools to .venv" >&2  # the package itself is installed and current
    dev_requirements | xargs -d '\n' "$VENV/bin/python" -m pip install -q >&2
    echo "$WANT" > "$STAMP"
    HAVE="$WANT"
fi

if [ "$HAVE" != "$WANT" ] || { [ "$MODE" = compiled ] && native_outdated; }; then
    echo "installing kektrade ($MODE, $EXTRAS) and its dependencies into .venv" >&2
    clean_native
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2
    SPEC="$ROOT"; [ "$EXTRAS" = dev ] && SPEC="$ROOT[dev]"
    KEKTRADE_PURE="${KEKTRADE_PURE:-}" "$VENV/bin/python" -m pip install -q -e "$SPEC" >&2
    echo "$WANT" > "$STAMP"
fi
