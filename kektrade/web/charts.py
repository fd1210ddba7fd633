"""The page's charts as SVG: account equity, a subaccount's price with its plot indicators, walk-forward curves."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kektrade.engine.snapshot import EngineSnapshot
from kektrade.web.svg import PALETTE, Line, line_chart, stack

WIDTH = 720
CURVE_KEYS = (("live", "live-opt"), ("best", "best fixed"), ("median", "median"), ("worst", "worst"))


def time_label(time_ms: float) -> str:
    """A UTC ``MM-DD HH:MM`` label of a millisecond time."""
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%m-%d %H:%M")


def equity_svg(snapshot: EngineSnapshot, width: int = WIDTH) -> str:
    """The account's equity and each subaccount's equity over time."""
    lines = [Line("account", snapshot.equity_total, PALETTE[0])]
    for k, (sid, values) in enumerate(sorted(snapshot.equity_by_subaccount.items()), start=1):
        lines.append(Line(sid, values, PALETTE[k % len(PALETTE)]))
    return line_chart(snapshot.equity_times_ms, lines, "Account equity (quote)", width, 260, time_label)


def price_svg(snapshot: EngineSnapshot, sub_id: str, width: int = WIDTH) -> str | None:
    """Close price with overlay indicators above, panel indicators below; None for an unknown subaccount."""
    chart = snapshot.charts.get(sub_id)
    if chart is None:
        return None
    overlays = [Line("close", chart.close, PALETTE[0])]
    panels: list[Line] = []
    for k, (name, overlay, values) in enumerate(chart.indicators, start=1):
        line = Line(name, values, PALETTE[k % len(PALETTE)])
        (overlays if overlay else panels).append(line)
    price = line_chart(chart.times_ms, overlays, f"{sub_id} price", width, 260, time_label)
    if not panels:
        return stack([(price, 260)], width)
    panel = line_chart(chart.times_ms, panels, f"{sub_id} indicators", width, 160, time_label, y_ticks=3)
    return stack([(price, 260), (panel, 160)], width)


def optimization_curves(results: Mapping[str, Any] | None, sub_id: str) -> dict[str, list[float]] | None:
    """``results['extra']['optimization'][sub_id]['curves']`` when complete and non-empty."""
    if not results:
        return None
    curves = results.get("extra", {}).get("optimization", {}).get(sub_id, {}).get("curves") or {}
    needed = ("times_ms", *(key for key, _ in CURVE_KEYS))
    if not all(k in curves for k in needed) or not curves["times_ms"]:
        return None
    return {k: list(curves[k]) for k in needed}


def curves_svg(results: Mapping[str, Any] | None, sub_id: str, width: int = WIDTH) -> str | None:
    """Live-optimized equity against the best, median and worst fixed parameters; None without curves."""
    curves = optimization_curves(results, sub_id)
    if curves is None:
        return None
    lines = [Line(label, curves[key], PALETTE[k]) for k, (key, label) in enumerate(CURVE_KEYS)]
    return line_chart(curves["times_ms"], lines, f"{sub_id} walk-forward equity", width, 240, time_label)
