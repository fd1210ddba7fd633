"""The simulator reads the market through a window of list copies: growing and trimmed columns stay right."""

from __future__ import annotations

from kektrade.domain.types import OrderStatus, OrderType
from kektrade.exchange.sim.accounting import WINDOW
from tests.exchange.sim.simkit import MINUTE, T0, make_sim


def test_candles_appended_after_the_window_was_read_are_seen() -> None:
    sim = make_sim([(100.0, 101.0, 99.0, 100.0)] * 3)
    for i in range(3):
        sim.step(i)
    order = sim.open_order(OrderType.LIMIT, 1.0, 95.0)
    sim.market.append(T0 + 3 * MINUTE, 100.0, 100.5, 96.0, 97.0)  # does not reach 95
    sim.market.append(T0 + 4 * MINUTE, 97.0, 97.5, 94.0, 96.0)  # trades through 95
    sim.step(3)
    assert sim.last_price == 97.0 and order.status is OrderStatus.NEW
    sim.step(4)
    assert sim.last_price == 96.0 and order.status is OrderStatus.FILLED and sim.contracts == 1.0
    assert sim.now_ms == T0 + 5 * MINUTE


def test_trimming_old_candles_then_re_indexing_the_clock() -> None:
    rows = [(100.0 + k, 101.0 + k, 99.0 + k, 100.5 + k) for k in range(6)]
    sim = make_sim(rows)
    for i in range(4):
        sim.step(i)
    m = sim.market
    for column in (m.time_ms, m.open, m.high, m.low, m.close):
        del column[:2]  # what the live loop does to bound memory
    sim.set_clock(sim.candle_index - 2)
    assert (sim.candle_index, sim.last_price) == (1, 103.5)
    sim.step(2)
    assert sim.last_price == 104.5 and sim.now_ms == T0 + 5 * MINUTE


def test_a_run_longer_than_the_window_reads_every_candle() -> None:
    n = 3 * WINDOW + 7
    sim = make_sim([(100.0 + k % 50, 101.0 + k % 50, 99.0 + k % 50, 100.5 + k % 50) for k in range(n)])
    closes = []
    for i in range(n):
        sim.step(i)
        closes.append(sim.last_price)
    assert closes == [100.5 + k % 50 for k in range(n)]
