"""Candle columns with plot indicators for the viewers: from a running instance or rebuilt from a run folder."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kektrade.analysis.tradebook import ExitContext, trade_rows
from kektrade.analysis.trades import round_trips
from kektrade.config import parse_config
from kektrade.engine.build import make_provider, prepare_instance
from kektrade.runs.folders import STRATEGIES_DIR, Run

log = logging.getLogger("kektrade.control")

PLOT_LIMIT = 6


@dataclass(frozen=True)
class MarketColumns:
    """Candle columns of one subaccount (append-only sequences) and its plot indicators' columns."""

    time_ms: Sequence[int]
    open: Sequence[float]
    high: Sequence[float]
    low: Sequence[float]
    close: Sequence[float]
    volume: Sequence[float]
    timeframe_ms: int
    indicators: list[tuple[str, bool]] = field(default_factory=list)  # (name, overlay)
    frame: Any = None  # the indicator frame (row k = candle k); columns are read per window, never whole
    error: str = ""
    available: int | None = None  # candles the engine has reached (a run going); None: all of them

    def window(self, lo: int, hi: int) -> dict[str, Any]:
        """Columns [lo, hi) as JSON-ready lists (NaN as None)."""
        out: dict[str, Any] = {
            "time_ms": list(self.time_ms[lo:hi]),
            "open": list(self.open[lo:hi]),
            "high": list(self.high[lo:hi]),
            "low": list(self.low[lo:hi]),
            "close": list(self.close[lo:hi]),
            "volume": list(self.volume[lo:hi]) if len(self.volume) >= hi else [],
        }
        out["indicators"] = {name: self._column(name, lo, hi) for name, _ in self.indicators}
        return out

    def _column(self, name: str, lo: int, hi: int) -> list[float | None]:
        values = self.frame[name].to_numpy(dtype=float)[lo:hi].tolist()
        return [v if math.isfinite(v) else None for v in values]


def _plot_spec(strategy: Any, frame: Any, parameters: dict[str, Any] | None) -> list[tuple[str, bool]]:
    """(column, overlay) pairs the strategy asks to plot that exist, narrowed to the parameters in use."""
    try:
        spec = strategy.get_plot_indicators(frame)
    except Exception:  # a broken plot spec must not break the viewer
        log.exception("get_plot_indicators failed")
        return []
    found = [
        (str(d["name"]), bool(d.get("overlay", False)))
        for d in spec
        if d.get("plot", True) and d.get("name") in frame.columns
    ]
    if len(found) > PLOT_LIMIT and parameters:
        values = {str(v) for v in parameters.values()}
        found = [(n, o) for n, o in found if any(n.endswith(v) for v in values)] or found
    return found[:PLOT_LIMIT]


def _columns(arrays: Any, frame: Any, spec: list[tuple[str, bool]]) -> MarketColumns:
    return MarketColumns(
        arrays.time_ms,
        arrays.open,
        arrays.high,
        arrays.low,
        arrays.close,
        arrays.volume,
        arrays.timeframe_ms,
        spec,
        frame,
    )


def market_of_instance(inst: Any) -> MarketColumns:
    """The running instance's venue columns and its current plot indicators."""
    spec = inst.plot_indicators(PLOT_LIMIT)
    columns = _columns(inst.venue.market, inst.frame, spec)
    return replace(columns, available=max(inst.venue.candle_index + 1, 0))


def market_of_prepared(run: Run, sub_id: str, parameters: dict[str, Any] | None) -> MarketColumns | None:
    """Rebuild a stored run's candles and indicators from its config.json and strategy copies."""
    try:
        config = parse_config(run.config_path.read_text(encoding="utf-8"), source=str(run.config_path))
        index, sub = next((k, s) for k, s in enumerate(config.subaccounts) if s.id == sub_id)
        prepared = prepare_instance(config, sub, index, make_provider(config), run.folder / STRATEGIES_DIR)
    except StopIteration:
        return None
    except Exception as exc:  # data gone, strategy copy broken: the page says so instead of failing
        log.warning("run %s: cannot rebuild the candles of %s: %s", run.run_id, sub_id, exc)
        return MarketColumns([], [], [], [], [], [], 0, error=f"candles unavailable: {exc}")
    spec = _plot_spec(prepared.strategy, prepared.frame, parameters)
    return _columns(prepared.arrays, prepared.frame, spec)


def stored_trades(
    fills: Sequence[Any], is_inverse: bool, context: ExitContext, last_price: float | None = None
) -> list[dict[str, Any]]:
    """Round-trip rows rebuilt from fills; an open trade is valued at ``last_price`` (default: the last fill's).

    The fills are a front end's copy (of a running venue's list, or read from the run database): not memoised.
    """
    last = last_price if last_price is not None else (fills[-1].price if fills else None)
    return trade_rows(round_trips(fills, include_open=True, memo=False), context, is_inverse, last)
