"""Conversions between journal records / domain values and table rows (tuples in column order)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kektrade.domain.journal import (
    EquitySampled,
    FillRecorded,
    IntentRecorded,
    OrderRecorded,
    SelectionRecorded,
    StateSaved,
    StatusChanged,
)
from kektrade.domain.types import Fill, FillKind, Order, OrderStatus, OrderType, TimeInForce, TriggerBy

Row = tuple[Any, ...]

FILL_COLUMNS = (
    "subaccount", "time_ms", "symbol", "kind", "contracts", "price", "fee", "fee_rate", "realized_pnl",
    "order_id", "is_maker", "position_after", "exec_id",
)  # fmt: skip
INTENT_COLUMNS = ("subaccount", "time_ms", "client_id", "state", "order_id", "reason", "request")
EQUITY_COLUMNS = ("subaccount", "time_ms", "wallet", "equity", "equity_quote", "position", "mark", "close")
SELECTION_COLUMNS = ("subaccount", "time_ms", "parameters", "score", "leaderboard")
STATUS_COLUMNS = ("subaccount", "time_ms", "status", "message")
STATE_COLUMNS = ("subaccount", "time_ms", "key", "value")


def to_json(value: Any, what: str) -> str:
    """Compact JSON text; a value JSON cannot hold raises TypeError naming ``what``."""
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: value is not JSON-serialisable ({exc})") from exc


def from_json(text: str | None) -> Any:
    """Parse JSON text (None stays None)."""
    return None if text is None else json.loads(text)


def order_event_row(rec: OrderRecorded) -> Row:
    """Row of ``order_event`` for an order transition."""
    o = rec.order
    return (
        rec.subaccount, rec.time_ms, rec.event, o.id, o.client_id, o.symbol, str(o.type), o.contracts,
        o.price, o.trigger_price, str(o.trigger_by), o.trigger_direction, o.reduce_only, o.post_only,
        str(o.time_in_force), str(o.status), o.filled, o.avg_fill_price, o.fee_paid, o.created_ms,
        o.updated_ms, o.reject_reason, o.active_from_ms,
    )  # fmt: skip


def fill_row(rec: FillRecorded) -> Row:
    """Row of ``fill`` for an execution."""
    f = rec.fill
    return (
        rec.subaccount, f.time_ms, f.symbol, str(f.kind), f.contracts, f.price, f.fee, f.fee_rate,
        f.realized_pnl, f.order_id, f.is_maker, f.position_after, rec.exec_id or None,
    )  # fmt: skip


def equity_row(rec: EquitySampled) -> Row:
    """Row of ``equity_sample``."""
    return (
        rec.subaccount, rec.time_ms, rec.wallet_balance, rec.equity, rec.equity_quote,
        rec.position_contracts, rec.mark_price, rec.close_price,
    )  # fmt: skip


def selection_row(rec: SelectionRecorded) -> Row:
    """Row of ``selection``; parameters and leaderboard as JSON."""
    what = f"selection of {rec.subaccount!r} at {rec.time_ms}"
    params = None if rec.parameters is None else to_json(rec.parameters, what + " parameters")
    board = to_json([[p, s] for p, s in rec.leaderboard], what + " leaderboard")
    return (rec.subaccount, rec.time_ms, params, rec.score, board)


def status_row(rec: StatusChanged) -> Row:
    """Row of ``status_change``."""
    return (rec.subaccount, rec.time_ms, rec.status, rec.message)


def state_row(rec: StateSaved) -> Row:
    """Row of ``saved_state``; the value as JSON."""
    return (
        rec.subaccount,
        rec.time_ms,
        rec.key,
        to_json(rec.value, f"state {rec.key!r} of {rec.subaccount!r}"),
    )


def order_from_row(r: Sequence[Any]) -> Order:
    """Rebuild an Order from an ``order_event`` row in ORDER_EVENT_COLUMNS order."""
    return Order(
        id=r[3], client_id=r[4], symbol=r[5], type=OrderType(r[6]), contracts=r[7], price=r[8],
        trigger_price=r[9], trigger_by=TriggerBy(r[10]), trigger_direction=r[11], reduce_only=bool(r[12]),
        post_only=bool(r[13]), time_in_force=TimeInForce(r[14]), status=OrderStatus(r[15]), filled=r[16],
        avg_fill_price=r[17], fee_paid=r[18], created_ms=r[19], updated_ms=r[20], reject_reason=r[21],
        active_from_ms=r[22],
    )  # fmt: skip


def order_event_from_row(r: Sequence[Any]) -> OrderRecorded:
    """Rebuild the OrderRecorded of an ``order_event`` row."""
    return OrderRecorded(subaccount=r[0], time_ms=r[1], event=r[2], order=order_from_row(r))


def fill_from_row(r: Sequence[Any]) -> FillRecorded:
    """Rebuild the FillRecorded of a ``fill`` row in FILL_COLUMNS order."""
    fill = Fill(
        time_ms=r[1], symbol=r[2], kind=FillKind(r[3]), contracts=r[4], price=r[5], fee=r[6], fee_rate=r[7],
        realized_pnl=r[8], order_id=r[9], is_maker=bool(r[10]), position_after=r[11],
    )  # fmt: skip
    return FillRecorded(subaccount=r[0], fill=fill, exec_id=r[12] or "")


def intent_row(rec: IntentRecorded) -> Row:
    """Row of ``order_intent``; the request as JSON."""
    request = to_json(rec.request, f"order intent {rec.client_id!r} of {rec.subaccount!r}")
    return (rec.subaccount, rec.time_ms, rec.client_id, rec.state, rec.order_id, rec.reason, request)


def intent_from_row(r: Sequence[Any]) -> IntentRecorded:
    """Rebuild the IntentRecorded of an ``order_intent`` row in INTENT_COLUMNS order."""
    return IntentRecorded(
        subaccount=r[0], time_ms=r[1], client_id=r[2], state=r[3], order_id=r[4], reason=r[5],
        request=from_json(r[6]) or {},
    )  # fmt: skip


def equity_from_row(r: Sequence[Any]) -> EquitySampled:
    """Rebuild the EquitySampled of an ``equity_sample`` row."""
    return EquitySampled(*r)


def selection_from_row(r: Sequence[Any]) -> SelectionRecorded:
    """Rebuild the SelectionRecorded of a ``selection`` row."""
    board = [(p, s) for p, s in from_json(r[4])]
    return SelectionRecorded(
        subaccount=r[0], time_ms=r[1], parameters=from_json(r[2]), score=r[3], leaderboard=board
    )


def status_from_row(r: Sequence[Any]) -> StatusChanged:
    """Rebuild the StatusChanged of a ``status_change`` row."""
    return StatusChanged(subaccount=r[0], time_ms=r[1], status=r[2], message=r[3])
