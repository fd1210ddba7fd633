"""Front-end views of the engine's state, built from what the engine already holds — never the network.

Simulated venues are read directly (their state is in memory); live venues through the views cached at
their last refresh (``LiveVenue.cached_position`` / ``cached_orders`` / wallet), so building a snapshot
costs no request and cannot fail because an exchange is slow or down.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kektrade.domain.types import Order, PositionView
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.live_venue import LiveVenue
from kektrade.engine.snapshot import ChartData, FillRow, OrderRow, SubaccountRow


def position_view(venue: Any) -> PositionView | None:
    """The venue's position without a network call (None before the first candle or the first read)."""
    if isinstance(venue, LiveVenue):
        return venue.cached_position
    return venue.get_position() if venue.candle_index >= 0 else None


def open_orders_view(venue: Any) -> list[Order]:
    """The venue's open orders without a network call."""
    if isinstance(venue, LiveVenue):
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


def account_series(
    instances: Sequence[StrategyInstance],
    max_points: int = 2_000,
) -> tuple[tuple[int, ...], tuple[float, ...], dict[str, tuple[float, ...]]]:
    """Combined quote equity on the union of sample times (each series held at its last value)."""
    times = sorted({t for inst in instances for t in inst.times_ms})
    if len(times) > max_points:
        stride = len(times) // max_points + 1
        times = times[::stride] + ([times[-1]] if (len(times) - 1) % stride else [])
    by_sub: dict[str, tuple[float, ...]] = {}
    for inst in instances:
        values, series_t, k = [], inst.times_ms, 0
        first = inst.equity_quote[0] if inst.equity_quote else 0.0
        last = first
        for t in times:
            while k < len(series_t) and series_t[k] <= t:
                last = inst.equity_quote[k]
                k += 1
            values.append(last)
        by_sub[inst.id] = tuple(values)
    total = tuple(sum(col) for col in zip(*by_sub.values(), strict=True)) if by_sub else ()
    return tuple(times), total, by_sub
