"""Overfitting diagnostics of one live-optimized subaccount: PBO, deflated Sharpe ratios, MinTRL.

The inputs are the optimizer's own equity samples (one per ``sample`` period, hourly for a daily
re-optimization), so every Sharpe here is per sample period (see kektrade.analysis.overfitting):

- PBO by CSCV runs on every combination's per-sample returns over the whole run (the history the
  combinations traded), grading the rule "take the best in-sample Sharpe".
- The deflated Sharpe ratios use the evaluation span (from the first selection on, as the walk-forward
  figures): trials = distinct combinations (identical return series count once), V = the variance of
  their per-sample Sharpe ratios. The live result is a walk-forward (out-of-sample) path, so deflating
  it by every combination is conservative; ``psr_live`` is its undeflated PSR against 0.
- ``sharpe_threshold_bootstrap`` and the ``*_bootstrap`` DSRs use SR0 from a block bootstrap of the
  demeaned returns instead: it accounts for how alike the combinations trade (sqrt(V)·Z(N) assumes
  independent trials and is too strict for clusters of near-copies).
- The minimum track record is the number of sample periods the live result would need, at its Sharpe,
  skewness and kurtosis, for PSR(SR0) >= 0.95; null when its Sharpe does not exceed SR0.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from kektrade.analysis.metrics import YEAR_MS
from kektrade.analysis.overfitting import (
    bootstrap_sharpe_threshold,
    distinct_columns,
    min_track_record,
    moments,
    pbo_cscv,
    probabilistic_sharpe,
    sharpe,
    sharpe_threshold,
)

if TYPE_CHECKING:
    from kektrade.optimize.live import LiveOptimizer

WINNER = "the best in-sample combination"
BOOTSTRAP_CELLS = 5_000_000  # returns x combinations above which the bootstrap threshold is skipped (memory)


def simple_returns(values: np.ndarray) -> np.ndarray:
    """Per-sample simple returns; 0 after a value at or below 0."""
    prev, nxt = values[:-1], values[1:]
    return np.where(prev > 0, nxt / np.where(prev > 0, prev, 1.0) - 1.0, 0.0)


def _usable(opt: LiveOptimizer) -> list[int]:
    n = len(opt.times)
    return [
        k
        for k in range(len(opt.combos))
        if k not in opt.failed and len(opt.equity[k]) == n and all(math.isfinite(v) for v in opt.equity[k])
    ]


def _series_stats(returns: np.ndarray, threshold: float, per_year: float) -> dict[str, Any]:
    sr = sharpe(returns)
    skew, kurt = moments(returns)
    return {
        "sharpe": sr,
        "sharpe_annualised": sr * math.sqrt(per_year) if math.isfinite(per_year) else None,
        "skewness": skew,
        "kurtosis": kurt,
        "periods": len(returns),
        "dsr": probabilistic_sharpe(sr, threshold, len(returns), skew, kurt),
        "psr": probabilistic_sharpe(sr, 0.0, len(returns), skew, kurt),
    }


def overfitting_report(opt: LiveOptimizer, start_ms: int | None, best_fixed: int | None) -> dict[str, Any]:
    """The ``overfitting`` block of an optimized subaccount (keys documented in docs/optimization.md)."""
    ks = _usable(opt)
    out: dict[str, Any] = {"pbo": None, "pbo_blocks": opt.pbo_blocks, "dsr_live": None, "dsr_best_fixed": None}
    notes: list[str] = []
    if len(opt.times) < 3 or len(ks) < 2:
        out["reading"] = "not enough history or combinations for overfitting diagnostics"
        return out
    full = np.column_stack([simple_returns(np.asarray(opt.equity[k], dtype=np.float64)) for k in ks])
    out.update(_pbo_block(full, opt.pbo_blocks, notes))
    period_ms = float(np.median(np.diff(np.asarray(opt.times, dtype=np.float64))))
    per_year = YEAR_MS / period_ms if period_ms > 0 else math.nan
    out["period_ms"] = int(period_ms)
    if start_ms is not None:
        out.update(_dsr_block(opt, ks, full, start_ms, best_fixed, per_year, period_ms, notes))
    else:
        notes.append("no selection was made: no deflated Sharpe ratio")
    out["notes"] = notes
    out["reading"] = reading(out)
    return out


def _pbo_block(matrix: np.ndarray, blocks: int, notes: list[str]) -> dict[str, Any]:
    try:
        result = pbo_cscv(matrix, blocks)
    except ValueError as exc:
        notes.append(f"PBO not computed: {exc}")
        return {}
    counts, edges = np.histogram(result.logits, bins=20)
    return {
        "pbo": result.pbo,
        "pbo_splits": result.splits,
        "pbo_rows": result.rows,
        "pbo_configurations": result.configurations,
        "logit_mean": result.logit_mean,
        "logit_median": result.logit_median,
        "logit_histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        "degradation_slope": result.degradation_slope,
        "degradation_intercept": result.degradation_intercept,
        "degradation_r2": result.degradation_r2,
        "prob_oos_loss": result.prob_oos_loss,
    }


def _dsr_block(
    opt: LiveOptimizer,
    ks: list[int],
    full: np.ndarray,
    start_ms: int,
    best_fixed: int | None,
    per_year: float,
    period_ms: float,
    notes: list[str],
) -> dict[str, Any]:
    lo = max(bisect.bisect_right(opt.times, start_ms) - 1, 0)  # the sample at (or before) the first selection
    span = full[lo:]
    if len(span) < 2:
        notes.append("the evaluation span holds fewer than 2 samples: no deflated Sharpe ratio")
        return {}
    distinct = distinct_columns(span)
    sharpes = [sharpe(span[:, j]) for j in distinct]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0
    threshold = sharpe_threshold(len(distinct), variance)
    live_values = np.asarray([opt.live_equity_at(t) for t in opt.times[lo:]], dtype=np.float64)
    live = _series_stats(simple_returns(live_values), threshold, per_year)
    out: dict[str, Any] = {
        "trials": len(ks),
        "distinct_trials": len(distinct),
        "sharpe_variance": variance,
        "sharpe_threshold": threshold,
        "periods": len(span),
        "live": live,
        "dsr_live": live["dsr"],
        "psr_live": live["psr"],
    }
    if best_fixed is not None and best_fixed in ks:
        fixed = _series_stats(span[:, ks.index(best_fixed)], threshold, per_year)
        out.update(best_fixed=fixed, dsr_best_fixed=fixed["dsr"])
    out.update(_bootstrap_block(span[:, distinct], out, notes))
    mintrl = min_track_record(live["sharpe"], threshold, live["skewness"], live["kurtosis"])
    out["min_track_record"] = mintrl
    out["min_track_record_days"] = mintrl * period_ms / 86_400_000 if mintrl is not None else None
    if mintrl is None:
        notes.append("the live Sharpe does not exceed the trials' expected best by luck: no track record suffices")
    return out


def _bootstrap_block(span: np.ndarray, out: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """The same DSRs against the bootstrap threshold (correlated trials; see bootstrap_sharpe_threshold)."""
    if span.size > BOOTSTRAP_CELLS or len(span) < 4:
        notes.append(f"bootstrap threshold skipped ({span.shape[0]} x {span.shape[1]} returns)")
        return {}
    threshold = bootstrap_sharpe_threshold(span)
    block: dict[str, Any] = {"sharpe_threshold_bootstrap": threshold}
    for name in ("live", "best_fixed"):
        stats = out.get(name)
        if stats is not None:
            args = (stats["sharpe"], threshold, stats["periods"], stats["skewness"], stats["kurtosis"])
            block[f"dsr_{name}_bootstrap"] = probabilistic_sharpe(*args)
    return block


def reading(block: dict[str, Any]) -> str:
    """One line a trader can act on."""
    parts = []
    pbo = block.get("pbo")
    if pbo is None:
        parts.append("PBO not computed")
    elif pbo > 0.5:
        parts.append(f"PBO {pbo:.2f}: {WINNER} is more likely than not below median out of sample")
    elif pbo > 0.05:
        parts.append(f"PBO {pbo:.2f}: {WINNER} falls below the out-of-sample median in {pbo:.0%} of splits")
    else:
        parts.append(f"PBO {pbo:.2f}: {WINNER} stays above the out-of-sample median")
    dsr_live, dsr_fixed = block.get("dsr_live"), block.get("dsr_best_fixed")
    if dsr_live is not None and math.isfinite(dsr_live):
        fixed = f", best fixed {dsr_fixed:.2f}" if dsr_fixed is not None and math.isfinite(dsr_fixed) else ""
        verdict = "significant at 95 %" if dsr_live >= 0.95 else "not evidence of skill (< 0.95)"
        trials = block.get("distinct_trials")
        parts.append(f"deflated Sharpe live {dsr_live:.2f}{fixed} over {trials} trials: {verdict}")
    return "; ".join(parts)
