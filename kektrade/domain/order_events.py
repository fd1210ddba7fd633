"""Order transitions held compactly until their Parquet part is written: a backtest's order-event log.

A market maker's backtest makes four or more order events per candle (two placements, their cancels, a
fill). ``OrderEventLog`` is appended to by the simulated venue directly (``SimOrders.order_events``, a native
call): the event's subaccount, time and name in three lists, and the order (itself where its values at the
event are known without a copy, see ``OrderEventLog``; else a compact copy, its numbers stored unboxed).
Columns are made only when a part is written (``take``). ``BulkJournal`` owns the log, adds the order
records that still come through the journal (those of conditional orders, which the trade analysis tags on
their way, and any recorded before the run database was attached) in the order they happen, and writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from math import copysign
from typing import Final, final

from mypy_extensions import i64, mypyc_attr

from kektrade.domain.types import Order, OrderStatus, OrderType

CHUNK: Final = 4096  # rows per chunk of the log by default (see OrderEventLog.__init__)

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

    Each event keeps the order as it was then, without a copy where the values are known otherwise:

    * a **final** order (filled, cancelled, refused) is off the book and never changed again: the order
      itself is kept;
    * a **fresh** order's placement (no fill, no fee, not updated since created: what a venue places) is
      kept as the order itself, marked with its row (``Order._log_row``); its row is rendered with the
      fresh values (status new, no fill or fee, updated when created) and the order's own price, size and
      activation time, which only an amendment changes: ``settle_placement`` (called by the venue before
      it amends) replaces the row by a copy made then;
    * any other open order is copied.

    A market maker's placements are half of its events; with the cancels and fills after them, a backtest
    keeps no copies at all, and no boxed time per event (the time of the latest event is boxed once).
    """

    def __init__(self, part_rows: int, on_full: Callable[[], None] | None = None, chunk_rows: i64 = CHUNK) -> None:
        self.part_rows = part_rows
        self.on_full = on_full
        self._chunk = chunk_rows
        # Rows live in chunks of ``chunk_rows`` rows, allocated whole and filled by index: one long list per
        # column, grown by appends, would be copied an eighth at a time as it grows (~3 % of a market
        # maker's run). ``_full`` holds the earlier chunks (oldest first, any length), the four lists
        # below the current one, whose first ``_k`` rows are held.
        self._full: list[_Chunk] = []
        self._in_full: i64 = 0  # rows in ``_full``
        self._subaccount: list[object] = []
        self._time_ms: list[object] = []
        self._event: list[object] = []
        self._orders: list[Order] = []
        self._k: i64 = 0
        self._new_chunk()
        self._base: i64 = 0  # the absolute row of the oldest held event (rows taken so far)
        self._ms: i64 = -1  # the latest event's time, and that time boxed once
        self._ms_box: object = -1

    def add(self, subaccount: str, time_ms: i64, event: str, order: Order) -> None:
        """Append one event with the order as it is now (see the class: itself, or a copy)."""
        if time_ms != self._ms:
            self._ms = time_ms
            self._ms_box = time_ms
        k = self._k
        if k == self._chunk:
            self._next_chunk()
            k = 0
        self._subaccount[k] = subaccount
        self._time_ms[k] = self._ms_box
        self._event[k] = event
        if not order.is_open:
            self._orders[k] = order
        elif _fresh(order):
            if order._log_row >= 0:  # an earlier fresh row of it: a copy keeps that one's values
                self.settle_placement(order)
            order._log_row = self._base + self._in_full + k
            self._orders[k] = order
        else:
            self._orders[k] = order.copy()
        self._k = k + 1
        if self._in_full + k + 1 == self.part_rows and self.on_full is not None:
            self.on_full()

    def _next_chunk(self) -> None:
        """The current chunk is full: it joins ``_full``, and an empty one becomes current."""
        self._full.append(_Chunk(self._subaccount, self._time_ms, self._event, self._orders))
        self._in_full += self._k
        self._new_chunk()

    def _new_chunk(self) -> None:
        """An empty current chunk: ``chunk_rows`` rows allocated, none held."""
        self._subaccount, self._time_ms = [None] * self._chunk, [None] * self._chunk
        self._event, self._orders = [None] * self._chunk, [_HOLE] * self._chunk
        self._k = 0

    def settle_placement(self, order: Order) -> None:
        """``order`` is about to change its price, size or activation time: a held placement row that is
        rendered from it becomes a copy of its values at placement."""
        row = order._log_row
        if row < 0:
            return
        order._log_row = -1
        k = row - self._base - self._in_full  # its place in the current chunk, else before it
        if k >= 0:
            orders = self._orders
            if k < self._k and orders[k] is order:
                orders[k] = _fresh_copy(order)
            return
        chunks = self._full
        j = len(chunks) - 1
        while j >= 0 and k < 0:  # a row is mostly placed shortly before it changes: look from the newest
            orders = chunks[j].orders
            k += len(orders)
            if k >= 0 and orders[k] is order:
                orders[k] = _fresh_copy(order)
            j -= 1

    def __len__(self) -> int:
        return self._in_full + self._k

    def take(self, limit: int = -1) -> list[list[object]]:
        """The oldest ``limit`` held events (all when negative) as columns in ``ORDER_EVENT_COLUMNS`` order;
        they leave the log (their orders and copies are let go once the columns are dropped).

        One pass over the held orders fills every column (lists allocated at their final size): each order
        is read once, not once per field (one comprehension per field, 23 passes over the held copies, took
        2.2x as long: 1.1 against 0.5 us an event).
        """
        held = self._in_full + self._k
        n = held if limit < 0 else min(limit, held)
        k = self._k
        chunks = self._full
        chunks.append(_Chunk(self._subaccount[:k], self._time_ms[:k], self._event[:k], self._orders[:k]))
        subaccounts: list[object] = []
        times: list[object] = []
        events: list[object] = []
        orders: list[Order] = []
        for chunk in chunks:
            subaccounts.extend(chunk.subaccount)
            times.extend(chunk.time_ms)
            events.extend(chunk.event)
            orders.extend(chunk.orders)
        self._full = [_Chunk(subaccounts[n:], times[n:], events[n:], orders[n:])] if n < held else []
        self._in_full = held - n
        del subaccounts[n:]
        del times[n:]
        del events[n:]
        del orders[n:]
        self._new_chunk()
        ids: list[object] = [None] * n
        client_ids: list[object] = [None] * n
        symbols: list[object] = [None] * n
        types: list[object] = [None] * n
        contracts: list[object] = [None] * n
        prices: list[object] = [None] * n
        trigger_prices: list[object] = [None] * n
        trigger_bys: list[object] = [None] * n
        directions: list[object] = [None] * n
        reduce_only: list[object] = [None] * n
        post_only: list[object] = [None] * n
        tifs: list[object] = [None] * n
        statuses: list[object] = [None] * n
        filled: list[object] = [None] * n
        avg_prices: list[object] = [None] * n
        fees: list[object] = [None] * n
        created: list[object] = [None] * n
        updated: list[object] = [None] * n
        reasons: list[object] = [None] * n
        active: list[object] = [None] * n
        base = self._base
        self._base = base + n
        zero: object = 0.0
        for k in range(n):
            o = orders[k]
            if o._log_row == base + k:  # a fresh placement rendered from the order itself (``_make_fresh``'s values)
                statuses[k], filled[k], avg_prices[k], fees[k] = OrderStatus.NEW, zero, zero, zero
                updated[k], reasons[k] = o.created_ms, None
            else:
                statuses[k], filled[k], avg_prices[k], fees[k] = o.status, o.filled, o.avg_fill_price, o.fee_paid
                updated[k], reasons[k] = o.updated_ms, o.reject_reason
            ids[k] = o.id
            client_ids[k] = o.client_id
            symbols[k] = o.symbol
            types[k] = o.type
            contracts[k] = o.contracts
            prices[k] = o.price
            trigger_prices[k] = o.trigger_price
            trigger_bys[k] = o.trigger_by
            directions[k] = o.trigger_direction
            reduce_only[k] = o.reduce_only
            post_only[k] = o.post_only
            tifs[k] = o.time_in_force
            created[k] = o.created_ms
            active[k] = o.active_from_ms
        return [
            subaccounts, times, events, ids, client_ids, symbols, types, contracts, prices, trigger_prices,
            trigger_bys, directions, reduce_only, post_only, tifs, statuses, filled, avg_prices, fees, created,
            updated, reasons, active,
        ]  # fmt: skip


def _fresh(order: Order) -> bool:
    """An order as a venue places it: new, no fill, no fee (positive zeros), not updated since created,
    no reason."""
    return (
        order.status is OrderStatus.NEW
        and order.filled == 0.0
        and copysign(1.0, order.filled) > 0.0
        and order.avg_fill_price == 0.0
        and copysign(1.0, order.avg_fill_price) > 0.0
        and order.fee_paid == 0.0
        and copysign(1.0, order.fee_paid) > 0.0
        and order.updated_ms == order.created_ms
        and order.reject_reason is None
    )


def _make_fresh(order: Order) -> None:
    """``order`` with the values ``_fresh`` requires (its fills, fee and updates undone)."""
    order.status = OrderStatus.NEW
    order.filled = order.avg_fill_price = order.fee_paid = 0.0
    order.updated_ms = order.created_ms
    order.reject_reason = None


@final
@mypyc_attr(acyclic=True)  # its lists are tracked; the chunk itself is in no cycle
class _Chunk:
    """The four lists of a chunk of rows (see ``OrderEventLog.__init__``)."""

    def __init__(self, subaccount: list[object], time_ms: list[object], event: list[object], orders: list[Order]):
        self.subaccount = subaccount
        self.time_ms = time_ms
        self.event = event
        self.orders = orders


def _fresh_copy(order: Order) -> Order:
    """A copy of ``order`` with the values of its placement (``_make_fresh``)."""
    placed = order.copy()
    _make_fresh(placed)
    return placed


#: what a chunk's rows not filled yet hold (never handed out: ``take`` reads the held rows only)
_HOLE: Final = Order("", "", OrderType.MARKET, 0.0)
