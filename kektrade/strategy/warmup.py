"""Warm-up check: do indicator values still change when more history precedes them?

Recursive indicators (EMA, RSI, ATR with Wilder smoothing, ...) depend on every earlier candle, fading
with distance. ``startup_candle_count`` promises that that many candles before a value are enough. At a
few sample candles i the indicators are recomputed from only the ``startup_candle_count`` candles before
i; a value that differs from the one computed on the whole history by more than ``tolerance`` (relative)
means the warm-up is too short, for backtests and for the live loop's bounded history alike. The count
that would be enough is found by doubling, then bisection, over the preceding history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kektrade.strategy.lookahead import Subject, populate_copy

MAX_HISTORY = 20_000  # the search for an enough count stops here ("more than ...")


@dataclass(frozen=True, slots=True)
class WarmupFinding:
    """A column whose value at the first traded candle still depends on history before the warm-up."""

    column: str
    needed: int | None  # candles of history that suffice; None: more than searched (see ``searched``)
    difference: float  # largest relative difference at startup_candle_count
    searched: int


def _last_row(subject: Subject, candle: int, history: int, columns: list[str]) -> dict[str, float]:
    """Indicator values at ``candle`` computed from only the ``history`` candles before it."""
    raw = subject.frame[subject.raw_columns].iloc[max(candle - history, 0) : candle + 1].reset_index(drop=True)
    try:
        _strategy, frame = populate_copy(subject, raw)
        row = frame.iloc[-1]
    except Exception:  # indicators that cannot be computed on so short a history: not enough
        return dict.fromkeys(columns, math.nan)
    return {c: _number(row[c]) if c in frame.columns else math.nan for c in columns}


def _number(value: object) -> float:
    """A cell as float; NaN for None or anything else not numeric (pandas_ta returns None when too short)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _relative(a: float, b: float) -> float:
    """|a - b| relative to |b| (inf when only one is NaN)."""
    if math.isnan(b):
        return 0.0
    if math.isnan(a):
        return math.inf
    return abs(a - b) / max(abs(b), 1e-12)


def _failing(
    subject: Subject, candle: int, history: int, full: dict[str, float], tolerance: float
) -> dict[str, float]:
    values = _last_row(subject, candle, history, list(full))
    diffs = {c: _relative(values[c], full[c]) for c in full}
    return {c: d for c, d in diffs.items() if d > tolerance}


def _enough(
    subject: Subject, candle: int, column: str, full: dict[str, float], start: int, tolerance: float
) -> int | None:
    """Smallest history (doubling, then bisection) for which ``column`` matches; None beyond the search."""
    limit = min(candle, MAX_HISTORY)
    lo, hi = start, max(start * 2, start + 1)
    one = {column: full[column]}
    while column in _failing(subject, candle, min(hi, limit), one, tolerance):
        if hi >= limit:
            return None
        lo, hi = hi, hi * 2
    hi = min(hi, limit)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if column in _failing(subject, candle, mid, one, tolerance):
            lo = mid
        else:
            hi = mid
    return hi


def check_warmup(subject: Subject, startup: int, points: int = 2, tolerance: float = 1e-4) -> list[WarmupFinding]:
    """Columns whose values at sample candles change when more than ``startup`` candles precede them."""
    columns = subject.indicator_columns()
    n = len(subject.frame)
    if not columns or n <= startup + 1:
        return []
    samples = sorted({int(x) for x in np.linspace(max(startup + 1, n // 2), n - 1, points)})
    worst: dict[str, tuple[float, int | None, int]] = {}
    for candle in samples:
        full = {c: float(subject.frame[c].iloc[candle]) for c in columns}
        failing = _failing(subject, candle, startup, full, tolerance)
        for column, diff in failing.items():
            needed = _enough(subject, candle, column, full, max(startup, 1), tolerance)
            prev = worst.get(column)
            searched = min(candle, MAX_HISTORY)
            if prev is None or _worse(needed, prev[1]):
                worst[column] = (max(diff, prev[0] if prev else 0.0), needed, searched)
    return [WarmupFinding(c, needed, diff, searched) for c, (diff, needed, searched) in sorted(worst.items())]


def _worse(needed: int | None, before: int | None) -> bool:
    if before is None:
        return False
    return needed is None or needed > before


def enough_candles(findings: list[WarmupFinding], startup: int) -> int | None:
    """The startup_candle_count that would be enough for every column; None when one needs more than searched."""
    if any(f.needed is None for f in findings):
        return None
    return max([startup, *(f.needed for f in findings if f.needed is not None)])

