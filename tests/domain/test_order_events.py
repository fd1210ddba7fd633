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
