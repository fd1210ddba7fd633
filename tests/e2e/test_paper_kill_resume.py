"""kill -9 of a paper run with live optimization, then ``--run-id``: the rest equals an uninterrupted run.

The bot runs as the user runs it (``kektrade CONFIG --no-tui`` in a subprocess, the real ccxt client
pointed at the local Bybit fake through ``live.api_base``). The test serves the recorded candles one by
one; it kills the process with SIGKILL three times at different moments (right after a candle is served,
while the bot processes it) and resumes it with ``--run-id``. At the end the run database holds exactly
the uninterrupted result — the in-process backtest of the same candles, which the parity tests prove
equal to an uninterrupted paper run: the same selections and fills, each once.

Waiting here only detects a hang (generous timeouts); no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kektrade.domain.types import FillKind
from kektrade.engine.resume import STATE_KEY
from kektrade.persistence.database import open_run_database
from tests.engine import test_live_optimization as parity
from tests.engine.live_kit import SYMBOL, wait_until
from tests.fakes.bybit_trading import MINUTE_MS, T0_MS, FakeBybitExchange

REPO = Path(__file__).resolve().parents[2]
KILLS_AFTER = (37, 95, 180)  # candles served when each kill comes


def start(config: Path, run_id: str | None = None) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "kektrade", str(config), "--no-tui"] + (["--run-id", run_id] if run_id else [])
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    err = (config.parent / "stderr.txt").open("ab")
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)


def running(history: Path) -> bool:
    """The run database exists and says the run is going."""
    found = sorted(history.glob("*/run.sqlite"))
    if not found:
        return False
    try:
        with open_run_database(found[0]) as db:
            return db.get_meta("status") == "running"
    except Exception:  # being created
        return False


def saved_candle(history: Path) -> int | None:
    """Open time of the last candle in the run database's latest resume point (None before one)."""
    found = sorted(history.glob("*/run.sqlite"))
    if not found:
        return None
    try:
        with open_run_database(found[0]) as db:
            state = db.latest_state("opt").get(STATE_KEY)
    except Exception:  # the database is being created
        return None
    return int(state["last_candle_ms"]) if state else None


@pytest.mark.slow
def test_kill_9_during_a_paper_run_with_live_optimization_then_resume(
    market: FakeBybitExchange, tmp_path: Path
) -> None:
    reference = parity.backtest(tmp_path)
    setup = parity.config_data(tmp_path, "paper", api_base=market.base_url)
    setup["persistence"]["batch_interval_s"] = 0.05
    config_path = tmp_path / "paper.json"
    config_path.write_text(json.dumps(setup))
    history = Path(setup["history_dir"])
    rows = parity.series().iloc[parity.HISTORY :]
    child = start(config_path)
    run_id: str | None = None
    kills = 0
    try:
        wait_until(lambda: running(history), timeout=120, what="the run started (hang detector)")
        for served, row in enumerate(rows.itertuples(), start=1):
            market.push_candle(SYMBOL, row.open, row.high, row.low, row.close, row.volume)
            opened = T0_MS + (parity.HISTORY + served - 1) * MINUTE_MS
            if served in KILLS_AFTER:  # mid-processing: the candle may or may not be done
                child.send_signal(signal.SIGKILL)
                child.wait(30)
                kills += 1
                run_id = run_id or next(history.glob("*/run.sqlite")).parent.name
                child = start(config_path, run_id)
            assert child.poll() is None, (tmp_path / "stderr.txt").read_text()[-3000:]
            wait_until(lambda t=opened: saved_candle(history) == t, timeout=120, what=f"candle {served} processed")
        child.send_signal(signal.SIGTERM)  # a clean stop: results written
        assert child.wait(120) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    assert kills == len(KILLS_AFTER)
    (db_path,) = history.glob("*/run.sqlite")
    with open_run_database(db_path) as db:
        fills = [(f.time_ms, f.contracts, f.price, f.fee) for f in db.fills("opt") if f.kind is not FillKind.FUNDING]
        chosen = [(s.time_ms, s.parameters) for s in db.selections("opt")]
    assert len({t for t, _ in chosen}) == len(chosen)  # each selection once
    assert [x for x in chosen if x[0] <= parity.LAST_OPEN_MS] == parity.selections(reference)
    assert fills == pytest.approx(parity.trades(reference), rel=1e-9, abs=1e-9)  # each fill once, none lost
    print(f"\nkill -9 suite: kills={kills} duplicated fills=0 lost fills=0 selections={len(chosen)} fills={len(fills)}")


market = parity.market
