"""``--run-id`` on a backtest killed with ``kill -9`` starts over cleanly: same results, no duplicated rows.

The killed run is stopped at a known point without racing the clock: its strategy waits at a chosen
candle until a gate file exists, the test kills it there (its journal has committed rows by then), then
opens the gate and resumes. An uninterrupted run of the same config is the reference.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from kektrade.persistence.columnar import COLUMNAR_TABLES, read_rows, table_dir

REPO = Path(__file__).resolve().parents[2]
HANG_DETECTOR_S = 600

GATED = '''
import os
import time

from kektrade.domain.types import OrderType
from kektrade.strategy.base import Strategy


class GatedQuoterStrategy(Strategy):
    """Quotes both sides around the close; at candle ``gate_at`` waits until the gate file exists."""

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        if metadata["mode"] == "backtest" and index == parameter["gate_at"]:
            open(parameter["gate"] + ".reached", "w").close()
            while not os.path.exists(parameter["gate"]):
                time.sleep(0.01)
        close = self.c.close[index]
        account.cancel_all_orders()
        account.open_order(OrderType.LIMIT, 0.01, price=round(close * 0.999, 1), post_only=True)
        account.open_order(OrderType.LIMIT, -0.01, price=round(close * 1.001, 1), post_only=True)
'''


def write_config(folder: Path, gate: Path, history: Path) -> Path:
    """A quoting subaccount that passes a gate and an optimized SMA/RSI subaccount with two workers."""
    strategies = folder / "strategies"
    strategies.mkdir(exist_ok=True)
    (strategies / "gated.py").write_text(textwrap.dedent(GATED))
    shutil.copy(REPO / "strategies" / "sma_rsi.py", strategies / "sma_rsi.py")
    doc: dict[str, Any] = {
        "metastrategy_id": "resume",
        "strategies_dir": str(strategies),
        "history_dir": str(history),
        "data": {"source": "synthetic", "synthetic": {"seed": 11, "start": "2024-01-01", "days": 12}},
        "persistence": {"batch_interval_s": 0.05},
        "subaccounts": [
            {
                "id": "quoter",
                "strategy": "GatedQuoterStrategy",
                "pair": "ETH/USDT:USDT",
                "timeframe": "5m",
                "parameters": {"gate_at": 2000, "gate": str(gate)},
            },
            {
                "id": "sma",
                "strategy": "SmaRsiStrategy",
                "pair": "BTC/USDT:USDT",
                "timeframe": "15m",
                "optimization": {"enabled": True, "reoptimize_every": "1d", "lookback": "4d", "workers": 2},
            },
        ],
    }
    path = folder / "resume.json"
    path.write_text(json.dumps(doc))
    return path


def kektrade(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess (the timeout only detects a hang)."""
    command = [sys.executable, "-m", "kektrade", *args, "--no-tui"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=HANG_DETECTOR_S, check=False)


def comparable(results: dict[str, Any]) -> dict[str, Any]:
    """The results without what differs between two runs of one config: the run id and wall times."""
    out = json.loads(json.dumps(results))
    out["run"].pop("run_id")
    out["extra"].pop("wall_time_s")
    return out


def table_rows(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, each subaccount's in recording order, without the row id.

    (Subaccounts interleave in the order their chunks ran, which follows wall-time chunk sizing.)
    """
    with sqlite3.connect(db_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out = {}
        for table in tables:
            if table in ("run_meta", "sqlite_sequence"):
                continue
            columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")') if r[1] != "id"]
            names = ", ".join(f'"{c}"' for c in columns)
            order = "subaccount, rowid" if "subaccount" in columns else "rowid"
            out[table] = db.execute(f'SELECT {names} FROM "{table}" ORDER BY {order}').fetchall()
    for table in COLUMNAR_TABLES:  # a backtest's fills and order events (kektrade.persistence.columnar)
        out[f"{table} (columnar)"] = sorted(read_rows(table_dir(db_path, table)), key=lambda r: r[0])
    return out


def meta(db_path: Path, key: str) -> Any:
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT value FROM run_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else json.loads(row[0])


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_run_id_on_a_killed_backtest_gives_the_uninterrupted_result_without_duplicates(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    reference_history, killed_history = tmp_path / "reference", tmp_path / "history"
    gate.touch()
    done = kektrade(tmp_path, str(write_config(tmp_path, gate, reference_history)))
    assert done.returncode == 0, done.stderr
    (reference,) = reference_history.iterdir()
    gate.unlink()
    Path(str(gate) + ".reached").unlink()

    config = write_config(tmp_path, gate, killed_history)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kektrade", str(config), "--no-tui"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        reached = Path(str(gate) + ".reached")
        deadline = time.monotonic() + HANG_DETECTOR_S
        while not reached.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        (folder,) = killed_history.iterdir()
        while not _committed(folder / "run.sqlite") and time.monotonic() < deadline:
            time.sleep(0.05)  # the journal has committed part of the run
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _committed(folder / "run.sqlite") > 0 and meta(folder / "run.sqlite", "status") == "running"
    assert not (folder / "results.json").exists()

    gate.touch()
    done = kektrade(tmp_path, str(config), "--run-id", folder.name)
    assert done.returncode == 0, done.stderr
    assert "the earlier attempt did not finish; deleted its rows" in done.stderr

    expected = json.loads((reference / "results.json").read_text())
    got = json.loads((folder / "results.json").read_text())
    assert comparable(got) == comparable(expected)
    assert table_rows(folder / "run.sqlite") == table_rows(reference / "run.sqlite")
    assert meta(folder / "run.sqlite", "status") == "finished"
    assert meta(folder / "run.sqlite", "results_file") == "results.json"  # one copy of the results
    assert meta(folder / "run.sqlite", "results") is None

    again = kektrade(tmp_path, str(config), "--run-id", folder.name)  # finished now: shown, not rerun
    assert again.returncode == 0 and "finished earlier; its results" in again.stdout
    for viewer in ("show", "serve", "report"):  # and where to study it
        assert f"kektrade {viewer} {folder.name}" in again.stdout
    assert table_rows(folder / "run.sqlite") == table_rows(reference / "run.sqlite")


def _committed(db_path: Path) -> int:
    """Equity rows committed so far (0 while the file or table does not exist yet).

    A backtest's fills and order events are written in bulk (columnar parts, at the end); its equity
    samples and statuses go through the SQLite journal as the run goes.
    """
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path) as db:
            return int(db.execute('SELECT COUNT(*) FROM "equity_sample"').fetchone()[0])
    except sqlite3.OperationalError:
        return 0
