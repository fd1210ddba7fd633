"""OKX v5 payloads (orders, algo orders, fills, funding bills) turned into kektrade's ``Order`` and ``Fill``.

OKX counts contracts: every size (``sz``, ``accFillSz``, ``fillSz``, ``pos``) is multiplied by ``unit``
(``ctVal``: coins per contract on USDT swaps, USD per contract on coin-margined ones). Fees come negative
when paid (kektrade: positive when paid).
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
from kektrade.exchange.live.unified_dialect import STOPS, num

_STATES = {
    "live": OrderStatus.NEW,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "mmp_canceled": OrderStatus.CANCELLED,
    "order_failed": OrderStatus.REJECTED,
}
_TIF = {"ioc": TimeInForce.IOC, "fok": TimeInForce.FOK, "optimal_limit_ioc": TimeInForce.IOC}
# cancelSource codes of orders OKX cancelled on its own, in kektrade's words
_CANCEL_SOURCES = {
    "31": RejectReason.POST_ONLY_WOULD_TAKE.value,
    "14": RejectReason.IOC_NOT_FILLED.value,
    "13": RejectReason.FOK_NOT_FILLABLE.value,
}
_USER_CANCEL = frozenset({"", "1"})


def _reason(info: dict[str, Any]) -> str | None:
    source = str(info.get("cancelSource") or "")
    if source in _USER_CANCEL:
        return None
    return _CANCEL_SOURCES.get(source) or str(info.get("cancelSourceReason") or f"cancelSource {source}")


def order_from_okx(info: dict[str, Any], symbol: str, unit: float) -> Order:
    """An ``Order`` from one OKX regular order (trade/order, orders-pending)."""
    buy = info.get("side") == "buy"
    sign = 1.0 if buy else -1.0
    ord_type = str(info.get("ordType"))
    kind = OrderType.MARKET if ord_type in ("market", "optimal_limit_ioc") else OrderType.LIMIT
    status = _STATES.get(str(info.get("state")), OrderStatus.NEW)
    done = status in (OrderStatus.CANCELLED, OrderStatus.REJECTED)
    return Order(
        id=str(info.get("ordId")), symbol=symbol, type=kind, contracts=sign * num(info.get("sz")) * unit,
        price=num(info.get("px")) if kind is OrderType.LIMIT else None, trigger_price=None,
        trigger_by=TriggerBy.LAST, trigger_direction=0, reduce_only=str(info.get("reduceOnly")).lower() == "true",
        post_only=ord_type == "post_only", time_in_force=_TIF.get(ord_type, TimeInForce.GTC),
        client_id=str(info.get("clOrdId") or "") or None, status=status,
        filled=sign * num(info.get("accFillSz")) * unit or 0.0, avg_fill_price=num(info.get("avgPx")),
        fee_paid=-num(info.get("fee")), created_ms=int(num(info.get("cTime"))), updated_ms=int(num(info.get("uTime"))),
        reject_reason=_reason(info) if done else None,
    )  # fmt: skip


def algo_kind(info: dict[str, Any]) -> tuple[OrderType, str]:
    """kektrade's type of a conditional algo order and the prefix of its fields ("sl" stop, "tp" take-profit)."""
    stop = num(info.get("slTriggerPx")) > 0 or (not num(info.get("tpTriggerPx")) and num(info.get("triggerPx")) > 0)
    prefix = "sl" if stop else "tp"
    ord_px = str(info.get(f"{prefix}OrdPx") or info.get("orderPx") or "-1")
    limit = ord_px not in ("-1", "")
    if stop:
        return (OrderType.STOP_LIMIT if limit else OrderType.STOP_MARKET), prefix
    return (OrderType.TAKE_PROFIT_LIMIT if limit else OrderType.TAKE_PROFIT_MARKET), prefix


def algo_from_okx(info: dict[str, Any], symbol: str, unit: float, spawned: Order | None = None) -> Order:
    """An ``Order`` from one OKX algo order; a triggered one takes its fill state from ``spawned``."""
    sign = 1.0 if info.get("side") == "buy" else -1.0
    kind, prefix = algo_kind(info)
    trigger = num(info.get(f"{prefix}TriggerPx") or info.get("triggerPx"))
    state = str(info.get("state"))
    status = {"live": OrderStatus.UNTRIGGERED, "effective": OrderStatus.NEW, "order_failed": OrderStatus.REJECTED}.get(
        state, OrderStatus.CANCELLED
    )
    rising = (kind in STOPS) == (sign > 0)
    order = Order(
        id=str(info.get("algoId")), symbol=symbol, type=kind, contracts=sign * num(info.get("sz")) * unit,
        price=num(info.get(f"{prefix}OrdPx")) if kind in LIMIT_PRICED_TYPES else None, trigger_price=trigger or None,
        trigger_by=TriggerBy.MARK if info.get(f"{prefix}TriggerPxType") == "mark" else TriggerBy.LAST,
        trigger_direction=1 if rising else 2, reduce_only=str(info.get("reduceOnly")).lower() == "true",
        post_only=False, time_in_force=TimeInForce.GTC, client_id=str(info.get("algoClOrdId") or "") or None,
        status=status, created_ms=int(num(info.get("cTime"))), updated_ms=int(num(info.get("uTime"))),
    )  # fmt: skip
    if spawned is not None and state == "effective":
        order.status, order.filled, order.avg_fill_price = spawned.status, spawned.filled, spawned.avg_fill_price
        order.fee_paid, order.reject_reason = spawned.fee_paid, spawned.reject_reason
        order.updated_ms = max(order.updated_ms, spawned.updated_ms)
    assert order.type in CONDITIONAL_TYPES
    return order


def fill_from_okx(row: dict[str, Any], symbol: str, unit: float, order_id: str, inverse: bool = False) -> Fill:
    """A ``Fill`` from one fills-history row; ``order_id`` is the kektrade order (an algo's id when triggered).

    OKX reports no fee rate per fill: it is the fee over the fill's value (settle coin).
    """
    sign = 1.0 if row.get("side") == "buy" else -1.0
    qty, price, fee = num(row.get("fillSz")) * unit, num(row.get("fillPx")), -num(row.get("fee"))
    value = (qty / price if inverse else qty * price) if price else 0.0
    liquidation = str(row.get("subType")) in ("100", "101", "102", "103", "104", "105")
    return Fill(
        time_ms=int(num(row.get("ts") or row.get("fillTime"))), symbol=symbol,
        kind=FillKind.LIQUIDATION if liquidation else FillKind.TRADE, contracts=sign * qty, price=price, fee=fee,
        realized_pnl=num(row.get("fillPnl")), order_id=order_id, is_maker=row.get("execType") == "M",
        fee_rate=round(fee / value, 10) if value else 0.0,
    )  # fmt: skip


def funding_from_bill(row: dict[str, Any], symbol: str, unit: float) -> Fill:
    """A funding ``Fill`` from one account bill of type 8 (``balChg`` negative when paid; ``sz`` the position)."""
    return Fill(
        time_ms=int(num(row.get("ts"))), symbol=symbol, kind=FillKind.FUNDING, contracts=num(row.get("sz")) * unit,
        price=num(row.get("px")), fee=-num(row.get("balChg")),
        realized_pnl=0.0, order_id="", is_maker=False, fee_rate=0.0,
    )  # fmt: skip
