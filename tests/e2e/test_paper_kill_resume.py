"""kill -9 of paper and live runs with live optimization, then ``--run-id``: the rest equals an uninterrupted run.

The bot runs as the user runs it (``kektrade CONFIG --no-tui`` in a subprocess, the real ccxt client
pointed at the local Bybit fake through ``live.api_base``; the live run trades on the fake's account with
API keys from the environment). The test serves the recorded candles one by one and kills the process
with SIGKILL at chosen candles, right after serving one (while the bot polls, ticks, sends orders or
writes), then resumes it with ``--run-id``. At the end the run database — and for the live run the
exchange — hold exactly the uninterrupted result: the in-process backtest of the same candles, which the
parity tests prove equal to uninterrupted paper and live runs. Same selections and fills, each once; on
the exchange no order twice.

Waiting here only detects a hang (generous timeouts); no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from kektrade.domain.journal import MemoryJournal, OrderRecorded
from kektrade.domain.types import FillKind
from kektrade.engine.resume import STATE_KEY
from kektrade.engine.session import build_session
from kektrade.optimize.wiring import optimizer_factory
from kektrade.persistence.database import open_run_database
from tests.engine import test_live_optimization as parity
from tests.engine.live_kit import SYMBOL, wait_until
from tests.fakes.bybit_trading import API_KEY, API_SECRET, MINUTE_MS, T0_MS, FakeBybitExchange

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not parity.REAL.is_file(), reason=f"real data not found: {parity.REAL}")
PAPER_KILLS = (37, 95, 180)  # candles served when each kill comes
LIVE_KILLS = tuple(range(5, 245, 12))  # 20 kills of the live run


def start(config: Path, run_id: str | None = None) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "kektrade", str(config), "--no-tui"] + (["--run-id", run_id] if run_id else [])
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "KEKTRADE_OPT_API_KEY": API_KEY}
    env["KEKTRADE_OPT_API_SECRET"] = API_SECRET
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


def play_with_kills(market: FakeBybitExchange, tmp_path: Path, venue: str, kills_after: tuple[int, ...]) -> Path:
    """Run the CLI on ``venue``, serve the series, SIGKILL and resume at ``kills_after``; the run database."""
    funding = 0.0001 if venue == "paper" else 0.0  # the fake exchange settles no funding
    setup = parity.config_data(tmp_path, venue, funding, api_base=market.base_url)
    setup["persistence"]["batch_interval_s"] = 0.05
    config_path = tmp_path / f"{venue}.json"
    config_path.write_text(json.dumps(setup))
    history = Path(setup["history_dir"])
    rows = parity.series().iloc[parity.HISTORY :]
    child = start(config_path)
    run_id: str | None = None
    try:
        wait_until(lambda: running(history), timeout=120, what="the run started (hang detector)")
        for served, row in enumerate(rows.itertuples(), start=1):
            market.push_candle(SYMBOL, row.open, row.high, row.low, row.close, row.volume)
            opened = T0_MS + (parity.HISTORY + served - 1) * MINUTE_MS
            if served in kills_after:  # mid-processing: the candle may or may not be done
                child.send_signal(signal.SIGKILL)
                child.wait(30)
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
    (db_path,) = history.glob("*/run.sqlite")
    return db_path


def stored(db_path: Path) -> tuple[list[tuple[int, float, float, float]], list[tuple[int, object]]]:
    """(fills, selections) the run database holds."""
    with open_run_database(db_path) as db:
        fills = [(f.time_ms, f.contracts, f.price, f.fee) for f in db.fills("opt") if f.kind is not FillKind.FUNDING]
        chosen = [(s.time_ms, s.parameters) for s in db.selections("opt")]
    return fills, chosen


@pytest.mark.slow
def test_kill_9_during_a_paper_run_with_live_optimization_then_resume(
    market: FakeBybitExchange, tmp_path: Path, tally: Counter[str]
) -> None:
    reference = parity.backtest(tmp_path)
    fills, chosen = stored(play_with_kills(market, tmp_path, "paper", PAPER_KILLS))
    assert len({t for t, _ in chosen}) == len(chosen)  # each selection once
    assert [x for x in chosen if x[0] <= parity.LAST_OPEN_MS] == parity.selections(reference)
    assert fills == pytest.approx(parity.trades(reference), rel=1e-9, abs=1e-9)  # each fill once, none lost
    tally["kills"] += len(PAPER_KILLS)  # in the suite's printed totals (tests/e2e/faults/tally.py)
    tally["restarts"] += len(PAPER_KILLS)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a hang guard only: twenty CLI restarts take minutes on a loaded machine
def test_kill_9_twenty_times_during_a_live_run_with_live_optimization(
    market: FakeBybitExchange, tmp_path: Path, tally: Counter[str]
) -> None:
    journal = MemoryJournal()
    setup = parity.config(tmp_path, "backtest_perpetual", funding=0.0)  # the fake exchange settles no funding
    reference = build_session(setup, "bt", journal, None, optimizer_factory)
    reference.engine.run()
    placed = {e.order.id for e in journal.of_type(OrderRecorded) if e.event == "placed"}
    fills, chosen = stored(play_with_kills(market, tmp_path, "bybit_linear", LIVE_KILLS))
    exchange = market.sims[SYMBOL]
    on_exchange = [(f.time_ms, f.contracts, f.price, f.fee) for f in exchange.fills if f.kind == "trade"]
    assert on_exchange == pytest.approx(parity.trades(reference), rel=1e-9, abs=1e-9)  # the uninterrupted trades
    assert fills == pytest.approx(on_exchange, rel=1e-9, abs=1e-9)  # database = exchange: none lost, none twice
    accepted = market.orders[SYMBOL]
    links = [o.client_id for o in accepted]
    assert len(links) == len(set(links)), "an order was sent twice"
    assert len(accepted) == len(placed)  # exactly the orders of the uninterrupted run
    assert [x for x in chosen if x[0] <= parity.LAST_OPEN_MS] == parity.selections(reference)
    assert exchange.contracts == pytest.approx(reference.instances[0].venue.contracts)
    tally["kills"] += len(LIVE_KILLS)  # in the suite's printed totals (tests/e2e/faults/tally.py)
    tally["restarts"] += len(LIVE_KILLS)


market = parity.market
