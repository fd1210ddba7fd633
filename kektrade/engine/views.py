"""Front-end views of the engine's state, built from what the engine already holds — never the network.

Simulated venues are read directly (their state is in memory); live venues through the views cached at
their last refresh (``LiveVenue.cached_position`` / ``cached_orders`` / wallet), so building a snapshot
costs no request and cannot fail because an exchange is slow or down.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from kektrade.domain.types import Order, PositionView
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.snapshot import ChartData, FillRow, OrderRow, SubaccountRow


@runtime_checkable
class CachedViews(Protocol):
    """A venue read from its views cached at the last refresh (a live account: ``LiveVenue``)."""

    @property
    def cached_position(self) -> PositionView | None:
        """The position as of the last refresh."""

    @property
    def cached_orders(self) -> list[Order]:
        """Open orders as of the last refresh."""

    @property
    def faults(self) -> Any:
        """The venue's exchange-fault log (``notice``: an open episode, else None)."""


def position_view(venue: Any) -> PositionView | None:
    """The venue's position without a network call (None before the first candle or the first read)."""
    if isinstance(venue, CachedViews):
        return venue.cached_position
    return venue.get_position() if venue.candle_index >= 0 else None


def open_orders_view(venue: Any) -> list[Order]:
    """The venue's open orders without a network call."""
    if isinstance(venue, CachedViews):
        return venue.cached_orders
    return list(venue.get_open_orders())


def subaccount_row(inst: StrategyInstance) -> SubaccountRow:
    """The front-end row of one instance."""
    venue = inst.venue
    pos = position_view(venue)
    equity = venue.equity()
    mark = pos.mark_price if pos else 0.0
    return SubaccountRow(
        id=inst.id,
        venue=str(inst.metadata.get("venue", "")),
        pair=venue.spec.symbol,
        strategy=type(inst.strategy).__name__,
        parameters=dict(inst.parameter),
        status=inst.status.value,
        contracts=pos.contracts if pos else 0.0,
        entry_price=pos.entry_price if pos else 0.0,
        mark_price=mark,
        liquidation_price=pos.liquidation_price if pos else 0.0,
        unrealized_pnl=pos.unrealized_pnl if pos else 0.0,
        equity=equity,
        equity_quote=equity * mark if inst.is_inverse else equity,
        settle_currency=venue.spec.settle,
        error=inst.error,
        fills=len(venue.fills),
        entries_allowed=inst.entries_allowed,
        notice=venue.faults.notice if isinstance(venue, CachedViews) else None,
        optimizer_note=inst.optimizer_note,
    )


def recent_fills(inst: StrategyInstance, count: int = 100) -> tuple[FillRow, ...]:
    """The instance's latest fills, oldest first."""
    return tuple(
        FillRow(
            f.time_ms,
            f.kind.value,
            "buy" if f.contracts > 0 else "sell",
            abs(f.contracts),
            f.price,
            f.fee,
            f.realized_pnl,
            f.position_after,
        )
        for f in inst.venue.fills[-count:]
    )


def chart_data(inst: StrategyInstance, count: int = 300) -> ChartData:
    """The last ``count`` candles up to the current one, with the plot indicators in use."""
    end = inst.venue.candle_index + 1
    if end <= 0:
        return ChartData((), (), (), (), ())
    start = max(end - count, 0)
    m = inst.venue.market
    indicators = tuple(
        (name, overlay, tuple(inst.strategy.c[name][start:end])) for name, overlay in inst.plot_indicators()
    )
    return ChartData(
        tuple(m.time_ms[start:end]),
        tuple(m.open[start:end]),
        tuple(m.high[start:end]),
        tuple(m.low[start:end]),
        tuple(m.close[start:end]),
        indicators,
    )


def order_rows(inst: StrategyInstance) -> list[OrderRow]:
    """Open orders of one instance as rows."""
    return [
        OrderRow(
            inst.id,
            o.id,
            o.side,
            o.type.value,
            o.price,
            o.trigger_price,
            o.contracts,
            o.filled,
            o.reduce_only,
            o.post_only,
            o.created_ms,
            o.status.value,
        )
        for o in open_orders_view(inst.venue)
    ]


class AccountSeries:
    """The combined quote equity of a run and each subaccount's, kept incrementally for snapshots.

    Each update consumes only the equity samples recorded since the previous one (a full rebuild per
    snapshot grows with the run: quadratic over a long run with many subaccounts). Times are the union of
    every subaccount's sample times; a subaccount holds its last value between its samples (and its first
    value before it). At most ``2 * max_points`` points are kept: when full, every other point is dropped
    and only every second new point is kept from then on; the latest point is always shown.
    """

    def __init__(self, instances: Sequence[StrategyInstance], max_points: int = 2_000) -> None:
        self.instances = list(instances)
        self.max_points = max_points
        self.times: list[int] = []
        self.values: dict[str, list[float | None]] = {inst.id: [] for inst in self.instances}
        self._read = dict.fromkeys(self.values, 0)  # samples consumed per subaccount
        self._carry: dict[str, float | None] = dict.fromkeys(self.values)
        self._stride, self._count = 1, 0
        self._latest: tuple[int, dict[str, float | None]] | None = None

    def update(self) -> None:
        """Consume the samples recorded since the last update."""
        fresh = sorted({t for inst in self.instances for t in inst.times_ms[self._read[inst.id] :]})
        last = self._latest[0] if self._latest is not None else None
        for t in fresh:
            if last is not None and t <= last:
                continue
            row = {inst.id: self._advance(inst, t) for inst in self.instances}
            self._latest = (t, row)
            if self._count % self._stride == 0:
                self._append(t, row)
            self._count += 1

    def _advance(self, inst: StrategyInstance, t: int) -> float | None:
        """The subaccount's value at ``t``: its latest sample at or before ``t``."""
        k = self._read[inst.id]
        times, values = inst.times_ms, inst.equity_quote
        while k < len(times) and times[k] <= t:
            first = self._carry[inst.id] is None
            self._carry[inst.id] = values[k]
            if first:  # before its first sample a subaccount shows its first value
                self.values[inst.id] = [values[k]] * len(self.values[inst.id])
            k += 1
        self._read[inst.id] = k
        return self._carry[inst.id]

    def _append(self, t: int, row: dict[str, float | None]) -> None:
        self.times.append(t)
        for sid, value in row.items():
            self.values[sid].append(value)
        if len(self.times) > 2 * self.max_points:
            self.times = self.times[::2]
            for sid in self.values:
                self.values[sid] = self.values[sid][::2]
            self._stride *= 2

    def series(self) -> tuple[tuple[int, ...], tuple[float, ...], dict[str, tuple[float, ...]]]:
        """(times, account total, per subaccount) as immutable tuples, the latest point included."""
        times, values = list(self.times), {sid: list(v) for sid, v in self.values.items()}
        if self._latest is not None and (not times or times[-1] != self._latest[0]):
            times.append(self._latest[0])
            for sid, value in self._latest[1].items():
                values[sid].append(value)
        by_sub = {sid: tuple(0.0 if v is None else v for v in vals) for sid, vals in values.items()}
        total = tuple(sum(col) for col in zip(*by_sub.values(), strict=True)) if by_sub else ()
        return tuple(times), total, by_sub
