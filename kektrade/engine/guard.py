"""``EntryGuard``: the account a strategy sees while the operator has stopped new entries.

Everything goes straight to the venue except orders that would open or add exposure: those come back as
rejected orders with a reason, like any other refusal, and are journaled by nobody (they never reached
the venue). Orders that only reduce the position (reduce-only, or opposite and no larger than it) pass.
"""

from __future__ import annotations

from typing import Any

from kektrade.domain.types import Order, OrderStatus, OrderType, TimeInForce, TriggerBy
from kektrade.exchange.subaccount import Subaccount

ENTRIES_STOPPED = "entries stopped by the operator"


def adds_exposure(position: float, contracts: float, reduce_only: bool) -> bool:
    """True when an order of signed ``contracts`` could open or increase a position of ``position``."""
    if reduce_only or contracts == 0.0:
        return False
    if position == 0.0 or (position > 0) == (contracts > 0):
        return True
    return abs(contracts) > abs(position)


class EntryGuard:
    """Wraps a venue; refuses orders that add exposure, passes everything else through."""

    def __init__(self, venue: Subaccount) -> None:
        self._venue = venue

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    def open_order(
        self,
        order_type: OrderType | str,
        contracts: float,
        price: float | None = None,
        trigger_price: float | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        client_id: str | None = None,
        trigger_by: TriggerBy | str = TriggerBy.LAST,
    ) -> Order:
        """Place the order unless it adds exposure (then a rejected order with the reason)."""
        if adds_exposure(self._venue.contracts, contracts, reduce_only):
            return Order(
                "",
                self._venue.spec.symbol,
                OrderType(order_type),
                contracts,
                price,
                trigger_price,
                TriggerBy(trigger_by),
                0,
                reduce_only,
                post_only,
                TimeInForce(time_in_force),
                client_id,
                OrderStatus.REJECTED,
                reject_reason=ENTRIES_STOPPED,
            )
        return self._venue.open_order(
            order_type, contracts, price, trigger_price, reduce_only, post_only, time_in_force, client_id, trigger_by
        )

    def edit_order(
        self,
        order_id: str,
        price: float | None = None,
        contracts: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """Amend, unless the amendment grows an order that adds exposure."""
        if contracts is not None:
            current = next((o for o in self._venue.get_open_orders() if o.id == order_id), None)
            if (
                current is not None
                and abs(contracts) > abs(current.contracts)
                and adds_exposure(self._venue.contracts, contracts, current.reduce_only)
            ):
                refused = current.copy()
                refused.reject_reason = ENTRIES_STOPPED
                return refused
        return self._venue.edit_order(order_id, price, contracts, trigger_price)
