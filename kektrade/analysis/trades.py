"""Round trips (trades) rebuilt from a subaccount's signed fills.

A trade starts when the position leaves zero and ends when it returns to zero. Adding to or partly
closing the position stays inside the trade; a fill that flips the position through zero closes the
trade and opens a new one in the other direction (its fee is split between them by quantity).
The position after each trade or liquidation fill is the fill's ``position_after`` (the venue's own
rounded figure). Funding settlements charge the trade that is open at that moment (none when flat).
``pnl`` = gross realized PnL - trading fees of its fills - funding paid while it was open, in the
settle currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from mypy_extensions import mypyc_attr

from kektrade.analysis.memo import MEMO
from kektrade.domain.types import Fill, FillKind

_FLAT_EPS: Final = 1e-12


@dataclass(frozen=True, slots=True)
class Trade:
    """One round trip: from a flat position back to flat (``exit_time_ms`` None while still open)."""

    symbol: str
    direction: int  # 1 long, -1 short
    entry_time_ms: int
    exit_time_ms: int | None
    entry_price: float  # quantity-weighted average of the opening fills
    exit_price: float  # quantity-weighted average of the closing fills (0.0 while nothing closed)
    max_contracts: float  # largest absolute position during the trade
    gross_pnl: float
    fees: float
    funding: float  # > 0 paid, < 0 received
    pnl: float  # gross_pnl - fees - funding
    liquidated: bool
    fills: int  # trade and liquidation fills that belong to it
    entry_qty: float = 0.0  # contracts opened over the trade
    exit_order_id: str = ""  # the order of the fill that closed it (its exit reason)

    @property
    def is_open(self) -> bool:
        """True while the position has not returned to zero."""
        return self.exit_time_ms is None

    @property
    def duration_ms(self) -> int | None:
        """Time from the first to the last fill (None while open)."""
        return None if self.exit_time_ms is None else self.exit_time_ms - self.entry_time_ms


@mypyc_attr(acyclic=True)  # numbers and a string: never in a reference cycle
class _Open:
    """A trade being built (a plain class: compiled, its construction is a few native stores)."""

    def __init__(self, symbol: str, direction: int, entry_time_ms: int) -> None:
        self.symbol = symbol
        self.direction = direction
        self.entry_time_ms = entry_time_ms
        self.exit_time_ms: int | None = None
        self.opened_qty = 0.0
        self.opened_value = 0.0
        self.closed_qty = 0.0
        self.closed_value = 0.0
        self.max_contracts = 0.0
        self.gross_pnl = 0.0
        self.fees = 0.0
        self.funding = 0.0
        self.liquidated = False
        self.fills = 0
        self.exit_order_id = ""

    @property
    def pnl(self) -> float:
        """Net PnL so far: gross realized PnL - trading fees - funding paid."""
        return self.gross_pnl - self.fees - self.funding

    def finish(self) -> Trade:
        """Freeze into a Trade (open while ``exit_time_ms`` is None)."""
        return Trade(
            symbol=self.symbol,
            direction=self.direction,
            entry_time_ms=self.entry_time_ms,
            exit_time_ms=self.exit_time_ms,
            entry_price=self.opened_value / self.opened_qty if self.opened_qty else 0.0,
            exit_price=self.closed_value / self.closed_qty if self.closed_qty else 0.0,
            max_contracts=self.max_contracts,
            gross_pnl=self.gross_pnl,
            fees=self.fees,
            funding=self.funding,
            pnl=self.pnl,
            liquidated=self.liquidated,
            fills=self.fills,
            entry_qty=self.opened_qty,
            exit_order_id=self.exit_order_id,
        )


def _sign(x: float) -> int:
    return 0 if abs(x) <= _FLAT_EPS else (1 if x > 0 else -1)


def _split(before: float, after: float) -> tuple[float, float]:
    """(closing, opening) absolute quantities of a fill that moves the position from before to after."""
    delta = abs(after - before)
    if _sign(before) == 0 or (_sign(before) == _sign(after) and abs(after) >= abs(before)):
        return 0.0, delta
    closing = min(abs(before), delta)
    return closing, delta - closing


class TripBuilder:
    """Builds round trips fill by fill: the batch ``round_trips`` and the optimizer's running books share it."""

    __slots__ = ("current", "position")

    def __init__(self) -> None:
        self.current: _Open | None = None
        self.position = 0.0

    def feed(self, fills: Sequence[Fill]) -> list[Trade]:
        """The trades that the given (next) fills close, in order."""
        closed: list[Trade] = []
        for fill in fills:
            done = self._add(fill)
            if done is not None:
                closed.append(done.finish())
        return closed

    def feed_closes(self, fills: Sequence[Fill]) -> list[tuple[int, float]]:
        """(exit time, net PnL) of the trades the given fills close: ``feed`` without building the trades
        (the optimizer's books score with these pairs only)."""
        closed: list[tuple[int, float]] = []
        for fill in fills:
            done = self._add(fill)
            if done is not None:
                closed.append((fill.time_ms, done.pnl))
        return closed

    def open_trade(self) -> Trade | None:
        """The trade still open after the fills fed so far."""
        return None if self.current is None else self.current.finish()

    def _add(self, fill: Fill) -> _Open | None:
        current = self.current
        if fill.kind == FillKind.FUNDING:
            if current is not None:
                current.funding += fill.fee
            return None
        before, after = self.position, fill.position_after
        self.position = after
        closing, opening = _split(before, after)
        total = closing + opening or 1.0
        done: _Open | None = None
        if current is not None and closing > 0:
            current.closed_qty += closing
            current.closed_value += closing * fill.price
            current.gross_pnl += fill.realized_pnl
            current.fees += fill.fee * closing / total
            current.fills += 1
            current.liquidated |= fill.kind == FillKind.LIQUIDATION
            current.exit_order_id = fill.order_id
            if _sign(after) != _sign(before):
                current.exit_time_ms = fill.time_ms
                done, current = current, None
        if opening > 0 and _sign(after) != 0:
            if current is None and _sign(before) != _sign(after):  # same sign: fills began mid-position
                current = _Open(fill.symbol, _sign(after), fill.time_ms)
            if current is not None:
                current.opened_qty += opening
                current.opened_value += opening * fill.price
                current.fees += fill.fee * opening / total
                current.fills += 1
        if current is not None:
            current.max_contracts = max(current.max_contracts, abs(after))
        self.current = current
        return done


def round_trips(fills: Sequence[Fill], include_open: bool = False, memo: bool = True) -> list[Trade]:
    """Closed trades in order (plus the trade still open at the end when ``include_open``); a new list of
    the (immutable) trades, computed once while ``fills`` is unchanged (``kektrade.analysis.memo``).

    ``memo=False`` for a list made for this one call (a front end's copy of a running venue's fills): kept
    in the memo it could never be asked for again, and would hold the copy and its trades until evicted.
    """
    trades = MEMO.get(fills, "round_trips", lambda: _round_trips(fills)) if memo else _round_trips(fills)
    if include_open or not trades or trades[-1].exit_time_ms is not None:
        return list(trades)
    return list(trades[:-1])


def _round_trips(fills: Sequence[Fill]) -> tuple[Trade, ...]:
    """The closed trades, then the one still open at the end (if any: the only one without an exit time)."""
    builder = TripBuilder()
    trades = builder.feed(fills)
    still_open = builder.open_trade()
    return tuple(trades) if still_open is None else (*trades, still_open)
