"""The live venue's ``step_to`` (a tick schedule's way through live candles) stops at the candle whose read
shows the account changed: an execution, an order leaving the book, the position moving.

The real ccxt client against the local Bybit fake: the fake matches the orders as its candles close; what
counts as a change is read from the fake's own fills, not from the venue.
"""

from __future__ import annotations

import pytest

from tests.e2e.faults.kit import SYMBOL, ensure_candles, fresh_account, venue
from tests.fakes.bybit_trading import FakeBybitExchange


@pytest.fixture
def fake(fake_server: FakeBybitExchange) -> FakeBybitExchange:
    """A fresh 10,000 USDT account with 4 closed candles."""
    return fresh_account(fake_server)


def test_step_to_reports_the_candle_on_which_a_resting_limit_filled(fake: FakeBybitExchange) -> None:
    v = venue(fake.base_url, None, 40)
    v.step(3)
    v.open_order("limit", 0.1, price=98.0)  # the zig-zag's lows reach it within a week of candles
    v.open_order("limit", 0.1, price=90.0)  # never reached: rests throughout
    exchange_fills = len(fake.sims[SYMBOL].fills)
    reported, filled = [], []
    for n in range(4, 30):
        ensure_candles(fake, n + 1)  # candle n closes on the exchange, which matches its orders
        if v.step_to(n, n + 1) == n:
            reported.append(n)
        now = len(fake.sims[SYMBOL].fills)
        if now != exchange_fills:
            filled.append(n)
            exchange_fills = now
    assert filled, "the scenario must fill the near limit"
    assert reported == filled
    assert [o.price for o in v.get_open_orders()] == [90.0]
    assert v.candle_index == 29


def test_step_to_over_several_closed_candles_stops_at_the_first_read_with_news(fake: FakeBybitExchange) -> None:
    v = venue(fake.base_url, None, 40)
    v.step(3)
    ensure_candles(fake, 7)
    assert v.step_to(4, 7) == 7  # nothing resting, nothing happens: all three candles read
    assert v.candle_index == 6
    v.open_order("market", 0.1)
    ensure_candles(fake, 12)  # the fake fills it as the next candle closes
    assert v.step_to(7, 12) == 7  # the first read shows the execution and the position
    assert v.candle_index == 7
    assert v.step_to(8, 12) == 12
