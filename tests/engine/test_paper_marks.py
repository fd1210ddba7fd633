"""Issue 11: paper runs mark at the exchange's mark price and settle the exchange's funding (polled from the
local Bybit fake through the real ccxt client), as of the time each value was known; an exchange without
them gets a notice, never a crash."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from kektrade.domain.journal import MemoryJournal
from kektrade.domain.types import FillKind
from kektrade.engine.live_build import build_live_session
from kektrade.engine.session import Session
from kektrade.exchange.sim.exchange import SimExchange
from tests.engine.live_kit import SYMBOL, Stepped, client_factory, live_config, push
from tests.fakes.bybit_trading import MINUTE_MS, T0_MS, FakeBybitExchange
from tests.fakes.bybit_v5 import BybitError, RecordedRequest

MARK_BELOW = 3.0  # the fake's mark candles are the trade candles minus this


def with_marks(fake: FakeBybitExchange, count: int) -> list[int]:
    """Push ``count`` candles (``live_kit.push``) and their mark candles; returns their open times."""
    times = push(fake, count)
    for t in times:
        o, h, lo, c = (fake.state.klines[("linear", SYMBOL, "1")][t][k] for k in range(1, 5))
        fake.state.add_klines(SYMBOL, [[t, o - MARK_BELOW, h - MARK_BELOW, lo - MARK_BELOW, c - MARK_BELOW]],
                              mark=True)
    return times


@pytest.fixture
def market(fake: FakeBybitExchange) -> Iterator[FakeBybitExchange]:
    """The fake with 10 candles of history, their mark candles and one settlement in the history."""
    fake.state.mark_klines.clear()
    fake.state.funding.clear()
    for t in sorted(fake.state.klines[("linear", SYMBOL, "1")]):
        o, h, lo, c = fake.state.klines[("linear", SYMBOL, "1")][t][1:5]
        fake.state.add_klines(SYMBOL, [[t, o - MARK_BELOW, h - MARK_BELOW, lo - MARK_BELOW, c - MARK_BELOW]],
                              mark=True)
    fake.state.add_funding(SYMBOL, [(T0_MS + 5 * MINUTE_MS, 0.0002)])
    yield fake
    fake.state.mark_klines.clear()
    fake.state.funding.clear()


def paper(fake: FakeBybitExchange, tmp_path: Path) -> Session:
    config = live_config(tmp_path, [{"id": "p", "venue": "paper"}])
    return build_live_session(config, "run", MemoryJournal(), None, client_factory(fake))


def bybit_funding_fee(qty: str, mark: str, rate: str) -> float:
    """Bybit's funding fee, written out: |qty x mark x rate| rounded up to 8 decimals."""
    exact = Decimal(qty) * Decimal(mark) * Decimal(rate)
    return float(exact.quantize(Decimal("1e-8"), rounding=ROUND_UP))


def test_paper_marks_at_the_exchanges_mark_price_and_settles_its_funding(market: FakeBybitExchange,
                                                                          tmp_path: Path) -> None:
    session = paper(market, tmp_path)
    venue = session.instances[0].venue
    assert isinstance(venue, SimExchange)
    assert venue.market.has_mark and venue.market.mark_close[-1] == venue.market.close[-1] - MARK_BELOW
    assert list(venue.market.funding_time_ms) == [T0_MS + 5 * MINUTE_MS]  # the history's settlement
    assert venue.spec.source.startswith("bybit market data")  # the exchange's numbers, not the built-in ones
    rate = "0.00012345"
    hour = T0_MS + 60 * MINUTE_MS
    with Stepped(session) as run:
        times = with_marks(market, 3)  # candles 10-12; the strategy buys 0.01 at market at its 2nd tick
        for _ in times:
            run.poll()
        with_marks(market, 47)  # candles 13-59: the fake's clock is 01:00 now
        # the 01:00 settlement is listed: known from now on, due at candle 60's open
        market.state.add_funding(SYMBOL, [(hour, float(rate))])
        run.poll()
        assert not [f for f in venue.fills if f.kind is FillKind.FUNDING]  # candle 59 is before it
        assert list(venue.market.funding_time_ms)[-1] == hour
        with_marks(market, 2)  # candles 60 and 61
        run.poll()
    (trade,) = [f for f in venue.fills if f.kind is FillKind.TRADE]
    assert (trade.time_ms, trade.contracts) == (T0_MS + 12 * MINUTE_MS, 0.01)
    (funding,) = [f for f in venue.fills if f.kind is FillKind.FUNDING]
    mark_open = 100.0 + 60 - MARK_BELOW  # candle 60 opens at 160 on the trade side, 157 on the mark side
    assert (funding.time_ms, funding.price, funding.fee_rate) == (hour, mark_open, float(rate))
    assert funding.fee == bybit_funding_fee("0.01", "157", rate)
    position = venue.get_position()
    assert position.mark_price == 100.0 + 61 + 0.5 - MARK_BELOW  # candle 61's mark close, not its last price
    assert position.unrealized_pnl == pytest.approx(0.01 * (position.mark_price - trade.price))


def test_a_settlement_published_late_is_settled_once_at_the_next_candle(market: FakeBybitExchange,
                                                                        tmp_path: Path) -> None:
    session = paper(market, tmp_path)
    venue = session.instances[0].venue
    assert isinstance(venue, SimExchange)
    hour = T0_MS + 60 * MINUTE_MS
    with Stepped(session) as run:
        for _ in range(3):  # candles 10-12: a position from candle 12
            with_marks(market, 1)
            run.poll()
        with_marks(market, 48)  # candles 13-60
        run.poll()  # looks for the 01:00 settlement: not listed yet
        # the exchange lists the 01:00 settlement only now, after candle 60 was processed
        market.state.add_funding(SYMBOL, [(hour, 0.0004)])
        for _ in range(3):
            with_marks(market, 1)
            run.poll()
    fundings = [f for f in venue.fills if f.kind is FillKind.FUNDING]
    assert [(f.time_ms, f.price) for f in fundings] == [(hour, 100.0 + 61 - MARK_BELOW)]
    assert fundings[0].fee == bybit_funding_fee("0.01", str(100.0 + 61 - MARK_BELOW), "0.0004")


def fail(code: int, message: str) -> Any:
    def handler(_state: object, _request: RecordedRequest) -> Any:
        raise BybitError(code, message)

    return handler


def test_an_exchange_without_marks_or_funding_gets_a_notice_not_a_crash(
    market: FakeBybitExchange, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market.state.mark_klines.clear()
    original = market.routes[("GET", "/v5/market/funding/history")]
    market.route("GET", "/v5/market/funding/history", fail(10016, "service unavailable"))
    try:
        with caplog.at_level(logging.WARNING, "kektrade.engine"):
            session = paper(market, tmp_path)
            venue = session.instances[0].venue
            assert isinstance(venue, SimExchange)
            with Stepped(session) as run:
                with_marks(market, 1)  # mark candles appear, but the run marks at the last price throughout
                run.poll()
    finally:
        market.route("GET", "/v5/market/funding/history", original)
    assert not venue.market.has_mark
    text = caplog.text
    assert "serves no mark-price candles; the last price stands in for the mark price" in text
    assert "funding history unavailable" in text and "a constant data.funding_rate" in text
    assert venue._const_rate == session.config.data.funding_rate  # the constant as the fallback
    assert len(run.variables()["seen"]) == 1  # the run went on


def test_a_failed_mark_poll_falls_back_to_the_last_price_for_those_candles(
    market: FakeBybitExchange, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session = paper(market, tmp_path)
    venue = session.instances[0].venue
    assert isinstance(venue, SimExchange)
    original = market.routes[("GET", "/v5/market/mark-price-kline")]
    with Stepped(session) as run, caplog.at_level(logging.WARNING, "kektrade.engine"):
        market.route("GET", "/v5/market/mark-price-kline", fail(10016, "service unavailable"))
        (broken,) = with_marks(market, 1)
        run.poll()
        market.route("GET", "/v5/market/mark-price-kline", original)
        (fine,) = with_marks(market, 1)
        run.poll()
    m = venue.market
    i, j = list(m.time_ms).index(broken), list(m.time_ms).index(fine)
    assert m.mark_close[i] == m.close[i]  # the last price stood in
    assert m.mark_close[j] == m.close[j] - MARK_BELOW  # the exchange's mark again
    assert "mark-price poll failed" in caplog.text
    assert len(run.variables()["seen"]) == 2


def test_a_restored_simulator_settles_each_settlement_once() -> None:
    # a paper resume re-reads the history: the restored funding clock picks up after what was settled
    from kektrade.domain.specs import builtin_spec
    from kektrade.exchange.sim.settings import MarketArrays
    from kektrade.exchange.sim.state import export_state, restore_state

    spec = builtin_spec("BTCUSDT")
    assert spec is not None

    def venue(candles: int, settlements: list[tuple[int, float]]) -> SimExchange:
        times = [T0_MS + k * MINUTE_MS for k in range(candles)]
        prices = [100.0] * candles
        market = MarketArrays(times, prices, prices, prices, prices, MINUTE_MS,
                              funding_time_ms=[t for t, _ in settlements], funding_rate=[r for _, r in settlements])
        return SimExchange(spec, market, initial_balance=1_000, leverage=2)

    rows = [(T0_MS + 2 * MINUTE_MS, 0.001), (T0_MS + 4 * MINUTE_MS, 0.002)]
    first = venue(6, rows)
    first.step(0)
    first.open_order("market", 1.0)
    for i in range(1, 4):
        first.step(i)  # the 00:02 settlement is paid
    saved = export_state(first)
    again = venue(6, rows)  # the resumed run's history holds both settlements again
    restore_state(again, saved)
    again.set_clock(3)
    again.sync_funding(restored=True)
    for i in range(4, 6):
        again.step(i)
    paid = [(f.time_ms, f.fee_rate) for f in first.fills + again.fills if f.kind is FillKind.FUNDING]
    assert paid == rows  # each once, with its own rate
