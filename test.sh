#!/usr/bin/env bash
# The test suite: set up if needed, then lint (ruff), import boundaries (import-linter),
# type check (mypy) and tests (pytest). Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$ROOT/scripts/bootstrap.sh" dev
cd "$ROOT"
BIN="$ROOT/.venv/bin"
echo "== ruff"; "$BIN/ruff" check kektrade tests strategies bench
echo "== import-linter"; "$BIN/lint-imports" --no-cache
echo "== mypy"; "$BIN/mypy"
echo "== pytest"; "$BIN/python" -m pytest -n 2 -q "$@"
