"""Account-level series: combined equity of several subaccounts, their correlations, drawdowns."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

Series = tuple[Sequence[int], Sequence[float]]


def _check(name: str, times_ms: Sequence[int], values: Sequence[float]) -> None:
    if len(times_ms) != len(values):
        raise ValueError(f"series {name!r}: {len(times_ms)} times but {len(values)} values")
    if len(times_ms) == 0:
        raise ValueError(f"series {name!r} is empty")
    if np.any(np.diff(np.asarray(times_ms, dtype=np.int64)) < 0):
        raise ValueError(f"series {name!r}: times_ms must be non-decreasing")


def aligned(series: Mapping[str, Series]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every series on the union of timestamps: forward-filled after its first point, first value before."""
    for name, (t, v) in series.items():
        _check(name, t, v)
    if not series:
        return np.zeros(0, dtype=np.int64), {}
    grid = np.unique(np.concatenate([np.asarray(t, dtype=np.int64) for t, _ in series.values()]))
    out: dict[str, np.ndarray] = {}
    for name, (t, v) in series.items():
        times = np.asarray(t, dtype=np.int64)
        values = np.asarray(v, dtype=np.float64)
        idx = np.searchsorted(times, grid, side="right") - 1  # last point at or before each grid time
        out[name] = values[np.clip(idx, 0, None)]
    return grid, out


def combine_equity(series: Mapping[str, Series]) -> tuple[list[int], list[float]]:
    """Sum of the series on the union of their timestamps (see ``aligned``)."""
    grid, values = aligned(series)
    if not values:
        return [], []
    total = np.sum(np.vstack(list(values.values())), axis=0)
    return grid.tolist(), total.tolist()


def correlation(series: Mapping[str, Series]) -> dict[tuple[str, str], float]:
    """Pearson correlation of per-period returns on the common grid, for each pair (a, b) in input order.

    NaN when a pair has fewer than 2 returns or either series' returns are constant.
    """
    _, values = aligned(series)
    names = list(values)
    returns = {n: _returns(values[n]) for n in names}
    out: dict[tuple[str, str], float] = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            out[(a, b)] = _pearson(returns[a], returns[b])
    return out


def _returns(values: np.ndarray) -> np.ndarray:
    prev = values[:-1]
    return np.where(prev > 0, values[1:] / np.where(prev > 0, prev, 1.0) - 1.0, 0.0)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(np.dot(dx, dx)) * float(np.dot(dy, dy)))
    if not denom > 1e-300:
        return math.nan
    return float(np.clip(np.dot(dx, dy) / denom, -1.0, 1.0))


def drawdown_series(equity: Sequence[float]) -> list[float]:
    """Fall below the running peak at each point, as a fraction in [0, 1] (0 at new highs)."""
    e = np.asarray(equity, dtype=np.float64)
    if len(e) == 0:
        return []
    peaks = np.maximum.accumulate(e)
    safe = np.where(peaks > 0, peaks, 1.0)
    dd = np.where(peaks > 0, 1.0 - e / safe, 0.0)
    return np.clip(dd, 0.0, 1.0).tolist()
