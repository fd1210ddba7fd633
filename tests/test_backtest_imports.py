"""A backtest does not pay for what only live trading needs: ccxt (about 50 MB and 0.35 s) stays unloaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
from pathlib import Path
from kektrade.config import load_config
from kektrade.control.facade import RunController
loaded = load_config(Path("configs/demo.json"))
config = loaded[0] if isinstance(loaded, tuple) else loaded
controller = RunController(config)
controller.build()
controller.session.engine.snapshot()
print("ccxt" in sys.modules)
"""


def test_building_and_viewing_a_backtest_never_imports_ccxt() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], check=False, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
