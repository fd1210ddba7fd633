"""A failing engine thread or journal writer ends the run: a clear error, exit 1, results so far — no hang.

End to end through ``python -m kektrade CONFIG --no-tui`` in a subprocess; the subprocess timeout is only a
hang detector (a hang is the bug these tests guard against), never a speed limit.
"""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from kektrade.analysis.report import iso_ms
from kektrade.control.facade import RunController, RunFailedError, RunPaths
from kektrade.domain.journal import EquitySampled, OrderRecorded
from kektrade.domain.types import Order, OrderType
from kektrade.persistence.database import open_run_database
from kektrade.persistence.journal import JournalError, SqliteJournal
from tests.engine.kit import config

HANG_DETECTOR_S = 600

STRATEGIES = '''
import os
import signal

from kektrade.domain.types import OrderType
from kektrade.strategy.base import OptimizeableStrategy, Strategy


class TraderStrategy(Strategy):
    """Flips a small position every 50 candles: a steady stream of orders and fills to record."""

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        if index % 50 == 0:
            account.open_order(OrderType.MARKET, 0.01 if account.contracts <= 0 else -0.01)


class OomInTrialsStrategy(OptimizeableStrategy):
    """In the optimizer's workers, the process is killed at a candle (as the kernel's OOM killer would)."""

    def get_search_space(self):
        return {"every": [20, 30, 40, 60]}

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        if metadata["mode"] == "trial" and index == 2000:
            os.kill(os.getpid(), signal.SIGKILL)
        if index % parameter["every"] == 0:
            account.open_order(OrderType.MARKET, 0.01 if account.contracts <= 0 else -0.01)
'''


def project(tmp_path: Path, subaccount: dict[str, Any], days: int = 20) -> Path:
    """A config (with its strategies) in tmp_path; returns the config's path."""
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "failing.py").write_text(textwrap.dedent(STRATEGIES))
    doc = {
        "metastrategy_id": "fail",
        "strategies_dir": str(tmp_path / "strategies"),
        "history_dir": str(tmp_path / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 4, "start": "2024-01-01", "days": days}},
        "persistence": {"batch_interval_s": 0.05, "equity_sample": "candle"},
        "subaccounts": [{"pair": "BTC/USDT:USDT", "timeframe": "5m", **subaccount}],
    }
    path = tmp_path / "fail.json"
    path.write_text(json.dumps(doc))
    return path


def kektrade(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess; a run that hangs fails the test (instead of hanging it)."""
    return subprocess.run(
        [sys.executable, "-m", "kektrade", *args, "--no-tui"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG_DETECTOR_S,
        check=False,
    )


def test_a_row_the_database_refuses_ends_the_run_with_exit_1_and_results_so_far(tmp_path: Path) -> None:
    path = project(tmp_path, {"id": "t", "strategy": "TraderStrategy"})
    run_id = "2024-01-01_00-00-00_fail"
    folder = tmp_path / "history" / run_id
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(path.read_text())
    with open_run_database(folder / "run.sqlite") as db:  # a database that refuses equity rows after a point
        db.database.execute_sql(
            'CREATE TRIGGER refuse BEFORE INSERT ON "equity_sample" WHEN NEW.time_ms >= 1704412800000 '
            "BEGIN SELECT RAISE(ABORT, 'no equity after Jan 5 here'); END"
        )
    done = kektrade(tmp_path, str(path), "--run-id", run_id)
    assert done.returncode == 1, done.stderr
    refused = "run.sqlite refused a equity row of subaccount 't' (no equity after Jan 5 here): time_ms=17044"
    assert refused in done.stderr
    assert "error: the run database lost records" in done.stderr
    results = json.loads((folder / "results.json").read_text())
    with sqlite3.connect(folder / "run.sqlite") as db:
        status = db.execute("SELECT value FROM run_meta WHERE key = 'status'").fetchone()[0]
        error = json.loads(db.execute("SELECT value FROM run_meta WHERE key = 'error'").fetchone()[0])
        times = [t for (t,) in db.execute('SELECT time_ms FROM "equity_sample" ORDER BY time_ms, id')]
    assert json.loads(status) == "failed" and "refused a equity row" in error
    # every sample before the refused ones is in the database (one per candle)
    assert len(times) > 10 and times == list(range(times[0], 1704412800000, 300_000))
    # the fills up to the stop are stored (a backtest's: columnar, at the end), none after the results' end
    with open_run_database(folder / "run.sqlite") as db:
        fills = db.fills("t")
    assert len(fills) > 10 and iso_ms(fills[-1].time_ms) <= results["run"]["end"]


def test_a_dead_optimizer_worker_ends_the_run_with_exit_1_and_results_so_far(tmp_path: Path) -> None:
    optimization = {"enabled": True, "reoptimize_every": "1d", "lookback": "1d", "workers": 2, "min_trades": 0}
    path = project(tmp_path, {"id": "o", "strategy": "OomInTrialsStrategy", "optimization": optimization})
    done = kektrade(tmp_path, str(path))
    assert done.returncode == 1, done.stderr
    assert "was killed by SIGKILL (out of memory?" in done.stderr
    (folder,) = (tmp_path / "history").iterdir()
    results = json.loads((folder / "results.json").read_text())
    assert results["extra"]["candles"] < 20 * 288
    with sqlite3.connect(folder / "run.sqlite") as db:
        status = db.execute("SELECT value FROM run_meta WHERE key = 'status'").fetchone()[0]
    assert json.loads(status) == "failed"


def nan_rejection(time_ms: int) -> OrderRecorded:
    """A rejected order carrying a NaN quantity, as a strategy's bad arithmetic produces it."""
    order = Order(f"o{time_ms}", "BTC/USDT:USDT", OrderType.MARKET, math.nan, created_ms=time_ms)
    order.reject_reason = "invalid quantity"
    return OrderRecorded("s", time_ms, "rejected", order)


def test_journal_refusing_a_nan_quantity_names_it_keeps_the_rest_and_reports_once(tmp_path: Path) -> None:
    failures: list[JournalError] = []
    with open_run_database(tmp_path / "run.sqlite") as db:
        journal = SqliteJournal(db, batch_interval_s=60, on_failure=failures.append)
        journal.record(EquitySampled("s", 1, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0))
        journal.record(nan_rejection(2))
        journal.record(EquitySampled("s", 3, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0))
        with pytest.raises(JournalError, match=r"refused a order_event row of subaccount 's' \(NOT NULL"):
            journal.flush()
        assert len(failures) == 1 and "contracts=nan" in str(failures[0])
        assert db.equity("s")[0] == [1, 3]  # the rows around the refused one are kept
        journal.record(nan_rejection(4))  # later failures are named on flush, the callback ran once
        with pytest.raises(JournalError):
            journal.flush()
        assert len(failures) == 1
        journal.close()


def test_journal_gives_up_on_a_database_it_cannot_write(tmp_path: Path) -> None:
    failures: list[JournalError] = []
    with open_run_database(tmp_path / "run.sqlite") as db:
        journal = SqliteJournal(db, batch_interval_s=60, on_failure=failures.append)
        db.database.execute_sql('ALTER TABLE "equity_sample" RENAME TO "equity_away"')
        journal.record(EquitySampled("s", 1, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0))
        for attempt in range(5):
            with pytest.raises(JournalError, match="will retry"):
                journal.flush()
            assert len(failures) == (1 if attempt == 4 else 0)
        assert "5 writes to" in str(failures[0])
        db.database.execute_sql('ALTER TABLE "equity_away" RENAME TO "equity_sample"')
        journal.close()
        assert db.equity("s")[0] == [1]  # kept and written once the database took it


def test_wait_never_hangs_on_an_engine_thread_that_died_without_reporting(tmp_path: Path) -> None:
    controller = RunController(config(tmp_path, [{"id": "p", "strategy": "ProbeStrategy", "pair": "BTC/USDT:USDT"}]))
    controller.build()
    controller._thread = threading.Thread(target=lambda: None)  # ends without setting "done"
    controller._thread.start()
    controller._thread.join()
    assert controller.wait(0.01)
    assert isinstance(controller.error, RunFailedError)
    controller.close()


def test_engine_failure_in_process_writes_results_and_status(tmp_path: Path) -> None:
    cfg = config(tmp_path, [{"id": "p", "strategy": "ProbeStrategy", "pair": "BTC/USDT:USDT"}])
    controller = RunController(cfg)
    session = controller.build()
    folder = tmp_path / "run"
    folder.mkdir()
    controller.attach(RunPaths("r", folder, folder / "run.sqlite"))

    def explode(until_ms: int) -> None:
        raise MemoryError("the engine ran out of memory")

    session.engine._advance_all = explode  # type: ignore[method-assign]
    controller.start()
    assert controller.wait(60)
    assert isinstance(controller.error, MemoryError)
    assert json.loads((folder / "results.json").read_text())["run"]["run_id"] == "r"
    with open_run_database(folder / "run.sqlite") as db:
        assert db.get_meta("status") == "failed"
        assert db.get_meta("error") == "MemoryError: the engine ran out of memory"
    controller.close()


def test_a_journal_failure_stops_the_engine_at_its_next_chunk(tmp_path: Path) -> None:
    cfg = config(tmp_path, [{"id": "p", "strategy": "ProbeStrategy", "pair": "BTC/USDT:USDT"}])
    controller = RunController(cfg)
    session = controller.build()
    folder = tmp_path / "run"
    folder.mkdir()
    controller.attach(RunPaths("r", folder, folder / "run.sqlite"))
    controller.journal.record(nan_rejection(1))
    with pytest.raises(JournalError):
        controller.journal.flush()  # the writer met the refused row: the engine was told to stop
    session.engine.chunk_ms = session.engine._finest_ms * 10  # small chunks: the queued stop applies early
    controller.start()
    assert controller.wait(60)
    assert isinstance(controller.error, RunFailedError)
    assert "lost records, so the run stopped" in str(controller.error)
    assert session.engine.done < session.engine.total  # stopped early, not run to the end
    with open_run_database(folder / "run.sqlite") as db:
        assert db.get_meta("status") == "failed"
    controller.close()


def test_wait_sees_a_run_that_finished_just_after_the_wait_timed_out() -> None:
    import threading
    from types import SimpleNamespace

    from kektrade.control.facade import RunController

    class LateEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            self.set()  # the engine thread reports and ends right after this wait timed out
            return False

    ended = threading.Thread(target=lambda: None)
    ended.start()
    ended.join()
    failures: list[BaseException] = []
    stub = SimpleNamespace(_done=LateEvent(), _thread=ended, _fail=failures.append)
    assert RunController.wait(stub, 0.01) is True  # type: ignore[arg-type]
    assert failures == []  # not "ended without reporting"
    silent = SimpleNamespace(_done=threading.Event(), _thread=ended, _fail=failures.append)
    assert RunController.wait(silent, 0.01) is True  # type: ignore[arg-type]
    assert "ended without reporting" in str(failures[0])
