"""A simulated venue's order events held in the order-event log read back exactly as journaled copies do.

The log keeps placements and final orders without copies (``OrderEventLog``): a placement row is rendered
from the order itself, so every later change of the order (a fill, a partial fill, an amendment in the
same candle or later, a cancel, a refusal) must leave it as it was. The reference is the same venue run
twin-wise with a plain journal, which stores a copy of the order at every event.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from kektrade.domain.journal import MemoryJournal, OrderRecorded
from kektrade.domain.order_events import CHUNK, ORDER_EVENT_COLUMNS, OrderEventLog
from kektrade.domain.types import ORDER_FIELDS, OrderType
from kektrade.exchange.sim.exchange import SimExchange
from tests.exchange.sim.simkit import make_realistic, make_sim


def walk(n: int, seed: int) -> list[tuple[float, float, float, float]]:
    """A random walk of OHLC candles on the 0.5 tick."""
    rng, price, rows = random.Random(seed), 40_000.0, []
    for _ in range(n):
        close = round((price + rng.uniform(-60, 60)) * 2) / 2
        high = max(price, close) + round(rng.uniform(0, 40) * 2) / 2
        low = min(price, close) - round(rng.uniform(0, 40) * 2) / 2
        rows.append((price, high, low, close))
        price = close
    return rows


def venue(kind: str, rows: list[tuple[float, float, float, float]], journal: MemoryJournal | None) -> SimExchange:
    if kind == "basic":
        return make_sim(rows, journal=journal, leverage=20.0)
    # partial fills (a small share of the volume), latency: amendments land later
    return make_realistic(rows, 0.05, 100_000.0, 20.0, journal, latency_ms=20_000, partial_fill_volume_share=0.2,
                          seed=3)  # fmt: skip


def act(sim: SimExchange, rng: random.Random, close: float) -> None:
    """One candle's decisions: placements, amendments (often of an order placed this very candle),
    cancels, market orders and post-only refusals."""
    for _ in range(rng.randint(0, 3)):
        roll = rng.random()
        orders = sim.get_open_orders()
        if roll < 0.35:
            side = rng.choice((1.0, -1.0))
            offset = rng.choice((0.5, 2.0, 10.0, -5.0))  # a negative offset crosses: post-only is refused
            price = round((close - side * offset) * 2) / 2
            sim.open_order(OrderType.LIMIT, side * rng.choice((0.01, 0.02, 0.05)), price, post_only=rng.random() < 0.5)
        elif roll < 0.6 and orders:
            order = rng.choice(orders)
            sign = 1.0 if order.contracts > 0 else -1.0
            if rng.random() < 0.5:
                sim.edit_order(order.id, price=round((close - sign * rng.choice((1.0, 4.0))) * 2) / 2)
            else:
                sim.edit_order(order.id, contracts=sign * rng.choice((0.01, 0.03, 0.04)))
        elif roll < 0.75 and orders:
            sim.cancel_order(rng.choice(orders).id)
        elif roll < 0.8:
            sim.cancel_all_orders()
        elif roll < 0.9:
            sim.open_order(OrderType.MARKET, rng.choice((0.01, -0.01)))
        elif sim.contracts:
            sim.close_position()


def journaled_rows(journal: MemoryJournal) -> list[tuple[object, ...]]:
    """The journal's copies as ``order_event`` rows (columns named by the table, values by the order)."""
    rows = []
    for r in journal.records:
        if isinstance(r, OrderRecorded):
            values = dict(zip(ORDER_FIELDS, r.order.astuple(), strict=True))
            values |= {"order_id": values.pop("id"), "subaccount": r.subaccount, "time_ms": r.time_ms, "event": r.event}
            rows.append(tuple(values[name] for name in ORDER_EVENT_COLUMNS))
    return rows


def logged_rows(taken: list[list[list[object]]]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for columns in taken:
        rows.extend(zip(*columns, strict=True))
    return rows


@pytest.mark.parametrize("chunk", [5, CHUNK])
@pytest.mark.parametrize("kind", ["basic", "realistic"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_event_reads_back_as_the_journaled_copy(kind: str, seed: int, chunk: int) -> None:
    """With small chunks, placements are settled (amended) in earlier chunks and taken parts cut chunks."""
    rows = walk(1600, seed)
    twin_journal = MemoryJournal()
    twin, sim = venue(kind, rows, twin_journal), venue(kind, rows, None)
    log = OrderEventLog(10**9, chunk_rows=chunk)
    sim.order_events = log
    rng_a, rng_b, pick = random.Random(seed), random.Random(seed), random.Random(seed + 100)
    taken: list[list[list[object]]] = []
    cuts, peak = set(pick.sample(range(len(rows)), 4)), 0
    for i, row in enumerate(rows):
        for s, rng in ((twin, rng_a), (sim, rng_b)):
            s.step(i)
            act(s, rng, row[3])
        peak = max(peak, len(log))
        if i in cuts:  # parts taken as the run goes: rows of still-open orders leave the log
            taken.append(log.take(pick.randint(1, len(log) + 1)))
    taken.append(log.take())
    expected = journaled_rows(twin_journal)
    events = {row[2] for row in expected}
    assert {"placed", "amended", "filled", "cancelled", "rejected"} <= events
    if kind == "realistic":
        assert "partially_filled" in events
    assert peak > 100 * chunk if chunk < 100 else peak > 1000  # held across many chunks (small ones)
    got = logged_rows(taken)
    assert len(got) == len(expected)
    for k, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert a == b, f"row {k}: {dict(zip(ORDER_EVENT_COLUMNS, a, strict=True))}"


def test_only_the_orders_whose_values_change_later_are_copied() -> None:
    """Placements and final orders are held as the venue's own orders; an amended order's placement
    becomes a copy when the amendment comes."""
    rows = walk(5, 0)
    sim = make_sim(rows)
    log = OrderEventLog(100)
    sim.order_events = log
    sim.step(0)
    close = rows[0][3]
    kept = sim.open_order(OrderType.LIMIT, 0.01, close - 50.0)
    amended = sim.open_order(OrderType.LIMIT, 0.01, close - 60.0)
    sim.edit_order(amended.id, price=close - 70.0)
    sim.cancel_all_orders()
    held: list[Any] = log._orders[: len(log)]
    assert [row is kept for row in held] == [True, False, False, True, False]
    assert held[1] is not amended and held[1].price == close - 60.0  # the placement, copied at the amendment
    assert held[2] is amended and held[4] is amended  # the amendment (a fresh order still) and the cancel
    columns = log.take()
    assert columns[8] == [close - 50.0, close - 60.0, close - 70.0, close - 50.0, close - 70.0]  # price
    assert [s.value for s in columns[15]] == ["new", "new", "new", "cancelled", "cancelled"]  # status
