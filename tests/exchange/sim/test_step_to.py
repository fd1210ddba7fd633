"""``step_to``: the kernel's way through the candles a tick schedule skips.

It must step exactly as ``step`` candle by candle would (same fills, funding, liquidations, clock) and stop
right after the first candle on which the venue changed the account. What counts as a change is computed
here independently of the venue's counter: a trade or liquidation fill, or an open order that changed
(left the book, filled in part, triggered, was amended or refused by the venue). Funding alone is not news.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kektrade.domain.types import FillKind, OrderType
from kektrade.exchange.sim.exchange import SimExchange
from tests.exchange.sim.simkit import HOUR, T0, make_sim
from tests.exchange.sim.test_quiet import state, walk

Action = Callable[[SimExchange], Any]


def book(sim: SimExchange) -> tuple[Any, ...]:
    """What the strategy could see change: trade/liquidation fills and the open orders' states."""
    fills = sum(1 for f in sim.fills if f.kind is not FillKind.FUNDING)
    orders = tuple(
        (o.id, o.status, o.filled, o.contracts, o.price, o.trigger_price) for o in sim.get_open_orders()
    )
    return fills, orders, sim.contracts


def news_candles(make: Callable[[], SimExchange], actions: dict[int, Action]) -> tuple[list[int], SimExchange]:
    """The reference: step every candle, note each candle after which the book looked different (action
    candles aside: the strategy is ticked there anyway, and the kernel steps them with ``step``)."""
    sim = make()
    found = []
    for i in range(len(sim.market)):
        before = book(sim)
        sim.step(i)
        if book(sim) != before and i not in actions:
            found.append(i)
        if i in actions:
            actions[i](sim)
    return found, sim


def through_step_to(make: Callable[[], SimExchange], actions: dict[int, Action]) -> tuple[list[int], SimExchange]:
    """Cross the candles with step_to, stopping at each action candle and wherever step_to reports news."""
    sim = make()
    n = len(sim.market)
    stops = [*sorted(actions), n]
    found, i = [], 0
    twin = make()  # stepped candle by candle alongside, to compare the state at every stop
    for target in stops:
        while i < target:
            j = sim.step_to(i, target)
            for k in range(i, min(j + 1, n)):
                twin.step(k)
            if j == target:
                i = target
                break
            found.append(j)
            assert state(sim) == state(twin), f"after news at candle {j}"
            i = j + 1
        if target < n:
            sim.step(target)
            twin.step(target)
            assert state(sim) == state(twin), f"candle {target}"
            actions[target](sim)
            actions[target](twin)
            i = target + 1
    assert sim.candle_index == n - 1
    return found, sim


def limit(qty: float, below: float) -> Action:
    return lambda sim: sim.open_order(OrderType.LIMIT, qty, round(sim.last_price * (1 - below), 1))


def stop_market(qty: float, away: float) -> Action:
    return lambda sim: sim.open_order(
        OrderType.STOP_MARKET, qty, None, trigger_price=round(sim.last_price * (1 + away), 1), reduce_only=True
    )


SCENARIOS: dict[str, tuple[dict[str, Any], dict[int, Action]]] = {
    "limits resting then filling": (
        {},
        {5: limit(0.5, 0.002), 40: limit(-0.5, -0.003), 300: limit(1.0, 0.004), 900: limit(-1.0, -0.004)},
    ),
    "a long with a stop far below and funding": (
        {"funding": [(T0 + h * 8 * HOUR, 0.0001) for h in range(4)]},
        {2: lambda s: s.open_order(OrderType.MARKET, 1.0), 3: stop_market(-1.0, -0.01), 1500: limit(0.2, 0.001)},
    ),
    "a leveraged long liquidated": (
        {"balance": 3_000.0, "leverage": 10.0},
        {1: lambda s: s.open_order(OrderType.MARKET, 0.9)},
    ),
    "nothing ever happens": ({}, {}),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_step_to_stops_where_the_account_changed_and_steps_like_step(name: str) -> None:
    kw, actions = SCENARIOS[name]
    drift = -0.0004 if "liquidated" in name else 0.0
    rows = walk(2_400, seed=len(name), drift=drift)

    def make() -> SimExchange:
        return make_sim(rows, **kw)

    want, ref = news_candles(make, actions)
    got, sim = through_step_to(make, actions)
    assert got == want
    assert sim.fills == ref.fills
    assert state(sim) == state(ref)
    if name != "nothing ever happens":
        assert want, "the scenario must bring news"
    if "liquidated" in name:
        assert any(f.kind is FillKind.LIQUIDATION for f in sim.fills)


def test_step_to_crosses_a_quiet_stretch_at_once_and_keeps_the_clock() -> None:
    rows = walk(3_000, seed=3)
    sim, ref = make_sim(rows), make_sim(rows)
    for i in range(100):  # long enough idle for the look-ahead to mark a quiet stretch
        sim.step(i)
        ref.step(i)
    assert sim._quiet_until > 100
    assert sim.step_to(100, 2_000) == 2_000
    for i in range(100, 2_000):
        ref.step(i)
    assert state(sim) == state(ref)
    assert sim.step_to(2_000, 2_000) == 2_000  # an empty range steps nothing
    assert sim.candle_index == 1_999
