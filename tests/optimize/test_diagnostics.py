"""The overfitting block of an optimized run, checked against an independent computation from its equity."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from kektrade.config import ConfigError
from kektrade.optimize.diagnostics import reading
from tests.engine.kit import config, run
from tests.optimize.test_live_optimizer import hold_sub, synthetic

KEYS = {
    "pbo", "pbo_blocks", "pbo_splits", "logit_mean", "logit_median", "logit_histogram", "degradation_slope",
    "prob_oos_loss", "dsr_live", "dsr_best_fixed", "psr_live", "trials", "distinct_trials", "sharpe_variance",
    "sharpe_threshold", "min_track_record", "min_track_record_days", "reading", "live", "best_fixed",
    "sharpe_threshold_bootstrap", "dsr_live_bootstrap", "dsr_best_fixed_bootstrap",
}  # fmt: skip


def _z(n: int) -> float:
    from statistics import NormalDist

    inv, g = NormalDist().inv_cdf, 0.5772156649015329
    return (1 - g) * inv(1 - 1 / n) + g * inv(1 - 1 / (n * math.e))


def test_an_optimized_run_reports_pbo_and_deflated_sharpe(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub(objective="sharpe", pbo_blocks=8)], data=synthetic(20, 5)))
    opt = controller.session.optimizers[0]
    block = controller.results["extra"]["optimization"]["hold"]["overfitting"]
    assert set(block) >= KEYS
    assert block["pbo_blocks"] == 8 and block["pbo_splits"] == 70
    assert 0.0 <= block["pbo"] <= 1.0
    # independent: per-sample returns of every combination on the span from the first selection
    start = opt.times.index(opt.selections[0]["time_ms"])
    cols = {}
    for k in range(len(opt.combos)):
        e = np.asarray(opt.equity[k][start:])
        cols[k] = e[1:] / e[:-1] - 1
    distinct = {tuple(np.round(v, 15)) for v in cols.values()}
    assert block["distinct_trials"] == len(distinct) == 3  # 'dummy' 1 and 2 trade alike; side 0 never trades
    sharpes = [np.mean(r) / np.std(r, ddof=1) if np.std(r) > 0 else 0.0 for r in map(np.asarray, distinct)]
    variance = float(np.var(sharpes, ddof=1))
    assert block["sharpe_variance"] == pytest.approx(variance)
    assert block["sharpe_threshold"] == pytest.approx(math.sqrt(variance) * _z(3))
    best = controller.results["extra"]["optimization"]["hold"]["walk_forward"]["fixed"]["best"]["parameters"]
    r = cols[opt.combos.index(best)]
    sr = r.mean() / r.std(ddof=1)
    d = r - r.mean()
    skew, kurt = np.mean(d**3) / np.mean(d**2) ** 1.5, np.mean(d**4) / np.mean(d**2) ** 2
    z = (sr - block["sharpe_threshold"]) * math.sqrt(len(r) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    from statistics import NormalDist

    assert block["dsr_best_fixed"] == pytest.approx(NormalDist().cdf(z))
    assert block["best_fixed"]["sharpe_annualised"] == pytest.approx(sr * math.sqrt(365 * 24))
    assert block["reading"].startswith(f"PBO {block['pbo']:.2f}")
    controller.close()


def test_too_short_a_history_for_the_blocks_is_said_not_hidden(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub(pbo_blocks=24)], data=synthetic(1.5, 5)))
    block = controller.results["extra"]["optimization"]["hold"]["overfitting"]
    assert block["pbo"] is None
    assert any("PBO not computed: PBO with 24 blocks needs at least 48 rows" in n for n in block["notes"])
    assert block["reading"].startswith("PBO not computed")
    controller.close()


def test_pbo_blocks_must_be_even_and_in_range(tmp_path: Path) -> None:
    for bad in (7, 2, 26):
        sub = hold_sub(pbo_blocks=bad)
        with pytest.raises(ConfigError, match=r"subaccounts\[0\]\.optimization\.pbo_blocks"):
            config(tmp_path, [sub])


def test_reading_lines() -> None:
    assert reading({"pbo": 0.62, "dsr_live": 0.97, "dsr_best_fixed": 0.4, "distinct_trials": 12}) == (
        "PBO 0.62: the best in-sample combination is more likely than not below median out of sample; "
        "deflated Sharpe live 0.97, best fixed 0.40 over 12 trials: significant at 95 %"
    )
    assert reading({"pbo": 0.01}) == "PBO 0.01: the best in-sample combination stays above the out-of-sample median"
    assert "in 20% of splits" in reading({"pbo": 0.2})
