"""The journal records built per order, fill and equity sample, as compiled classes.

A market maker's backtest records several order events per candle. As frozen dataclasses, each record cost
about 0.6 µs to build (a frozen class sets every field through ``object.__setattr__``), more than the
simulator spent on the order itself; compiled, the simulator builds them with a native constructor call.
An equity sample (8 fields) cost ~1 µs, once an hour of market time per subaccount.
They behave like the frozen dataclasses they replace: read-only fields (``Final``), equality and hash by
value, a dataclass-like ``repr``, pickling by constructor, ``replace`` (order and fill records).
``kektrade.domain.journal`` re-exports them.
"""

from __future__ import annotations

from typing import Final, final

from mypy_extensions import mypyc_attr

from kektrade.domain.types import Fill, Order


@mypyc_attr(acyclic=True)  # records hold strings, numbers, orders and fills: never in a reference cycle
class Record:
    """Value semantics of a record from its ``astuple`` and ``field_names`` (the fields in order)."""

    def field_names(self) -> tuple[str, ...]:
        """The fields, in constructor order."""
        raise NotImplementedError

    def astuple(self) -> tuple[object, ...]:
        """Every field, in constructor order."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, Record):
            return NotImplemented
        return self.astuple() == other.astuple()

    def __hash__(self) -> int:
        return hash(self.astuple())  # a record holding an order (mutable) is unhashable, as the dataclass was

    def __repr__(self) -> str:
        pairs = zip(self.field_names(), self.astuple(), strict=True)
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in pairs)})"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self.astuple())


@final
@mypyc_attr(acyclic=True)
class OrderRecorded(Record):
    """An order transition (placed, amended, triggered, filled, cancelled, rejected)."""

    def __init__(self, subaccount: str, time_ms: int, event: str, order: Order) -> None:
        self.subaccount: Final = subaccount
        self.time_ms: Final = time_ms
        #: placed | amended | triggered | partially_filled | filled | cancelled | rejected
        self.event: Final = event
        self.order: Final = order  # a copy taken at the transition

    def field_names(self) -> tuple[str, ...]:
        return ("subaccount", "time_ms", "event", "order")

    def astuple(self) -> tuple[str, int, str, Order]:
        return (self.subaccount, self.time_ms, self.event, self.order)

    def replace(
        self,
        subaccount: str | None = None,
        time_ms: int | None = None,
        event: str | None = None,
        order: Order | None = None,
    ) -> OrderRecorded:
        """A copy with some fields changed (``dataclasses.replace`` for this class)."""
        return OrderRecorded(
            self.subaccount if subaccount is None else subaccount,
            self.time_ms if time_ms is None else time_ms,
            self.event if event is None else event,
            self.order if order is None else order,
        )


@final
@mypyc_attr(acyclic=True)
class FillRecorded(Record):
    """An execution (trade, funding, liquidation); live venues add the exchange's execution id."""

    def __init__(self, subaccount: str, fill: Fill, exec_id: str = "") -> None:
        self.subaccount: Final = subaccount
        self.fill: Final = fill
        self.exec_id: Final = exec_id

    def field_names(self) -> tuple[str, ...]:
        return ("subaccount", "fill", "exec_id")

    def astuple(self) -> tuple[str, Fill, str]:
        return (self.subaccount, self.fill, self.exec_id)

    def replace(
        self, subaccount: str | None = None, fill: Fill | None = None, exec_id: str | None = None
    ) -> FillRecorded:
        """A copy with some fields changed (``dataclasses.replace`` for this class)."""
        return FillRecorded(
            self.subaccount if subaccount is None else subaccount,
            self.fill if fill is None else fill,
            self.exec_id if exec_id is None else exec_id,
        )


@final
@mypyc_attr(acyclic=True)
class EquitySampled(Record):
    """A point of the marked-to-market series of a subaccount."""

    def __init__(
        self,
        subaccount: str,
        time_ms: int,
        wallet_balance: float,
        equity: float,
        equity_quote: float,
        position_contracts: float,
        mark_price: float,
        close_price: float,
    ) -> None:
        self.subaccount: Final = subaccount
        self.time_ms: Final = time_ms
        self.wallet_balance: Final = wallet_balance
        self.equity: Final = equity  # margin balance in the settle currency
        self.equity_quote: Final = equity_quote  # equity valued in the account's common quote currency
        self.position_contracts: Final = position_contracts
        self.mark_price: Final = mark_price
        self.close_price: Final = close_price

    def field_names(self) -> tuple[str, ...]:
        return ("subaccount", "time_ms", "wallet_balance", "equity", "equity_quote", "position_contracts",
                "mark_price", "close_price")  # fmt: skip

    def astuple(self) -> tuple[str, int, float, float, float, float, float, float]:
        return (
            self.subaccount,
            self.time_ms,
            self.wallet_balance,
            self.equity,
            self.equity_quote,
            self.position_contracts,
            self.mark_price,
            self.close_price,
        )
