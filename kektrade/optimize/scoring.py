"""Scores of one combination over a trailing window of its marked-to-market equity.

Every score comes from kektrade.analysis.metrics, the module behind the results table, so an optimizer's
"Sharpe 1.8" and the results table's "Sharpe 1.8" mean the same thing. Units, which ``min_score`` uses:

- ``return``: the window's total return as a fraction (0.02 = +2 % over the lookback).
- ``sharpe``: mean / sample standard deviation of the per-sample returns, annualised with
  sqrt(samples per 365-day year); the sampling interval is the median spacing of the samples (hourly
  for a daily re-optimization). Risk-free rate 0.
- ``sortino``: the same mean over the root mean square of the negative returns (target 0), annualised.
- ``calmar``: the window's return compounded to a 365-day year, divided by its maximum drawdown.
- ``profit_factor``: gross profit / gross loss of the round trips closed in the window, net of fees and
  funding, exactly the results table's trades (1.5 = won 1.5x what it lost); +inf with winners and no loser.

A score can be NaN (undefined: too few samples, no variance, no losing sample for Sortino, no trades)
or +inf (profit factor without a losing trade): the selection refuses both (see
kektrade.optimize.live), so one lucky trade cannot beat sixty good ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kektrade.analysis.metrics import YEAR_MS, max_drawdown, sharpe_ratio, sortino_ratio, trade_stats

__all__ = ["YEAR_MS", "score"]


def score(objective: str, times_ms: Sequence[int], equity: Sequence[float], closed_pnls: Sequence[float]) -> float:
    """The objective over one window; NaN when it is undefined, +inf where the metric is unbounded.

    ``equity`` is sampled at ``times_ms``; ``closed_pnls`` are the net PnLs of the round trips closed in the window.
    """
    if len(equity) < 2 or equity[0] <= 0:
        return math.nan
    total = equity[-1] / equity[0] - 1.0
    if objective == "return":
        return total
    if objective == "profit_factor":
        return trade_stats(list(closed_pnls))[1]
    t = np.asarray(times_ms, dtype=np.int64)
    e = np.asarray(equity, dtype=np.float64)
    if objective == "sharpe":
        return sharpe_ratio(t, e)
    if objective == "sortino":
        return sortino_ratio(t, e)
    if objective == "calmar":
        mdd, _ = max_drawdown(t, e, float(e[0]))
        span = int(t[-1] - t[0])
        if mdd <= 0 or span <= 0:
            return math.nan
        annual = (1.0 + total) ** (YEAR_MS / span) - 1.0 if total > -1 else -1.0
        return annual / mdd
    raise ValueError(f"unknown objective {objective!r}")
