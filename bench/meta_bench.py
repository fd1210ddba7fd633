"""Meta-strategy scaling: 1, 5, 20 and 42 subaccounts on one market, through the user path.

Each subaccount trades the peers' B2 rules (bench/strategies/peer_jobs.py) with its own fixed RSI x SMA
pair, all on the same BTC/USDT:USDT 1m candles (../shared/data/make_candles.py), so the market is shared.
A meta-strategy run is a ``RunController`` run with its run database and the engine's snapshots (what a
front end reads) published as the run goes. Compared with the sum of the same subaccounts run one by one,
a linear engine stays within ``--target`` (1.5x); memory (PSS of the process) should grow by the
per-subaccount state only, the market and its arrays held once.

    .venv/bin/python bench/meta_bench.py [--rows N] [--counts 1,5,20,42] [--rounds R]

Prints one JSON object: per subaccount count, the run's engine and whole-run seconds, wall and CPU
(medians over the rounds), the sums over the single runs, their ratios (the target is on CPU time, which
the other tenants of a shared machine do not inflate), snapshots published, peak PSS, and how many
distinct market-array and ``close``-column objects the subaccounts hold (1 each when the market is shared).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from memory import PssSampler  # noqa: E402
from peers import ENDED, cpu_s, write_candles  # noqa: E402

from kektrade.config import parse_config  # noqa: E402
from kektrade.control.facade import RunController, RunPaths  # noqa: E402

COMBOS = [(m, n) for m in (4, 5, 6, 7, 8, 10) for n in (50, 100, 150, 200, 250, 300, 350)]


def config_text(data: Path, combos: list[tuple[int, int]]) -> str:
    """One subaccount per (rsi, sma) pair, all on the same file, pair and timeframe."""
    subs = [
        {
            "id": f"s{m}_{n}",
            "strategy": "PeerB2",
            "pair": "BTC/USDT:USDT",
            "timeframe": "1m",
            "initial_balance": 1_000_000,
            "parameters": {"rsi": m, "sma": n},
        }
        for m, n in combos
    ]
    doc = {
        "metastrategy_id": "meta_bench",
        "strategies_dir": str(ROOT / "bench" / "strategies"),
        "data": {"source": "file", "files": {"BTC/USDT:USDT": {"path": str(data), "columns": {"date": "timestamp"}}}},
        "subaccounts": subs,
    }
    return json.dumps(doc)


def run(data: Path, combos: list[tuple[int, int]]) -> dict[str, Any]:
    """One meta-strategy run through the user path; engine and whole-run seconds, snapshots, peak PSS."""
    config = parse_config(config_text(data, combos))
    # the previous run's objects are cyclic garbage (controller, engine, instances, frames: ~70 MB at 500k
    # candles) that the collector frees only at its next full pass: free them now, or they count here
    gc.collect()
    snapshots: list[int] = []
    ended: list[float] = []

    with tempfile.TemporaryDirectory() as tmp, PssSampler() as pss:

        def count(snap: Any) -> None:  # a front end reading every snapshot
            snapshots.append(1)
            if snap.state in ENDED and not ended:
                ended.append(cpu_s() - pss.cpu_s)

        controller = RunController(config)
        session = controller.build()
        controller.subscribe(count)
        controller.attach(RunPaths("meta", Path(tmp), Path(tmp) / "run.sqlite"))
        t0, c0 = time.perf_counter(), cpu_s() - pss.cpu_s
        controller.start()
        controller.wait()
        run_s, run_cpu = time.perf_counter() - t0, cpu_s() - pss.cpu_s - c0
        controller.close()
    if controller.error:
        raise controller.error
    insts = session.instances
    return {
        "engine_s": session.engine.progress().elapsed_s,
        "engine_cpu_s": ended[0] - c0,
        "run_s": run_s,
        "run_cpu_s": run_cpu,
        "snapshots": len(snapshots),
        "peak_pss_mib": pss.peak_mib,
        "equity": {i.id: i.venue.equity() for i in insts},
        "market_arrays": len({id(i.venue.market) for i in insts}),
        "close_columns": len({id(i.strategy.c.close) for i in insts}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--counts", default="1,5,20,42")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--target", type=float, default=1.5)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        data, _ = write_candles(args.rows, Path(tmp))
        singles: list[list[dict[str, Any]]] = [[] for _ in range(max(counts))]
        meta: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
        for _ in range(args.rounds):  # interleaved: every round runs each single and each count once
            for k in range(max(counts)):
                singles[k].append(run(data, [COMBOS[k]]))
            for n in counts:
                meta[n].append(run(data, COMBOS[:n]))
    report: dict[str, Any] = {"rows": args.rows, "rounds": args.rounds, "target_ratio": args.target, "runs": []}
    mismatched = []
    for n in counts:
        keys = ("engine_s", "engine_cpu_s", "run_s", "run_cpu_s", "peak_pss_mib")
        med = {k: statistics.median(r[k] for r in meta[n]) for k in keys}
        single = {
            k: sum(statistics.median(r[k] for r in singles[j]) for j in range(n))
            for k in ("engine_s", "engine_cpu_s", "run_s", "run_cpu_s")
        }
        for k in range(n):  # a subaccount's result does not depend on its neighbours
            sid = f"s{COMBOS[k][0]}_{COMBOS[k][1]}"
            if meta[n][-1]["equity"][sid] != singles[k][-1]["equity"][sid]:
                mismatched.append(f"{n} subaccounts: {sid}")
        report["runs"].append(
            {
                "subaccounts": n,
                **{k: round(v, 2) for k, v in med.items() if k.endswith("_s")},
                **{f"sum_single_{k}": round(v, 2) for k, v in single.items()},
                # CPU seconds: the machine is shared, wall time measures the other tenants too
                "ratio_engine_cpu": round(med["engine_cpu_s"] / single["engine_cpu_s"], 3),
                "ratio_run_cpu": round(med["run_cpu_s"] / single["run_cpu_s"], 3),
                "ratio_run_wall": round(med["run_s"] / single["run_s"], 3),
                "snapshots": meta[n][-1]["snapshots"],
                "peak_pss_mib": round(med["peak_pss_mib"], 1),
                "market_arrays": meta[n][-1]["market_arrays"],
                "close_columns": meta[n][-1]["close_columns"],
            }
        )
    runs = report["runs"]
    if len(runs) > 1:
        first, last = runs[0], runs[-1]
        report["pss_mib_per_added_subaccount"] = round(
            (last["peak_pss_mib"] - first["peak_pss_mib"]) / (last["subaccounts"] - first["subaccounts"]), 2
        )
    report["within_target"] = all(r["ratio_run_cpu"] <= args.target for r in runs)
    report["results_identical_to_single_runs"] = not mismatched
    if mismatched:
        report["mismatches"] = mismatched
    print(json.dumps(report, indent=2))
    sys.exit(1 if mismatched else 0)


if __name__ == "__main__":
    main()
