"""Combined equity, correlations and drawdown series."""

from __future__ import annotations

import math

import pytest

from kektrade.analysis.account import combine_equity, correlation, drawdown_series


def test_combine_forward_fills_and_back_fills_first_value() -> None:
    series = {
        "a": ([0, 10, 20], [100.0, 110.0, 120.0]),
        "b": ([5, 20, 30], [50.0, 40.0, 45.0]),
    }
    times, total = combine_equity(series)
    assert times == [0, 5, 10, 20, 30]
    # a: 100, 100, 110, 120, 120 (held after its last point); b: 50 (its first value), 50, 50, 40, 45
    assert total == [150.0, 150.0, 160.0, 160.0, 165.0]


def test_combine_nothing_and_bad_input() -> None:
    assert combine_equity({}) == ([], [])
    with pytest.raises(ValueError, match="'a': 2 times but 1 values"):
        combine_equity({"a": ([0, 1], [1.0])})
    with pytest.raises(ValueError, match="'b' is empty"):
        combine_equity({"b": ([], [])})


def test_correlation_of_returns() -> None:
    up = ([0, 1, 2, 3], [100.0, 110.0, 99.0, 108.9])  # +10 %, -10 %, +10 %
    same = ([0, 1, 2, 3], [10.0, 11.0, 9.9, 10.89])
    mirror = ([0, 1, 2, 3], [100.0, 90.0, 99.0, 89.1])  # -10 %, +10 %, -10 %
    flat = ([0, 1, 2, 3], [5.0, 5.0, 5.0, 5.0])
    got = correlation({"up": up, "same": same, "mirror": mirror, "flat": flat})
    assert list(got) == [
        ("up", "same"),
        ("up", "mirror"),
        ("up", "flat"),
        ("same", "mirror"),
        ("same", "flat"),
        ("mirror", "flat"),
    ]
    assert got[("up", "same")] == pytest.approx(1.0)
    assert got[("up", "mirror")] == pytest.approx(-1.0)
    assert math.isnan(got[("up", "flat")])


def test_correlation_needs_two_returns() -> None:
    got = correlation({"a": ([0, 1], [1.0, 2.0]), "b": ([0, 1], [1.0, 3.0])})
    assert math.isnan(got[("a", "b")])


def test_drawdown_series() -> None:
    assert drawdown_series([100.0, 120.0, 90.0, 130.0, 0.0]) == pytest.approx([0.0, 0.0, 0.25, 0.0, 1.0])
    assert drawdown_series([]) == []
