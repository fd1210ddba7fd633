"""The detail screen's price chart: candles, fill markers and plot indicators in a zoomable window."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from kektrade.engine.snapshot import ChartData, FillRow
from kektrade.tui.plot import spread_labels

MIN_CANDLES = 20
DEFAULT_CANDLES = 120


@dataclass(frozen=True, slots=True)
class ChartWindow:
    """Which candles are shown: ``size`` of them, ``offset`` candles back from the latest."""

    size: int = DEFAULT_CANDLES
    offset: int = 0

    def bounds(self, length: int) -> tuple[int, int]:
        """[start, end) indices of the shown candles among ``length``."""
        size = max(min(self.size, length), 0)
        end = max(length - max(min(self.offset, length - size), 0), size)
        return end - size, end

    def zoom(self, factor: float, length: int) -> ChartWindow:
        """More (factor > 1) or fewer candles, between ``MIN_CANDLES`` and all of them."""
        size = round(self.size * factor)
        return ChartWindow(max(MIN_CANDLES, min(size, max(length, MIN_CANDLES))), self.offset)

    def pan(self, candles: int, length: int) -> ChartWindow:
        """Move back in time (candles > 0) or forward (< 0); never past either end."""
        size = min(self.size, length)
        return ChartWindow(self.size, max(0, min(self.offset + candles, length - size)))


def clock_ticks(times_ms: Sequence[int], start: int, end: int, count: int = 5) -> tuple[list[float], list[str]]:
    """About ``count`` tick positions (candle indices) labelled ``HH:MM`` (``MM-DD HH:MM`` over days)."""
    if end - start <= 0:
        return [], []
    span_ms = times_ms[end - 1] - times_ms[start]
    fmt = "%H:%M" if span_ms < 86_400_000 else "%m-%d %H:%M"
    steps = max(count - 1, 1)
    picks = sorted({start + (end - 1 - start) * k // steps for k in range(steps + 1)})
    labels = [datetime.fromtimestamp(times_ms[i] / 1000, tz=UTC).strftime(fmt) for i in picks]
    return [float(i) for i in picks], labels


def fill_points(
    times_ms: Sequence[int], fills: Sequence[FillRow], start: int, end: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(buys, sells) as (candle index, price) for the fills inside candles [start, end)."""
    buys: list[tuple[float, float]] = []
    sells: list[tuple[float, float]] = []
    if end <= start:
        return buys, sells
    step = times_ms[1] - times_ms[0] if len(times_ms) > 1 else 60_000
    for fill in fills:
        if fill.kind == "funding" or not times_ms[start] <= fill.time_ms < times_ms[end - 1] + step:
            continue
        index = bisect.bisect_right(times_ms, fill.time_ms) - 1
        (buys if fill.side == "buy" else sells).append((float(index), fill.price))
    return buys, sells


def chart_legend(chart: ChartData, start: int, end: int, fills: int) -> str:
    """The title line: window, indicators (right-axis ones marked) and the fill markers."""
    names = [name if overlay else f"{name} (right)" for name, overlay, _ in chart.indicators]
    parts = [f"{end - start} of {len(chart.times_ms)} candles", *names, f"▲ buy ▼ sell ({fills})"]
    return " · ".join(parts)


class CandlePlot(PlotextPlot):
    """Candles of ``chart`` in ``window`` with overlay indicators and buy/sell markers at the fill prices."""

    def __init__(self, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.chart: ChartData | None = None
        self.fills: tuple[FillRow, ...] = ()
        self.window = ChartWindow()
        self.palette_rgb: dict[str, tuple[int, int, int]] = {}
        self.empty_text = "no candles yet"

    def show(self, chart: ChartData | None, fills: Sequence[FillRow], colors: dict[str, tuple[int, int, int]]) -> None:
        """New data (and theme colours: up, down, buy, sell, indicators…); repaint."""
        self.chart, self.fills, self.palette_rgb = chart, tuple(fills), colors
        self.refresh()

    def set_window(self, window: ChartWindow) -> None:
        """Zoom or pan; repaint."""
        self.window = window
        self.refresh()

    @property
    def length(self) -> int:
        """Candles available."""
        return len(self.chart.times_ms) if self.chart else 0

    def render(self) -> RenderResult:
        """Draw the window at the current size."""
        plt = self.plt
        plt.clear_figure()
        chart = self.chart
        if chart is None or not chart.times_ms:
            plt.title(self.empty_text)
            return super().render()
        start, end = self.window.bounds(len(chart.times_ms))
        xs = list(range(start, end))
        data = {"Open": chart.open[start:end], "High": chart.high[start:end],
                "Low": chart.low[start:end], "Close": chart.close[start:end]}  # fmt: skip
        candle_colors = [self.palette_rgb.get("up", "green"), self.palette_rgb.get("down", "red")]
        plt.candlestick(xs, data, colors=candle_colors)  # type: ignore[arg-type]  # numbers work as x
        for n, (_name, overlay, values) in enumerate(chart.indicators):
            pairs = [(x, v) for x, v in zip(xs, values[start:end], strict=False) if not math.isnan(v)]
            if pairs:
                color = self.palette_rgb.get(f"ind{n}", "white")
                plt.plot([p[0] for p in pairs], [p[1] for p in pairs], color=color,
                         yside="left" if overlay else "right")  # fmt: skip
        buys, sells = fill_points(chart.times_ms, self.fills, start, end)
        for points, marker, key in ((buys, "▲", "buy"), (sells, "▼", "sell")):
            if points:
                plt.scatter([p[0] for p in points], [p[1] for p in points], marker=marker,
                            color=self.palette_rgb.get(key, "white"))  # fmt: skip
        plt.xticks([], [])
        plt.xlabel(spread_labels(clock_ticks(chart.times_ms, start, end)[1], self.size.width - 8))
        plt.title(chart_legend(chart, start, end, len(buys) + len(sells)))
        return super().render()
