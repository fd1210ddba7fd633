"""Calendar tables, daily-return ratios and the compact series, checked against hand computations."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from kektrade.analysis.periods import compact_series, daily_equity, daily_ratios, period_label, period_table

DAY = 86_400_000
T0 = 1_704_067_200_000  # Monday 2024-01-01 00:00 UTC


def test_labels() -> None:
    assert period_label(T0, "day") == "2024-01-01" and period_label(T0, "month") == "2024-01"
    assert period_label(T0, "week") == "2024-W01" and period_label(T0 + 7 * DAY, "week") == "2024-W02"
    assert period_label(T0 - 1, "week") == "2023-W52"  # Sunday 2023-12-31
    with pytest.raises(ValueError, match="period must be one of"):
        period_label(T0, "year")


def test_period_table_adds_up_and_counts_closed_trades() -> None:
    times = [T0 + k * DAY // 2 for k in range(6)]  # two samples a day, three days
    equity = [100.0, 110.0, 99.0, 120.0, 120.0, 90.0]
    trades = [
        {"exit_time_ms": T0 + 1, "pnl": 4.0},
        {"exit_time_ms": T0 + DAY + 5, "pnl": -3.0},
        {"exit_time_ms": T0 + DAY + 6, "pnl": 2.0},
        {"exit_time_ms": None, "pnl": 9.0},  # open: not counted
    ]
    days = period_table(times, equity, trades, "day", "pnl")
    assert [d["period"] for d in days] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert [(d["start_equity"], d["end_equity"]) for d in days] == [(100.0, 110.0), (110.0, 120.0), (120.0, 90.0)]
    assert [d["pnl"] for d in days] == [10.0, 10.0, -30.0]
    assert days[2]["return"] == pytest.approx(-0.25)
    assert [(d["trades"], d["wins"], d["trade_pnl"]) for d in days] == [(1, 1, 4.0), (2, 1, -1.0), (0, 0, 0.0)]
    assert sum(d["pnl"] for d in days) == equity[-1] - equity[0]
    (month,) = period_table(times, equity, trades, "month", "pnl")
    assert month["pnl"] == -10.0 and month["trades"] == 3


def test_daily_ratios_equal_a_hand_computation() -> None:
    hours = 24 * 6
    times = [T0 + (h + 1) * 3_600_000 for h in range(hours)]  # samples at each hour's close
    equity = [1000.0 * (1 + 0.01 * math.sin(h / 7.0)) + h for h in range(hours)]
    closes = [equity[0]] + [equity[24 * d + 23] for d in range(6)]  # each day's last sample (00:00 next day)
    assert daily_equity(times, equity).tolist() == closes
    returns = [b / a - 1 for a, b in itertools.pairwise(closes)]
    mean = statistics.fmean(returns)
    expected_sharpe = mean / statistics.stdev(returns) * math.sqrt(365)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    got = daily_ratios(times, equity)
    assert got["days"] == 6 and "daily" in got["basis"] and "365" in got["basis"]
    assert got["sharpe"] == pytest.approx(expected_sharpe, rel=1e-9)
    if downside > 0:
        assert got["sortino"] == pytest.approx(mean / downside * math.sqrt(365), rel=1e-9)
    assert math.isnan(daily_ratios(times[:20], equity[:20])["sharpe"])  # within one day: one return


def test_compact_series_keeps_ends_and_the_deepest_point() -> None:
    n = 10_000
    times = list(range(n))
    values = [100.0 + (k % 97) for k in range(n)]
    values[4321] = 1.0  # a deep, short drawdown
    out = compact_series(times, {"equity": values, "other": [float(k) for k in range(n)]}, 500)
    assert len(out["times_ms"]) <= 502 and out["times_ms"][0] == 0 and out["times_ms"][-1] == n - 1
    assert 4321 in out["times_ms"] and min(out["equity"]) == 1.0
    assert out["other"] == [float(t) for t in out["times_ms"]]  # columns stay aligned
    small = compact_series([1, 2], {"equity": [1.0, 2.0]}, 500)
    assert small == {"times_ms": [1, 2], "equity": [1.0, 2.0]}


def test_period_tables_label_every_time_as_period_label_does() -> None:
    """Labels are computed once per UTC day: the table's periods equal labelling each time on its own,
    at day, week, month and year edges, negative times (before 1970) included."""
    edges = [T0 - 1, T0, T0 + 1, T0 + DAY - 1, T0 + DAY, -1, 0, -DAY, -DAY - 1, 1_711_929_599_999, 1_711_929_600_000]
    times = sorted(set(edges + [T0 + k * 3_600_000 * 7 for k in range(400)]))
    equity = [100.0 + k for k in range(len(times))]
    for period in ("day", "week", "month"):
        rows = period_table(times, equity, [{"exit_time_ms": t, "pnl": 1.0} for t in times], period, "pnl")
        want = sorted({period_label(t, period) for t in times})
        assert [r["period"] for r in rows] == want
        counts = {label: sum(1 for t in times if period_label(t, period) == label) for label in want}
        assert {r["period"]: r["trades"] for r in rows} == counts
