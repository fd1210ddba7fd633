"""Issue 12's findings on the simulator, each reproduced exactly as reported (they failed before the fix).

Expected numbers are computed here from Bybit's published formulas (order cost = IM + fee to open + fee to
close at the bankruptcy price), not read back from the simulator.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from kektrade.data.provider import load_market_data
from kektrade.domain.types import FillKind, OrderStatus, OrderType, RejectReason
from kektrade.engine.build import market_arrays
from kektrade.exchange.sim.exchange import SimError, SimExchange
from tests.exchange.sim.simkit import HOUR, T0, make_sim, spec

TAKER = 0.00055
FLAT = [(40_000, 40_050, 39_950, 40_000)] * 6


def cost(qty: float, price: float, lev: float, buy: bool) -> float:
    """Bybit's order cost of an opening order (linear): IM + fee to open + fee to close at bankruptcy."""
    bust = price * (1 - 1 / lev) if buy else price * (1 + 1 / lev)
    return qty * price / lev + qty * price * TAKER + qty * bust * TAKER


def long_02(balance: float = 1_000.0) -> SimExchange:
    """0.2 BTC long at 40,000 on 1,000 USDT at 10x (the issue's account)."""
    sim = make_sim(FLAT, balance=balance, leverage=10)
    sim.step(0)
    assert sim.open_order(OrderType.MARKET, 0.2).status is OrderStatus.NEW
    sim.step(1)
    assert sim.contracts == pytest.approx(0.2)
    return sim


# -- finding 1: stacked orders bypassed the margin check ---------------------------------------------


def test_twenty_stacked_sells_cannot_bypass_the_margin_a_single_sell_needs() -> None:
    sim = long_02()
    placed = [sim.open_order(OrderType.LIMIT, -0.2, price=41_000.0) for _ in range(20)]
    # the first sell only closes the long: it needs no margin; the second would open a short the
    # remaining available balance (about 1,000 - 800 - fees) cannot carry
    assert placed[0].status is OrderStatus.NEW
    assert [o.reject_reason for o in placed[1:]] == [RejectReason.INSUFFICIENT_BALANCE.value] * 19
    assert sim.get_wallet().available_balance >= 0.0
    single = long_02().open_order(OrderType.LIMIT, -4.0, price=41_000.0)
    assert single.reject_reason == RejectReason.INSUFFICIENT_BALANCE.value


def test_stacked_sells_reserve_exactly_what_one_sell_of_their_total_reserves() -> None:
    stacked = long_02(balance=1_000_000.0)
    for _ in range(20):
        assert stacked.open_order(OrderType.LIMIT, -0.2, price=41_000.0).status is OrderStatus.NEW
    single = long_02(balance=1_000_000.0)
    assert single.open_order(OrderType.LIMIT, -4.0, price=41_000.0).status is OrderStatus.NEW
    expected = cost(3.8, 41_000.0, 10, buy=False)  # the 0.2 netted against the long needs nothing
    assert stacked.get_wallet().order_margin == pytest.approx(expected, rel=1e-12)
    assert single.get_wallet().order_margin == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("balance", "kept"), [(850.0, True), (835.0, False)])
def test_an_order_that_stops_netting_is_repriced_or_cancelled_when_unaffordable(balance: float, kept: bool) -> None:
    """Long 0.2 with a free 0.2 sell resting; the long is closed another way: the sell now opens a short and
    needs margin. Affordable: reserved; unaffordable: cancelled (Bybit's CancelByCannotAffordOrderCost).

    The short costs 820 + 4.51 + 4.961 = 829.471; the wallet after opening and closing the long at 40,000
    (4.4 fee each way) is balance - 8.8: 841.2 (kept) or 826.2 (cancelled).
    """
    sim = make_sim(FLAT, balance=balance, leverage=10)
    sim.step(0)
    sim.open_order(OrderType.MARKET, 0.2)
    sim.step(1)
    resting = sim.open_order(OrderType.LIMIT, -0.2, price=41_000.0)
    assert resting.status is OrderStatus.NEW and sim.get_wallet().order_margin == 0.0
    sim.close_position()
    sim.step(2)
    wallet = sim.get_wallet()
    assert sim.contracts == 0.0 and wallet.wallet_balance == pytest.approx(balance - 8.8, abs=1e-9)
    if kept:
        assert resting.status is OrderStatus.NEW
        assert wallet.order_margin == pytest.approx(cost(0.2, 41_000.0, 10, buy=False), rel=1e-12)
    else:
        assert resting.status is OrderStatus.CANCELLED
        assert resting.reject_reason == RejectReason.CANNOT_AFFORD_ORDER_COST.value
        assert wallet.order_margin == 0.0
    assert wallet.available_balance >= 0.0


def test_cancelling_an_earlier_sell_frees_the_position_for_the_next_one() -> None:
    sim = long_02(balance=1_000_000.0)
    first = sim.open_order(OrderType.LIMIT, -0.2, price=41_000.0)
    sim.open_order(OrderType.LIMIT, -0.2, price=41_500.0)
    assert sim.get_wallet().order_margin == pytest.approx(cost(0.2, 41_500.0, 10, buy=False), rel=1e-12)
    sim.cancel_order(first.id)
    assert sim.get_wallet().order_margin == 0.0  # the second sell now closes the long


# -- finding 2: lowering leverage on an open isolated position was never funded ----------------------


def test_lowering_leverage_without_the_margin_is_refused_with_the_reason() -> None:
    rows = [(20_000, 20_010, 19_990, 20_000)] * 4 + [(20_000, 20_000, 5_000, 5_000)] * 2
    sim = make_sim(rows, balance=500.0, leverage=50)
    sim.step(0)
    sim.open_order(OrderType.MARKET, 1.0)
    sim.step(1)
    before = sim.get_wallet()
    # IM at 2x: 10,000 USDT; fee to close at 2x: 20,000 x 0.5 x 0.00055 = 5.5 -> 9,516.5 short of it
    with pytest.raises(SimError, match=r"set_leverage 2: needs .* USDT more margin, the available balance is"):
        sim.set_leverage(2)
    assert sim.get_position().leverage == 50
    assert sim.get_wallet() == before
    for i in range(2, 6):
        sim.step(i)
    # liquidated at 50x: the wallet lost the position margin, never more
    assert sim.contracts == 0.0
    assert sim.wallet_balance > 0.0


def test_lowering_leverage_with_the_margin_available_is_funded() -> None:
    sim = make_sim([(20_000, 20_010, 19_990, 20_000)] * 3, balance=20_000.0, leverage=50)
    sim.step(0)
    sim.open_order(OrderType.MARKET, 1.0)
    sim.step(1)
    available = sim.get_wallet().available_balance
    sim.set_leverage(2)
    # IM 400 -> 10,000; fee to close at the bankruptcy price 19,600 -> 10,000
    extra = (10_000 - 400) + (10_000 - 19_600) * TAKER
    assert sim.get_wallet().available_balance == pytest.approx(available - extra, abs=1e-6)
    assert sim.get_position().liquidation_price < 10_500


def test_leverage_tier_is_picked_by_position_value_at_mark() -> None:
    """2,000,000 USDT at entry is tier 1 (max 100x); at a mark of 21,000 it is 2,100,000: tier 2 (max 90x)."""
    rows = [(20_000, 20_000, 20_000, 20_000), (20_000, 20_000, 20_000, 20_000), (21_000, 21_000, 21_000, 21_000)]
    sim = make_sim(rows, balance=10_000_000.0, leverage=10)
    sim.step(0)
    sim.open_order(OrderType.MARKET, 100.0)
    sim.step(1)
    sim.set_leverage(95)  # value at mark 20,000: 2,000,000, tier 1
    sim.step(2)
    with pytest.raises(SimError, match=r"leverage 96 above the maximum 90"):
        sim.set_leverage(96)


# -- finding 4: the contract's funding interval ------------------------------------------------------


def _hourly_candles(tmp_path: Path) -> Path:
    path = tmp_path / "BTC-1h.csv"
    lines = [f"{T0 + k * HOUR},40000,40010,39990,40000,1" for k in range(25)]
    path.write_text("\n".join(["date,open,high,low,close,volume", *lines]) + "\n")
    return path


@pytest.mark.parametrize(("interval", "hours"), [(HOUR, list(range(2, 25))), (8 * HOUR, [8, 16, 24])])
def test_constant_funding_through_the_file_source_follows_the_contract_interval(
    tmp_path: Path, interval: int, hours: list[int]
) -> None:
    """The CLI path: file source -> market arrays -> simulator with data.funding_rate. A 1h-interval
    contract settled only 3 times in 25 hours before (the provider made an 8h series)."""
    data = load_market_data("file", "BTC/USDT:USDT", "1h", None, None,
                            file={"path": str(_hourly_candles(tmp_path)), "timeframe": "1h"})
    arrays = market_arrays(data.candles, data, HOUR)
    contract = replace(spec("BTCUSDT"), funding_interval_ms=interval)
    sim = SimExchange(contract, arrays, initial_balance=100_000, leverage=10, funding_rate=0.0001)
    sim.step(0)
    sim.open_order(OrderType.MARKET, 0.1)  # fills at the 01:00 open, after that hour's settlement
    for i in range(1, 25):
        sim.step(i)
    settled = [(f.time_ms - T0) // HOUR for f in sim.fills if f.kind is FillKind.FUNDING]
    assert settled == hours


# -- finding 7: NaN quantity and infinite price -----------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"order_type": "market", "contracts": math.nan}, RejectReason.QTY_NOT_FINITE),
        ({"order_type": "market", "contracts": math.inf}, RejectReason.QTY_NOT_FINITE),
        ({"order_type": "limit", "contracts": -math.inf, "price": 40_000.0}, RejectReason.QTY_NOT_FINITE),
        ({"order_type": "limit", "contracts": 0.1, "price": math.inf}, RejectReason.INVALID_PRICE),
        ({"order_type": "limit", "contracts": 0.1, "price": math.nan}, RejectReason.INVALID_PRICE),
        ({"order_type": "stop_market", "contracts": 0.1, "trigger_price": math.inf}, RejectReason.INVALID_TRIGGER),
        ({"order_type": "stop_market", "contracts": 0.1, "trigger_price": math.nan}, RejectReason.INVALID_TRIGGER),
        ({"order_type": "limit", "contracts": 0.1005, "price": 40_000.0}, RejectReason.NOT_LOT_MULTIPLE),
    ],
)
def test_non_finite_inputs_come_back_rejected_with_a_reason(kwargs: dict, reason: RejectReason) -> None:
    sim = make_sim(FLAT)
    sim.step(0)
    order = sim.open_order(**kwargs)
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == reason.value
    assert sim.get_open_orders() == [] and sim.get_wallet().order_margin == 0.0


def test_amending_to_a_non_finite_value_is_refused_and_leaves_the_order() -> None:
    sim = make_sim(FLAT)
    sim.step(0)
    order = sim.open_order(OrderType.LIMIT, 0.1, price=39_000.0)
    sim.edit_order(order.id, price=math.inf)
    assert order.reject_reason == f"amend refused: {RejectReason.INVALID_PRICE.value}"
    sim.edit_order(order.id, contracts=math.nan)
    assert order.reject_reason == f"amend refused: {RejectReason.QTY_NOT_FINITE.value}"
    assert (order.price, order.contracts, order.status) == (39_000.0, 0.1, OrderStatus.NEW)


def test_non_finite_leverage_is_refused() -> None:
    sim = make_sim(FLAT)
    with pytest.raises(SimError, match="leverage must be a finite number"):
        sim.set_leverage(math.nan)
    with pytest.raises(SimError, match="leverage must be a finite number"):
        sim.set_leverage(math.inf)


def test_enlarging_an_earlier_sell_makes_the_later_one_pay_its_margin() -> None:
    """Amending cannot bypass the netting either: long 0.2, two free 0.1 sells; the first grows to 0.2 and
    takes the whole long, so the second now opens a short and reserves its cost."""
    sim = long_02(balance=1_000_000.0)
    first = sim.open_order(OrderType.LIMIT, -0.1, price=41_000.0)
    sim.open_order(OrderType.LIMIT, -0.1, price=41_500.0)
    assert sim.get_wallet().order_margin == 0.0
    sim.edit_order(first.id, contracts=-0.2)
    assert first.reject_reason is None
    assert sim.get_wallet().order_margin == pytest.approx(cost(0.1, 41_500.0, 10, buy=False), rel=1e-12)
