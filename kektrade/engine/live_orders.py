"""The order path of ``LiveVenue``: place an intent once, adopt it when replayed, resolve it when in doubt.

``place`` numbers the intent (deterministic client id), and

- when the run database already knows that id (a candle processed again after a crash): ``accepted``
  returns the order already placed, ``rejected`` the same refusal; nothing is sent again;
- otherwise journals it ``sent`` (flushed), sends it (``CcxtSubaccount`` retries and adopts duplicates)
  and journals the outcome. A definite refusal comes back as a rejected order with a reason; an outcome
  the exchange could not tell comes back open with the client id as its id ("in doubt") and is settled
  by ``resolve_in_doubt`` at the next refresh by looking the client id up. Nothing here raises.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kektrade.domain.types import Order, OrderStatus, OrderType, TimeInForce, TriggerBy
from kektrade.exchange.live.errors import VenueError
from kektrade.exchange.live.retry import TransientVenueError

if TYPE_CHECKING:
    from kektrade.engine.live_venue import LiveVenue

log = logging.getLogger("kektrade.engine")

_COMPARED = ("type", "contracts", "price", "trigger_price", "reduce_only", "post_only")


def draft(venue: LiveVenue, request: dict[str, Any], order_id: str) -> Order:
    """The order an intent asks for, not (yet) known to the exchange."""
    return Order(
        order_id, venue.spec.symbol, OrderType(request["type"]), float(request["contracts"]), request.get("price"),
        request.get("trigger_price"), TriggerBy(request.get("trigger_by") or "last"), 0,
        bool(request.get("reduce_only")), bool(request.get("post_only")),
        TimeInForce(request.get("time_in_force") or "gtc"), request.get("strategy_id") or order_id,
        created_ms=venue.now_ms, updated_ms=venue.now_ms,
    )  # fmt: skip


def place(venue: LiveVenue, request: dict[str, Any]) -> Order:
    """Place one intent of the strategy (see the module docstring)."""
    link = venue.intents.next_id(venue.candle_open_ms, request.get("strategy_id"))
    known = venue.intents.latest.get(link)
    if known is not None:
        _warn_if_changed(venue, link, known.request, request)
        if known.state == "accepted":
            return _replayed(venue, link, known.order_id, request)
        if known.state == "rejected":
            return _rejected(venue, link, draft(venue, known.request or request, link), known.reason, journal=False)
        found = _lookup(venue, link)  # sent before a crash, or in doubt: look before sending
        if found is not None:
            return _accepted(venue, link, found)
    venue.intents.record(venue.now_ms, link, "sent", request=request)
    venue.intents.flush()  # write-ahead: the intent is in the run database before the request leaves
    return _send(venue, link, request)


def _send(venue: LiveVenue, link: str, request: dict[str, Any]) -> Order:
    try:
        order = venue.account.open_order(
            request["type"], request["contracts"], request.get("price"), request.get("trigger_price"),
            bool(request.get("reduce_only")), bool(request.get("post_only")), request.get("time_in_force") or "gtc",
            link, request.get("trigger_by") or "last",
        )  # fmt: skip
    except TransientVenueError as exc:
        return _in_doubt(venue, link, request, exc)
    except (VenueError, ValueError) as exc:  # definite: the exchange (or the adapter) refused the request
        return _rejected(venue, link, draft(venue, request, link), str(exc))
    if order.status is OrderStatus.REJECTED:
        return _rejected(venue, link, order, order.reject_reason or "rejected")
    return _accepted(venue, link, order)


def _accepted(venue: LiveVenue, link: str, order: Order) -> Order:
    """Journal the accepted intent and the order (placed, plus its final state when already done)."""
    venue.intents.record(venue.now_ms, link, "accepted", order.id)
    venue._in_doubt.pop(link, None)
    venue._aliases[link] = order.id
    venue._present(order)
    known = {o.id for o in venue._orders}
    if order.id not in known:
        venue._record(order, "placed")
        if order.is_open:
            venue._orders.append(order)
        else:
            venue._record(order, str(order.status))
    return order.copy()


def _replayed(venue: LiveVenue, link: str, order_id: str, request: dict[str, Any]) -> Order:
    """An intent the exchange accepted before: the order as it is now; nothing is sent."""
    log.info("subaccount %s: intent %s was placed before (order %s): not sent again", venue.subaccount_id, link,
             order_id)  # fmt: skip
    cached = next((o for o in venue._orders if o.id == order_id), None)
    if cached is not None:
        return cached.copy()
    found = venue._guard("order status", lambda: _get(venue, order_id))
    if isinstance(found, Order):
        return venue._present(found).copy()
    return draft(venue, request, order_id)


def _rejected(venue: LiveVenue, link: str, order: Order, reason: str, journal: bool = True) -> Order:
    """A definite refusal: journaled once (a replay returns it again without journaling)."""
    order.status = OrderStatus.REJECTED
    order.reject_reason = reason
    venue._present(order)
    if journal:
        venue.intents.record(venue.now_ms, link, "rejected", reason=reason)
        venue._record(order, "rejected")
    return order.copy()


def _in_doubt(venue: LiveVenue, link: str, request: dict[str, Any], exc: TransientVenueError) -> Order:
    """The exchange could not tell whether it took the order: an open placeholder, resolved later."""
    venue.intents.record(venue.now_ms, link, "in_doubt", reason=str(exc))
    placeholder = draft(venue, request, link)
    venue._in_doubt[link] = placeholder
    log.warning(
        "subaccount %s: order %s is in doubt (%s); it is looked up by its client id at the next refresh, "
        "never sent again blind", venue.subaccount_id, link, exc,
    )  # fmt: skip
    return placeholder.copy()


def resolve_in_doubt(venue: LiveVenue) -> None:
    """Settle in-doubt orders by their client ids (a transient fault leaves the rest for later)."""
    for link, placeholder in list(venue._in_doubt.items()):
        found = _lookup(venue, link, raising=True)
        if found is not None:
            _accepted(venue, link, found)
            continue
        venue._in_doubt.pop(link, None)
        reason = "not placed: the exchange never took it (it could not be reached)"
        gone = placeholder.copy()
        venue.intents.record(venue.now_ms, link, "rejected", reason=reason)
        gone.status, gone.reject_reason = OrderStatus.REJECTED, reason
        venue._record(gone, "rejected")
        log.warning("subaccount %s: order %s %s", venue.subaccount_id, link, reason)


def _lookup(venue: LiveVenue, link: str, raising: bool = False) -> Order | None:
    """The exchange's order with client id ``link`` (None: not there, or unknown when not ``raising``)."""
    finder = getattr(venue.account, "find_by_client_id", None)
    if finder is None:
        return None
    if raising:
        found = finder(link)
        return found if isinstance(found, Order) else None
    try:
        found = finder(link)
    except VenueError:
        return None
    return found if isinstance(found, Order) else None


def _get(venue: LiveVenue, order_id: str) -> Order | None:
    getter = getattr(venue.account, "get_order", None)
    return getter(order_id) if getter is not None else None


def _warn_if_changed(venue: LiveVenue, link: str, before: dict[str, Any], now: dict[str, Any]) -> None:
    changed = [k for k in _COMPARED if before.get(k) != now.get(k)]
    if changed:
        log.warning(
            "subaccount %s: intent %s replayed with different %s than the order already sent under that id; "
            "the order already sent stands", venue.subaccount_id, link, ", ".join(changed),
        )  # fmt: skip
