"""The "Backtest Perpetual Realistic" venue: seeded paths, trade-through ticks, partial fills, latency."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kektrade.domain import contract_math as cm
from kektrade.domain.types import FillKind, Order, OrderStatus, OrderType, RejectReason
from kektrade.domain.venues import VENUES, venue_info
from kektrade.exchange.sim.exchange import SimError, SimExchange
from kektrade.exchange.sim.factory import SIM_BUILDERS, make_sim_exchange
from kektrade.exchange.sim.path import candle_path, candle_rng, point_times
from kektrade.exchange.sim.realistic import RealisticSettings, RealisticSimExchange
from kektrade.exchange.sim.settings import SimSettings
from tests.exchange.sim.simkit import MINUTE, T0, market, run, spec

FLAT = (40_000, 40_000, 40_000, 40_000)
UP = (40_000, 40_200, 39_800, 40_100)  # closes up: 4-point path open-low-high-close (rule weight 1)
DOWN = (40_000, 40_200, 39_800, 39_900)  # closes down: open-high-low-close
MAKER, TAKER = 0.0002, 0.00055

#: Options that make the realistic venue match on the plain OHLC path with no frictions.
PLAIN = dict(
    latency_ms=0,
    partial_fill_volume_share=1.0,
    trade_through_ticks=1,
    path_points=4,
    seed=0,
    impact_bps=0.0,
    rule_weight=1.0,
)


def make_real(
    rows: Sequence[Sequence[float]],
    volume: float | Sequence[float] = 1e9,
    symbol: str = "BTCUSDT",
    balance: float = 100_000.0,
    leverage: float = 10.0,
    slippage_bps: float = 0.0,
    marks: Sequence[Sequence[float]] | None = None,
    **options: Any,
) -> RealisticSimExchange:
    vols = [float(volume)] * len(rows) if isinstance(volume, (int, float)) else list(volume)
    return RealisticSimExchange(
        spec(symbol),
        market(rows, marks),
        volume=vols,
        realistic=RealisticSettings(**{**PLAIN, **options}),
        initial_balance=balance,
        leverage=leverage,
        settings=SimSettings(slippage_bps=slippage_bps),
    )


def limit(qty: float, price: float, **kw: Any) -> Any:
    return lambda s: s.open_order(OrderType.LIMIT, qty, price=price, **kw)


# -- the path ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("points", [4, 5, 12, 40])
def test_path_runs_open_to_close_and_visits_each_extreme_exactly_once(points: int) -> None:
    for index in range(50):
        path = candle_path(100.0, 110.0, 95.0, 104.0, points, candle_rng(7, index))
        assert len(path) == points and path[0] == 100.0 and path[-1] == 104.0
        inner = path[1:-1]
        assert inner.count(110.0) == 1 and inner.count(95.0) == 1
        assert all(95.0 <= x <= 110.0 for x in path)


def test_path_is_a_function_of_seed_and_candle_index() -> None:
    a = candle_path(100.0, 110.0, 95.0, 104.0, 12, candle_rng(3, 9))
    assert a == candle_path(100.0, 110.0, 95.0, 104.0, 12, candle_rng(3, 9))
    assert a != candle_path(100.0, 110.0, 95.0, 104.0, 12, candle_rng(4, 9))
    assert a != candle_path(100.0, 110.0, 95.0, 104.0, 12, candle_rng(3, 10))


@pytest.mark.parametrize(("close", "low_first_share"), [(104.0, 0.75), (97.0, 0.25), (100.0, 0.5)])
def test_the_coin_is_weighted_by_the_ohlc_rule(close: float, low_first_share: float) -> None:
    n = 4000
    low_first = 0
    for index in range(n):
        path = candle_path(100.0, 110.0, 95.0, close, 8, candle_rng(1, index))
        low_first += path.index(95.0) < path.index(110.0)
    assert low_first / n == pytest.approx(low_first_share, abs=0.03)


def test_flat_candle_path_and_point_times() -> None:
    assert candle_path(5.0, 5.0, 5.0, 5.0, 6, candle_rng(0, 0)) == [5.0] * 6
    assert point_times(T0, MINUTE, 4) == [T0, T0 + 20_000, T0 + 40_000, T0 + 60_000]
    with pytest.raises(ValueError, match="path_points"):
        candle_path(1.0, 2.0, 0.5, 1.5, 3, candle_rng(0, 0))


def _low_first(seed: int, candle: Sequence[float], index: int, points: int = 12) -> bool:
    path = candle_path(*candle, points, candle_rng(seed, index), 0.75)  # type: ignore[call-arg]
    return path.index(candle[2]) < path.index(candle[1])


def test_stop_and_take_profit_in_one_candle_follow_the_seeded_path() -> None:
    bracket_candle = (40_100, 40_600, 39_400, 40_550)
    seeds = {_low_first(seed, bracket_candle, 2): seed for seed in range(40)}
    assert set(seeds) == {True, False}  # a bullish candle goes either way, depending on the seed
    for low_first, seed in seeds.items():
        sim = make_real([FLAT, FLAT, bracket_candle], path_points=12, rule_weight=0.75, seed=seed)

        def brackets(s: SimExchange) -> None:
            s.open_order(OrderType.STOP_MARKET, -1, trigger_price=39_500, reduce_only=True)
            s.open_order(OrderType.TAKE_PROFIT_MARKET, -1, trigger_price=40_500, reduce_only=True)

        run(sim, {0: lambda s: s.open_order(OrderType.MARKET, 1), 1: brackets})
        exits = [f.price for f in sim.fills if f.kind is FillKind.TRADE][1:]
        assert exits == ([39_500] if low_first else [40_500]), seed
        assert sim.contracts == 0 and sim.get_open_orders() == []


def test_four_points_and_rule_weight_one_is_the_ohlc_rule() -> None:
    for candle, first in ((UP, 39_800), (DOWN, 40_200)):
        path = candle_path(*candle, 4, candle_rng(0, 1), 1.0)  # type: ignore[call-arg]
        assert path == [40_000, first, 40_200 if first == 39_800 else 39_800, candle[3]]


def test_liquidation_follows_the_mark_path() -> None:
    rows = [FLAT, FLAT, (40_000, 40_000, 39_300, 39_500)]
    marks = [FLAT, FLAT, (40_000, 40_000, 39_450, 39_500)]
    sim = make_real(rows, marks=marks, balance=1_000, leverage=50)
    run(sim, {0: lambda s: s.open_order(OrderType.MARKET, 1)})
    assert sim.contracts == 1  # the last price passed the liquidation price, the mark did not
    hit = make_real(rows, marks=[FLAT, FLAT, (40_000, 40_000, 39_250, 39_500)], balance=1_000, leverage=50)
    run(hit, {0: lambda s: s.open_order(OrderType.MARKET, 1)})
    liq = hit.fills[-1]
    assert liq.kind is FillKind.LIQUIDATION and liq.price == pytest.approx(39_200)
    liq_price = (40_000 - 800) / 0.995  # bearish mark path: open = high 40,000, then low 39,250 in 2nd third
    assert liq.time_ms == T0 + 2 * MINUTE + 20_000 + int((40_000 - liq_price) / 750 * 20_000)


# -- trade-through ticks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ticks", "low", "fills"),
    [(0, 39_900.0, True), (1, 39_900.0, False), (1, 39_899.9, True), (5, 39_899.6, False), (5, 39_899.5, True)],
)
def test_resting_limit_needs_the_price_ticks_beyond_it(ticks: int, low: float, fills: bool) -> None:
    sim = make_real([FLAT, (40_000, 40_050, low, 39_950)], trade_through_ticks=ticks)
    run(sim, {0: limit(1, 39_900)})
    assert [(f.price, f.is_maker) for f in sim.fills] == ([(39_900, True)] if fills else [])
    if fills:
        assert sim.fills[0].fee == pytest.approx(39_900 * MAKER)


def test_sell_limit_trade_through_and_gap_fills_at_the_open() -> None:
    rows = [FLAT, (40_000, 40_100.2, 39_990, 40_050), (40_300, 40_400, 40_250, 40_350)]
    sim = make_real(rows, trade_through_ticks=3)
    out = run(sim, {0: limit(-1, 40_100)})
    assert sim.fills[0].price == 40_300 and sim.fills[0].is_maker  # 40,100.2 is only 2 ticks through
    assert out[0].status is OrderStatus.FILLED


def test_plain_options_reproduce_the_base_venue() -> None:
    """4 points, rule weight 1, no latency/impact, unlimited volume, 0 ticks == the base venue on touch."""
    rng = random.Random(5)
    rows, price = [], 40_000.0
    for _ in range(300):
        o = price
        c = round(o + rng.uniform(-150, 150), 1)
        rows.append((o, round(max(o, c) + rng.uniform(0, 80), 1), round(min(o, c) - rng.uniform(0, 80), 1), c))
        price = c
    flows = random.Random(9)
    base = SimExchange(
        spec("BTCUSDT"), market(rows), initial_balance=100_000.0, leverage=10, settings=SimSettings(limit_fill="touch")
    )
    real = make_real(rows, trade_through_ticks=0)
    for i in range(len(rows)):
        k, off, qty = flows.random(), round(flows.uniform(-120, 120), 1), flows.choice([-2, -1, 1, 2])
        for venue in (base, real):
            venue.step(i)
            if k < 0.1:
                venue.open_order(OrderType.MARKET, qty)
            elif k < 0.6:
                venue.open_order(OrderType.LIMIT, qty, price=venue.last_price - math.copysign(abs(off), qty))
            elif k < 0.7 and venue.contracts:
                trig = venue.last_price - math.copysign(abs(off) + 1, venue.contracts)
                venue.open_order(OrderType.STOP_MARKET, -venue.contracts, trigger_price=trig, reduce_only=True)
            elif k < 0.8:
                venue.cancel_all_orders()
    assert len(base.fills) > 100
    assert real.fills == base.fills
    assert real.wallet_balance == base.wallet_balance


# -- partial fills -------------------------------------------------------------------------------------


def test_partial_fills_over_several_candles_with_fees_and_margin_release() -> None:
    rows = [FLAT, UP, (40_100, 40_300, 39_700, 39_800), (39_800, 39_900, 39_500, 39_600), FLAT]
    sim = make_real(rows, volume=10.0, partial_fill_volume_share=0.1)  # 1 contract per candle
    sim.step(0)
    order = sim.open_order(OrderType.LIMIT, 2.5, price=39_900)
    reserved = sim.get_wallet().order_margin
    assert reserved == pytest.approx(2.5 * 39_900 * (0.1 + TAKER * (1 + 0.9)))
    expected = [(1.0, 39_900.0, 1.5), (1.0, 39_900.0, 0.5), (0.5, 39_800.0, 0.0)]  # last: gap at the open
    for i, (qty, price, left) in enumerate(expected, start=1):
        sim.step(i)
        fill = sim.fills[-1]
        assert (fill.contracts, fill.price, fill.is_maker) == (qty, price, True)
        assert fill.fee == pytest.approx(qty * price * MAKER)
        assert sim.get_wallet().order_margin == pytest.approx(reserved * left / 2.5)
        assert order.status is (OrderStatus.PARTIALLY_FILLED if left else OrderStatus.FILLED)
    assert order.filled == 2.5 and sim.contracts == 2.5
    assert order.avg_fill_price == pytest.approx((2 * 39_900 + 0.5 * 39_800) / 2.5)
    assert order.fee_paid == pytest.approx(sum(f.fee for f in sim.fills))
    assert sim.wallet_balance == pytest.approx(100_000 - order.fee_paid)


def test_inverse_volume_times_price_is_the_contract_capacity() -> None:
    rows = [FLAT, UP, UP]
    sim = make_real(rows, symbol="BTCUSD", balance=1.0, leverage=5, volume=0.1, partial_fill_volume_share=0.5)
    run(sim, {0: limit(5_000, 39_900)})
    # 0.5 x 0.1 BTC x 39,900 USD = 1,995 contracts -> 1,995 USD per candle (lot 1)
    assert [f.contracts for f in sim.fills] == [1_995, 1_995]
    assert sim.fills[0].fee == pytest.approx(1_995 / 39_900 * MAKER)


def test_no_volume_no_maker_fill() -> None:
    sim = make_real([FLAT, UP, UP], volume=[0.0, 0.0, 5.0], partial_fill_volume_share=0.1)
    order = run(sim, {0: limit(1, 39_900)})[0]
    assert [f.contracts for f in sim.fills] == [0.5] and order.status is OrderStatus.PARTIALLY_FILLED


def test_flip_order_keeps_margin_for_its_opening_part() -> None:
    sim2 = make_real([FLAT, FLAT, UP, UP, UP], volume=10.0, partial_fill_volume_share=0.1)
    sim2.step(0)
    sim2.open_order(OrderType.MARKET, -1)
    sim2.step(1)
    order = sim2.open_order(OrderType.LIMIT, 3, price=39_900)
    full = sim2.get_wallet().order_margin  # reserved for the 2 contracts that open a long
    sim2.step(2)  # closes the short: the opening part (2) is untouched
    assert sim2.contracts == 0 and sim2.get_wallet().order_margin == pytest.approx(full)
    sim2.step(3)
    assert sim2.contracts == 1 and sim2.get_wallet().order_margin == pytest.approx(full / 2)
    sim2.step(4)
    assert order.status is OrderStatus.FILLED and sim2.get_wallet().order_margin == 0


def test_reduce_only_partials_never_flip_the_position() -> None:
    rows = [FLAT, FLAT, UP, UP, UP, UP]
    sim = make_real(rows, volume=12.0, partial_fill_volume_share=0.1)  # 1.2 contracts per candle
    out = run(
        sim,
        {0: lambda s: s.open_order(OrderType.MARKET, 3), 1: limit(-5, 40_100, reduce_only=True)},
    )
    order = out[1]
    trades = [f for f in sim.fills if f.kind is FillKind.TRADE][1:]
    assert [f.contracts for f in trades] == [-1.2, -1.2, -0.6]  # cut to the position, never short
    assert [f.position_after for f in trades] == [1.8, 0.6, 0.0]
    assert order.status is OrderStatus.FILLED and order.filled == pytest.approx(-3)
    assert sim.contracts == 0 and sim.get_open_orders() == []


def test_partially_filled_reduce_only_is_cancelled_once_flat() -> None:
    rows = [FLAT, FLAT, UP, (40_100, 40_100, 40_100, 40_100), FLAT]
    sim = make_real(rows, volume=10.0, partial_fill_volume_share=0.1)
    out = run(
        sim,
        {
            0: lambda s: s.open_order(OrderType.MARKET, 2),
            1: limit(-2, 40_100, reduce_only=True),
            2: lambda s: s.open_order(OrderType.MARKET, -1),
        },
    )
    order = out[1]
    assert order.filled == -1 and order.status is OrderStatus.CANCELLED
    assert order.reject_reason == RejectReason.REDUCE_ONLY_NO_POSITION.value and sim.contracts == 0


def test_market_orders_fill_completely_with_size_dependent_slippage() -> None:
    rows = [FLAT, FLAT, FLAT]
    sim = make_real(rows, volume=20.0, partial_fill_volume_share=0.01, slippage_bps=2, impact_bps=30)
    run(sim, {0: lambda s: s.open_order(OrderType.MARKET, 5), 1: lambda s: s.open_order(OrderType.MARKET, -10)})
    buy, sell = sim.fills
    assert buy.contracts == 5 and buy.price == pytest.approx(math.ceil(40_000 * (1 + 0.0002 + 0.003 * 0.25) * 10) / 10)
    assert sell.contracts == -10 and sell.price == pytest.approx(math.floor(40_000 * (1 - 0.0002 - 0.0015) * 10) / 10)
    assert not buy.is_maker and buy.fee == pytest.approx(5 * buy.price * TAKER)


def test_marketable_limit_takes_but_never_past_its_price() -> None:
    sim = make_real([FLAT, (39_950, 40_000, 39_900, 39_950)], volume=1.0, impact_bps=100)
    run(sim, {0: limit(1, 39_960)})  # arrives at 39,950 < 39,960: takes; impact would give 39,990
    assert [(f.price, f.is_maker) for f in sim.fills] == [(39_960, False)]


# -- latency -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latency", "post_only", "expected"),
    [
        # rests from the open; filled when the rise 39,800 -> 40,200 (2nd third) reaches 40,100.1
        (0, False, [(40_100.0, True, T0 + MINUTE + 20_000 + int((40_100.1 - 39_800) / 400 * 20_000))]),
        (30_000, False, [(40_200.0, False, T0 + MINUTE + 40_000)]),  # arrives at the high: takes there
        (30_000, True, []),  # arrives at the high as post-only: cancelled
    ],
)
def test_order_becomes_active_mid_candle(latency: int, post_only: bool, expected: list) -> None:
    sim = make_real([FLAT, UP], latency_ms=latency)
    order = run(sim, {0: limit(-1, 40_100, post_only=post_only)})[0]
    assert [(f.price, f.is_maker, f.time_ms) for f in sim.fills] == expected
    if post_only:
        assert order.reject_reason == RejectReason.POST_ONLY_WOULD_TAKE.value


def test_only_events_after_activation_fill() -> None:
    sim = make_real([FLAT, UP, FLAT], latency_ms=30_000)
    order = run(sim, {0: limit(1, 39_900)})[0]  # the low (first third) passes before it arrives
    assert sim.fills == [] and order.status is OrderStatus.NEW
    late = make_real([FLAT, UP], latency_ms=61_000)
    order = run(late, {0: lambda s: s.open_order(OrderType.MARKET, 1)})[0]
    assert late.fills == [] and order.is_open  # reaches the venue only in the candle after


@pytest.mark.parametrize(("candle", "filled"), [(UP, True), (DOWN, False)])
def test_a_cancel_takes_latency_to_arrive(candle: tuple, filled: bool) -> None:
    sim = make_real([FLAT, FLAT, candle], latency_ms=10_000)
    orders: list[Order] = []
    sim.step(0)
    orders.append(sim.open_order(OrderType.LIMIT, 1, price=39_900))
    sim.step(1)
    assert sim.cancel_order(orders[0].id) is orders[0] and orders[0].is_open  # still on its way
    sim.step(2)  # low in the first third (UP) comes before the cancel lands at 20 s; DOWN: after it
    assert bool(sim.fills) is filled
    assert orders[0].status is (OrderStatus.FILLED if filled else OrderStatus.CANCELLED)
    assert sim.get_open_orders() == [] and sim.get_wallet().order_margin == 0


@pytest.mark.parametrize(("candle", "fill"), [(UP, (39_800.0, False)), (DOWN, (39_900.0, True))])
def test_an_amendment_takes_latency_to_arrive(candle: tuple, fill: tuple) -> None:
    sim = make_real([FLAT, FLAT, candle], latency_ms=10_000)
    sim.step(0)
    order = sim.open_order(OrderType.LIMIT, 1, price=39_000)
    sim.step(1)
    assert sim.edit_order(order.id, price=39_900).price == 39_000  # not there yet
    sim.step(2)
    # UP: the low passes while the order is still at 39,000; at 20 s it becomes 39,900 above the price
    # (marketable: takes at the point price). DOWN: it rests at 39,900 before the low and fills as maker.
    assert [(f.price, f.is_maker) for f in sim.fills] == [fill] and order.price == 39_900


def test_cancel_all_with_latency_and_without() -> None:
    sim = make_real([FLAT, FLAT, FLAT], latency_ms=5_000)
    sim.step(0)
    sim.open_order(OrderType.LIMIT, 1, price=39_000)
    sim.open_order(OrderType.LIMIT, -1, price=41_000)
    assert sim.cancel_all_orders() == 2 and len(sim.get_open_orders()) == 2
    assert sim.cancel_all_orders() == 2  # a second request for the same orders changes nothing
    sim.step(1)
    assert sim.get_open_orders() == [] and sim.get_wallet().order_margin == 0


# -- determinism, factory, errors ----------------------------------------------------------------------


def _random_run(seed: int, flow_seed: int = 1, n: int = 200) -> list:
    rng = random.Random(42)
    rows, vols, price = [], [], 40_000.0
    for _ in range(n):
        o = price
        c = round(o + rng.gauss(0, 60), 1)
        rows.append((o, round(max(o, c) + abs(rng.gauss(0, 40)), 1), round(min(o, c) - abs(rng.gauss(0, 40)), 1), c))
        vols.append(rng.uniform(5, 50))
        price = c
    sim = make_real(rows, volume=vols, latency_ms=3_000, path_points=12, rule_weight=0.75, seed=seed, impact_bps=10)
    flows = random.Random(flow_seed)
    for i in range(n):
        sim.step(i)
        sim.cancel_all_orders()
        c = rows[i][3]
        sim.open_order(OrderType.LIMIT, 2, price=round(c - flows.uniform(5, 60), 1), post_only=True)
        sim.open_order(OrderType.LIMIT, -2, price=round(c + flows.uniform(5, 60), 1), post_only=True)
    return [(f.time_ms, f.contracts, f.price, f.fee) for f in sim.fills]


def test_same_seed_same_fills_and_the_seed_matters() -> None:
    first = _random_run(3)
    assert len(first) > 20
    assert _random_run(3) == first
    assert _random_run(4) != first


def test_factory_builds_either_venue_by_the_registry_builder() -> None:
    kw: dict[str, Any] = dict(initial_balance=1_000.0, leverage=2.0)
    arrays = market([FLAT, FLAT])

    def build(venue: str, **extra: Any) -> SimExchange:
        return make_sim_exchange(venue_info(venue).builder, spec("BTCUSDT"), arrays, **{**kw, **extra})

    assert type(build("backtest_perpetual")) is SimExchange
    assert type(build("paper")) is SimExchange
    real = build(
        "backtest_perpetual_realistic",
        volume=[1.0, 1.0],
        realistic={"latency_ms": 40, "seed": 5, "path_points": 6},
        settings=SimSettings(latency_ms=0),
    )
    assert isinstance(real, RealisticSimExchange)
    assert real.realistic.seed == 5 and real.realistic.path_points == 6 and real._latency_ms == 40
    with pytest.raises(ValueError, match="venue builder 'ccxt' does not simulate"):
        build("bybit_linear")
    with pytest.raises(ValueError, match=r"realistic\.latency: unknown option"):
        build("backtest_perpetual_realistic", volume=[1, 1], realistic={"latency": 1})
    # one place: every simulated venue of the registry has a simulator, and the factory knows no other builder
    assert {v.builder for v in VENUES.values() if v.simulated} == set(SIM_BUILDERS)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path_points": 3}, "realistic.path_points: must be >= 4"),
        ({"partial_fill_volume_share": 0}, "realistic.partial_fill_volume_share"),
        ({"trade_through_ticks": -1}, "realistic.trade_through_ticks"),
        ({"latency_ms": -5}, "realistic.latency_ms"),
    ],
)
def test_bad_options_name_the_field(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RealisticSettings.from_dict(options)


def test_volume_is_required() -> None:
    with pytest.raises(SimError, match="volume"):
        RealisticSimExchange(spec("BTCUSDT"), market([FLAT, FLAT]), initial_balance=1.0)
    with pytest.raises(SimError, match="volume: 1 values for 2 candles"):
        RealisticSimExchange(spec("BTCUSDT"), market([FLAT, FLAT]), volume=[1.0], initial_balance=1.0)


# -- property: conservation and no over-fill -----------------------------------------------------------

_ACTION = st.tuples(
    st.sampled_from(["market", "limit", "post", "stop", "reduce", "cancel", "cancel_all", "amend", "none"]),
    st.integers(1, 30),  # quantity in lots of 0.1
    st.integers(-200, 200),  # price offset from the close
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    latency=st.sampled_from([0, 7_000, 45_000]),
    share=st.sampled_from([0.05, 0.3, 1.0]),
    inverse=st.booleans(),
    leverage=st.sampled_from([5, 50]),
    actions=st.lists(_ACTION, min_size=10, max_size=30),
)
def test_balance_is_conserved_and_nothing_over_fills(
    seed: int, latency: int, share: float, inverse: bool, leverage: int, actions: list
) -> None:
    rng = random.Random(seed)
    rows, vols, price = [], [], 40_000.0
    for _ in range(len(actions)):
        o = price
        c = round(o + rng.gauss(0, 150), 0)
        rows.append((o, max(o, c) + round(abs(rng.gauss(0, 80))), min(o, c) - round(abs(rng.gauss(0, 80))), c))
        vols.append(rng.uniform(0, 30))
        price = c
    symbol, balance, lot = ("BTCUSD", 1.0, 1_000.0) if inverse else ("BTCUSDT", 20_000.0, 0.1)
    vols = [v * 40_000 / 1_000 if inverse else v for v in vols]  # keep capacities comparable
    sim = make_real(
        rows,
        volume=vols,
        symbol=symbol,
        balance=balance,
        leverage=leverage,
        latency_ms=latency,
        partial_fill_volume_share=share,
        path_points=9,
        rule_weight=0.75,
        seed=seed,
        impact_bps=20,
        slippage_bps=1,
    )
    orders: list[Order] = []
    for i, (kind, lots, off) in enumerate(actions):
        sim.step(i)
        _check_invariants(sim, orders, balance)
        qty, c = lots * lot, rows[i][3]
        side = 1 if off >= 0 else -1
        px = round(c - side * abs(off) - side, 0) if kind in ("limit", "post") else None
        if kind == "market":
            orders.append(sim.open_order("market", side * qty))
        elif kind in ("limit", "post"):
            orders.append(sim.open_order("limit", side * qty, price=px, post_only=kind == "post"))
        elif kind == "stop" and sim.contracts:
            trig = round(c - math.copysign(abs(off) + 5, sim.contracts))
            orders.append(sim.open_order("stop_market", -sim.contracts, trigger_price=trig, reduce_only=True))
        elif kind == "reduce" and sim.contracts:
            orders.append(
                sim.open_order(
                    "limit", -sim.contracts, price=c + math.copysign(abs(off) + 1, sim.contracts), reduce_only=True
                )
            )
        elif kind == "cancel" and sim.get_open_orders():
            sim.cancel_order(sim.get_open_orders()[0].id)
        elif kind == "cancel_all":
            sim.cancel_all_orders()
        elif kind == "amend" and sim.get_open_orders():
            target = sim.get_open_orders()[-1]
            if target.price is not None:
                sim.edit_order(target.id, price=target.price - math.copysign(1.0, target.contracts))
    _check_invariants(sim, orders, balance)
    partial = any(0 < abs(o.filled) < abs(o.contracts) - 1e-9 for o in orders)
    event(f"partial fills: {partial}; liquidated: {any(f.kind is FillKind.LIQUIDATION for f in sim.fills)}")


def _check_invariants(sim: RealisticSimExchange, orders: list[Order], balance: float) -> None:
    trades = [f for f in sim.fills if f.kind is not FillKind.FUNDING]
    realized = sum(f.realized_pnl for f in trades)
    fees = sum(f.fee for f in trades)
    funding = sum(f.fee for f in sim.fills if f.kind is FillKind.FUNDING)
    tol = 1e-6 if sim.spec.is_inverse else 1e-4
    assert sim.wallet_balance - balance == pytest.approx(realized - fees - funding, abs=tol)
    mark = sim.market.mark_close[sim.candle_index]
    upnl = cm.unrealized_pnl(sim.contracts, sim.get_position().entry_price, mark, sim.spec.is_inverse)
    assert sim.equity() - balance == pytest.approx(realized - fees - funding + upnl, abs=tol)
    assert sim.contracts == pytest.approx(sum(f.contracts for f in trades), abs=1e-9)
    for order in orders:
        executed = sum(f.contracts for f in trades if f.order_id == order.id and f.kind is FillKind.TRADE)
        assert executed == pytest.approx(order.filled, abs=1e-9)
        assert abs(order.filled) <= abs(order.contracts) + 1e-9
        assert order.filled == 0 or (order.filled > 0) == (order.contracts > 0)
        if order.reduce_only:
            assert all(
                abs(f.position_after) < abs(f.position_after - f.contracts) + 1e-9
                for f in trades
                if f.order_id == order.id
            )
    margin = sim.get_wallet().order_margin
    assert margin >= -1e-9
    if not sim.get_open_orders():
        assert margin == 0
