"""Calendar views of an equity series: day/week/month breakdown, daily-return ratios, a compact series.

Periods are UTC calendar days, ISO weeks (Monday to Sunday, labelled ``2024-W01``) and months. A period's
start equity is the last sample before it (the series' first sample for the first period), its end equity
the last sample inside it, so the periods' PnLs add up to the series' total change.

Daily ratios follow quantstats and freqtrade: the equity at each UTC day's last sample, simple daily returns,
risk-free rate 0, annualised with sqrt(365) (crypto trades every day); Sortino's downside deviation is the
root mean square of the negative daily returns (target 0). NaN (``None`` in JSON) when undefined.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

DAY_MS = 86_400_000
PERIODS = ("day", "week", "month")


def period_label(time_ms: int, period: str) -> str:
    """``2024-01-31`` (day), ``2024-W05`` (ISO week) or ``2024-01`` (month) of a UTC millisecond time."""
    moment = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    if period == "day":
        return moment.strftime("%Y-%m-%d")
    if period == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return moment.strftime("%Y-%m")
    raise ValueError(f"period must be one of {PERIODS}, got {period!r}")


def _labeller(period: str) -> Any:
    """``period_label`` for one period kind, computed once per UTC day (a run has thousands of samples and
    trades a day: formatting each one was most of a subaccount's results)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    by_day: dict[int, str] = {}

    def label(time_ms: int) -> str:
        day = time_ms // DAY_MS
        found = by_day.get(day)
        if found is None:
            found = by_day[day] = period_label(day * DAY_MS, period)
        return found

    return label


def period_table(
    times_ms: Sequence[int], equity: Sequence[float], trades: Sequence[Mapping[str, Any]], period: str, pnl_key: str
) -> list[dict[str, Any]]:
    """Per period: start/end equity, PnL, return, and the trades that closed in it (count, wins, PnL)."""
    if len(times_ms) != len(equity):
        raise ValueError(f"times_ms has {len(times_ms)} points but equity has {len(equity)}")
    rows: dict[str, dict[str, Any]] = {}
    labelled = _labeller(period)
    start = float(equity[0]) if len(equity) else 0.0
    for time_ms, value in zip(times_ms, equity, strict=True):
        label = labelled(int(time_ms))
        row = rows.get(label)
        if row is None:
            row = rows[label] = {"period": label, "start_equity": start, "trades": 0, "wins": 0, "trade_pnl": 0.0}
        row["end_equity"] = start = float(value)
    for trade in trades:
        if trade.get("exit_time_ms") is None:
            continue
        label = labelled(int(trade["exit_time_ms"]))
        row = rows.setdefault(
            label,
            {"period": label, "start_equity": start, "end_equity": start, "trades": 0, "wins": 0, "trade_pnl": 0.0},
        )
        row["trades"] += 1
        row["wins"] += 1 if trade[pnl_key] > 0 else 0
        row["trade_pnl"] += trade[pnl_key]
    out = sorted(rows.values(), key=lambda r: r["period"])
    for row in out:
        row["pnl"] = row["end_equity"] - row["start_equity"]
        row["return"] = row["pnl"] / row["start_equity"] if row["start_equity"] > 0 else None
    return out


def daily_equity(times_ms: Sequence[int], equity: Sequence[float]) -> np.ndarray:
    """Equity at each UTC day's last sample, preceded by the first sample (the start of day one)."""
    if len(times_ms) == 0:
        return np.zeros(0)
    t = np.asarray(times_ms, dtype=np.int64)
    e = np.asarray(equity, dtype=np.float64)
    days = (t - 1) // DAY_MS  # a sample at exactly midnight closes the previous day
    last = np.flatnonzero(np.diff(days, append=days[-1] + 1))
    return np.concatenate(([e[0]], e[last]))


def daily_ratios(times_ms: Sequence[int], equity: Sequence[float]) -> dict[str, Any]:
    """Sharpe and Sortino of daily returns (see the module docstring), with the basis stated."""
    closes = daily_equity(times_ms, equity)
    prev = closes[:-1]
    returns = np.where(prev > 0, closes[1:] / np.where(prev > 0, prev, 1.0) - 1.0, 0.0) if len(closes) > 1 else prev
    sharpe = sortino = math.nan
    if len(returns) >= 2:
        sd = float(np.std(returns, ddof=1))
        downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
        mean = float(np.mean(returns))
        sharpe = mean / sd * math.sqrt(365) if sd > 1e-15 else math.nan
        sortino = mean / downside * math.sqrt(365) if downside > 1e-15 else math.nan
    return {
        "basis": "daily returns (UTC day close), risk-free 0, annualised sqrt(365)",
        "days": len(returns),
        "sharpe": sharpe,
        "sortino": sortino,
    }


def compact_series(times_ms: Sequence[int], columns: Mapping[str, Sequence[float]], max_points: int) -> dict[str, Any]:
    """At most ``max_points`` samples: every k-th one plus the last, and each bucket's lowest point kept.

    Keeping the minimum of each bucket (of the first column) means a drawdown never disappears from
    the picture; the series' first and last samples are always kept.
    """
    n = len(times_ms)
    keep: Any = np.arange(n)
    if n > max_points:
        first = np.asarray(next(iter(columns.values())), dtype=np.float64)
        edges = np.linspace(0, n, max_points // 2 + 1).astype(np.int64)
        picks = {0, n - 1}
        for lo, hi in itertools.pairwise(edges.tolist()):
            if hi > lo:
                picks.add(int(lo))
                picks.add(int(lo + np.argmin(first[lo:hi])))
        keep = np.asarray(sorted(picks))
    out: dict[str, Any] = {"times_ms": np.asarray(times_ms, dtype=np.int64)[keep].tolist()}
    for name, values in columns.items():
        out[name] = np.asarray(values, dtype=np.float64)[keep].tolist()
    return out
