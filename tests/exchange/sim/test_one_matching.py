"""Issue 12: both venues run one matching routine; the realistic venue only overrides its hooks.

Rules that used to live twice (arrival of an order, an amended order reaching the book again) are checked
on both venues with the same expected fills, stated by hand from the candle rows.
"""

from __future__ import annotations

from typing import Any

import pytest

from kektrade.domain.types import OrderStatus, OrderType
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.matching import SimMatching
from kektrade.exchange.sim.realistic import RealisticSettings, RealisticSimExchange
from kektrade.exchange.sim.settings import SimSettings
from tests.exchange.sim.simkit import MINUTE, T0, market, run, spec

FLAT = (40_000, 40_000, 40_000, 40_000)
UP = (40_000, 40_200, 39_800, 40_100)  # path: open 40,000 (0 s), low (20 s), high (40 s), close 40,100
GAP_DOWN = (39_900, 39_950, 39_850, 39_900)  # opens below the previous close


def venues(rows: list[tuple[float, ...]], latency_ms: int = 0) -> dict[str, SimExchange]:
    """The basic venue and the realistic one reduced to the basic path (4 points, OHLC rule, no frictions)."""
    plain = RealisticSettings(
        latency_ms=latency_ms,
        partial_fill_volume_share=1.0,
        trade_through_ticks=0,
        path_points=4,
        impact_bps=0.0,
        rule_weight=1.0,
    )
    common: dict[str, Any] = {"initial_balance": 100_000.0, "leverage": 10.0}
    return {
        "basic": SimExchange(
            spec("BTCUSDT"), market(rows), settings=SimSettings(limit_fill="touch", latency_ms=latency_ms), **common
        ),
        "realistic": RealisticSimExchange(
            spec("BTCUSDT"), market(rows), volume=[1e9] * len(rows), realistic=plain, **common
        ),
    }


def test_one_routine_with_hooks_no_second_copy() -> None:
    """The realistic venue defines none of the routine's steps, only hooks."""
    own = set(vars(RealisticSimExchange))
    assert {"_walk", "_limit_at_open", "_fill", "_take", "_trigger", "step"} & own == set()
    hooks = {"_may_happen", "_make_path", "_time_at", "_last_at", "_mark_at", "_taker_price", "_maker_qty", "_at_point"}
    assert hooks <= own and hooks <= set(vars(SimMatching))  # each overrides the basic venue's version


@pytest.mark.parametrize("venue", ["basic", "realistic"])
def test_an_order_arriving_mid_candle_meets_the_price_where_it_lands(venue: str) -> None:
    """30 s latency on 1 m candles: the sell limit at 40,000 placed at the close of candle 0 reaches the venue
    between the 20 s point (the low, 39,800) and the 40 s point (the high, 40,200): there it is marketable
    and takes at 40,200. (The basic venue used to let it sit out until the next open.)"""
    sim = venues([FLAT, UP, FLAT], latency_ms=30_000)[venue]
    run(sim, {0: lambda s: s.open_order(OrderType.LIMIT, -1, price=40_000)})
    assert [(f.time_ms, f.contracts, f.price, f.is_maker) for f in sim.fills] == [
        (T0 + MINUTE + 40_000, -1.0, 40_200.0, False)
    ]


@pytest.mark.parametrize("venue", ["basic", "realistic"])
def test_an_amended_order_reaches_the_book_again_like_a_new_one(venue: str) -> None:
    """A resting buy at 39,000 amended to 39,950 after candle 0 (close 40,000): candle 1 opens at 39,900,
    through it. Like a new order placed there, it takes at the open (the basic venue used to treat it as
    resting and fill it as maker)."""
    sim = venues([FLAT, FLAT, GAP_DOWN])[venue]
    state: dict[str, Any] = {}
    run(
        sim,
        {
            0: lambda s: state.setdefault("order", s.open_order(OrderType.LIMIT, 1, price=39_000)),
            1: lambda s: s.edit_order(state["order"].id, price=39_950),
        },
    )
    assert [(f.time_ms, f.price, f.is_maker) for f in sim.fills] == [(T0 + 2 * MINUTE, 39_900.0, False)]
    assert state["order"].status is OrderStatus.FILLED


@pytest.mark.parametrize("venue", ["basic", "realistic"])
def test_an_unchanged_resting_order_the_open_gaps_through_fills_as_maker_at_the_open(venue: str) -> None:
    sim = venues([FLAT, FLAT, GAP_DOWN])[venue]
    run(sim, {0: lambda s: s.open_order(OrderType.LIMIT, 1, price=39_950)})
    assert [(f.time_ms, f.price, f.is_maker) for f in sim.fills] == [(T0 + 2 * MINUTE, 39_900.0, True)]
