"""Headless mode: Ctrl-C and SIGTERM stop a running backtest cleanly, with results and database intact."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def long_config(tmp_path: Path) -> Path:
    config = {
        "metastrategy_id": "sig",
        "strategies_dir": str(REPO / "strategies"),
        "history_dir": str(tmp_path / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 3, "start": "2024-01-01", "days": 400}},
        "subaccounts": [
            {
                "id": "mm",
                "strategy": "MarketMakerStrategy",
                "pair": "ETH/USDT:USDT",
                "timeframe": "1m",
                "parameters": {"half_spread_bps": 10, "skew": 0.5},
            }
        ],
    }
    path = tmp_path / "sig.json"
    path.write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_run_cleanly(tmp_path: Path, signum: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kektrade", str(long_config(tmp_path)), "--no-tui"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    history = tmp_path / "history"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(history.glob("*/run.sqlite")):
        time.sleep(0.2)
    time.sleep(1.5)  # the engine is running now (a year of 1m market making takes far longer)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (folder,) = history.glob("*_sig")
    results = json.loads((folder / "results.json").read_text())
    candles = results["extra"]["candles"]
    assert 0 < candles < 400 * 1440  # stopped part-way, not run to the end
    assert "stopping after the current chunk" in err and "ACCOUNT" in out
    with sqlite3.connect(folder / "run.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT value FROM run_meta WHERE key = 'status'").fetchone()[0] == '"stopped"'
