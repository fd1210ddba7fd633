"""Live optimization in paper runs: the same selections, fills and equity as a backtest of the same candles.

One recorded series (real BTC/USDT 1m candles of 2024, ../shared/data/real/btcusdt-1m-2024.parquet, re-timed to the
fake's clock) is played (a) as a backtest from a file and (b) as a paper run whose feed is the local
Bybit fake (the real ccxt client) serving the same candles one by one, with live optimization on. The
paper run's history ends at candle H; with the warm start its virtual exchanges are played over the
lookback before H, which the backtest reproduces by starting its real instance one lookback before H
(it stands aside until the first selection, so it trades nothing before H either).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kektrade.config import KektradeConfig, parse_config
from kektrade.control.live import read_resume_records
from kektrade.domain.journal import MemoryJournal, SelectionRecorded
from kektrade.domain.timeframes import format_ms
from kektrade.domain.types import FillKind
from kektrade.engine.live_build import build_live_session
from kektrade.engine.resume import ResumeRecord
from kektrade.engine.session import Session, build_session
from kektrade.optimize.wiring import optimizer_factory
from kektrade.persistence.database import open_run_database
from kektrade.persistence.journal import SqliteJournal
from tests.engine.live_kit import SYMBOL, Stepped, client_factory
from tests.fakes.bybit_trading import MINUTE_MS, T0_MS, FakeBybitExchange

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "btcusdt-1m-2024.parquet"
pytestmark = pytest.mark.skipif(not REAL.is_file(), reason=f"real data not found: {REAL}")
HISTORY = 300  # candles the fake holds when the paper run starts
TOTAL = 560  # candles in the recorded series
LAST_OPEN_MS = T0_MS + (TOTAL - 1) * MINUTE_MS
LOOKBACK_CANDLES = 150  # optimization.lookback "150m" on 1m candles

STRATEGY = textwrap.dedent(
    '''
    import pandas_ta as ta
    from kektrade.strategy.base import OptimizeableStrategy


    class EmaCrossOpt(OptimizeableStrategy):
        """EMA cross with a resting limit below the market; EMA(fast/slow) and RSI(14) indicators."""

        startup_candle_count = 150  # the backtest then loads the series from its first candle, as paper does

        def get_search_space(self):
            return {"fast": [3, 5, 8], "slow": [13, 21], "stake": [0.4]}

        def populate_indicators(self, dataframe, metadata, parameters):
            for n in sorted(set(parameters["fast"]) | set(parameters["slow"])):
                dataframe[f"ema{n}"] = ta.ema(dataframe["close"], length=n)
            dataframe["rsi14"] = ta.rsi(dataframe["close"], length=14)
            return dataframe

        def tick(self, dataframe, index, metadata, parameter, variables, account):
            fast, slow = self.c[f"ema{parameter['fast']}"], self.c[f"ema{parameter['slow']}"]
            rsi = self.c.rsi14
            if index < 1 or fast[index - 1] != fast[index - 1] or slow[index - 1] != slow[index - 1]:
                return
            up = fast[index - 1] <= slow[index - 1] and fast[index] > slow[index]
            down = fast[index - 1] >= slow[index - 1] and fast[index] < slow[index]
            size = account.get_contracts_pct_of_balance(parameter["stake"])
            pos = account.contracts
            if up and pos <= 0 and rsi[index] < 80:
                account.cancel_all_orders()
                account.open_order("market", size - pos)
                account.open_order("limit", size, price=round(self.c.close[index] * 0.998, 1), reduce_only=False)
            elif down and pos > 0:
                account.cancel_all_orders()
                account.open_order("market", -pos, reduce_only=True)


    class EmaCrossOptScheduled(EmaCrossOpt):
        """The same, ticked only on the crosses (and on account news: the limit's fills)."""

        def tick_on(self, dataframe, parameter):
            diff = dataframe[f"ema{parameter['fast']}"] - dataframe[f"ema{parameter['slow']}"]
            before = diff.shift(1)
            return ((before <= 0) & (diff > 0)) | ((before >= 0) & (diff < 0))
    '''
)
SCHEDULED = "EmaCrossOptScheduled"


def series() -> pd.DataFrame:
    """TOTAL real 1m candles on the fake's clock (T0_MS + n minutes)."""
    columns = ["date", "open", "high", "low", "close", "volume"]
    candles = pd.read_parquet(REAL, columns=columns).iloc[5000 : 5000 + TOTAL].reset_index(drop=True)
    candles["date"] = pd.to_datetime([T0_MS + n * MINUTE_MS for n in range(TOTAL)], unit="ms", utc=True)
    return candles


def config(
    tmp_path: Path, venue: str, funding: float = 0.0001, strategy: str = "EmaCrossOpt", **extra: Any
) -> KektradeConfig:
    """The parity config (see ``config_data``), parsed."""
    return parse_config(json.dumps(config_data(tmp_path, venue, funding, strategy, **extra)))


def config_data(
    tmp_path: Path, venue: str, funding: float = 0.0001, strategy: str = "EmaCrossOpt", **extra: Any
) -> dict[str, Any]:
    """The same optimized subaccount on a backtest, paper or live venue; ``extra`` goes to ``live``."""
    strategies = tmp_path / "strategies"
    strategies.mkdir(exist_ok=True)
    (strategies / "ema_cross_opt.py").write_text(STRATEGY)
    csv = tmp_path / "btc.csv"
    if not csv.exists():
        series().to_csv(csv, index=False)
    start_ms = T0_MS + (HISTORY - LOOKBACK_CANDLES) * MINUTE_MS
    data = {
        "metastrategy_id": "parity",
        "strategies_dir": str(strategies),
        "history_dir": str(tmp_path / "history"),
        "data": {"source": "file", "files": {"BTC/USDT:USDT": {"path": str(csv)}}, "funding_rate": funding},
        "backtest": {"start": format_ms(start_ms)},
        "defaults": {"pair": "BTC/USDT:USDT", "timeframe": "1m", "leverage": 3, "strategy": strategy},
        "subaccounts": [
            {
                "id": "opt",
                "venue": venue,
                "initial_balance": 10_000,
                "optimization": {
                    "enabled": True, "reoptimize_every": "20m", "lookback": "150m", "min_trades": 1,
                    "objective": "return", "workers": 1,
                },
            }
        ],
        "live": {"poll_interval_s": 0.05, **extra},
        "persistence": {"equity_sample": "candle"},
    }  # fmt: skip
    return data


@pytest.fixture
def market(fake_server: FakeBybitExchange) -> FakeBybitExchange:
    """The fake holding the first HISTORY candles of the series."""
    fake_server.reset_trading()
    fake_server.open_account(SYMBOL, 10_000.0, leverage=3.0)
    # the exchange's settlements equal the backtest's constant data.funding_rate (paper charges the exchange's)
    fake_server.state.add_funding(SYMBOL, [(T0_MS + k * 8 * 3_600_000, 0.0001) for k in range(2)])
    for row in series().iloc[:HISTORY].itertuples():
        fake_server.push_candle(SYMBOL, row.open, row.high, row.low, row.close, row.volume)
    return fake_server


def backtest(tmp_path: Path, funding: float = 0.0001) -> Session:
    setup = config(tmp_path, "backtest_perpetual", funding)
    session = build_session(setup, "bt", MemoryJournal(), None, optimizer_factory)
    session.engine.run()
    return session


def paper(
    fake: FakeBybitExchange,
    tmp_path: Path,
    journal: MemoryJournal,
    resume: dict[str, ResumeRecord] | None = None,
    strategy: str = "EmaCrossOpt",
) -> Session:
    return build_live_session(
        config(tmp_path, "paper", strategy=strategy), "paper", journal, None, client_factory(fake), resume,
        optimizer_factory,
    )  # fmt: skip


def play(run: Stepped, fake: FakeBybitExchange, rows: pd.DataFrame) -> None:
    """Serve the candles one by one: push to the fake, poll the feed, step the engine."""
    for row in rows.itertuples():
        fake.push_candle(SYMBOL, row.open, row.high, row.low, row.close, row.volume)
        run.poll()


def trades(session: Session) -> list[tuple[int, float, float, float]]:
    venue = session.instances[0].venue
    return [(f.time_ms, f.contracts, f.price, f.fee) for f in venue.fills if f.kind is not FillKind.FUNDING]


def selections(session: Session) -> list[tuple[int, Any]]:
    """(time, parameters) of the selections while candles remain to trade them on.

    A live run also selects at the close of the last served candle (its data never ends); a backtest does
    not select once its data is over (nothing is left to trade the pick on).
    """
    chosen = session.optimizers[0].selections
    return [(s["time_ms"], s["parameters"]) for s in chosen if s["time_ms"] <= LAST_OPEN_MS]


@pytest.mark.parametrize("strategy", ["EmaCrossOpt", SCHEDULED])
def test_paper_run_with_live_optimization_equals_the_backtest(
    market: FakeBybitExchange, tmp_path: Path, strategy: str
) -> None:
    """Also with a tick schedule: the paper run (live frames, one candle at a time) equals the backtest
    ticked on every candle."""
    reference = backtest(tmp_path)
    journal = MemoryJournal()
    session = paper(market, tmp_path, journal, strategy=strategy)
    with Stepped(session) as run:
        play(run, market, series().iloc[HISTORY:])
    assert session.instances[0].next_index == TOTAL
    # the warm start: the first selection is at the first boundary after the start, not a lookback later
    first_boundary = T0_MS + HISTORY * MINUTE_MS
    assert selections(session)[0][0] == first_boundary
    assert selections(session) == selections(reference)
    assert len({str(p) for _, p in selections(session)}) > 1, "the series must make the optimizer switch"
    assert trades(session) == pytest.approx(trades(reference), rel=1e-9, abs=1e-9)
    assert len(trades(session)) >= 4
    assert session.instances[0].venue.equity() == pytest.approx(reference.instances[0].venue.equity(), rel=1e-9)
    books = session.optimizers[0].executor.final_equity()
    assert books == pytest.approx(reference.optimizers[0].executor.final_equity(), rel=1e-9)
    journaled = [r.time_ms for r in journal.of_type(SelectionRecorded)]
    assert journaled == [s["time_ms"] for s in session.optimizers[0].selections]  # each once
    snap = session.engine.snapshot()
    assert snap.mode == "paper" and snap.leaderboards["opt"], "the leaderboard reaches the front ends"


def test_without_warm_start_the_first_selection_waits_a_lookback(market: FakeBybitExchange, tmp_path: Path) -> None:
    session = build_live_session(
        config(tmp_path, "paper", warm_start=False), "paper", MemoryJournal(), None, client_factory(market),
        None, optimizer_factory,
    )  # fmt: skip
    with Stepped(session) as run:
        play(run, market, series().iloc[HISTORY : HISTORY + 180])
    (first, _), *_ = selections(session)
    assert first >= T0_MS + (HISTORY + LOOKBACK_CANDLES) * MINUTE_MS


@pytest.mark.parametrize("strategy", ["EmaCrossOpt", SCHEDULED])
def test_live_run_with_live_optimization_trades_like_the_backtest(
    market: FakeBybitExchange, tmp_path: Path, strategy: str
) -> None:
    """The same order flow through the exchange adapter (real ccxt, the fake's matching) gives the same fills;
    with a tick schedule too (the live venue reports the fills it reads as account news).

    The fake settles no funding, so the backtest runs without it here.
    """
    reference = backtest(tmp_path, funding=0.0)
    session = build_live_session(
        config(tmp_path, "bybit_linear", funding=0.0, strategy=strategy), "live", MemoryJournal(), None,
        client_factory(market), None, optimizer_factory,
    )  # fmt: skip
    with Stepped(session) as run:
        play(run, market, series().iloc[HISTORY:])
    assert selections(session) == selections(reference)
    exchange = [(f.time_ms, f.contracts, f.price, f.fee) for f in market.sims[SYMBOL].fills if f.kind == "trade"]
    assert exchange == pytest.approx(trades(reference), rel=1e-9, abs=1e-9)
    assert trades(session) == pytest.approx(trades(reference), rel=1e-9, abs=1e-9)  # as the adapter read them
    assert market.sims[SYMBOL].equity() == pytest.approx(reference.instances[0].venue.equity(), rel=1e-9)


@pytest.mark.parametrize("strategy", ["EmaCrossOpt", SCHEDULED])
def test_a_killed_paper_run_resumes_to_exactly_the_uninterrupted_result(
    market: FakeBybitExchange, tmp_path: Path, strategy: str
) -> None:
    """Crash mid-run (nothing saved after the last resume point), resume from the run database, go on.

    The run saves its resume point every 7 candles; the crash comes 4 candles after one, so the resumed
    run must process those candles again — without a duplicated row — and its optimizer must replay the
    virtual exchanges to the same state. The result equals the uninterrupted one (the backtest, proven
    equal to an uninterrupted paper run above). With a tick schedule too: the resumed run's virtual exchanges
    replay their schedules to the same state.
    """
    reference = backtest(tmp_path)
    db_path = tmp_path / "run.sqlite"
    setup = config(tmp_path, "paper", strategy=strategy, save_state_every=7)
    rest = series().iloc[HISTORY:]
    crash_at = 7 * 20 + 4  # candles processed before the crash
    with open_run_database(db_path) as db:
        journal = SqliteJournal(db, batch_interval_s=0.05)
        first = build_live_session(setup, "paper", journal, None, client_factory(market), None, optimizer_factory)
        run = Stepped(first)
        run.engine.open()
        play(run, market, rest.iloc[:crash_at])
        journal.flush()  # what a kill -9 leaves: everything committed; the last 4 candles' rows held back
        journal.close()
    records = read_resume_records(db_path, ["opt"])
    assert records["opt"].last_candle_ms == T0_MS + (HISTORY + 7 * 20 - 1) * MINUTE_MS
    with open_run_database(db_path) as db:
        journal = SqliteJournal(db, batch_interval_s=0.05)
        second = build_live_session(
            setup, "paper", journal, None, client_factory(market), records, optimizer_factory
        )  # fmt: skip
        with Stepped(second) as run:
            run.poll()  # catches up on the 4 candles after the resume point
            play(run, market, rest.iloc[crash_at:])
        journal.close()
        stored = [(f.time_ms, f.contracts, f.price, f.fee) for f in db.fills("opt") if f.kind is not FillKind.FUNDING]
        stored_selections = [(s.time_ms, s.parameters) for s in db.selections("opt")]
    assert selections(second) == selections(reference)  # replayed silently up to the resume point, then live
    assert len({t for t, _ in stored_selections}) == len(stored_selections)  # each once in the database
    assert [x for x in stored_selections if x[0] <= LAST_OPEN_MS] == selections(reference)
    assert stored == pytest.approx(trades(reference), rel=1e-9, abs=1e-9)  # each fill once
    assert second.instances[0].venue.equity() == pytest.approx(reference.instances[0].venue.equity(), rel=1e-9)
