"""Value types shared by every layer: orders, fills, positions, wallets. Standard library only.

Quantities are signed contracts (> 0 buy/long, < 0 sell/short). For linear contracts one contract is
one unit of the base coin (``contract_size`` 1); for inverse contracts one contract is one USD.
Times are integer milliseconds since the epoch, UTC (``_ms`` suffix).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Final, cast, final

from mypy_extensions import i64, mypyc_attr


class OrderType(StrEnum):
    """Order types every venue understands."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"


def is_conditional(order_type: OrderType) -> bool:
    """Stops and take-profits, which wait for a trigger (by identity: compiled, no set lookup)."""
    return not (order_type is OrderType.MARKET or order_type is OrderType.LIMIT)


def is_limit_priced(order_type: OrderType) -> bool:
    """Types that rest at a limit price."""
    return (
        order_type is OrderType.LIMIT or order_type is OrderType.STOP_LIMIT or order_type is OrderType.TAKE_PROFIT_LIMIT
    )


CONDITIONAL_TYPES = frozenset(t for t in OrderType if is_conditional(t))
LIMIT_PRICED_TYPES = frozenset(t for t in OrderType if is_limit_priced(t))


class OrderStatus(StrEnum):
    """Lifecycle states, named as Bybit names them."""

    UNTRIGGERED = "untriggered"  # conditional order waiting for its trigger
    NEW = "new"  # live on the book (or a market order waiting for the next price)
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


OPEN_STATUSES = frozenset({OrderStatus.UNTRIGGERED, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


class TimeInForce(StrEnum):
    """How long an order lives."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class TriggerBy(StrEnum):
    """Which price a conditional order watches."""

    LAST = "last"
    MARK = "mark"


#: the members of the enums an order is placed with, by value (``as_member``)
_MEMBERS_BY_VALUE: Final[dict[type, dict[str, StrEnum]]] = {
    kind: {member.value: member for member in kind} for kind in (OrderType, TimeInForce, TriggerBy)
}


def as_member[E: StrEnum](kind: type[E], value: E | str) -> E:
    """``kind(value)`` for a member of ``kind`` (OrderType, TimeInForce, TriggerBy) or one of its values,
    without the Enum call (~1,000 machine instructions on every ``open_order("limit", ...)``); anything else
    raises ``kind``'s ValueError as before."""
    if type(value) is kind:  # a member (an enum with members has no subclasses); ``isinstance`` would ask the
        return value  # metaclass, slowly, whenever ``value`` is a plain str
    members = _MEMBERS_BY_VALUE.get(kind)
    found = members.get(value) if members is not None else None
    return cast(E, found) if found is not None else kind(value)


class MarginMode(StrEnum):
    """Isolated: one position's margin is ring-fenced. Cross: the whole wallet backs the position."""

    ISOLATED = "isolated"
    CROSS = "cross"


class ContractKind(StrEnum):
    """Linear (USDT-margined, qty in base coin) or inverse (coin-margined, qty in USD)."""

    LINEAR = "linear"
    INVERSE = "inverse"


class FillKind(StrEnum):
    """What moved money: a trade, a funding settlement or a liquidation."""

    TRADE = "trade"
    FUNDING = "funding"
    LIQUIDATION = "liquidation"


class RejectReason(StrEnum):
    """Every reason an order can be refused; recorded with the order."""

    INSUFFICIENT_BALANCE = "insufficient available balance"
    REDUCE_ONLY_WOULD_INCREASE = "reduce-only would increase the position"
    REDUCE_ONLY_NO_POSITION = "reduce-only with no position to reduce"
    POST_ONLY_WOULD_TAKE = "post-only would take liquidity"
    BELOW_MIN_QTY = "below the minimum order quantity"
    BELOW_MIN_NOTIONAL = "order value below the exchange's minimum notional"
    ABOVE_MAX_QTY = "above the maximum order quantity"
    NOT_LOT_MULTIPLE = "quantity is not a multiple of the lot step"
    NOT_TICK_MULTIPLE = "price is not a multiple of the tick size"
    LEVERAGE_ABOVE_TIER = "leverage above the risk tier's maximum"
    INVALID_PRICE = "price missing, not a finite number or not positive"
    INVALID_TRIGGER = "trigger price missing, not a finite positive tick multiple, or on the wrong side"
    ZERO_QTY = "quantity is zero"
    QTY_NOT_FINITE = "quantity is not a finite number"
    FOK_NOT_FILLABLE = "fill-or-kill could not fill completely"
    IOC_NOT_FILLED = "immediate-or-cancel had nothing to fill"
    LIQUIDATED = "cancelled by liquidation"
    NO_PRICE = "no market price yet"
    CANNOT_AFFORD_ORDER_COST = "order cost no longer covered by the available balance"


ORDER_FIELDS = (
    "id",
    "symbol",
    "type",
    "contracts",
    "price",
    "trigger_price",
    "trigger_by",
    "trigger_direction",
    "reduce_only",
    "post_only",
    "time_in_force",
    "client_id",
    "status",
    "filled",
    "avg_fill_price",
    "fee_paid",
    "created_ms",
    "updated_ms",
    "reject_reason",
    "active_from_ms",
)
FILL_FIELDS = (
    "time_ms",
    "symbol",
    "kind",
    "contracts",
    "price",
    "fee",
    "realized_pnl",
    "order_id",
    "is_maker",
    "fee_rate",
    "position_after",
)


# Order and Fill are written out by hand rather than as dataclasses: the simulator is compiled with mypyc
# (see setup.py), and a compiled class with an explicit ``__init__`` is built ~10x faster than a compiled
# dataclass, whose generated ``__init__`` stays interpreted. They behave like the dataclasses they were:
# keyword or positional construction, value equality, a readable repr.


@mypyc_attr(acyclic=True)  # holds strings, numbers and enum members only: never in a reference cycle
class Order:
    """A working or finished order. Mutable: the venue that owns it updates it in place.

    Orders compare by value (handy for tests and journals); venues track their open orders by identity
    (``is_listed``), never with ``==``.
    """

    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value, like an eq dataclass

    #: not a field (not compared, copied or stored): the absolute row of this order's placement in a
    #: backtest's order-event log while that row is rendered from the order itself (``OrderEventLog``);
    #: -1 when none is
    _log_row: i64 = -1
    #: not a field either: the order margin a simulated venue holds for this order while it rests (0.0: none)
    _reservation: float = 0.0

    def __init__(
        self,
        id: str,
        symbol: str,
        type: OrderType,
        contracts: float,
        price: float | None = None,
        trigger_price: float | None = None,
        trigger_by: TriggerBy = TriggerBy.LAST,
        trigger_direction: int = 0,
        reduce_only: bool = False,
        post_only: bool = False,
        time_in_force: TimeInForce = TimeInForce.GTC,
        client_id: str | None = None,
        status: OrderStatus = OrderStatus.NEW,
        filled: float = 0.0,
        avg_fill_price: float = 0.0,
        fee_paid: float = 0.0,
        created_ms: int = 0,
        updated_ms: int = 0,
        reject_reason: str | None = None,
        active_from_ms: int = 0,
    ) -> None:
        self.id = id
        self.symbol = symbol
        self.type = type
        self.contracts = contracts  # signed requested quantity
        self.price = price  # limit price (limit, stop-limit, take-profit-limit)
        self.trigger_price = trigger_price
        self.trigger_by = trigger_by
        self.trigger_direction = trigger_direction  # 1: fires when price rises to trigger, 2: falls; 0: none
        self.reduce_only = reduce_only
        self.post_only = post_only
        self.time_in_force = time_in_force
        self.client_id = client_id
        self.status = status
        self.filled = filled  # signed filled quantity
        self.avg_fill_price = avg_fill_price
        self.fee_paid = fee_paid
        self.created_ms = created_ms
        self.updated_ms = updated_ms
        self.reject_reason = reject_reason
        self.active_from_ms = active_from_ms  # takes part in matching from this time on (latency, next candle)

    def astuple(self) -> tuple[object, ...]:
        """Every field, in ``ORDER_FIELDS`` order."""
        return (
            self.id,
            self.symbol,
            self.type,
            self.contracts,
            self.price,
            self.trigger_price,
            self.trigger_by,
            self.trigger_direction,
            self.reduce_only,
            self.post_only,
            self.time_in_force,
            self.client_id,
            self.status,
            self.filled,
            self.avg_fill_price,
            self.fee_paid,
            self.created_ms,
            self.updated_ms,
            self.reject_reason,
            self.active_from_ms,
        )

    def copy(self) -> Order:
        """A copy (what journals store). Field by field rather than ``Order(*self.astuple())``: compiled,
        that is a direct native constructor call instead of a generic call with unpacked arguments."""
        return Order(
            self.id,
            self.symbol,
            self.type,
            self.contracts,
            self.price,
            self.trigger_price,
            self.trigger_by,
            self.trigger_direction,
            self.reduce_only,
            self.post_only,
            self.time_in_force,
            self.client_id,
            self.status,
            self.filled,
            self.avg_fill_price,
            self.fee_paid,
            self.created_ms,
            self.updated_ms,
            self.reject_reason,
            self.active_from_ms,
        )

    def replace(self, **changes: object) -> Order:
        """A copy with some fields changed (``dataclasses.replace`` for this class)."""
        values = dict(zip(ORDER_FIELDS, self.astuple(), strict=True))
        values.update(changes)
        return Order(**values)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Order):
            return NotImplemented
        return self.astuple() == other.astuple()

    def __repr__(self) -> str:
        return _repr("Order", ORDER_FIELDS, self.astuple())

    def __reduce__(self) -> tuple[object, ...]:
        return (Order, self.astuple())

    @property
    def side(self) -> str:
        """'buy' or 'sell'."""
        return "buy" if self.contracts > 0 else "sell"

    @property
    def remaining(self) -> float:
        """Signed quantity still to fill."""
        return self.contracts - self.filled

    @property
    def is_open(self) -> bool:
        """True while the order can still fill or trigger (``OPEN_STATUSES``, tested by identity: a set
        lookup hashes the member through ``Enum.__hash__``, interpreted Python)."""
        status = self.status
        return status is OrderStatus.NEW or status is OrderStatus.PARTIALLY_FILLED or status is OrderStatus.UNTRIGGERED


def _repr(name: str, names: tuple[str, ...], values: tuple[object, ...]) -> str:
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in zip(names, values, strict=True))})"


def is_listed(order: Order, orders: list[Order]) -> bool:
    """True when this very order object is in ``orders`` (identity, not equality)."""
    return any(o is order for o in orders)


def unlist(order: Order, orders: list[Order]) -> bool:
    """Remove this very order object from ``orders``; False when it was not there."""
    for k, o in enumerate(orders):
        if o is order:
            del orders[k]
            return True
    return False


@final
@mypyc_attr(acyclic=True)  # strings, numbers and enum members only
class Fill:
    """One execution: a trade, a funding settlement (contracts = position at settlement) or a liquidation.

    Immutable: ``Final`` attributes are read-only in the compiled build and checked by mypy everywhere.
    """

    def __init__(
        self,
        time_ms: int,
        symbol: str,
        kind: FillKind,
        contracts: float,
        price: float,
        fee: float,
        realized_pnl: float,
        order_id: str = "",
        is_maker: bool = False,
        fee_rate: float = 0.0,
        position_after: float = 0.0,
    ) -> None:
        self.time_ms: Final = time_ms
        self.symbol: Final = symbol
        self.kind: Final = kind
        self.contracts: Final = contracts  # signed executed quantity (funding: signed position, nothing traded)
        self.price: Final = price  # execution price (funding: mark price at settlement)
        self.fee: Final = fee  # > 0 paid, < 0 received; for funding the funding payment
        self.realized_pnl: Final = realized_pnl  # gross PnL of the closed part (0 for openings and funding)
        self.order_id: Final = order_id
        self.is_maker: Final = is_maker
        self.fee_rate: Final = fee_rate  # trading fee rate, or the funding rate
        self.position_after: Final = position_after  # signed position after this fill

    def astuple(self) -> tuple[object, ...]:
        """Every field, in ``FILL_FIELDS`` order."""
        return (
            self.time_ms,
            self.symbol,
            self.kind,
            self.contracts,
            self.price,
            self.fee,
            self.realized_pnl,
            self.order_id,
            self.is_maker,
            self.fee_rate,
            self.position_after,
        )

    def replace(self, **changes: object) -> Fill:
        """A copy with some fields changed (``dataclasses.replace`` for this class)."""
        values = dict(zip(FILL_FIELDS, self.astuple(), strict=True))
        values.update(changes)
        return Fill(**values)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fill):
            return NotImplemented
        return self.astuple() == other.astuple()

    def __hash__(self) -> int:
        return hash(self.astuple())

    def __repr__(self) -> str:
        return _repr("Fill", FILL_FIELDS, self.astuple())

    def __reduce__(self) -> tuple[object, ...]:
        return (Fill, self.astuple())


def _reduce_frozen(obj: PositionView | WalletView | RiskTier) -> tuple[object, ...]:
    """Pickle a frozen dataclass by its constructor: compiled, the default path would set its fields one by
    one after creation, which a frozen class refuses."""
    return (type(obj), tuple(getattr(obj, f.name) for f in fields(obj)))


@dataclass(frozen=True, slots=True)
class PositionView:
    """Snapshot of a subaccount's position (one symbol). Prices 0.0 when flat; liq 0.0 when none."""

    symbol: str
    contracts: float
    entry_price: float
    mark_price: float
    liquidation_price: float
    bankruptcy_price: float
    unrealized_pnl: float
    realized_pnl: float  # cumulative for the current holding: gross PnL - fees - funding
    initial_margin: float
    maintenance_margin: float
    leverage: float
    margin_mode: MarginMode
    position_value: float  # at mark, in the settle currency
    settle_currency: str

    def __reduce__(self) -> tuple[object, ...]:
        return _reduce_frozen(self)


@dataclass(frozen=True, slots=True)
class WalletView:
    """Snapshot of a subaccount's wallet in its settle currency."""

    currency: str
    wallet_balance: float
    margin_balance: float  # equity: wallet balance + unrealized PnL
    available_balance: float
    position_margin: float
    order_margin: float
    cumulative_fees: float  # trading fees paid (negative means net rebates)
    cumulative_funding: float  # funding paid (negative means received)
    cumulative_realized_pnl: float  # gross realized PnL of all closes

    def __reduce__(self) -> tuple[object, ...]:
        return _reduce_frozen(self)


@dataclass(frozen=True, slots=True)
class RiskTier:
    """One rung of a risk-limit ladder; the tier holds position values up to ``limit_value`` inclusive."""

    limit_value: float
    mmr: float
    imr: float
    max_leverage: float
    deduction: float

    def __reduce__(self) -> tuple[object, ...]:
        return _reduce_frozen(self)
