"""Binance payloads as kektrade orders and fills (bodies shaped like the research note's captures)."""

from __future__ import annotations

import pytest

from kektrade.domain.types import FillKind, OrderStatus, OrderType, RejectReason, TimeInForce, TriggerBy
from kektrade.exchange.live.binance_parse import (
    EXPIRED_BY_EXCHANGE,
    fill_from_income,
    fill_from_trade,
    order_from_algo,
    order_from_row,
    order_params,
)

PAIR = "BTC/USDT:USDT"
ORDER = {
    "orderId": 4000000001, "symbol": "BTCUSDT", "status": "NEW", "clientOrderId": "kt12345678-abc-1",
    "price": "36000", "avgPrice": "0.00", "origQty": "0.020", "executedQty": "0", "cumQuote": "0.0000",
    "timeInForce": "GTC", "type": "LIMIT", "origType": "LIMIT", "reduceOnly": False, "side": "BUY",
    "positionSide": "BOTH", "stopPrice": "0", "workingType": "CONTRACT_PRICE", "time": 1700000000000,
    "updateTime": 1700000000000,
}  # fmt: skip
ALGO = {
    "algoId": 2148719, "clientAlgoId": "x-cvBPrNm9abc", "algoType": "CONDITIONAL", "orderType": "TAKE_PROFIT",
    "symbol": "BTCUSDT", "side": "SELL", "positionSide": "BOTH", "timeInForce": "GTC", "quantity": "0.020",
    "algoStatus": "NEW", "triggerPrice": "38000", "price": "37990", "workingType": "MARK_PRICE",
    "reduceOnly": True, "createTime": 1700000000000, "updateTime": 1700000000500, "actualOrderId": "",
    "executedQty": "0",
}  # fmt: skip


def test_a_resting_limit_order() -> None:
    order = order_from_row(ORDER, PAIR)
    assert (order.id, order.type, order.contracts, order.price, order.status) == (
        "4000000001", OrderType.LIMIT, 0.02, 36000.0, OrderStatus.NEW
    )
    assert (order.client_id, order.trigger_price, order.trigger_direction, order.created_ms) == (
        "kt12345678-abc-1", None, 0, 1700000000000
    )


@pytest.mark.parametrize(
    ("tif", "reason", "post_only", "kektrade_tif"),
    [
        ("IOC", RejectReason.IOC_NOT_FILLED.value, False, TimeInForce.IOC),
        ("FOK", RejectReason.FOK_NOT_FILLABLE.value, False, TimeInForce.FOK),
        ("GTX", RejectReason.POST_ONLY_WOULD_TAKE.value, True, TimeInForce.GTC),
        ("GTC", EXPIRED_BY_EXCHANGE, False, TimeInForce.GTC),
    ],
)
def test_expired_orders_get_the_reason_of_their_time_in_force(
    tif: str, reason: str, post_only: bool, kektrade_tif: TimeInForce
) -> None:
    order = order_from_row({**ORDER, "status": "EXPIRED", "timeInForce": tif}, PAIR)
    assert (order.status, order.reject_reason, order.post_only, order.time_in_force) == (
        OrderStatus.CANCELLED, reason, post_only, kektrade_tif
    )
    assert order_from_row({**ORDER, "status": "CANCELED", "timeInForce": tif}, PAIR).reject_reason is None


def test_a_triggered_stop_read_from_the_matching_engine_keeps_its_type_and_takes_the_algo_id() -> None:
    row = {**ORDER, "orderId": 77, "type": "MARKET", "origType": "STOP_MARKET", "status": "FILLED", "side": "SELL",
           "stopPrice": "35000", "executedQty": "0.020", "avgPrice": "34990.5", "price": "0"}  # fmt: skip
    order = order_from_row(row, PAIR, order_id="2148719")
    assert (order.id, order.type, order.contracts, order.filled, order.avg_fill_price) == (
        "2148719", OrderType.STOP_MARKET, -0.02, -0.02, 34990.5
    )
    assert (order.trigger_price, order.trigger_direction, order.price) == (35000.0, 2, None)


@pytest.mark.parametrize(
    ("algo_status", "executed", "status"),
    [
        ("NEW", "0", OrderStatus.UNTRIGGERED),
        ("TRIGGERED", "0", OrderStatus.NEW),
        ("TRIGGERED", "0.010", OrderStatus.PARTIALLY_FILLED),
        ("FINISHED", "0.020", OrderStatus.FILLED),
        ("FINISHED", "0.010", OrderStatus.CANCELLED),
        ("CANCELED", "0", OrderStatus.CANCELLED),
        ("EXPIRED", "0", OrderStatus.CANCELLED),
        ("REJECTED", "0", OrderStatus.REJECTED),
    ],
)
def test_algo_orders(algo_status: str, executed: str, status: OrderStatus) -> None:
    order = order_from_algo({**ALGO, "algoStatus": algo_status, "executedQty": executed}, PAIR)
    assert order.status is status
    assert (order.id, order.type, order.contracts, order.price, order.trigger_price) == (
        "2148719", OrderType.TAKE_PROFIT_LIMIT, -0.02, 37990.0, 38000.0
    )
    assert (order.trigger_by, order.trigger_direction, order.reduce_only) == (TriggerBy.MARK, 1, True)
    assert order.client_id == "x-cvBPrNm9abc"
    assert (order.reject_reason == EXPIRED_BY_EXCHANGE) is (algo_status == "EXPIRED")


def test_a_user_trade() -> None:
    row = {"id": 698759, "orderId": 4000000001, "symbol": "BTCUSDT", "side": "BUY", "price": "37000",
           "qty": "0.020", "quoteQty": "740", "commission": "0.37000000", "commissionAsset": "USDT",
           "realizedPnl": "0", "maker": False, "buyer": True, "time": 1700000001000}  # fmt: skip
    fill = fill_from_trade(row, PAIR)
    assert (fill.kind, fill.contracts, fill.price, fill.fee, fill.order_id, fill.is_maker) == (
        FillKind.TRADE, 0.02, 37000.0, 0.37, "4000000001", False
    )
    assert fill.fee_rate == 0.0005  # 0.37 of 740 USDT


def test_a_funding_payment_with_the_settlements_rate_and_mark() -> None:
    # research note X8: 0.02 BTC long, settlement mark 37,000.12345678, rate 0.01 % -> 0.07400024691356 USDT paid
    row = {"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE", "income": "-0.07400024691356", "asset": "USDT",
           "time": 1700006400000, "tranId": 9689322392}  # fmt: skip
    fill = fill_from_income(row, PAIR, 0.0001, 37_000.12345678, 0.001)
    assert (fill.kind, fill.time_ms, fill.price, fill.fee_rate) == (FillKind.FUNDING, 1700006400000, 37_000.12345678,
                                                                   0.0001)  # fmt: skip
    assert fill.fee == pytest.approx(0.02 * 37_000.12345678 * 0.0001, abs=1e-14)
    assert fill.contracts == pytest.approx(0.02, abs=1e-12)
    received = fill_from_income({**row, "income": "0.07400024691356"}, PAIR, 0.0001, 37_000.12345678, 0.001)
    assert received.contracts == pytest.approx(-0.02, abs=1e-12)  # a short receives a positive rate


def test_order_params_send_triggers_to_the_algo_service() -> None:
    stop = order_params(OrderType.STOP_MARKET, False, TimeInForce.GTC, True, "kt-1", "97", TriggerBy.MARK)
    assert stop == {"clientOrderId": "kt-1", "reduceOnly": True, "triggerPrice": "97", "workingType": "MARK_PRICE"}
    take = order_params(OrderType.TAKE_PROFIT_LIMIT, False, TimeInForce.GTC, False, "kt-2", "120", TriggerBy.LAST)
    assert take == {"clientOrderId": "kt-2", "takeProfitPrice": "120", "workingType": "CONTRACT_PRICE"}
    post = order_params(OrderType.LIMIT, True, TimeInForce.GTC, False, "kt-3", None, TriggerBy.LAST)
    assert post == {"clientOrderId": "kt-3", "postOnly": True}
    assert order_params(OrderType.LIMIT, False, TimeInForce.FOK, False, "kt-4", None, TriggerBy.LAST)[
        "timeInForce"] == "FOK"  # fmt: skip
