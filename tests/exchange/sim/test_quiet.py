"""Quiet candles: with no order on the book, the simulator looks ahead in bulk for the candles on which
nothing can happen (no funding settlement, the mark path short of the liquidation price) and only moves its
clock over them. A venue doing so must be indistinguishable from one that simulates every candle in full:
same fills (funding and liquidations included, at the same times), wallet, equity, prices and clock after
every candle, whatever the strategy does in between."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from kektrade.domain.types import MarginMode, OrderType
from kektrade.exchange.sim.exchange import SimExchange
from tests.exchange.sim.simkit import HOUR, MINUTE, T0, make_sim

Action = Callable[[SimExchange], Any]


def walk(n: int, seed: int, drift: float = 0.0, vol: float = 0.002, start: float = 30_000.0) -> list[tuple[float, ...]]:
    """A seeded random walk of OHLC candles (open = previous close)."""
    rnd = random.Random(seed)
    rows, price = [], start
    for _ in range(n):
        close = price * (1.0 + drift + rnd.gauss(0.0, vol))
        high = max(price, close) * (1.0 + abs(rnd.gauss(0.0, vol / 2)))
        low = min(price, close) * (1.0 - abs(rnd.gauss(0.0, vol / 2)))
        rows.append((round(price, 1), round(high, 1), round(low, 1), round(close, 1)))
        price = close
    return rows


def state(sim: SimExchange) -> tuple[Any, ...]:
    pos, wallet = sim.get_position(), sim.get_wallet()
    return (
        sim.candle_index,
        sim.now_ms,
        sim.last_price,
        sim.equity(),
        sim.wallet_balance,
        sim.contracts,
        pos,
        wallet,
        len(sim.fills),
        tuple(sim.fills[-3:]),
        tuple((o.id, o.status) for o in sim.get_open_orders()),
    )


def run_both(make: Callable[[], SimExchange], actions: dict[int, Action]) -> tuple[SimExchange, int]:
    """Step a venue as usual and a twin forced to simulate every candle in full; compare after each candle.

    Returns the usual venue and how many of its candles were quiet."""
    quick, full = make(), make()
    quiet = 0
    for i in range(len(quick.market)):
        quiet += i < quick._quiet_until  # the usual venue may skip this candle
        full._quiet_until = 0  # the twin never does
        quick.step(i)
        full.step(i)
        if i in actions:
            a, b = actions[i](quick), actions[i](full)
            assert type(a) is type(b)
        assert state(quick) == state(full), f"candle {i}"
    assert quick.fills == full.fills
    return quick, quiet


def market_order(qty: float) -> Action:
    return lambda sim: sim.open_order(OrderType.MARKET, qty)


def test_a_calm_long_with_hourly_funding_is_mostly_quiet_and_pays_every_settlement() -> None:
    rows = walk(3_000, seed=1)
    funding = [(T0 + h * 8 * HOUR, 0.0001 * (1 + h % 3)) for h in range(8)]
    sim, quiet = run_both(lambda: make_sim(rows, funding=funding, balance=50_000.0), {2: market_order(1.0)})
    settlements = [f for f in sim.fills if f.kind.value == "funding"]
    assert len(settlements) == 6  # 8 h, 16 h, ..., 48 h: every settlement after the entry, none skipped
    assert quiet > 2_800  # and the candles in between were quiet


def test_a_constant_funding_rate_is_charged_at_each_interval() -> None:
    rows = walk(2_000, seed=2)
    sim, quiet = run_both(lambda: make_sim(rows, funding_rate=0.0001), {0: market_order(-0.5)})
    assert sum(f.kind.value == "funding" for f in sim.fills) == 4 and quiet > 1_900


@pytest.mark.parametrize("side", [1.0, -1.0])
@pytest.mark.parametrize("mode", [MarginMode.ISOLATED, MarginMode.CROSS])
def test_a_trend_into_the_liquidation_price_liquidates_on_the_same_candle(side: float, mode: MarginMode) -> None:
    rows = walk(4_000, seed=3, drift=-0.0004 * side, vol=0.001)  # moves against the position
    sim, quiet = run_both(
        lambda: make_sim(rows, leverage=25.0, balance=10_000.0, margin_mode=mode.value), {1: market_order(side * 5.0)}
    )
    liquidations = [f for f in sim.fills if f.kind.value == "liquidation"]
    assert len(liquidations) == 1 and sim.contracts == 0.0
    assert quiet > 1_000  # the way down was quiet up to the liquidation candle


def test_separate_mark_prices_drive_the_look_ahead() -> None:
    rows = walk(3_000, seed=4, drift=-0.0003, vol=0.001)
    marks = [(o * 0.999, h * 0.999, lo * 0.995, c * 0.999) for o, h, lo, c in rows]  # the mark dips deeper
    sim, _ = run_both(lambda: make_sim(rows, marks=marks, leverage=20.0, balance=20_000.0), {0: market_order(4.0)})
    assert any(f.kind.value == "liquidation" for f in sim.fills)


def test_changes_made_while_quiet_end_the_quiet_stretch() -> None:
    rows = walk(3_000, seed=5, drift=-0.00003, vol=0.001)
    actions: dict[int, Action] = {
        0: market_order(3.0),
        400: lambda sim: sim.add_margin(2_000.0),  # the liquidation price moves away
        900: lambda sim: sim.open_order(OrderType.LIMIT, 1.0, 1.0),  # a resting order far below
        1_300: lambda sim: sim.cancel_all_orders(),
        1_700: lambda sim: sim.set_leverage(50.0),
        2_100: market_order(-6.0),  # flips short
        2_600: lambda sim: sim.close_position(),
    }
    sim, quiet = run_both(lambda: make_sim(rows, leverage=10.0, balance=20_000.0, margin_mode="isolated"), actions)
    assert sim.contracts == 0.0 and quiet > 2_000


def test_random_strategies_on_random_markets() -> None:
    for seed in range(12):
        rnd = random.Random(100 + seed)
        rows = walk(1_500, seed=seed, drift=rnd.uniform(-0.0004, 0.0004), vol=rnd.choice([0.0005, 0.002, 0.006]))
        funding = [(T0 + h * HOUR, rnd.uniform(-0.001, 0.001)) for h in range(0, 26, rnd.choice([1, 4, 8]))]
        actions: dict[int, Action] = {}
        for i in sorted(rnd.sample(range(1_500), 25)):
            kind = rnd.random()
            qty = round(rnd.uniform(-3.0, 3.0), 3) or 1.0
            if kind < 0.5:
                actions[i] = market_order(qty)
            elif kind < 0.7:
                price = round(rows[i][3] * (1.0 - 0.01 * (1 if qty > 0 else -1)), 1)
                actions[i] = lambda sim, q=qty, p=price: sim.open_order(OrderType.LIMIT, q, p)
            elif kind < 0.85:
                actions[i] = lambda sim: sim.cancel_all_orders()
            else:
                actions[i] = lambda sim: sim.close_position()
        lev = rnd.choice([2.0, 10.0, 50.0])
        mode = rnd.choice(["isolated", "cross"])
        run_both(lambda r=rows, f=funding, x=lev, m=mode: make_sim(r, funding=f, leverage=x, margin_mode=m), actions)


def test_candles_appended_later_are_not_assumed_quiet() -> None:
    rows = walk(200, seed=6)
    sim = make_sim(rows, leverage=50.0, balance=1_000.0)
    sim.step(0)
    sim.open_order(OrderType.MARKET, 1.0)
    for i in range(1, 200):
        sim.step(i)
    assert sim._quiet_until <= 200  # the look-ahead ends where the data ends
    liq = sim.get_position().liquidation_price
    sim.market.append(T0 + 200 * MINUTE, rows[-1][3], rows[-1][3], liq * 0.99, liq * 0.995)  # a crash to below it
    sim.step(200)
    assert sim.contracts == 0.0 and sim.fills[-1].kind.value == "liquidation"


def test_the_realistic_venue_with_latency_and_a_seeded_path() -> None:
    from tests.exchange.sim.simkit import make_realistic

    rows = walk(2_500, seed=7, drift=-0.0001, vol=0.002)

    def make() -> SimExchange:
        return make_realistic(rows, 50.0, 5_000.0, 25.0, latency_ms=800, path_points=12, seed=9)

    actions: dict[int, Action] = {3: market_order(2.0), 1_200: lambda sim: sim.open_order(OrderType.LIMIT, -1.0, 1e6)}
    actions[1_201] = lambda sim: sim.cancel_all_orders()
    _, quiet = run_both(make, actions)
    assert quiet > 1_000
