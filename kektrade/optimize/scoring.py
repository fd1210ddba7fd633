"""Scores of one combination over a trailing window of its marked-to-market equity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

YEAR_MS = 365 * 86_400_000


def _returns(equity: Sequence[float]) -> list[float]:
    return [b / a - 1.0 for a, b in pairwise(equity) if a > 0]


def _max_drawdown(equity: Sequence[float]) -> float:
    peak, worst = -math.inf, 0.0
    for value in equity:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, 1.0 - value / peak)
    return worst


def score(objective: str, times_ms: Sequence[int], equity: Sequence[float], closed_pnls: Sequence[float]) -> float:
    """The objective over one window; NaN when it is undefined (too few points, no variance, no trades).

    ``equity`` is sampled at ``times_ms``; returns are per sample, annualised from the sample spacing
    (a 365-day year: crypto trades every day). ``closed_pnls`` are the realized PnLs of closing fills.
    """
    if len(equity) < 2 or equity[0] <= 0:
        return math.nan
    total = equity[-1] / equity[0] - 1.0
    if objective == "return":
        return total
    if objective == "profit_factor":
        gains = sum(p for p in closed_pnls if p > 0)
        losses = -sum(p for p in closed_pnls if p < 0)
        if losses == 0:
            return math.inf if gains > 0 else math.nan
        return gains / losses
    rets = _returns(equity)
    span = (times_ms[-1] - times_ms[0]) / max(len(times_ms) - 1, 1)
    per_year = YEAR_MS / span if span > 0 else math.nan
    mean = sum(rets) / len(rets)
    if objective == "sharpe":
        var = sum((r - mean) ** 2 for r in rets) / max(len(rets) - 1, 1)
        return mean / math.sqrt(var) * math.sqrt(per_year) if var > 0 else math.nan
    if objective == "sortino":
        down = [min(r, 0.0) ** 2 for r in rets]
        dd = math.sqrt(sum(down) / len(rets))
        return mean / dd * math.sqrt(per_year) if dd > 0 else math.nan
    if objective == "calmar":
        mdd = _max_drawdown(equity)
        years = (times_ms[-1] - times_ms[0]) / YEAR_MS
        if mdd <= 0 or years <= 0:
            return math.nan
        annual = (1.0 + total) ** (1.0 / years) - 1.0 if total > -1 else -1.0
        return annual / mdd
    raise ValueError(f"unknown objective {objective!r}")
