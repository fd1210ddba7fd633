"""Overfitting diagnostics of a parameter search: PBO by CSCV, the deflated Sharpe ratio, MinTRL.

Sources: Bailey, Borwein, López de Prado, Zhu, "The Probability of Backtest Overfitting" (2017);
Bailey & López de Prado, "The Deflated Sharpe Ratio" (2014) and "The Sharpe Ratio Efficient Frontier"
(2012). Conventions (every one is tested):

- Sharpe ratios here are **per period** (the spacing of the return series), never annualised;
  risk-free 0; sample standard deviation (ddof 1). A half or series with no variance has Sharpe 0.
- Kurtosis is **raw** (3 for a normal distribution), skewness and kurtosis are moment estimates.
- CSCV: the oldest ``T mod S`` rows are dropped; identical columns are merged first (one trial);
  the in-sample winner is the first column with the highest Sharpe; out-of-sample ranks are ascending
  mid-ranks; the relative rank divides by N + 1; a logit <= 0 (winner at or below the median) counts
  as overfit. The degradation slope is OLS of out-of-sample on in-sample Sharpe of the winners.
- The deflated Sharpe ratio is PSR(SR0) with SR0 = sqrt(V) * Z(N) (no-skill null, V the ddof-1
  variance of the trials' per-period Sharpe ratios); with one trial SR0 = 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()
_CHUNK = 2048  # splits evaluated at once (bounds memory at N columns x 2048 floats per array)


@dataclass(frozen=True, slots=True)
class PboResult:
    """Probability of backtest overfitting and its companion statistics (see the module docstring)."""

    pbo: float
    blocks: int
    splits: int
    configurations: int  # distinct columns used
    rows: int  # rows used (after dropping the oldest T mod S)
    logits: np.ndarray
    logit_mean: float
    logit_median: float
    degradation_slope: float | None  # None when every split's winner has the same in-sample Sharpe
    degradation_intercept: float | None
    degradation_r2: float | None
    prob_oos_loss: float  # share of splits whose winner has an out-of-sample Sharpe below 0


def sharpe(returns: np.ndarray) -> float:
    """Per-period Sharpe ratio (mean / sample std); 0 for a series without variance, NaN below 2 rows."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan
    sd = float(np.std(r, ddof=1))
    return float(np.mean(r)) / sd if sd > 1e-15 * max(1.0, float(np.max(np.abs(r)))) else 0.0


def moments(returns: np.ndarray) -> tuple[float, float]:
    """(skewness, raw kurtosis) by moments; (0, 3) for a series without variance."""
    r = np.asarray(returns, dtype=np.float64)
    d = r - r.mean()
    m2 = float(np.mean(d**2))
    if not m2 > 0:
        return 0.0, 3.0
    return float(np.mean(d**3)) / m2**1.5, float(np.mean(d**4)) / m2**2


def distinct_columns(matrix: np.ndarray) -> np.ndarray:
    """Indices of the first of each group of identical columns (identical PnL = one trial)."""
    _, first = np.unique(np.ascontiguousarray(matrix.T), axis=0, return_index=True)
    return np.sort(first)


def _half_sharpes(count: np.ndarray, sums: np.ndarray, squares: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Sharpe of each (split, column) from row counts (splits,) and the sums and sums of squares of the
    values minus ``centre`` (splits, N): the variance is shift-free, the mean adds the centre back."""
    n = count[:, None]
    dev_mean = sums / n
    spread = squares - sums * dev_mean
    # a half that is constant leaves only rounding in ``spread``: treat it as no variance (Sharpe 0)
    flat = spread <= 1e-12 * np.maximum(squares, 1e-300)
    sd = np.sqrt(np.where(flat, 1.0, spread) / (n - 1))
    mean = dev_mean + centre[None, :]
    out = np.where(flat, 0.0, mean / sd)
    return out


def pbo_cscv(matrix: np.ndarray, blocks: int = 16) -> PboResult:
    """PBO of "take the best in-sample Sharpe" over a T x N matrix of per-period returns.

    Raises ValueError when the matrix cannot be split: odd or < 2 ``blocks``, fewer than 2 distinct
    columns, or fewer than 2 rows per block.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"the returns matrix must be 2-dimensional (rows x combinations), got {m.ndim}")
    if blocks < 2 or blocks % 2:
        raise ValueError(f"pbo blocks must be an even number >= 2, got {blocks}")
    if not np.all(np.isfinite(m)):
        raise ValueError("the returns matrix holds NaN or infinite values")
    m = m[:, distinct_columns(m)]
    if m.shape[1] < 2:
        raise ValueError("PBO needs at least 2 distinct combinations")
    rows = (m.shape[0] // blocks) * blocks
    if rows < 2 * blocks:
        raise ValueError(f"PBO with {blocks} blocks needs at least {2 * blocks} rows, got {m.shape[0]}")
    m = m[m.shape[0] - rows :]  # drop the oldest rows
    per_block = m.reshape(blocks, rows // blocks, m.shape[1])
    centre = m.mean(axis=0)
    dev = per_block - centre  # centred sums keep precision when a mean is large next to its spread
    b_sum, b_sq = dev.sum(axis=1), (dev**2).sum(axis=1)
    b_n = np.full(blocks, rows // blocks, dtype=np.float64)
    subsets = np.array(list(combinations(range(blocks), blocks // 2)), dtype=np.int64)
    member = np.zeros((len(subsets), blocks))
    np.put_along_axis(member, subsets, 1.0, axis=1)
    return _evaluate(member, b_n, b_sum, b_sq, centre, blocks, rows)


def _evaluate(
    member: np.ndarray, b_n: np.ndarray, b_sum: np.ndarray, b_sq: np.ndarray, centre: np.ndarray, blocks: int, rows: int
) -> PboResult:
    n_cfg = b_sum.shape[1]
    rel, is_win, oos_win = [], [], []
    tot_sum, tot_sq = b_sum.sum(axis=0), b_sq.sum(axis=0)
    for lo in range(0, len(member), _CHUNK):
        part = member[lo : lo + _CHUNK]
        n_is = part @ b_n
        s_is, q_is = part @ b_sum, part @ b_sq
        n_oos, s_oos, q_oos = rows - n_is, tot_sum - s_is, tot_sq - q_is
        sr_is = _half_sharpes(n_is, s_is, q_is, centre)
        sr_oos = _half_sharpes(n_oos, s_oos, q_oos, centre)
        win = np.argmax(sr_is, axis=1)  # first maximal column on ties
        idx = np.arange(len(part))
        at = sr_oos[idx, win][:, None]
        rank = (sr_oos < at).sum(axis=1) + ((sr_oos == at).sum(axis=1) + 1) / 2.0
        rel.append(rank)
        is_win.append(sr_is[idx, win])
        oos_win.append(sr_oos[idx, win])
    ranks = np.concatenate(rel)
    omega = ranks / (n_cfg + 1)
    logits = np.log(omega / (1.0 - omega))
    x, y = np.concatenate(is_win), np.concatenate(oos_win)
    slope, intercept, r2 = _ols(x, y)
    return PboResult(
        pbo=float(np.mean(ranks <= (n_cfg + 1) / 2.0)),  # exact: logit <= 0
        blocks=blocks,
        splits=len(member),
        configurations=n_cfg,
        rows=rows,
        logits=logits,
        logit_mean=float(np.mean(logits)),
        logit_median=float(np.median(logits)),
        degradation_slope=slope,
        degradation_intercept=intercept,
        degradation_r2=r2,
        prob_oos_loss=float(np.mean(y < 0)),
    )


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Slope, intercept and R² of y on x; Nones when x has no variance."""
    dx = x - x.mean()
    sxx = float(np.dot(dx, dx))
    if sxx <= 1e-24 * max(1.0, float(np.dot(x, x))):
        return None, None, None
    slope = float(np.dot(dx, y - y.mean())) / sxx
    intercept = float(y.mean()) - slope * float(x.mean())
    resid = y - (intercept + slope * x)
    syy = float(np.dot(y - y.mean(), y - y.mean()))
    r2 = 1.0 - float(np.dot(resid, resid)) / syy if syy > 0 else 1.0
    return slope, intercept, r2


def expected_max_z(trials: int) -> float:
    """Z(N) = (1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e)): expected maximum of N standard normals; 0 for N = 1."""
    if trials < 1:
        raise ValueError(f"the number of trials must be >= 1, got {trials}")
    if trials == 1:
        return 0.0
    inv = _NORMAL.inv_cdf
    return (1.0 - EULER_GAMMA) * inv(1.0 - 1.0 / trials) + EULER_GAMMA * inv(1.0 - 1.0 / (trials * math.e))


def sharpe_threshold(trials: int, sharpe_variance: float) -> float:
    """SR0 = sqrt(V) * Z(N): the best per-period Sharpe N no-skill trials would show by luck."""
    return math.sqrt(max(sharpe_variance, 0.0)) * expected_max_z(trials)


def _bracket(sr: float, skewness: float, kurtosis: float) -> float:
    return 1.0 - skewness * sr + (kurtosis - 1.0) / 4.0 * sr * sr


def probabilistic_sharpe(sr: float, threshold: float, periods: int, skewness: float, kurtosis: float) -> float:
    """PSR: probability that the true per-period Sharpe exceeds ``threshold`` (kurtosis raw); NaN if undefined."""
    bracket = _bracket(sr, skewness, kurtosis)
    if periods < 2 or not bracket > 0 or not math.isfinite(sr):
        return math.nan
    return _NORMAL.cdf((sr - threshold) * math.sqrt(periods - 1) / math.sqrt(bracket))


def deflated_sharpe(
    sr: float, periods: int, skewness: float, kurtosis: float, trials: int, sharpe_variance: float
) -> float:
    """DSR = PSR(SR0) with SR0 = sqrt(V) Z(N); every input per period, kurtosis raw."""
    return probabilistic_sharpe(sr, sharpe_threshold(trials, sharpe_variance), periods, skewness, kurtosis)


def min_track_record(
    sr: float, threshold: float, skewness: float, kurtosis: float, confidence: float = 0.95
) -> float | None:
    """Periods needed for PSR(threshold) >= ``confidence`` at this Sharpe and moments; None if SR <= threshold."""
    if not sr > threshold or not math.isfinite(sr):
        return None
    bracket = _bracket(sr, skewness, kurtosis)
    if not bracket > 0:
        return None
    z = _NORMAL.inv_cdf(confidence)
    return 1.0 + bracket * (z / (sr - threshold)) ** 2


def min_backtest_years(trials: int, annual_sharpe_target: float) -> float:
    """MinBTL: years of history before the best of N no-skill trials expects an annual Sharpe below the target."""
    return (expected_max_z(trials) / annual_sharpe_target) ** 2


def sharpe_variance(columns: Sequence[np.ndarray]) -> float:
    """Cross-sectional variance (ddof 1) of the per-period Sharpe ratios of ``columns``; 0 for one column."""
    values = [sharpe(c) for c in columns]
    return float(np.var(values, ddof=1)) if len(values) > 1 else 0.0


def bootstrap_sharpe_threshold(
    matrix: np.ndarray, resamples: int = 200, block: int | None = None, seed: int = 0
) -> float:
    """SR0 by bootstrap: the mean best per-period Sharpe of the columns once every column's mean is removed.

    Rows are resampled jointly in blocks of ``block`` rows (default ⌈T^(1/3)⌉, keeping short-range memory
    and the columns' correlation), so the threshold reflects how alike the trials really are; the DSR
    paper's sqrt(V)·Z(N) instead assumes independent trials. Seeded: the same matrix gives the same value.
    """
    m = np.asarray(matrix, dtype=np.float64)
    rows = m.shape[0]
    if m.ndim != 2 or rows < 4 or m.shape[1] < 1:
        raise ValueError("the bootstrap needs a matrix of at least 4 rows and 1 column")
    length = block or max(1, math.ceil(rows ** (1 / 3)))
    d = m - m.mean(axis=0)  # the no-skill null: every trial's true mean is 0
    starts = rows - length + 1
    csum = np.vstack([np.zeros(m.shape[1]), np.cumsum(d, axis=0)])
    block_sum = csum[length:] - csum[:starts]  # (starts, N): the sum of the block starting at each row
    csum = np.vstack([np.zeros(m.shape[1]), np.cumsum(d * d, axis=0)])
    block_sq = csum[length:] - csum[:starts]
    del csum, d
    count = math.ceil(rows / length)
    rng = np.random.default_rng(seed)
    n = count * length
    best = np.empty(resamples)
    for b in range(resamples):
        picks = rng.integers(0, starts, size=count)
        s, q = block_sum[picks].sum(axis=0), block_sq[picks].sum(axis=0)
        var = np.maximum(q - s * s / n, 0.0) / (n - 1)
        sd = np.sqrt(var)
        best[b] = float(np.max(np.where(sd > 1e-15, (s / n) / np.where(sd > 1e-15, sd, 1.0), 0.0)))
    return float(best.mean())
