"""OrderEventLog: order transitions held until taken as columns, each event's values as they were then."""

from __future__ import annotations

from kektrade.domain.order_events import ORDER_EVENT_COLUMNS, OrderEventLog
from kektrade.domain.types import ORDER_FIELDS, Order, OrderStatus, OrderType, TimeInForce, TriggerBy


def orders() -> list[Order]:
    """Orders with distinct values in every field, nulls and enums included."""
    limit = Order("7", "BTC/USDT:USDT", OrderType.LIMIT, 0.5, 42_000.5, post_only=True, client_id="c-7",
                  created_ms=10, updated_ms=11, active_from_ms=12)
    stop = Order("8", "ETH/USDT:USDT", OrderType.STOP_MARKET, -2.0, None, 2_900.0, TriggerBy.MARK, 2, True,
                 time_in_force=TimeInForce.IOC, status=OrderStatus.UNTRIGGERED, created_ms=20, updated_ms=21)
    rejected = Order("9", "BTC/USD:BTC", OrderType.MARKET, 100.0, status=OrderStatus.REJECTED,
                     reject_reason="insufficient_balance", filled=0.0, avg_fill_price=0.0, fee_paid=0.0)
    return [limit, stop, rejected]  # fmt: skip


def expected_row(subaccount: str, time_ms: int, event: str, order: Order) -> tuple[object, ...]:
    """The row as the table defines it, from the order's own field list (not the code under test)."""
    fields = dict(zip(ORDER_FIELDS, order.astuple(), strict=True))
    fields["order_id"] = fields.pop("id")
    head = {"subaccount": subaccount, "time_ms": time_ms, "event": event}
    return tuple((head | fields)[name] for name in ORDER_EVENT_COLUMNS)


def test_columns_hold_each_events_values_as_they_were() -> None:
    log = OrderEventLog(100)
    limit, stop, rejected = orders()
    expected = [expected_row("a", 1, "placed", limit), expected_row("b", 2, "placed", stop)]
    log.add("a", 1, "placed", limit)
    log.add("b", 2, "placed", stop)
    limit.filled, limit.avg_fill_price, limit.status = 0.5, 42_000.5, OrderStatus.FILLED  # later changes
    expected.append(expected_row("a", 3, "filled", limit))
    log.add("a", 3, "filled", limit)
    expected.append(expected_row("a", 4, "rejected", rejected))
    log.add("a", 4, "rejected", rejected)
    assert len(log) == 4
    columns = log.take()
    assert len(columns) == len(ORDER_EVENT_COLUMNS)
    assert list(zip(*columns, strict=True)) == expected
    assert columns[ORDER_EVENT_COLUMNS.index("status")][0] is OrderStatus.NEW  # the member, not a copy of it
    assert len(log) == 0 and all(c == [] for c in log.take())  # taken: empty until the next event


def test_on_full_is_called_once_each_time_part_rows_events_are_held() -> None:
    calls: list[int] = []
    log = OrderEventLog(3)
    log.on_full = lambda: calls.append(len(log.take()[0]))
    order = orders()[0]
    for n in range(7):
        log.add("a", n, "placed", order)
    assert calls == [3, 3] and len(log) == 1


def test_take_with_a_limit_hands_over_the_oldest_events_and_keeps_the_rest() -> None:
    log = OrderEventLog(100)
    limit, stop, rejected = orders()
    for n, order in enumerate([limit, stop, rejected, limit]):
        log.add("a", n, "placed", order)
    first = log.take(3)
    assert first[ORDER_EVENT_COLUMNS.index("time_ms")] == [0, 1, 2]
    assert first[ORDER_EVENT_COLUMNS.index("order_id")] == ["7", "8", "9"]
    assert len(log) == 1
    rest = log.take(3)  # fewer held than asked: what there is
    assert rest[ORDER_EVENT_COLUMNS.index("time_ms")] == [3] and len(log) == 0
    assert all(c == [] for c in log.take(5))


def test_an_open_order_is_copied_and_a_final_one_kept_as_it_is() -> None:
    """The venue changes open orders later (a copy keeps the event's values); a final order is off the book
    and never changed again, so the log keeps the order itself instead of a copy."""
    log = OrderEventLog(100)
    limit, _, rejected = orders()
    log.add("a", 1, "placed", limit)
    log.add("a", 2, "rejected", rejected)
    held = log._orders
    assert held[0] is not limit and held[0].astuple() == limit.astuple()
    assert held[1] is rejected


def fresh() -> Order:
    """An order as a venue places it: new, nothing filled, updated when created."""
    return Order("11", "BTC/USDT:USDT", OrderType.LIMIT, 0.5, 42_000.5, created_ms=10, updated_ms=10,
                 active_from_ms=12)  # fmt: skip


def test_a_fresh_placement_is_kept_as_the_order_and_reads_back_as_placed() -> None:
    log = OrderEventLog(100)
    order = fresh()
    placed = expected_row("a", 10, "placed", order)
    log.add("a", 10, "placed", order)
    assert log._orders[0] is order  # no copy
    order.filled, order.avg_fill_price, order.fee_paid = 0.2, 42_000.5, 0.01  # then a partial fill
    order.status, order.updated_ms = OrderStatus.PARTIALLY_FILLED, 20
    partial = expected_row("a", 20, "partially_filled", order)
    log.add("a", 20, "partially_filled", order)
    order.status, order.updated_ms, order.reject_reason = OrderStatus.CANCELLED, 30, "by hand"
    log.add("a", 30, "cancelled", order)
    assert list(zip(*log.take(), strict=True)) == [placed, partial, expected_row("a", 30, "cancelled", order)]


def test_an_amendment_settles_the_placement_row_first() -> None:
    log = OrderEventLog(100)
    order = fresh()
    placed = expected_row("a", 10, "placed", order)
    log.add("a", 10, "placed", order)
    log.settle_placement(order)  # what the venue calls before it amends
    order.price, order.contracts, order.active_from_ms = 41_000.0, 0.7, 15
    assert list(zip(*log.take(), strict=True)) == [placed]


def test_a_second_fresh_event_of_an_order_keeps_the_first_one_as_it_was() -> None:
    """An order still fresh at its next event (changed in the same millisecond without an amendment) is
    marked at that row; the earlier row becomes a copy so that later changes reach neither."""
    log = OrderEventLog(100)
    order = fresh()
    first = expected_row("a", 10, "placed", order)
    log.add("a", 10, "placed", order)
    order.active_from_ms = 11  # no settle_placement: the log must not rely on it here
    second = expected_row("a", 10, "landed", order)
    log.add("a", 10, "landed", order)
    order.status, order.updated_ms = OrderStatus.CANCELLED, 40  # as a venue cancels: no price change
    log.add("a", 40, "cancelled", order)
    rows = list(zip(*log.take(), strict=True))
    assert rows[1] == second and rows[2] == expected_row("a", 40, "cancelled", order)
    assert rows[0] == (*first[:-1], 11)  # as it was when the second event came (only its activation moved)


def test_rows_taken_before_a_change_are_not_touched_by_it() -> None:
    log = OrderEventLog(100)
    order = fresh()
    placed = expected_row("a", 10, "placed", order)
    log.add("a", 10, "placed", order)
    assert list(zip(*log.take(), strict=True)) == [placed]
    log.settle_placement(order)  # its row has left the log: nothing to settle
    order.price, order.status = 1.0, OrderStatus.CANCELLED
    log.add("a", 20, "cancelled", order)
    assert list(zip(*log.take(), strict=True)) == [expected_row("a", 20, "cancelled", order)]


def test_rows_across_chunks_are_handed_over_in_order_and_settled_where_they_are() -> None:
    log = OrderEventLog(10**9, chunk_rows=4)
    orders = [fresh() for _ in range(17)]
    for n, order in enumerate(orders):
        log.add("a", n, "placed", order)
    placed = expected_row("a", 2, "placed", orders[2])
    log.settle_placement(orders[2])  # a row in the first chunk
    orders[2].price = 1.0
    first = log.take(6)
    assert first[1] == list(range(6)) and len(log) == 11
    assert list(zip(*first, strict=True))[2] == placed
    log.settle_placement(orders[9])  # a row in the chunk the take left (its first rows taken)
    orders[9].price = 2.0
    log.add("a", 99, "placed", orders[0])
    rest = log.take()
    assert rest[1] == [*range(6, 17), 99] and len(log) == 0
    assert rest[ORDER_EVENT_COLUMNS.index("price")][3] == 42_000.5
    log.add("a", 7, "placed", fresh())
    assert log.take()[1] == [7]


def test_a_negative_zero_amount_is_copied_as_it_is() -> None:
    """Fresh means positive zeros: a row is never rendered with a sign the order did not have."""
    log = OrderEventLog(100)
    order = fresh()
    order.fee_paid = -0.0
    log.add("a", 10, "placed", order)
    assert log._orders[0] is not order
    fee = log.take()[ORDER_EVENT_COLUMNS.index("fee_paid")][0]
    assert fee == 0.0 and str(fee) == "-0.0"
