"""Bybit v5 payloads (orders, executions) turned into kektrade's ``Order`` and ``Fill``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from kektrade.domain.types import (
    CONDITIONAL_TYPES,
    LIMIT_PRICED_TYPES,
    Fill,
    FillKind,
    Order,
    OrderStatus,
    OrderType,
    TimeInForce,
    TriggerBy,
)
from kektrade.exchange.live.client_ids import shown_client_id
from kektrade.exchange.live.errors import cancel_reason

_STATUSES = {
    "Untriggered": OrderStatus.UNTRIGGERED,
    "New": OrderStatus.NEW,
    "Created": OrderStatus.NEW,
    "Triggered": OrderStatus.NEW,
    "Active": OrderStatus.NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Deactivated": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
}
_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "PostOnly": TimeInForce.GTC}
_EXEC_KINDS = {"Trade": FillKind.TRADE, "Funding": FillKind.FUNDING, "BustTrade": FillKind.LIQUIDATION}


def _f(value: Any) -> float:
    """A Bybit number string as float ('' and None are 0)."""
    try:
        return float(value) if value not in (None, "") else 0.0
    except (TypeError, ValueError):
        return 0.0


def _order_type(bybit_type: str, trigger: float, direction: int, buy: bool) -> OrderType:
    """kektrade's order type from Bybit's orderType, triggerPrice and triggerDirection."""
    limit = bybit_type == "Limit"
    if not trigger:
        return OrderType.LIMIT if limit else OrderType.MARKET
    stop = (direction == 1) == buy  # a stop buys on the way up, sells on the way down
    if stop:
        return OrderType.STOP_LIMIT if limit else OrderType.STOP_MARKET
    return OrderType.TAKE_PROFIT_LIMIT if limit else OrderType.TAKE_PROFIT_MARKET


def order_from_info(info: dict[str, Any], symbol: str) -> Order:
    """An ``Order`` from one Bybit v5 order object (order/realtime or order/history)."""
    buy = info.get("side") == "Buy"
    sign = 1.0 if buy else -1.0
    trigger = _f(info.get("triggerPrice"))
    direction = int(_f(info.get("triggerDirection")))
    kind = _order_type(str(info.get("orderType")), trigger, direction, buy)
    raw_tif = str(info.get("timeInForce") or "GTC")
    tif = _TIF.get(raw_tif, TimeInForce.GTC)
    status = _STATUSES.get(str(info.get("orderStatus")), OrderStatus.NEW)
    reason = (
        cancel_reason(info.get("rejectReason"), tif)
        if status
        in (
            OrderStatus.CANCELLED,
            OrderStatus.REJECTED,
        )
        else None
    )
    return Order(
        id=str(info.get("orderId")),
        symbol=symbol,
        type=kind,
        contracts=sign * _f(info.get("qty")),
        price=_f(info.get("price")) if kind in LIMIT_PRICED_TYPES else None,
        trigger_price=trigger or None,
        trigger_by=TriggerBy.MARK if info.get("triggerBy") == "MarkPrice" else TriggerBy.LAST,
        trigger_direction=direction if kind in CONDITIONAL_TYPES else 0,
        reduce_only=bool(info.get("reduceOnly")),
        post_only=raw_tif == "PostOnly",
        time_in_force=tif,
        client_id=shown_client_id(str(info.get("orderLinkId") or "")),
        status=status,
        filled=sign * _f(info.get("cumExecQty")) or 0.0,
        avg_fill_price=_f(info.get("avgPrice")),
        fee_paid=_f(info.get("cumExecFee")),
        created_ms=int(_f(info.get("createdTime"))),
        updated_ms=int(_f(info.get("updatedTime"))),
        reject_reason=reason,
    )


def fill_from_execution(row: dict[str, Any], symbol: str) -> Fill:
    """A ``Fill`` from one Bybit v5 execution (``execution/list``); position_after is not reported."""
    kind = _EXEC_KINDS.get(str(row.get("execType")), FillKind.TRADE)
    sign = 1.0 if row.get("side") == "Buy" else -1.0
    return Fill(
        time_ms=int(_f(row.get("execTime"))),
        symbol=symbol,
        kind=kind,
        contracts=sign * _f(row.get("execQty")),
        price=_f(row.get("execPrice")),
        fee=_f(row.get("execFee")),
        realized_pnl=_f(row.get("execPnl")),
        order_id=str(row.get("orderId") or ""),
        is_maker=bool(row.get("isMaker")),
        fee_rate=_f(row.get("feeRate")),
    )


def exec_id_of(row: dict[str, Any]) -> str:
    """The exchange's execution id of one ``execution/list`` row."""
    return str(row.get("execId") or "")


def order_params(
    price_text: Callable[[float], str],
    kind: OrderType,
    contracts: float,
    trigger_price: float | None,
    reduce_only: bool,
    post_only: bool,
    tif: TimeInForce,
    client_id: str | None,
    trigger_by: TriggerBy,
) -> dict[str, Any]:
    """ccxt ``create_order`` params: flags, time in force, client id and trigger fields."""
    params: dict[str, Any] = {}
    if reduce_only:
        params["reduceOnly"] = True
    if post_only:
        params["postOnly"] = True
    elif tif is not TimeInForce.GTC:
        params["timeInForce"] = tif.value
    if client_id:
        params["clientOrderId"] = client_id
    if kind in CONDITIONAL_TYPES:
        if trigger_price is None:
            raise ValueError(f"open_order: {kind.value} needs trigger_price")
        stop = kind in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
        rising = stop == (contracts > 0)
        params["triggerPrice"] = price_text(trigger_price)
        params["triggerDirection"] = "ascending" if rising else "descending"
        params["triggerBy"] = "MarkPrice" if trigger_by is TriggerBy.MARK else "LastPrice"
    return params


def amended(order: Order, wanted: tuple[float | None, float | None, float | None]) -> bool:
    """True when ``order`` already has the wanted price, quantity and trigger (None: unchanged)."""
    price, contracts, trigger = wanted
    same = [
        price is None or (order.price is not None and math.isclose(order.price, price, rel_tol=1e-12)),
        contracts is None or math.isclose(abs(order.contracts), abs(contracts), rel_tol=1e-12),
        trigger is None or (order.trigger_price is not None and math.isclose(order.trigger_price, trigger)),
    ]
    return all(same) and order.is_open
