"""Value types."""

import pickle

import pytest

from kektrade.domain.types import (
    CONDITIONAL_TYPES,
    FILL_FIELDS,
    LIMIT_PRICED_TYPES,
    ORDER_FIELDS,
    Fill,
    FillKind,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    PositionView,
    TimeInForce,
    TriggerBy,
    WalletView,
    as_member,
    is_conditional,
    is_limit_priced,
    is_listed,
    unlist,
)

#: A value for every Order field, each different from the field's default.
ORDER_VALUES: dict[str, object] = {
    "id": "7",
    "symbol": "BTC/USDT:USDT",
    "type": OrderType.STOP_LIMIT,
    "contracts": -0.5,
    "price": 99.5,
    "trigger_price": 100.0,
    "trigger_by": TriggerBy.MARK,
    "trigger_direction": 2,
    "reduce_only": True,
    "post_only": True,
    "time_in_force": TimeInForce.IOC,
    "client_id": "c-7",
    "status": OrderStatus.PARTIALLY_FILLED,
    "filled": -0.25,
    "avg_fill_price": 99.6,
    "fee_paid": 0.01,
    "created_ms": 1_000,
    "updated_ms": 2_000,
    "reject_reason": "why",
    "active_from_ms": 1_500,
}


def test_order_copy_copies_every_field() -> None:
    assert tuple(ORDER_VALUES) == ORDER_FIELDS
    order = Order(**ORDER_VALUES)  # type: ignore[arg-type]
    clone = order.copy()
    assert clone == order and clone is not order
    assert [getattr(clone, name) for name in ORDER_FIELDS] == list(ORDER_VALUES.values())
    assert order.astuple() == tuple(ORDER_VALUES.values())


def test_order_value_semantics_replace_repr_and_pickle() -> None:
    order = Order(**ORDER_VALUES)  # type: ignore[arg-type]
    changed = order.replace(price=98.0, status=OrderStatus.FILLED)
    assert (changed.price, changed.status, changed.id) == (98.0, OrderStatus.FILLED, "7")
    assert changed != order and order.price == 99.5
    assert repr(order).startswith("Order(id='7', symbol='BTC/USDT:USDT', type=<OrderType.STOP_LIMIT")
    assert pickle.loads(pickle.dumps(order)) == order
    assert order.remaining == -0.25 and order.side == "sell" and order.is_open
    try:
        hash(order)
    except TypeError:
        pass
    else:
        raise AssertionError("a mutable order must not be hashable")


def test_views_and_risk_tiers_pickle() -> None:
    """Compiled frozen dataclasses need their own pickling (specs travel to spawned optimizer workers)."""
    from kektrade.domain.specs import builtin_spec

    spec = builtin_spec("BTCUSDT")
    assert spec is not None
    wallet = WalletView("USDT", 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)
    position = PositionView(
        "X", 1.0, 100.0, 101.0, 50.0, 49.0, 1.0, 0.5, 10.0, 0.5, 10.0, MarginMode.CROSS, 101.0, "USDT"
    )
    for value in (wallet, position, spec.risk_tiers[0], spec):
        assert pickle.loads(pickle.dumps(value)) == value


def test_the_order_type_families() -> None:
    assert {t for t in OrderType if is_conditional(t)} == CONDITIONAL_TYPES == {
        OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT_LIMIT
    }  # fmt: skip
    assert {OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT} == LIMIT_PRICED_TYPES
    assert all(is_limit_priced(t) == (t in LIMIT_PRICED_TYPES) for t in OrderType)


def test_order_enums_from_members_and_values() -> None:
    for kind in (OrderType, TimeInForce, TriggerBy):
        for member in kind:
            assert as_member(kind, member) is member
            assert as_member(kind, str(member.value)) is member  # a plain str, not the member
    for kind, bad in ((OrderType, "LIMIT"), (OrderType, "limit "), (OrderType, ""), (OrderType, "stop"),
                      (TimeInForce, "gtc"), (TimeInForce, "GTD"), (TriggerBy, "index")):  # fmt: skip
        with pytest.raises(ValueError, match=repr(bad)):
            as_member(kind, bad)
    with pytest.raises(ValueError, match="'new'"):  # an enum without a table: still the Enum call
        as_member(MarginMode, "new")
    assert as_member(MarginMode, "cross") is MarginMode.CROSS


def test_fill_value_semantics() -> None:
    fill = Fill(5, "X", FillKind.TRADE, 1.0, 100.0, 0.05, 0.0, "1", True, 0.0002, 1.0)
    assert tuple(name for name in FILL_FIELDS) == ("time_ms", "symbol", "kind", "contracts", "price", "fee",
                                                    "realized_pnl", "order_id", "is_maker", "fee_rate",
                                                    "position_after")  # fmt: skip
    twin = Fill(5, "X", FillKind.TRADE, 1.0, 100.0, 0.05, 0.0, "1", True, 0.0002, 1.0)
    assert fill == twin and hash(fill) == hash(twin) and len({fill, twin}) == 1
    assert fill.replace(fee=0.0) != fill and fill.replace(fee=0.0).fee == 0.0
    assert pickle.loads(pickle.dumps(fill)) == fill
    assert repr(fill).startswith("Fill(time_ms=5, symbol='X', kind=<FillKind.TRADE")


def test_orders_are_listed_by_identity() -> None:
    a = Order("1", "X", OrderType.LIMIT, 1.0, 2.0, None, TriggerBy.LAST, 0, False, False, TimeInForce.GTC)
    b = a.copy()
    assert a == b and a.status is OrderStatus.NEW
    orders = [b]
    assert not is_listed(a, orders) and is_listed(b, orders)
    assert not unlist(a, orders) and unlist(b, orders) and orders == []
