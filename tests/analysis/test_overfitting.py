"""PBO by CSCV, deflated Sharpe and MinTRL against the research notes' worked numbers and constructed cases."""

import math
from itertools import combinations

import numpy as np
import pytest

from kektrade.analysis.overfitting import (
    deflated_sharpe,
    expected_max_z,
    min_backtest_years,
    min_track_record,
    moments,
    pbo_cscv,
    probabilistic_sharpe,
    sharpe,
    sharpe_threshold,
)

# the research notes' §1.5 matrix: four configurations A-D, eight days, blocks of two days
WORKED = np.array(
    [
        [2, 3, 2, 5],
        [0, 1, 0, 3],
        [2, 0, 0, 0],
        [0, -2, -2, -2],
        [2, 2, 5, 1],
        [0, 0, 3, -1],
        [2, 0, 1, 3],
        [0, -2, -1, 1],
    ],
    dtype=float,
)


def test_expected_maximum_of_n_trials() -> None:
    assert expected_max_z(100) == pytest.approx(2.530603, abs=1e-6)
    assert expected_max_z(200) == pytest.approx(2.765524, abs=1e-6)
    assert expected_max_z(1) == 0.0
    with pytest.raises(ValueError, match="trials"):
        expected_max_z(0)


def test_deflated_sharpe_reproduces_the_papers_example() -> None:
    sr = 2.5 / math.sqrt(250)  # annualised 2.5 on 250 days a year, per period
    assert sharpe_threshold(100, 0.5 / 250) == pytest.approx(0.113172, abs=1e-6)
    assert deflated_sharpe(sr, 1250, -3.0, 10.0, 100, 0.002) == pytest.approx(0.900397, abs=1e-6)
    assert deflated_sharpe(sr, 1250, -3.0, 10.0, 46, 0.002) == pytest.approx(0.950502, abs=1e-6)
    assert deflated_sharpe(sr, 1250, 0.0, 3.0, 88, 0.002) == pytest.approx(0.950491, abs=1e-6)


def test_deflated_sharpe_daily_optimizer_example_and_its_undeflated_psr() -> None:
    assert sharpe_threshold(200, 0.03**2) == pytest.approx(0.0829657, abs=1e-7)
    assert deflated_sharpe(0.12, 730, -0.8, 9.0, 200, 0.0009) == pytest.approx(0.827114, abs=1e-6)
    assert probabilistic_sharpe(0.12, 0.0, 730, -0.8, 9.0) == pytest.approx(0.998875, abs=1e-6)


def test_min_track_record_uses_raw_kurtosis() -> None:
    sr, target = 2 / math.sqrt(12), 1 / math.sqrt(12)
    assert min_track_record(sr, target, -0.72, 5.78) == pytest.approx(59.895, abs=1e-3)
    assert probabilistic_sharpe(sr, target, 59, -0.72, 5.78) == pytest.approx(0.948693, abs=1e-6)
    # excess kurtosis typed into the raw slot would give 51.78 months: the classic wrong pass
    assert min_track_record(sr, target, -0.72, 2.78) == pytest.approx(51.78, abs=0.01)
    assert min_track_record(0.05, 0.08, 0.0, 3.0) is None


def test_min_backtest_length() -> None:
    assert min_backtest_years(45, 1.0) == pytest.approx(4.998, abs=1e-3)


def test_moments_are_raw_and_a_normal_sample_gives_the_lo_bracket() -> None:
    rng = np.random.default_rng(1)
    skew, kurt = moments(rng.standard_normal(200_000))
    assert skew == pytest.approx(0.0, abs=0.02) and kurt == pytest.approx(3.0, abs=0.05)
    r = np.array([1.0, 2.0, 3.0, 10.0])
    d = r - r.mean()
    assert moments(r) == pytest.approx(
        (np.mean(d**3) / np.mean(d**2) ** 1.5, np.mean(d**4) / np.mean(d**2) ** 2)
    )
    assert moments(np.ones(5)) == (0.0, 3.0)


def test_sharpe_is_per_period_with_sample_std_and_zero_without_variance() -> None:
    assert sharpe(np.array([1.0, 3.0])) == pytest.approx(2.0 / math.sqrt(2.0))
    assert sharpe(np.zeros(10)) == 0.0
    assert math.isnan(sharpe(np.array([1.0])))


def test_pbo_worked_example() -> None:
    result = pbo_cscv(WORKED, blocks=4)
    assert result.splits == 6 and result.configurations == 4
    assert result.pbo == pytest.approx(0.5)
    assert result.degradation_slope == pytest.approx(-1.4155, abs=1e-4)
    assert result.degradation_intercept == pytest.approx(1.9822, abs=1e-4)
    assert result.degradation_r2 == pytest.approx(0.74, abs=0.005)
    assert result.prob_oos_loss == pytest.approx(2 / 6)
    expected = sorted([1.3863, -0.4055, -1.3863, 0.4055, -0.4055, 1.3863])
    assert sorted(result.logits.tolist()) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(("shift", "pbo"), [(0.5, 1 / 6), (2.0, 0.0)])
def test_pbo_worked_example_variants(shift: float, pbo: float) -> None:
    matrix = WORKED.copy()
    matrix[:, 0] += shift
    result = pbo_cscv(matrix, blocks=4)
    assert result.pbo == pytest.approx(pbo)
    if shift == 2.0:  # the same winner with the same in-sample Sharpe everywhere: no slope to fit
        assert result.degradation_slope is None


def _independent_pbo(matrix: np.ndarray, blocks: int) -> float:
    """CSCV written out directly (slow, row slicing per split) to check the vectorised version."""
    rows = len(matrix) // blocks * blocks
    m = matrix[len(matrix) - rows :]
    parts = np.array_split(np.arange(rows), blocks)
    overfit = total = 0
    for subset in combinations(range(blocks), blocks // 2):
        is_rows = np.concatenate([parts[b] for b in subset])
        oos_rows = np.setdiff1d(np.arange(rows), is_rows)
        sr_is = [sharpe(m[is_rows, k]) for k in range(m.shape[1])]
        sr_oos = np.array([sharpe(m[oos_rows, k]) for k in range(m.shape[1])])
        best = int(np.argmax(sr_is))
        rank = (sr_oos < sr_oos[best]).sum() + ((sr_oos == sr_oos[best]).sum() + 1) / 2
        overfit += rank <= (m.shape[1] + 1) / 2
        total += 1
    return overfit / total


def test_pbo_matches_a_direct_computation_and_drops_the_oldest_rows() -> None:
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((203, 9)) + 50.0  # large mean next to the spread; 203 = 8 x 25 + 3
    result = pbo_cscv(matrix, blocks=8)
    assert result.rows == 200
    assert result.pbo == pytest.approx(_independent_pbo(matrix, 8))


def test_pure_noise_gives_pbo_near_one_half_or_above() -> None:
    rng = np.random.default_rng(2024)
    values = [pbo_cscv(rng.standard_normal((800, 40)), blocks=10).pbo for _ in range(12)]
    assert 0.35 <= float(np.mean(values)) <= 0.7


def test_one_combination_with_real_edge_gives_low_pbo() -> None:
    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((1000, 40))
    matrix[:, 17] += 0.25  # per-period Sharpe 0.25: far above the best noise Sharpe
    result = pbo_cscv(matrix, blocks=16)
    assert result.splits == 12_870
    assert result.pbo < 0.05
    assert result.logit_mean > 2.0


def test_one_dominant_column_gives_pbo_zero_and_identical_columns_are_one_trial() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((64, 5))
    matrix[:, 2] = np.abs(matrix[:, 2]) + 5.0  # best in every split, in and out of sample
    doubled = np.hstack([matrix, matrix[:, :1]])
    assert pbo_cscv(matrix, blocks=4).pbo == 0.0
    assert pbo_cscv(doubled, blocks=4).configurations == 5


def test_pbo_refuses_what_it_cannot_split() -> None:
    with pytest.raises(ValueError, match="even"):
        pbo_cscv(np.zeros((40, 3)), blocks=5)
    with pytest.raises(ValueError, match="2 distinct"):
        pbo_cscv(np.zeros((40, 3)), blocks=4)
    with pytest.raises(ValueError, match="at least 32 rows"):
        pbo_cscv(np.arange(60.0).reshape(20, 3), blocks=16)
    with pytest.raises(ValueError, match="NaN"):
        pbo_cscv(np.full((40, 3), np.nan), blocks=4)


def test_bootstrap_threshold_matches_the_expected_best_of_independent_trials() -> None:
    from kektrade.analysis.overfitting import bootstrap_sharpe_threshold

    rng = np.random.default_rng(11)
    matrix = rng.standard_normal((1000, 50)) + 0.3  # a common mean is removed: the null has no skill
    expected = 2.2491 / math.sqrt(999)  # exact mean of the maximum of 50 standard normals, per-period SE
    value = bootstrap_sharpe_threshold(matrix)
    assert value == pytest.approx(expected, rel=0.1)
    assert bootstrap_sharpe_threshold(matrix) == value  # seeded


def test_bootstrap_threshold_of_identical_trials_is_that_of_one() -> None:
    from kektrade.analysis.overfitting import bootstrap_sharpe_threshold

    column = np.random.default_rng(2).standard_normal((1000, 1))
    assert abs(bootstrap_sharpe_threshold(np.hstack([column] * 20))) < 0.01
