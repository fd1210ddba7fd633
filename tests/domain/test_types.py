"""Value types."""

from dataclasses import fields

from kektrade.domain.types import Order, OrderStatus, OrderType, TimeInForce, TriggerBy, is_listed, unlist


def test_order_copy_copies_every_field() -> None:
    values = {f.name: f"v-{f.name}" for f in fields(Order)}
    order = Order(**values)  # type: ignore[arg-type]
    clone = order.copy()
    assert clone == order and clone is not order
    assert [getattr(clone, f.name) for f in fields(Order)] == list(values.values())


def test_orders_are_listed_by_identity() -> None:
    a = Order("1", "X", OrderType.LIMIT, 1.0, 2.0, None, TriggerBy.LAST, 0, False, False, TimeInForce.GTC)
    b = a.copy()
    assert a == b and a.status is OrderStatus.NEW
    orders = [b]
    assert not is_listed(a, orders) and is_listed(b, orders)
    assert not unlist(a, orders) and unlist(b, orders) and orders == []
