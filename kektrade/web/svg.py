"""A small pure-Python SVG line chart: polylines, labelled axis ticks, a legend; NaN gaps are skipped."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

BACKGROUND = "#161b22"
GRID = "#30363d"
TEXT = "#c9d1d9"
MUTED = "#8b949e"
PALETTE = ("#58a6ff", "#3fb950", "#d29922", "#f85149", "#bc8cff", "#39c5cf", "#ff7b72", "#e3b341")

MARGIN_LEFT = 72
MARGIN_RIGHT = 16
MARGIN_TOP = 40
MARGIN_BOTTOM = 26


@dataclass(frozen=True, slots=True)
class Line:
    """One series of a chart: a label, values aligned with the chart's x values, a CSS colour."""

    label: str
    values: Sequence[float | None]
    color: str


def is_finite(value: float | None) -> bool:
    """True for a real, finite number (None, NaN and infinities are gaps)."""
    return value is not None and math.isfinite(value)


def scale(value: float, lo: float, hi: float, out_lo: float, out_hi: float) -> float:
    """Map ``value`` linearly from [lo, hi] onto [out_lo, out_hi] (the middle when lo == hi)."""
    if hi == lo:
        return (out_lo + out_hi) / 2
    return out_lo + (value - lo) * (out_hi - out_lo) / (hi - lo)


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2 or 5 times a power of ten) within [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return []
    if hi == lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    ticks: list[float] = []
    k = 0
    while first + k * step <= hi + step * 1e-9:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def format_tick(value: float, step: float) -> str:
    """A tick label with as many decimals as the tick step needs, thousands separated."""
    decimals = 0 if step >= 1 or step <= 0 else min(8, math.ceil(-math.log10(step)))
    return f"{value:,.{decimals}f}"


def segments(xs: Sequence[float], values: Sequence[float | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive finite (x, y) points; a gap value ends a run."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for x, y in zip(xs, values, strict=False):
        if is_finite(x) and is_finite(y):
            current.append((x, float(y)))  # type: ignore[arg-type]
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if lo == hi:
        pad = abs(lo) * 0.01 or 1.0
        return lo - pad, hi + pad
    return lo, hi


def line_chart(
    xs: Sequence[float],
    lines: Sequence[Line],
    title: str = "",
    width: int = 720,
    height: int = 240,
    x_format: Callable[[float], str] | None = None,
    x_ticks: int = 4,
    y_ticks: int = 5,
) -> str:
    """One ``<svg>`` line chart of ``lines`` over ``xs``; says "no data" when nothing is finite."""
    runs = [segments(xs, line.values) for line in lines]
    points = [p for line_runs in runs for run in line_runs for p in run]
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">'
        f'<rect width="{width}" height="{height}" fill="{BACKGROUND}"/>'
        f'<text x="8" y="16" fill="{TEXT}" font-size="13">{escape(title)}</text>'
    )
    if not points:
        return head + f'<text x="{width / 2}" y="{height / 2}" fill="{MUTED}" text-anchor="middle">no data</text></svg>'
    x_lo, x_hi = _bounds([p[0] for p in points])
    y_lo, y_hi = _bounds([p[1] for p in points])
    left, right, top, bottom = MARGIN_LEFT, width - MARGIN_RIGHT, MARGIN_TOP, height - MARGIN_BOTTOM

    def px(x: float) -> float:
        return scale(x, x_lo, x_hi, left, right)

    def py(y: float) -> float:
        return scale(y, y_lo, y_hi, bottom, top)

    parts = [head, _axes(left, right, top, bottom)]
    parts.extend(_y_ticks(nice_ticks(y_lo, y_hi, y_ticks), py, left, right))
    parts.extend(_x_ticks(x_lo, x_hi, x_ticks, px, bottom, x_format))
    for line, line_runs in zip(lines, runs, strict=True):
        for run in line_runs:
            parts.append(_polyline(run, px, py, line.color))
    parts.extend(_legend(lines, right))
    parts.append("</svg>")
    return "".join(parts)


def _axes(left: float, right: float, top: float, bottom: float) -> str:
    return (
        f'<polyline points="{left},{top} {left},{bottom} {right},{bottom}" fill="none" stroke="{MUTED}" class="axis"/>'
    )


def _y_ticks(ticks: list[float], py: Callable[[float], float], left: float, right: float) -> list[str]:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 0.0
    out = []
    for tick in ticks:
        y = py(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" fill="{MUTED}" text-anchor="end">'
            f"{escape(format_tick(tick, step))}</text>"
        )
    return out


def _x_ticks(
    lo: float, hi: float, count: int, px: Callable[[float], float], bottom: float, fmt: Callable[[float], str] | None
) -> list[str]:
    steps = max(count - 1, 1)
    values = [lo + (hi - lo) * k / steps for k in range(steps + 1)]
    step = (hi - lo) / steps
    out = []
    for k, value in enumerate(values):
        anchor = "start" if k == 0 else "end" if k == steps else "middle"
        label = fmt(value) if fmt else format_tick(value, step)
        x = px(value)
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="{MUTED}"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" fill="{MUTED}" text-anchor="{anchor}">{escape(label)}</text>')
    return out


def _polyline(
    run: list[tuple[float, float]], px: Callable[[float], float], py: Callable[[float], float], color: str
) -> str:
    if len(run) == 1:
        x, y = run[0]
        return f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="1.5" fill="{escape(color)}"/>'
    pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
    return f'<polyline points="{pts}" fill="none" stroke="{escape(color)}" stroke-width="1.5"/>'


def _legend(lines: Sequence[Line], right: float) -> list[str]:
    out = []
    x = right
    for line in reversed(lines):
        label = escape(line.label)
        x -= 7 * len(line.label) + 26
        out.append(f'<rect x="{x:.0f}" y="22" width="12" height="3" fill="{escape(line.color)}"/>')
        out.append(f'<text x="{x + 16:.0f}" y="28" fill="{TEXT}">{label}</text>')
    return out


def stack(charts: Sequence[tuple[str, int]], width: int) -> str:
    """Several ``<svg>`` charts (each with its height) stacked vertically in one ``<svg>``."""
    total = sum(h for _, h in charts)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" viewBox="0 0 {width} {total}">']
    y = 0
    for chart, h in charts:
        parts.append(f'<g transform="translate(0,{y})">{chart}</g>')
        y += h
    parts.append("</svg>")
    return "".join(parts)
