#!/usr/bin/env bash
# The main job: set up if needed, then run the demo meta-strategy backtest in the TUI.
# Extra arguments are passed to kektrade, e.g. ./run.sh --no-tui  or  ./run.sh configs/other.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
if [ $# -eq 0 ] || [[ "$1" == -* ]]; then
    set -- configs/demo.json "$@"
fi
exec "$ROOT/.venv/bin/kektrade" "$@"
