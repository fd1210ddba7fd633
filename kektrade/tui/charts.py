"""Pure series helpers for the plots: drawdown, time axis ticks and optimization curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DAY_MS = 86_400_000


def drawdown_pct(values: Sequence[float]) -> list[float]:
    """Drawdown from the running peak in percent (0 at a new high, negative below it)."""
    out: list[float] = []
    peak = float("-inf")
    for v in values:
        peak = max(peak, v)
        out.append(100.0 * (v / peak - 1.0) if peak > 0 else 0.0)
    return out


def returns_pct(values: Sequence[float]) -> list[float]:
    """Each value as a return in percent from the first one (0 when the first is not positive)."""
    first = values[0] if values else 0.0
    return [100.0 * (v / first - 1.0) if first > 0 else 0.0 for v in values]


def days_since(times_ms: Sequence[int], origin_ms: int) -> list[float]:
    """Times as fractional days since ``origin_ms`` (a compact numeric x axis)."""
    return [(t - origin_ms) / DAY_MS for t in times_ms]


def time_ticks(times_ms: Sequence[int], count: int = 4) -> tuple[list[float], list[str]]:
    """About ``count`` x ticks (days since the first time) labelled ``MM-DD`` or ``MM-DD HH:MM``."""
    if not times_ms:
        return [], []
    first, last = times_ms[0], times_ms[-1]
    span = max(last - first, 1)
    fmt = "%m-%d" if span >= 3 * DAY_MS else "%m-%d %H:%M"
    steps = max(count - 1, 1)
    points = sorted({first + span * k // steps for k in range(steps + 1)})
    labels = [datetime.fromtimestamp(t / 1000, tz=UTC).strftime(fmt) for t in points]
    return days_since(points, first), labels


@dataclass(frozen=True, slots=True)
class OptimizationCurves:
    """Live-optimized equity next to fixed-parameter equities of one subaccount (settle currency)."""

    times_ms: tuple[int, ...]
    live: tuple[float, ...]
    best: tuple[float, ...]
    median: tuple[float, ...]
    worst: tuple[float, ...]


def optimization_curves(results: Mapping[str, Any] | None, sub_id: str) -> OptimizationCurves | None:
    """The curves of ``results['extra']['optimization'][sub_id]['curves']`` when the run has them."""
    if not results:
        return None
    curves = results.get("extra", {}).get("optimization", {}).get(sub_id, {}).get("curves") or {}
    needed = ("times_ms", "live", "best", "median", "worst")
    if not all(k in curves for k in needed) or not curves["times_ms"]:
        return None
    return OptimizationCurves(*(tuple(curves[k]) for k in needed))


def subaccount_result(results: Mapping[str, Any] | None, sub_id: str) -> Mapping[str, Any] | None:
    """One subaccount's entry of a results document."""
    for entry in (results or {}).get("subaccounts", []):
        if entry.get("id") == sub_id:
            return entry
    return None
