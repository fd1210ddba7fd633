"""Candle truth tables: OHLC rows + orders -> fills, fees, PnL, liquidation (hand-computed)."""

import pytest

from kektrade.domain.types import FillKind, MarginMode, OrderStatus, OrderType, RejectReason
from kektrade.exchange.sim.exchange import SimExchange
from tests.exchange.sim.simkit import HOUR, T0, make_sim, market, run, spec

FLAT = (40_000, 40_000, 40_000, 40_000)


def buy_market(qty: float):
    return lambda s: s.open_order(OrderType.MARKET, qty)


def test_market_order_fills_at_next_open_with_taker_fee() -> None:
    sim = make_sim([FLAT, (40_010, 40_200, 39_950, 40_100)])
    run(sim, {0: buy_market(1)})
    fill = sim.fills[0]
    assert (fill.price, fill.contracts, fill.is_maker) == (40_010, 1, False)
    assert fill.fee == pytest.approx(22.0055)
    assert sim.wallet_balance == pytest.approx(100_000 - 22.0055)
    assert sim.equity() == pytest.approx(100_000 - 22.0055 + 90)
    pos = sim.get_position()
    assert (pos.contracts, pos.entry_price, pos.unrealized_pnl) == (1, 40_010, pytest.approx(90))


def test_order_placed_at_candle_i_never_fills_inside_candle_i() -> None:
    sim = make_sim([FLAT, FLAT])
    sim.step(0)
    sim.open_order(OrderType.MARKET, 1)
    assert sim.fills == []
    sim.step(1)
    assert len(sim.fills) == 1


@pytest.mark.parametrize(("mode", "fills"), [("trade_through", 0), ("touch", 1)])
def test_limit_touch_versus_trade_through(mode: str, fills: int) -> None:
    sim = make_sim([FLAT, (40_000, 40_050, 39_900, 39_950)], limit_fill=mode)
    run(sim, {0: lambda s: s.open_order(OrderType.LIMIT, 1, price=39_900)})
    assert len(sim.fills) == fills
    if fills:
        assert sim.fills[0].is_maker and sim.fills[0].fee == pytest.approx(7.98)


def test_limit_fills_once_traded_through_at_the_limit_price() -> None:
    sim = make_sim([FLAT, (40_000, 40_050, 39_900, 39_950), (39_950, 39_960, 39_899.9, 39_920)])
    run(sim, {0: lambda s: s.open_order(OrderType.LIMIT, 1, price=39_900)})
    assert [(f.price, f.is_maker) for f in sim.fills] == [(39_900, True)]


def test_resting_limit_gapped_through_fills_at_open_as_maker() -> None:
    sim = make_sim([FLAT, (40_000, 40_050, 39_950, 40_000), (39_800, 39_850, 39_700, 39_750)])
    run(sim, {0: lambda s: s.open_order(OrderType.LIMIT, 1, price=39_900)})
    assert [(f.price, f.is_maker) for f in sim.fills] == [(39_800, True)]


def test_arriving_limit_that_crosses_takes_at_open_and_post_only_is_cancelled() -> None:
    rows = [FLAT, (39_900, 39_950, 39_850, 39_900)]
    sim = make_sim(rows)
    run(sim, {0: lambda s: s.open_order(OrderType.LIMIT, 1, price=39_950)})
    assert [(f.price, f.is_maker) for f in sim.fills] == [(39_900, False)]
    sim2 = make_sim(rows)
    order = run(sim2, {0: lambda s: s.open_order(OrderType.LIMIT, 1, price=39_950, post_only=True)})[0]
    assert sim2.fills == [] and order.status is OrderStatus.CANCELLED
    assert order.reject_reason == RejectReason.POST_ONLY_WOULD_TAKE.value


def test_post_only_that_would_take_now_is_rejected_at_placement() -> None:
    sim = make_sim([FLAT, FLAT])
    order = run(sim, {0: lambda s: s.open_order(OrderType.LIMIT, 1, price=40_000, post_only=True)})[0]
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == RejectReason.POST_ONLY_WOULD_TAKE.value


def test_stop_market_triggers_on_the_way_and_fills_at_trigger() -> None:
    rows = [FLAT, (40_010, 40_200, 39_950, 40_100), (40_100, 40_150, 39_400, 39_600)]
    sim = make_sim(rows)
    run(
        sim,
        {
            0: buy_market(1),
            1: lambda s: s.open_order(OrderType.STOP_MARKET, -1, trigger_price=39_500, reduce_only=True),
        },
    )
    stop = sim.fills[1]
    assert (stop.price, stop.contracts, stop.realized_pnl) == (39_500, -1, pytest.approx(-510))
    assert sim.contracts == 0


def test_stop_market_after_a_gap_fills_at_the_open() -> None:
    rows = [FLAT, (40_010, 40_200, 39_950, 40_100), (39_300, 39_400, 39_200, 39_350)]
    sim = make_sim(rows)
    run(sim, {0: buy_market(1), 1: lambda s: s.open_order(OrderType.STOP_MARKET, -1, trigger_price=39_500)})
    assert sim.fills[1].price == 39_300


def test_stop_trigger_on_the_wrong_side_is_rejected() -> None:
    sim = make_sim([FLAT, FLAT])
    order = run(sim, {0: lambda s: s.open_order(OrderType.STOP_MARKET, -1, trigger_price=40_500)})[0]
    assert order.reject_reason == RejectReason.INVALID_TRIGGER.value


@pytest.mark.parametrize(
    ("candle", "exit_price"),
    [
        ((40_100, 40_600, 39_400, 40_550), 39_500),  # closes up: path open-low-high-close, stop first
        ((40_100, 40_600, 39_400, 39_450), 40_500),
    ],  # closes down: open-high-low-close, take-profit first
    ids=["bullish-stop-first", "bearish-tp-first"],
)
def test_stop_and_take_profit_in_one_candle_follow_the_ohlc_path(candle: tuple, exit_price: float) -> None:
    sim = make_sim([FLAT, (40_010, 40_200, 39_950, 40_100), candle])

    def brackets(s: SimExchange) -> None:
        s.open_order(OrderType.STOP_MARKET, -1, trigger_price=39_500, reduce_only=True)
        s.open_order(OrderType.TAKE_PROFIT_MARKET, -1, trigger_price=40_500, reduce_only=True)

    run(sim, {0: buy_market(1), 1: brackets})
    trades = [f for f in sim.fills if f.kind is FillKind.TRADE]
    assert [f.price for f in trades] == [40_010, exit_price]
    assert sim.contracts == 0 and sim.get_open_orders() == []


def test_stop_limit_rests_after_trigger_and_fills_at_its_limit() -> None:
    rows = [FLAT, (40_000, 40_300, 39_990, 40_250), (40_250, 40_260, 40_100, 40_150)]
    sim = make_sim(rows)
    run(sim, {0: lambda s: s.open_order(OrderType.STOP_LIMIT, 1, price=40_150, trigger_price=40_200)})
    # triggers at 40,200 on the way up in candle 1 (limit 40,150 below: rests), fills in candle 2
    assert [(f.price, f.is_maker) for f in sim.fills] == [(40_150, True)]


def test_reduce_only_never_increases_and_is_cut_to_the_position() -> None:
    rows = [FLAT, FLAT, FLAT, FLAT]
    sim = make_sim(rows)
    out = run(
        sim,
        {
            0: buy_market(1),
            1: lambda s: s.open_order(OrderType.MARKET, 1, reduce_only=True),
            2: lambda s: s.open_order(OrderType.MARKET, -2, reduce_only=True),
        },
    )
    assert out[1].reject_reason == RejectReason.REDUCE_ONLY_WOULD_INCREASE.value
    assert sim.contracts == 0 and sim.fills[-1].contracts == -1


def test_reduce_only_for_a_short() -> None:
    sim = make_sim([FLAT, FLAT, FLAT])
    out = run(sim, {0: buy_market(-1), 1: lambda s: s.open_order(OrderType.MARKET, -1, reduce_only=True)})
    assert out[1].status is OrderStatus.REJECTED and sim.contracts == -1


def test_fill_crossing_zero_closes_and_reopens() -> None:
    rows = [FLAT, (40_010, 40_010, 40_010, 40_010), (40_500, 40_500, 40_500, 40_500)]
    sim = make_sim(rows)
    run(sim, {0: buy_market(1), 1: buy_market(-2)})
    flip = sim.fills[1]
    assert flip.realized_pnl == pytest.approx(490)
    pos = sim.get_position()
    assert (pos.contracts, pos.entry_price) == (-1, 40_500)
    assert sim.wallet_balance == pytest.approx(100_000 - 22.0055 + 490 - 2 * 40_500 * 0.00055)


def test_rejections_name_their_reason() -> None:
    sim = make_sim([FLAT, FLAT], leverage=100, balance=10_000_000)
    cases = {
        RejectReason.BELOW_MIN_QTY: dict(order_type="limit", contracts=0.0001, price=39_000),
        RejectReason.NOT_LOT_MULTIPLE: dict(order_type="limit", contracts=0.0015, price=39_000),
        RejectReason.NOT_TICK_MULTIPLE: dict(order_type="limit", contracts=1, price=39_000.05),
        RejectReason.INVALID_PRICE: dict(order_type="limit", contracts=1),
        RejectReason.LEVERAGE_ABOVE_TIER: dict(order_type="limit", contracts=60, price=39_000),
        RejectReason.ZERO_QTY: dict(order_type="market", contracts=0),
        RejectReason.REDUCE_ONLY_NO_POSITION: dict(order_type="market", contracts=1, reduce_only=True),
    }
    sim.step(0)
    for reason, kwargs in cases.items():
        order = sim.open_order(**kwargs)
        assert (order.status, order.reject_reason) == (OrderStatus.REJECTED, reason.value), reason
    poor = make_sim([FLAT, FLAT], leverage=10, balance=1_000)
    poor.step(0)
    assert poor.open_order("market", 1).reject_reason == RejectReason.INSUFFICIENT_BALANCE.value


def test_isolated_liquidation_at_bankruptcy_price_loses_the_position_margin() -> None:
    rows = [FLAT, FLAT, (40_000, 40_000, 39_300, 39_500)]
    sim = make_sim(rows, balance=1_000, leverage=50)
    run(sim, {0: buy_market(1), 1: lambda s: s.open_order(OrderType.LIMIT, 0.01, price=39_350)})
    pos_before_fill = sim.fills[0]
    assert pos_before_fill.price == 40_000
    liq = sim.fills[-1]
    assert liq.kind is FillKind.LIQUIDATION
    assert liq.price == pytest.approx(39_200)
    assert liq.realized_pnl == pytest.approx(-800) and liq.fee == pytest.approx(21.56)
    assert sim.contracts == 0 and sim.get_open_orders() == []
    assert sim.wallet_balance == pytest.approx(1_000 - 22 - 821.56)


def test_isolated_liquidation_price_matches_uta_formula() -> None:
    sim = make_sim([FLAT, FLAT], balance=1_000, leverage=50)
    run(sim, {0: buy_market(1)})
    pos = sim.get_position()
    assert pos.liquidation_price == pytest.approx((40_000 - 800) / 0.995)
    assert pos.bankruptcy_price == pytest.approx(39_200)
    assert pos.initial_margin == pytest.approx(821.56)


def test_cross_liquidation_uses_the_whole_wallet() -> None:
    rows = [FLAT, FLAT, (40_000, 40_000, 39_100, 39_200)]
    sim = make_sim(rows, balance=1_000, leverage=50, margin_mode=MarginMode.CROSS)
    run(sim, {0: buy_market(1)})
    liq = sim.fills[-1]
    assert liq.kind is FillKind.LIQUIDATION
    assert liq.price == pytest.approx(40_000 - (978 - 21.56))
    assert sim.wallet_balance == pytest.approx(0, abs=1e-6)


def test_cross_liquidation_price_estimate() -> None:
    sim = make_sim([FLAT, FLAT], balance=1_000, leverage=50, margin_mode="cross")
    run(sim, {0: buy_market(1)})
    assert sim.get_position().liquidation_price == pytest.approx((40_000 - 978 + 21.56) / 0.995)


def test_liquidation_triggers_on_mark_not_last_price() -> None:
    rows = [FLAT, FLAT, (40_000, 40_000, 39_300, 39_500)]
    marks = [FLAT, FLAT, (40_000, 40_000, 39_450, 39_500)]
    sim = make_sim(rows, marks=marks, balance=1_000, leverage=50)
    run(sim, {0: buy_market(1)})
    assert sim.contracts == 1  # last price went below the liquidation price, the mark did not


def test_funding_longs_pay_and_shorts_receive_at_settlement() -> None:
    rows = [(40_000 + k, 40_000 + k, 40_000 + k, 40_000 + k) for k in range(10)]
    funding = [(T0 + 8 * HOUR, 0.0001)]
    long_ = make_sim(rows, tf=HOUR, funding=funding)
    run(long_, {0: buy_market(1)})
    short = make_sim(rows, tf=HOUR, funding=funding)
    run(short, {0: buy_market(-1)})
    paid = [f for f in long_.fills if f.kind is FillKind.FUNDING]
    got = [f for f in short.fills if f.kind is FillKind.FUNDING]
    assert len(paid) == 1 and paid[0].time_ms == T0 + 8 * HOUR
    assert paid[0].fee == pytest.approx(40_008 * 0.0001) and got[0].fee == pytest.approx(-40_008 * 0.0001)
    assert long_.get_wallet().cumulative_funding == pytest.approx(4.0008)


def test_constant_funding_rate_every_eight_hours() -> None:
    rows = [FLAT] * 25
    sim = make_sim(rows, tf=HOUR, funding_rate=0.0001)
    run(sim, {0: buy_market(1)})
    assert [f.time_ms - T0 for f in sim.fills if f.kind is FillKind.FUNDING] == [
        8 * HOUR,
        16 * HOUR,
        24 * HOUR,
    ]


def test_no_funding_when_flat_at_settlement() -> None:
    rows = [FLAT] * 10
    sim = make_sim(rows, tf=HOUR, funding=[(T0 + 8 * HOUR, 0.0001)])
    run(sim, {0: buy_market(1), 6: buy_market(-1)})
    assert [f for f in sim.fills if f.kind is FillKind.FUNDING] == []


def test_inverse_round_trip_pnl_and_fees_in_coin() -> None:
    rows = [FLAT, FLAT, (44_000, 44_000, 44_000, 44_000), (44_000, 44_000, 44_000, 44_000)]
    sim = make_sim(rows, symbol="BTCUSD", balance=1.0, leverage=5)
    run(sim, {0: buy_market(10_000), 2: buy_market(-10_000)})
    opened, closed = sim.fills
    assert opened.fee == pytest.approx(10_000 / 40_000 * 0.00055)
    assert closed.realized_pnl == pytest.approx(10_000 * (1 / 40_000 - 1 / 44_000), abs=1e-8)
    expected = 1.0 - opened.fee - closed.fee + closed.realized_pnl
    assert sim.wallet_balance == pytest.approx(expected)


def test_inverse_average_entry_is_harmonic() -> None:
    rows = [FLAT, FLAT, (50_000,) * 4, (50_000,) * 4]
    sim = make_sim(rows, symbol="BTCUSD", balance=1.0, leverage=5)
    run(sim, {0: buy_market(10_000), 2: buy_market(10_000)})
    assert sim.get_position().entry_price == pytest.approx(20_000 / (10_000 / 40_000 + 10_000 / 50_000))


def test_amend_and_cancel() -> None:
    rows = [FLAT, (40_000, 40_050, 39_850, 39_900)]
    sim = make_sim(rows, limit_fill="touch")
    sim.step(0)
    order = sim.open_order(OrderType.LIMIT, 1, price=39_000)
    margin = sim.get_wallet().order_margin
    sim.edit_order(order.id, price=39_850)
    assert sim.get_wallet().order_margin == pytest.approx(margin * 39_850 / 39_000, rel=1e-3)
    sim.step(1)
    assert sim.fills[0].price == 39_850
    assert sim.cancel_order(order.id) is None
    assert sim.get_wallet().order_margin == 0


def test_amend_that_would_take_is_refused_and_leaves_the_order() -> None:
    sim = make_sim([FLAT, FLAT])
    sim.step(0)
    order = sim.open_order(OrderType.LIMIT, 1, price=39_000, post_only=True)
    sim.edit_order(order.id, price=40_100)
    assert order.price == 39_000 and order.is_open and order.reject_reason is not None


def test_contracts_pct_of_balance_applies_leverage_and_lot_step() -> None:
    sim = make_sim([FLAT], balance=10_000, leverage=5)
    sim.step(0)
    assert sim.get_contracts_pct_of_balance(0.1) == 0.125  # 10 % x 10,000 x 5 / 40,000
    inv = make_sim([FLAT], symbol="BTCUSD", balance=0.5, leverage=2)
    inv.step(0)
    assert inv.get_contracts_pct_of_balance(0.1) == 4_000  # 0.1 x 0.5 BTC x 2 x 40,000 USD


def test_add_margin_moves_the_isolated_liquidation_price() -> None:
    sim = make_sim([FLAT, FLAT], balance=5_000, leverage=50)
    run(sim, {0: buy_market(1)})
    sim.add_margin(3_000)
    assert sim.get_position().liquidation_price == pytest.approx((40_000 - 800 - 3_000 / (1 - 0.00055)) / 0.995)


@pytest.mark.parametrize("tif", ["IOC", "FOK"])
def test_ioc_and_fok_limits_that_cannot_fill_expire_at_arrival(tif: str) -> None:
    sim = make_sim([FLAT, FLAT, FLAT])
    order = run(sim, {0: lambda s: s.open_order(OrderType.LIMIT, 1, price=39_000, time_in_force=tif)})[0]
    assert order.status is OrderStatus.CANCELLED and sim.get_open_orders() == []
    assert sim.get_wallet().order_margin == 0


def test_a_one_x_inverse_short_has_no_liquidation_price() -> None:
    sim = make_sim([FLAT, FLAT], symbol="BTCUSD", balance=1.0, leverage=1)
    run(sim, {0: buy_market(-10_000)})
    pos = sim.get_position()
    assert pos.contracts == -10_000 and pos.liquidation_price == 0.0 and pos.bankruptcy_price == 0.0


def test_constant_funding_starts_at_epoch_zero_without_hanging() -> None:
    from kektrade.exchange.sim.settings import MarketArrays

    arrays = MarketArrays([k * HOUR for k in range(10)], *([[40_000.0] * 10] * 4), timeframe_ms=HOUR)
    sim = SimExchange(spec("BTCUSDT"), arrays, initial_balance=100_000, leverage=10, funding_rate=0.0001)
    run(sim, {0: buy_market(1)})
    assert [f.time_ms for f in sim.fills if f.kind is FillKind.FUNDING] == [8 * HOUR]


def test_appending_candles_keeps_mark_and_volume_columns_aligned() -> None:
    from kektrade.exchange.sim.settings import MarketArrays

    arrays = market([FLAT, FLAT], marks=[FLAT, FLAT])
    arrays.volume = [5.0, 6.0]
    arrays.append(T0 + 2 * 60_000, 1.0, 2.0, 0.5, 1.5, mark=(1.1, 2.1, 0.6, 1.6), volume=7.0)
    assert list(arrays.volume) == [5.0, 6.0, 7.0] and arrays.mark_close[-1] == 1.6 and len(arrays) == 3
    bare = MarketArrays([T0], [1.0], [1.0], [1.0], [1.0], timeframe_ms=60_000)
    bare.append(T0 + 60_000, 1.0, 1.0, 1.0, 1.0, volume=3.0)  # no volume column: none is started
    assert list(bare.volume) == [] and bare.mark_close is bare.close
