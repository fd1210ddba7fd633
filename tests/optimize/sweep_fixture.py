"""A fixed optimization whose every selection, score and equity sample is pinned by a committed fixture.

The fixture (data/sweep_fixture.json) was computed by the optimizer as it was before the memory work on
per-combination state and before the Dask executor: any executor, any storage of the samples, must give
these numbers bit for bit (floats are stored as ``float.hex``). Regenerate only for a deliberate change of
results: ``.venv/bin/python -m tests.optimize.sweep_fixture``. Regenerated once since, for one such change:
the optimizer counts round trips, as the results table does (issue 13): the closes and the profit-factor
selections changed, the Sharpe selections and every equity sample did not.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from kektrade.config import parse_config
from kektrade.control.facade import RunController
from kektrade.optimize.executor import Executor
from kektrade.optimize.live import LiveOptimizer

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).with_name("data") / "sweep_fixture.json"
OBJECTIVES = ("sharpe", "profit_factor")


def sweep_config(folder: Path, objective: str) -> Any:
    """The seed's SMA/RSI strategy, 42 combinations, 12 days of synthetic 5m candles, daily re-optimization."""
    doc = {
        "metastrategy_id": "sweep-fixture",
        "strategies_dir": str(REPO / "strategies"),
        "history_dir": str(folder / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 11, "start": "2024-01-01", "days": 12}},
        "subaccounts": [
            {
                "id": "sma",
                "strategy": "SmaRsiStrategy",
                "pair": "BTC/USDT:USDT",
                "timeframe": "5m",
                "leverage": 2,
                "initial_balance": 10_000,
                "optimization": {
                    "enabled": True,
                    "reoptimize_every": "1d",
                    "lookback": "2d",
                    "objective": objective,
                    "min_trades": 1,
                    "workers": 1,
                },
            }
        ],
    }
    return parse_config(json.dumps(doc))


def _hex(value: float | None) -> str | None:
    return None if value is None else float(value).hex()


def _digest(values: Any) -> str:
    return hashlib.sha256(" ".join(float(v).hex() for v in values).encode()).hexdigest()


def observe(opt: LiveOptimizer, finals: dict[int, float], closes: dict[int, list[float]]) -> dict[str, Any]:
    """Everything an optimization decided, exactly: selections, scores, finals, sample and close digests."""
    n = len(opt.combos)
    return {
        "combinations": n,
        "selections": [
            {"time_ms": s["time_ms"], "combination": s["combination"], "score": _hex(s["score"])}
            for s in opt.selections
        ],
        "final_equity": [_hex(finals[k]) for k in range(n)],
        "samples": len(opt.times),
        "times": hashlib.sha256(repr(list(opt.times)).encode()).hexdigest(),
        "equity": [_digest(opt.equity[k]) for k in range(n)],
        "closes": [len(closes[k]) for k in range(n)],
        "close_pnls": [_digest(closes[k]) for k in range(n)],
        "failed": sorted(opt.failed),
        "last_scores": [_hex(v) if not math.isnan(v) else "nan" for _, v, _ in opt.scores_at(opt.times[-1])],
    }


def record_closes(opt: LiveOptimizer) -> dict[int, list[float]]:
    """Every closing PnL the executor delivers, in order (the optimizer itself keeps only the lookback's)."""
    seen: dict[int, list[float]] = {k: [] for k in range(len(opt.combos))}
    merge = opt._merge

    def recording(updates: list[Any]) -> None:
        for update in updates:
            for k, pairs in update.closes.items():
                seen[k].extend(pnl for _, pnl in pairs)
        merge(updates)

    opt._merge = recording  # type: ignore[method-assign]
    return seen


def run_sweep(folder: Path, objective: str, executor: Executor | None = None) -> dict[str, Any]:
    """Run the fixture's optimization (with ``executor`` instead of the configured one when given)."""
    cfg = sweep_config(folder, objective)
    controller = RunController(cfg)
    session = controller.build()
    opt = session.optimizers[0]
    if executor is not None:  # the same optimizer, its virtual exchanges run elsewhere
        opt.executor.close()
        opt.executor = executor
        executor.start(opt.spec)
    closes = record_closes(opt)
    try:
        session.engine.run()
        finals = opt._final if opt._final is not None else opt.executor.final_equity()  # kept at close
        return observe(opt, finals, closes)
    finally:
        controller.close()


def main() -> None:
    """Write the fixture from the current code."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        doc = {objective: run_sweep(Path(tmp), objective) for objective in OBJECTIVES}
    FIXTURE.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
