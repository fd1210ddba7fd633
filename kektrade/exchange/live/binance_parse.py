"""Binance USDⓈ-M payloads (orders, algo orders, user trades, funding income) as kektrade's ``Order`` and ``Fill``.

Binance keeps conditional orders in its algo service: they have an ``algoId`` and ``clientAlgoId``, an
``algoStatus`` (NEW waiting, TRIGGERED working in the matching engine, FINISHED done, CANCELED, EXPIRED,
REJECTED) and, once triggered, the ``actualOrderId`` of the order they placed. Regular orders say nothing
about why Binance expired them, so the reason is read from the time in force (IOC, FOK, GTX post-only).
"""

from __future__ import annotations

from typing import Any

from kektrade.domain.types import (
    CONDITIONAL_TYPES,
    LIMIT_PRICED_TYPES,
    Fill,
    FillKind,
    Order,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TriggerBy,
)
from kektrade.exchange.live.client_ids import shown_client_id

BINANCE_TYPES = {
    OrderType.LIMIT: "LIMIT", OrderType.MARKET: "MARKET", OrderType.STOP_LIMIT: "STOP",
    OrderType.STOP_MARKET: "STOP_MARKET", OrderType.TAKE_PROFIT_LIMIT: "TAKE_PROFIT",
    OrderType.TAKE_PROFIT_MARKET: "TAKE_PROFIT_MARKET",
}  # fmt: skip
KINDS = {name: kind for kind, name in BINANCE_TYPES.items()}
_STATUSES = {
    "NEW": OrderStatus.NEW, "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED, "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED, "EXPIRED": OrderStatus.CANCELLED, "EXPIRED_IN_MATCH": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}  # fmt: skip
_TIF = {"GTC": TimeInForce.GTC, "GTX": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
_EXPIRY_REASONS = {
    "IOC": RejectReason.IOC_NOT_FILLED.value,
    "FOK": RejectReason.FOK_NOT_FILLABLE.value,
    "GTX": RejectReason.POST_ONLY_WOULD_TAKE.value,
}
EXPIRED_BY_EXCHANGE = "expired by the exchange (liquidation, closed position or price protection)"


def f(value: Any) -> float:
    """A Binance number (string or number) as float; '' and None are 0."""
    try:
        return float(value) if value not in (None, "") else 0.0
    except (TypeError, ValueError):
        return 0.0


def trigger_direction(kind: OrderType, buy: bool) -> int:
    """1 when the order fires on a rise, 2 on a fall (a stop buys on the way up), 0 for plain orders."""
    if kind not in CONDITIONAL_TYPES:
        return 0
    stop = kind in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
    return 1 if stop == buy else 2


def _expiry_reason(status: str, tif: str) -> str | None:
    if status in ("EXPIRED", "EXPIRED_IN_MATCH"):
        return _EXPIRY_REASONS.get(tif, EXPIRED_BY_EXCHANGE)
    return None


def _order(
    row: dict[str, Any], symbol: str, order_id: str, kind: OrderType, status: OrderStatus, client: str,
    qty_key: str, created_key: str,
) -> Order:
    buy = row.get("side") == "BUY"
    sign = 1.0 if buy else -1.0
    tif = str(row.get("timeInForce") or "GTC")
    trigger = f(row.get("triggerPrice") or row.get("stopPrice"))
    return Order(
        id=order_id,
        symbol=symbol,
        type=kind,
        contracts=sign * f(row.get(qty_key)),
        price=f(row.get("price")) if kind in LIMIT_PRICED_TYPES else None,
        trigger_price=trigger if kind in CONDITIONAL_TYPES and trigger else None,
        trigger_by=TriggerBy.MARK if row.get("workingType") == "MARK_PRICE" else TriggerBy.LAST,
        trigger_direction=trigger_direction(kind, buy),
        reduce_only=bool(row.get("reduceOnly")),
        post_only=tif == "GTX",
        time_in_force=_TIF.get(tif, TimeInForce.GTC),
        client_id=shown_client_id(client),
        status=status,
        filled=sign * f(row.get("executedQty")) or 0.0,
        avg_fill_price=f(row.get("avgPrice")),
        created_ms=int(f(row.get(created_key))),
        updated_ms=int(f(row.get("updateTime"))),
        reject_reason=_expiry_reason(str(row.get("status") or row.get("algoStatus")), tif),
    )


def order_from_row(row: dict[str, Any], symbol: str, order_id: str | None = None) -> Order:
    """An ``Order`` from ``/fapi/v1/order`` or ``openOrders`` (a triggered conditional order keeps its
    original type, ``origType``, and may be given the id of its algo order)."""
    kind = KINDS.get(str(row.get("origType") or row.get("type")), OrderType.LIMIT)
    status = _STATUSES.get(str(row.get("status")), OrderStatus.NEW)
    return _order(
        row, symbol, order_id or str(row.get("orderId")), kind, status, str(row.get("clientOrderId") or ""),
        "origQty", "time",
    )


def _algo_status(row: dict[str, Any]) -> OrderStatus:
    """An algo order's status: waiting, working, done (filled or not) or gone."""
    state = str(row.get("algoStatus"))
    executed, qty = f(row.get("executedQty")), f(row.get("quantity"))
    if state == "NEW":
        return OrderStatus.UNTRIGGERED
    if state in ("TRIGGERING", "TRIGGERED"):
        return OrderStatus.PARTIALLY_FILLED if executed else OrderStatus.NEW
    if state == "FINISHED" and qty and executed >= qty - 1e-12:
        return OrderStatus.FILLED
    if state == "REJECTED":
        return OrderStatus.REJECTED
    return OrderStatus.CANCELLED


def order_from_algo(row: dict[str, Any], symbol: str) -> Order:
    """An ``Order`` from ``/fapi/v1/algoOrder`` or ``openAlgoOrders`` (kektrade's id: the algoId)."""
    kind = KINDS.get(str(row.get("orderType")), OrderType.STOP_MARKET)
    order = _order(
        row, symbol, str(row.get("algoId")), kind, _algo_status(row), str(row.get("clientAlgoId") or ""),
        "quantity", "createTime",
    )
    if row.get("algoStatus") == "EXPIRED":
        order.reject_reason = EXPIRED_BY_EXCHANGE
    return order


def fill_from_trade(
    row: dict[str, Any], symbol: str, order_id: str | None = None, kind: FillKind = FillKind.TRADE
) -> Fill:
    """A ``Fill`` from one ``/fapi/v1/userTrades`` row (commission > 0 paid, < 0 rebate); a liquidation's
    trades are of kind LIQUIDATION and belong to no order of the run (order id '')."""
    sign = 1.0 if row.get("side") == "BUY" else -1.0
    qty, price = f(row.get("qty")), f(row.get("price"))
    fee = f(row.get("commission"))
    notional = qty * price
    return Fill(
        time_ms=int(f(row.get("time"))),
        symbol=symbol,
        kind=kind,
        contracts=sign * qty,
        price=price,
        fee=fee,
        realized_pnl=f(row.get("realizedPnl")),
        order_id=str(row.get("orderId") or "") if order_id is None else order_id,
        is_maker=bool(row.get("maker")),
        fee_rate=round(abs(fee) / notional, 10) if notional else 0.0,
    )


def fill_from_income(row: dict[str, Any], symbol: str, rate: float, mark: float, lot: float) -> Fill:
    """A funding ``Fill`` from one ``FUNDING_FEE`` income row (income < 0 paid), with the settlement's rate
    and mark price from the funding history; the position is what the payment implies, on the lot step."""
    fee = -f(row.get("income"))
    contracts = 0.0
    if rate and mark:
        contracts = round(fee / (rate * mark) / lot) * lot if lot else fee / (rate * mark)
    return Fill(
        time_ms=int(f(row.get("time"))),
        symbol=symbol,
        kind=FillKind.FUNDING,
        contracts=contracts,
        price=mark,
        fee=fee,
        realized_pnl=0.0,
        is_maker=False,
        fee_rate=rate,
    )


def order_params(draft_kind: OrderType, post_only: bool, tif: TimeInForce, reduce_only: bool, client_id: str,
                 trigger_text: str | None, trigger_by: TriggerBy) -> dict[str, Any]:  # fmt: skip
    """ccxt ``create_order`` params: a trigger sends the order to the algo service (``clientAlgoId``)."""
    params: dict[str, Any] = {"clientOrderId": client_id}
    if reduce_only:
        params["reduceOnly"] = True
    if post_only:
        params["postOnly"] = True
    elif tif is not TimeInForce.GTC:
        params["timeInForce"] = tif.value
    if draft_kind in CONDITIONAL_TYPES:
        take_profit = draft_kind in (OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT_LIMIT)
        params["takeProfitPrice" if take_profit else "triggerPrice"] = trigger_text
        params["workingType"] = "MARK_PRICE" if trigger_by is TriggerBy.MARK else "CONTRACT_PRICE"
    return params
