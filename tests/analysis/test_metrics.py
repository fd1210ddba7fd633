"""compute_metrics against numbers worked out by hand, plus properties that must hold for any series."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kektrade.analysis.metrics import YEAR_MS, compute_metrics, exposure, max_drawdown, trade_stats
from kektrade.domain.types import Fill, FillKind

DAY = 86_400_000
SYM = "BTC/USDT:USDT"
# Samples every 73 days over exactly one 365-day year: 5 samples per year.
TIMES = [0, 73 * DAY, 146 * DAY, 219 * DAY, 292 * DAY, 365 * DAY]
EQUITY = [100.0, 110.0, 99.0, 121.0, 110.0, 121.0]


def fill(
    t: int, qty: float, price: float, fee: float, pnl: float, after: float, kind: FillKind = FillKind.TRADE
) -> Fill:
    """A fill of the test symbol."""
    return Fill(t, SYM, kind, qty, price, fee, pnl, position_after=after)


# Trade 1: long day 0 -> day 73, gross +11, fees 1 -> +10 net.
# Trade 2: short day 146 -> day 219, gross -3, fees 0.5, funding 0.5 paid -> -4 net.
# Funding while flat (day 300) still counts in funding_paid: -0.2 (received).
FILLS = [
    fill(0, 1, 100, 0.5, 0, 1),
    fill(73 * DAY, -1, 111, 0.5, 11, 0),
    fill(146 * DAY, -2, 100, 0.25, 0, -2),
    fill(180 * DAY, -2, 100, 0.5, 0, -2, FillKind.FUNDING),
    fill(219 * DAY, 2, 101.5, 0.25, -3, 0),
    fill(300 * DAY, 0, 100, -0.2, 0, 0, FillKind.FUNDING),
]


def test_hand_computed_series() -> None:
    m = compute_metrics(TIMES, EQUITY, FILLS, 100.0, first_price=100.0, last_price=150.0)
    assert m.total_return == pytest.approx(0.21)
    assert m.cagr == pytest.approx(0.21)  # exactly one year
    assert m.max_drawdown == pytest.approx(0.1)  # 110 -> 99
    assert m.max_drawdown_duration_ms == 146 * DAY  # peak on day 73, regained on day 219 (and 219 -> 365)
    # returns 0.1, -0.1, 22/99, -1/11, 0.1: mean 0.0462626, sample sd 0.1386957, 5 per year
    assert m.sharpe == pytest.approx(0.0462626 / 0.1386957 * math.sqrt(5), rel=1e-5)
    # downside deviation sqrt((0.1^2 + (1/11)^2) / 5) = 0.0604392
    assert m.sortino == pytest.approx(0.0462626 / 0.0604392 * math.sqrt(5), rel=1e-5)
    assert m.calmar == pytest.approx(2.1)
    assert m.trades == 2 and m.win_rate == 0.5
    assert m.profit_factor == pytest.approx(10 / 4) and m.expectancy == pytest.approx(3.0)
    assert m.exposure == pytest.approx(146 / 365)  # days 0-73 and 146-219
    assert m.fees_paid == pytest.approx(1.5) and m.funding_paid == pytest.approx(0.3)
    assert m.liquidations == 0
    assert m.buy_and_hold_return == pytest.approx(0.5)
    assert m.final_equity == 121.0


def test_cagr_over_half_a_year_compounds() -> None:
    m = compute_metrics([0, YEAR_MS // 2], [100.0, 110.0], [], 100.0)
    assert m.cagr == pytest.approx(1.1**2 - 1)
    assert math.isnan(m.sharpe) and math.isnan(m.sortino)  # two points: one return only


def test_drawdown_measured_from_initial_equity_and_until_the_end() -> None:
    m = compute_metrics([0, DAY, 2 * DAY], [90.0, 80.0, 95.0], [], 100.0)
    assert m.max_drawdown == pytest.approx(0.2)
    assert m.max_drawdown_duration_ms == 2 * DAY  # never regained 100


def test_undefined_values_are_nan() -> None:
    m = compute_metrics([0, DAY, 2 * DAY], [100.0, 100.0, 100.0], [], 100.0)
    assert m.total_return == 0 and m.max_drawdown == 0 and m.cagr == 0
    for value in (
        m.sharpe,
        m.sortino,
        m.calmar,
        m.win_rate,
        m.profit_factor,
        m.expectancy,
        m.buy_and_hold_return,
    ):
        assert math.isnan(value)
    assert m.trades == 0 and m.exposure == 0


def test_only_rising_series_has_nan_sortino_and_calmar() -> None:
    m = compute_metrics([0, DAY, 2 * DAY, 3 * DAY], [100.0, 101.0, 103.0, 104.0], [], 100.0)
    assert m.sharpe > 0 and math.isnan(m.sortino) and math.isnan(m.calmar)


def test_empty_series_and_zero_span() -> None:
    m = compute_metrics([], [], [], 100.0)
    assert m.final_equity == 100.0 and m.total_return == 0
    assert math.isnan(m.cagr) and math.isnan(m.exposure) and m.max_drawdown == 0


def test_liquidations_count_events_not_fills() -> None:
    fills = [
        fill(0, 2, 100, 0, 0, 2),
        fill(DAY, -1, 60, 0.1, -40, 1, FillKind.LIQUIDATION),
        fill(DAY, -1, 60, 0.1, -40, 0, FillKind.LIQUIDATION),
    ]
    m = compute_metrics([0, DAY], [100.0, 19.8], fills, 100.0)
    assert m.liquidations == 1 and m.trades == 1 and m.fees_paid == pytest.approx(0.2)


def test_wiped_out_equity() -> None:
    m = compute_metrics([0, DAY, 2 * DAY], [100.0, 0.0, 0.0], [], 100.0)
    assert m.max_drawdown == 1.0 and m.cagr == -1.0 and m.total_return == -1.0


def test_inverse_buy_and_hold_is_the_quote_price_return() -> None:
    m = compute_metrics([0, DAY], [1.0, 1.0], [], 1.0, first_price=40_000, last_price=30_000, is_inverse=True)
    assert m.buy_and_hold_return == pytest.approx(-0.25)


def test_profit_factor_rules() -> None:
    assert trade_stats([5.0, 3.0])[1] == math.inf
    assert math.isnan(trade_stats([])[1])
    assert math.isnan(trade_stats([0.0])[1])
    assert trade_stats([6.0, -2.0, -1.0]) == (pytest.approx(1 / 3), pytest.approx(2.0), pytest.approx(1.0))


def test_exposure_merges_overlapping_and_open_intervals() -> None:
    times = np.array([0, 100])
    assert exposure([[(10, 30)], [(20, 40)], [(90, None)]], times) == pytest.approx(0.4)
    assert exposure([[(-50, 10)]], times) == pytest.approx(0.1)


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(ValueError, match="times_ms has 2 points but equity has 1"):
        compute_metrics([0, 1], [1.0], [], 1.0)
    with pytest.raises(ValueError, match="initial_equity"):
        compute_metrics([0], [1.0], [], 0.0)
    with pytest.raises(ValueError, match="non-decreasing"):
        compute_metrics([1, 0], [1.0, 1.0], [], 1.0)


equities = st.lists(st.floats(min_value=0.0, max_value=1e9, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(equities, st.floats(min_value=1e-3, max_value=1e9))
def test_max_drawdown_is_a_fraction(values: list[float], initial: float) -> None:
    times = np.arange(len(values), dtype=np.int64) * 60_000
    dd, duration = max_drawdown(times, np.asarray(values), initial)
    assert 0.0 <= dd <= 1.0
    assert 0 <= duration <= times[-1]


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=1e-3, max_value=1e9), st.integers(min_value=3, max_value=50))
def test_constant_equity_has_zero_return_and_nan_sharpe(level: float, n: int) -> None:
    m = compute_metrics([i * 3_600_000 for i in range(n)], [level] * n, [], level)
    assert m.total_return == 0.0 and m.max_drawdown == 0.0
    assert math.isnan(m.sharpe) and math.isnan(m.sortino)
