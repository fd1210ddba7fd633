"""CcxtSubaccount driving the real ccxt client against the fake Bybit v5 (whose venue is a SimExchange)."""

from __future__ import annotations

import ccxt
import pytest

from kektrade.domain.types import (
    ContractKind,
    MarginMode,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TriggerBy,
)
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount, order_from_info
from kektrade.exchange.live.errors import VenueError
from kektrade.exchange.live.markets import spec_from_market
from tests.exchange.live.conftest import make_client
from tests.fakes.bybit_trading import FakeBybitExchange

SYMBOL = "BTC/USDT:USDT"


def account(fake: FakeBybitExchange, client: ccxt.Exchange, balance: float = 10_000.0) -> CcxtSubaccount:
    fake.open_account("BTCUSDT", balance, leverage=10)
    fake.push_candle("BTCUSDT", 100, 101, 99, 100)
    return CcxtSubaccount(client, SYMBOL)


# -- markets ------------------------------------------------------------------------------------------


def test_spec_from_parsed_markets(client: ccxt.Exchange) -> None:
    client.load_markets()
    linear = spec_from_market(client.market(SYMBOL), None, {"taker": 0.0004, "maker": 0.0001})
    assert (linear.kind, linear.tick_size, linear.lot_step, linear.min_qty) == (
        ContractKind.LINEAR,
        0.1,
        0.001,
        0.001,
    )
    assert (linear.taker_fee, linear.maker_fee, linear.funding_interval_ms) == (0.0004, 0.0001, 8 * 3_600_000)
    assert linear.risk_tiers[1].deduction == 1200.0  # built-in ladder when the venue gives none
    inverse = spec_from_market(client.market("BTC/USD:BTC"), None, None)
    assert inverse.kind is ContractKind.INVERSE and inverse.contract_size == 1.0 and inverse.tick_size == 0.5
    assert inverse.settle == "BTC" and inverse.lot_step == 1.0


def test_spec_uses_venue_tiers_fees_and_funding_interval(
    fake: FakeBybitExchange, client: ccxt.Exchange
) -> None:
    fake.state.add_instrument(
        "SOLUSDT", "linear", "SOL", "USDT", "USDT", tick="0.01", funding_interval_min=240
    )
    fake.open_account("BTCUSDT", 1000)
    client.load_markets()
    rows = client.fetch_leverage_tiers([SYMBOL])[SYMBOL]
    spec = spec_from_market(client.market("SOL/USDT:USDT"), rows, client.fetch_trading_fee(SYMBOL))
    assert spec.funding_interval_ms == 4 * 3_600_000
    assert [t.max_leverage for t in spec.risk_tiers[:3]] == [100.0, 90.0, 80.0]
    assert spec.risk_tiers[2].deduction == 3020.0 and spec.taker_fee == 0.00055
    del fake.state.instruments["linear"]["SOLUSDT"]


def test_spec_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"precision\.price"):
        spec_from_market({"symbol": "X/USDT:USDT", "contract": True, "precision": {"amount": 1}}, None, None)


# -- orders ---------------------------------------------------------------------------------------------


def test_market_order_fills_on_next_candle(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client)
    order = acc.open_order(OrderType.MARKET, 0.5, client_id="entry-1")
    assert order.status is OrderStatus.NEW and order.client_id == "entry-1"
    assert acc.get_position().contracts == 0.0
    fake.push_candle("BTCUSDT", 102, 103, 101, 102)
    pos = acc.get_position()
    assert pos.contracts == 0.5 and pos.entry_price == 102.0 and pos.mark_price == 102.0
    assert pos.margin_mode is MarginMode.ISOLATED and pos.leverage == 10.0 and pos.bankruptcy_price > 0
    wallet = acc.get_wallet()
    fee = 0.5 * 102 * 0.00055
    assert wallet.wallet_balance == pytest.approx(10_000 - fee, abs=1e-9)
    assert wallet.cumulative_fees == pytest.approx(fee) and wallet.position_margin > 5.1
    acc.refresh()
    assert acc.contracts == 0.5 and acc.last_price == 102.0


def test_limit_amend_cancel(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client)
    # off the tick: refused as the simulator refuses it, never rounded by ccxt (issue 12, finding 7)
    off_tick = acc.open_order(OrderType.LIMIT, 1.0, price=95.04)
    assert off_tick.reject_reason == RejectReason.NOT_TICK_MULTIPLE.value
    order = acc.open_order(OrderType.LIMIT, 1.0, price=95.0)
    assert order.price == 95.0
    assert acc.get_wallet().order_margin > 0
    amended = acc.edit_order(order.id, price=96.0, contracts=2.0)
    assert (amended.price, amended.contracts, amended.reject_reason) == (96.0, 2.0, None)
    assert [o.id for o in acc.get_open_orders()] == [order.id]
    cancelled = acc.cancel_order(order.id)
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert acc.cancel_order(order.id) is None
    assert acc.get_open_orders() == [] and acc.get_wallet().order_margin == 0.0


def test_limit_fills_when_traded_through(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client)
    order = acc.open_order(OrderType.LIMIT, -1.0, price=103.0)
    fake.push_candle("BTCUSDT", 100, 103, 99, 100)  # touches only: trade-through rule, no fill
    assert acc.get_position().contracts == 0.0
    fake.push_candle("BTCUSDT", 100, 104, 99, 103.5)
    fills = acc.fetch_fills()
    assert [(f.contracts, f.price, f.is_maker, f.order_id) for f in fills] == [(-1.0, 103.0, True, order.id)]
    assert fills[0].fee == pytest.approx(103 * 0.0002)


def test_post_only_that_would_take_is_rejected(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client)
    order = acc.open_order(OrderType.LIMIT, 1.0, price=101.0, post_only=True)
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == RejectReason.POST_ONLY_WOULD_TAKE.value
    body = fake.requests_to("/v5/order/create")[-1].body
    assert body is not None and body["timeInForce"] == "PostOnly"


def test_insufficient_balance_becomes_rejected_order(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client, balance=100.0)
    order = acc.open_order(OrderType.MARKET, 100.0)
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == RejectReason.INSUFFICIENT_BALANCE.value


def test_reduce_only_and_close_position(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client)
    refused = acc.open_order(OrderType.MARKET, -1.0, reduce_only=True)
    assert refused.status is OrderStatus.REJECTED
    assert refused.reject_reason == RejectReason.REDUCE_ONLY_NO_POSITION.value
    acc.open_order(OrderType.MARKET, 1.0)
    fake.push_candle("BTCUSDT", 100, 101, 99, 100)
    assert acc.get_position().contracts == 1.0
    closing = acc.close_position()
    assert closing is not None and closing.reduce_only and closing.contracts == -1.0
    fake.push_candle("BTCUSDT", 101, 102, 100, 101)
    assert acc.get_position().contracts == 0.0 and acc.close_position() is None
    assert acc.get_wallet().cumulative_realized_pnl == pytest.approx(1.0)


def test_conditional_orders_listed_triggered_and_cancelled(
    fake: FakeBybitExchange, client: ccxt.Exchange
) -> None:
    acc = account(fake, client)
    stop = acc.open_order(OrderType.STOP_MARKET, 1.0, trigger_price=105.0, trigger_by=TriggerBy.MARK)
    take = acc.open_order(OrderType.TAKE_PROFIT_LIMIT, 1.0, price=94.0, trigger_price=95.0)
    limit = acc.open_order(OrderType.LIMIT, 1.0, price=90.0)
    create = fake.requests_to("/v5/order/create")[-3].body
    assert create is not None and (create["triggerDirection"], create["triggerBy"]) == (1, "MarkPrice")
    listed = acc.get_open_orders()
    assert {o.id: o.type for o in listed} == {
        stop.id: OrderType.STOP_MARKET,
        take.id: OrderType.TAKE_PROFIT_LIMIT,
        limit.id: OrderType.LIMIT,
    }
    assert stop.status is OrderStatus.UNTRIGGERED and stop.trigger_by is TriggerBy.MARK
    moved = acc.edit_order(stop.id, trigger_price=106.0)
    assert moved.trigger_price == 106.0 and moved.trigger_by is TriggerBy.MARK
    fake.push_candle("BTCUSDT", 100, 107, 99, 106)
    assert acc.get_position().contracts == 1.0
    assert acc.fetch_fills()[-1].price == 106.0
    assert acc.cancel_all_orders() == 2 and acc.get_open_orders() == []


def test_wrong_side_trigger_is_rejected(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client)
    order = acc.open_order(OrderType.STOP_MARKET, 1.0, trigger_price=95.0)
    assert order.status is OrderStatus.REJECTED and order.reject_reason == RejectReason.INVALID_TRIGGER.value


def test_ioc_and_fok_are_sent_and_read_back(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client)
    ioc = acc.open_order(OrderType.LIMIT, 1.0, price=90.0, time_in_force="IOC")
    fok = acc.open_order(OrderType.LIMIT, 1.0, price=91.0, time_in_force=TimeInForce.FOK)
    sent = [r.body["timeInForce"] for r in fake.requests_to("/v5/order/create")[-2:]]  # type: ignore[index]
    assert sent == ["IOC", "FOK"]
    assert (ioc.time_in_force, fok.time_in_force) == (TimeInForce.IOC, TimeInForce.FOK)


@pytest.mark.parametrize(
    ("bybit_reason", "tif", "expected"),
    [
        ("EC_CancelForNoFullFill", "IOC", RejectReason.IOC_NOT_FILLED.value),
        ("EC_CancelForNoFullFill", "FOK", RejectReason.FOK_NOT_FILLABLE.value),
        ("EC_PostOnlyWillTakeLiquidity", "PostOnly", RejectReason.POST_ONLY_WOULD_TAKE.value),
        ("EC_PerCancelRequest", "GTC", None),
        ("EC_SomethingNew", "GTC", "EC_SomethingNew"),
    ],
)
def test_cancel_reasons_from_bybit_payloads(bybit_reason: str, tif: str, expected: str | None) -> None:
    info = {
        "orderId": "a",
        "side": "Sell",
        "orderType": "Limit",
        "price": "10",
        "qty": "2",
        "cumExecQty": "0",
        "orderStatus": "Cancelled",
        "timeInForce": tif,
        "rejectReason": bybit_reason,
        "orderLinkId": "",
    }
    order = order_from_info(info, SYMBOL)
    assert (order.status, order.reject_reason, order.contracts, order.filled) == (
        OrderStatus.CANCELLED,
        expected,
        -2.0,
        0.0,
    )
    assert order.post_only == (tif == "PostOnly") and order.client_id is None


# -- settings ---------------------------------------------------------------------------------------------


def test_leverage_margin_mode_and_add_margin(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client)
    acc.set_leverage(10)  # unchanged: Bybit answers 110043, which counts as success
    acc.set_leverage(5)
    assert fake.sims["BTCUSDT"].get_position().leverage == 5.0
    with pytest.raises(VenueError, match="110013"):
        acc.set_leverage(500)
    acc.set_margin_mode(MarginMode.CROSS)
    assert acc.get_position().margin_mode is MarginMode.CROSS
    acc.set_margin_mode("cross")  # already set: no error
    acc.set_margin_mode(MarginMode.ISOLATED)
    with pytest.raises(VenueError, match="110033"):
        acc.add_margin(10.0)
    acc.open_order(OrderType.MARKET, 1.0)
    fake.push_candle("BTCUSDT", 100, 101, 99, 100)
    liq_before = acc.get_position().liquidation_price
    acc.add_margin(5.0)
    assert acc.get_position().liquidation_price < liq_before
    with pytest.raises(VenueError):
        acc.set_margin_mode(MarginMode.CROSS)  # not while a position is open


def test_contracts_pct_of_balance(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    acc = account(fake, client)
    assert acc.get_contracts_pct_of_balance(0.1) == fake.sims["BTCUSDT"].get_contracts_pct_of_balance(0.1)
    assert acc.get_contracts_pct_of_balance(0.1, price=200.0) == 50.0


def test_inverse_account(fake: FakeBybitExchange, client: ccxt.Exchange) -> None:
    fake.open_account("BTCUSD", 1.0, leverage=5)
    fake.push_candle("BTCUSD", 40_000, 40_100, 39_900, 40_000)
    acc = CcxtSubaccount(client, "BTC/USD:BTC")
    assert acc.spec.is_inverse and acc.spec.contract_size == 1.0
    acc.open_order(OrderType.MARKET, 1000)
    fake.push_candle("BTCUSD", 40_000, 40_100, 39_900, 40_000)
    pos = acc.get_position()
    assert pos.contracts == 1000 and pos.settle_currency == "BTC"
    assert pos.position_value == pytest.approx(1000 / 40_000)
    assert acc.get_wallet().cumulative_fees == pytest.approx(1000 / 40_000 * 0.00055)


# -- authentication -----------------------------------------------------------------------------------


def test_bad_signature_is_an_authentication_error(fake: FakeBybitExchange) -> None:
    fake.open_account("BTCUSDT", 1000)
    bad = make_client(fake, secret="not-the-secret")
    bad.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="10004"):
        bad.fetch_balance()
    with pytest.raises(VenueError, match="10004"):
        CcxtSubaccount(bad, SYMBOL).get_wallet()
    good = fake.requests_to("/v5/account/wallet-balance")
    assert all("not-the-secret" not in str(r.headers) for r in good)
