"""Order transitions held compactly until their Parquet part is written: a backtest's order-event log.

A market maker's backtest makes four or more order events per candle (two placements, their cancels, a
fill). Each event used to become a record object holding an order copy, passed through two journal layers
(the trade analysis's tagger, the bulk journal) by Python calls. ``OrderEventLog`` is appended to by the
simulated venue directly (``SimOrders.order_events``, a native call): the event's subaccount, time and name
in three lists and the order's fields in one compact copy (its numbers stored unboxed, one allocation), or
the order itself once it is final.
Columns are made only when a part is written (``take``). ``BulkJournal`` owns the log, adds the order
records that still come through the journal (those of conditional orders, which the trade analysis tags on
their way, and any recorded before the run database was attached) in the order they happen, and writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import final

from kektrade.domain.types import Order

#: the ``order_event`` table's columns: the event, then the order's fields (``order_id`` is ``Order.id``)
ORDER_EVENT_COLUMNS = (
    "subaccount", "time_ms", "event", "order_id", "client_id", "symbol", "type", "contracts", "price",
    "trigger_price", "trigger_by", "trigger_direction", "reduce_only", "post_only", "time_in_force", "status",
    "filled", "avg_fill_price", "fee_paid", "created_ms", "updated_ms", "reject_reason", "active_from_ms",
)  # fmt: skip


@final
class OrderEventLog:
    """Order events held until ``take`` hands them over as columns in ``ORDER_EVENT_COLUMNS`` order.

    ``on_full`` is called each time ``part_rows`` events are held: its owner takes and writes them.
    """

    def __init__(self, part_rows: int, on_full: Callable[[], None] | None = None) -> None:
        self.part_rows = part_rows
        self.on_full = on_full
        self._subaccount: list[object] = []
        self._time_ms: list[object] = []
        self._event: list[object] = []
        self._orders: list[Order] = []

    def add(self, subaccount: str, time_ms: int, event: str, order: Order) -> None:
        """Append one event with the order as it is now: a copy while it is open (the venue changes it
        later), the order itself once final (filled, cancelled, refused: off the book, never changed again;
        about half of a market maker's events, each a copy saved)."""
        self._subaccount.append(subaccount)
        self._time_ms.append(time_ms)
        self._event.append(event)
        orders = self._orders
        orders.append(order.copy() if order.is_open else order)
        if len(orders) == self.part_rows and self.on_full is not None:
            self.on_full()

    def __len__(self) -> int:
        return len(self._orders)

    def take(self, limit: int = -1) -> list[list[object]]:
        """The oldest ``limit`` held events (all when negative) as columns in ``ORDER_EVENT_COLUMNS`` order;
        they leave the log (their order copies are freed once the columns are dropped).

        One comprehension per field: compiled, each fills a list allocated at its final size.
        """
        n = len(self._orders) if limit < 0 else min(limit, len(self._orders))
        orders = self._orders[:n]
        subaccounts, times, events = self._subaccount[:n], self._time_ms[:n], self._event[:n]
        del self._subaccount[:n]
        del self._time_ms[:n]
        del self._event[:n]
        del self._orders[:n]
        return [
            subaccounts,
            times,
            events,
            [o.id for o in orders],
            [o.client_id for o in orders],
            [o.symbol for o in orders],
            [o.type for o in orders],
            [o.contracts for o in orders],
            [o.price for o in orders],
            [o.trigger_price for o in orders],
            [o.trigger_by for o in orders],
            [o.trigger_direction for o in orders],
            [o.reduce_only for o in orders],
            [o.post_only for o in orders],
            [o.time_in_force for o in orders],
            [o.status for o in orders],
            [o.filled for o in orders],
            [o.avg_fill_price for o in orders],
            [o.fee_paid for o in orders],
            [o.created_ms for o in orders],
            [o.updated_ms for o in orders],
            [o.reject_reason for o in orders],
            [o.active_from_ms for o in orders],
        ]
