"""The peers' jobs B1, B2 and B3 run through kektrade's user path, as ratios to the bare-callback floor.

Spec: ../shared/bench/peers/common.py (same candles from ../shared/data/make_candles.py, same rules, fees,
sizes). Each job is a config run the way ``kektrade backtest`` runs it: ``RunController`` builds the
session, attaches a run folder with its SQLite run database, runs the engine thread, writes the results.
B2 is the 42-combination RSI x SMA space under live optimization, whose virtual exchanges each trade the
whole data: the sweep. The floor (``floor_all.py``'s per-candle callback objects) runs in the same
process, interleaved round by round with kektrade (the machine is shared: compare ratios, take medians).
Trades and final equity are checked against the floor's reference; a mismatch is printed and exits 1.

    .venv/bin/python bench/peers.py [b1|b2|b3|all] [--rows N] [--rounds R] [--workers W] [--every-candle]

B1 and B2 select the candles their tick can act on (``Strategy.tick_on``); ``--every-candle`` runs their
variants that tick on every candle (the per-candle callback design the floor stands for). B3 requotes every
candle either way. Defaults: B1 1M candles, B2 500k, B3 100k, 3 rounds, 2 optimizer workers. Prints one
JSON object per job.
B2 also prints the planning estimate of docs/performance.md: machine-hours per day of live optimization
from the measured cost of one combination-candle.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT.parent / "shared" / "bench" / "peers"
sys.path.insert(0, str(ROOT / "bench"))

from bench_data import _peer_frame  # noqa: E402
from memory import PssSampler  # noqa: E402

from kektrade.config import parse_config  # noqa: E402
from kektrade.control.facade import RunController, RunPaths  # noqa: E402

TARGETS = {"b1": 0.25, "b2": 0.55, "b3": 0.12}
DEFAULT_ROWS = {"b1": 1_000_000, "b2": 500_000, "b3": 100_000}
CASH, TAKER, MAKER = 1_000_000.0, 0.00055, 0.0002
ENDED = ("finished", "stopped", "failed")


def cpu_s() -> float:
    """CPU seconds of this process (every thread) and its reaped children (the optimizer's workers).

    The machine is shared: wall time measures the other tenants as much as the code, CPU time does not.
    """
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def floor_module() -> Any:
    """The peers' floor script (../shared/bench/peers/floor_all.py) as a module."""
    if not (PEERS / "floor_all.py").exists():
        raise SystemExit(f"the peers' benchmarks are not at {PEERS}")
    sys.path.insert(0, str(PEERS))
    import floor_all

    return floor_all


def write_candles(rows: int, folder: Path) -> tuple[Path, Any]:
    """The peers' candles as a Parquet file (what a user points ``data.files`` at) and as a frame."""
    frame = _peer_frame(rows)
    if frame is None:
        raise SystemExit("../shared/data/make_candles.py is missing: the peers' candles cannot be generated")
    path = folder / f"synth_btc_1m_{rows}.parquet"
    frame.to_parquet(path)
    return path, frame


# -- the floor -----------------------------------------------------------------------------------


def floor_run(job: str, frame: Any) -> dict[str, Any]:
    """The per-candle-callback floor of ``floor_all.py`` (its 'callback' mode), timed like it times it."""
    f = floor_module()
    o, h, lo, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    rows = len(c)
    if job == "b1":
        args = [a.tolist() for a in (o, c, f.sma(c, 50), f.sma(c, 200))]
        t0, c0 = time.perf_counter(), cpu_s()
        s = f.B1Strategy(*args, TAKER, 1.0, CASH)
        cb = s.on_candle
        for i in range(199, rows):
            cb(i)
        seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
        return {"s": seconds, "cpu_s": cpu, "trades": s.trades, "equity": s.cash + s.pos * args[1][-1]}
    if job == "b2":
        return _floor_b2(f, o, c)
    hh, ll, cc = h.tolist(), lo.tolist(), c.tolist()
    t0, c0 = time.perf_counter(), cpu_s()
    s = f.B3Strategy(hh, ll, cc, 0.001, 1.0, 5.0, MAKER, CASH)
    cb = s.on_candle
    for i in range(rows):
        cb(i)
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    # kektrade quotes on the 0.1 tick: its reference is the floor's tick-rounded cross-check
    eq, fills, pos = f.b3_loop(hh, ll, cc, 0, 0.001, 1.0, 5.0, MAKER, CASH, 0.1)
    return {"s": seconds, "cpu_s": cpu, "trades": fills, "equity": eq, "position": pos}


def _floor_b2(f: Any, o: Any, c: Any) -> dict[str, Any]:
    """42 strategy objects side by side, candle by candle; indicators inside the timed run (as the floor)."""
    t0, c0 = time.perf_counter(), cpu_s()
    mas = {n: f.sma(c, n).tolist() for n in f.C.SMA_LENS}
    rsis = {m: f.rsi_cutler(c, m).tolist() for m in f.C.RSI_LENS}
    oo, cc = o.tolist(), c.tolist()
    strats = [
        (m, n, f.B2Strategy(oo, cc, mas[n], rsis[m], max(n, m + 1), TAKER, 1.0, CASH))
        for m in f.C.RSI_LENS
        for n in f.C.SMA_LENS
    ]
    cbs = [st.on_candle for _, _, st in strats]
    for i in range(1, len(cc)):
        for cb in cbs:
            cb(i)
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    return {
        "s": seconds,
        "cpu_s": cpu,
        "equity": {(m, n): st.cash + st.pos * cc[-1] for m, n, st in strats},
        "trades": {(m, n): st.trades for m, n, st in strats},
    }


# -- kektrade's user path ------------------------------------------------------------------------


def config_text(job: str, data: Path, workers: int, every_candle: bool = False) -> str:
    """The job as a user's config: one subaccount on the Parquet file, the peers' fees and sizes.

    B1 and B2 use their tick schedules unless ``every_candle`` (then their tick runs on every candle)."""
    strategy = {"b1": "PeerB1", "b2": "PeerB2", "b3": "PeerB3"}[job]
    sub: dict[str, Any] = {
        "id": job,
        "strategy": strategy + ("EveryCandle" if every_candle and job != "b3" else ""),
        "pair": "BTC/USDT:USDT",
        "timeframe": "1m",
        "leverage": 10 if job == "b3" else 1,  # B3's peers have no margin limit: the cap never binds
        "initial_balance": CASH,
        "fees": {"taker": TAKER, "maker": MAKER},
    }
    if job == "b2":
        sub["optimization"] = {"enabled": True, "reoptimize_every": "1d", "lookback": "7d", "workers": workers}
    doc = {
        "metastrategy_id": f"peers_{job}",
        "strategies_dir": str(ROOT / "bench" / "strategies"),
        "data": {"source": "file", "files": {"BTC/USDT:USDT": {"path": str(data), "columns": {"date": "timestamp"}}}},
        "backtest": {"limit_fill": "touch"} if job == "b3" else {},
        "subaccounts": [sub],
    }
    return json.dumps(doc)


def user_path(job: str, data: Path, workers: int, every_candle: bool = False) -> dict[str, Any]:
    """Build, run (engine thread, run database, results written) and close one run; times each phase."""
    config = parse_config(config_text(job, data, workers, every_candle))
    gc.collect()  # the previous round's run is cyclic garbage until the collector's next full pass
    with tempfile.TemporaryDirectory() as tmp, PssSampler() as pss:
        t0 = time.perf_counter()
        controller = RunController(config)
        session = controller.build()
        t1 = time.perf_counter()
        controller.attach(RunPaths(job, Path(tmp), Path(tmp) / "run.sqlite"))
        ended: list[float] = []

        def on_snapshot(snap: Any) -> None:
            if snap.state in ENDED and not ended:
                ended.append(cpu_s() - pss.cpu_s)

        controller.subscribe(on_snapshot)
        c1 = cpu_s() - pss.cpu_s
        controller.start()
        controller.wait()
        t2, c2 = time.perf_counter(), cpu_s() - pss.cpu_s
        controller.close()
        t3 = time.perf_counter()
        folder_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 2**20
    if controller.error:
        raise controller.error
    inst = session.instances[0]
    out = {
        "build_s": t1 - t0,
        "engine_s": session.engine.progress().elapsed_s,
        "engine_cpu_s": ended[0] - c1,  # to the engine's final snapshot (results not yet built)
        "run_s": t2 - t1,
        "run_cpu_s": c2 - c1,
        "close_s": t3 - t2,
        "trades": len(inst.venue.fills),
        "equity": inst.venue.equity(),
        "position": inst.venue.contracts,
        "peak_pss_mib": pss.peak_mib,
        "run_folder_mb": folder_mb,
    }
    if job == "b2":
        opt = session.optimizers[0]
        keys = [(c["rsi"], c["sma"]) for c in opt.combos]
        out["combo_equity"] = {key: opt._final[i] for i, key in enumerate(keys)}
    return out


# -- checks and report ---------------------------------------------------------------------------


def check(job: str, ref: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Differences between kektrade's result and the floor's reference (empty when they agree)."""
    problems = []
    if job == "b2":
        for key, eq in ref["equity"].items():
            if abs(got["combo_equity"][key] - eq) > 1e-6 * CASH:
                problems.append(f"combo {key}: equity {got['combo_equity'][key]:.4f} != {eq:.4f}")
        return problems
    if got["trades"] != ref["trades"]:
        problems.append(f"trades {got['trades']} != {ref['trades']}")
    if abs(got["equity"] - ref["equity"]) > 1e-6 * CASH:
        problems.append(f"final equity {got['equity']:.4f} != {ref['equity']:.4f}")
    return problems


def daily_estimate(seconds_per_combo_candle: float, cores: int) -> dict[str, Any]:
    """Machine-hours per day of live optimization on 1m candles, from the cost of one combination-candle.

    Live optimization advances every combination by each new candle: C combinations x P pairs cost
    C x P x 1440 x cost a day; a machine with ``cores`` workers keeps up while that stays under 24 h x cores.
    """
    per_day = 1440 * seconds_per_combo_candle
    cases = [(42, 1), (1_000, 1), (1_000, 10), (10_000, 10)]
    return {
        "cpu_s_per_combination_day": round(per_day, 5),
        "hours_per_day": {f"{c} combinations x {p} pairs": round(c * p * per_day / 3600, 3) for c, p in cases},
        "combination_pairs_one_core_keeps_up_with": int(86_400 / per_day),
        f"combination_pairs_{cores}_cores_keep_up_with": int(cores * 86_400 / per_day),
        "warm_start_s_per_combination_30d": round(30 * per_day, 3),
    }


def run_job(job: str, rows: int, rounds: int, workers: int, folder: Path, every_candle: bool = False) -> dict[str, Any]:
    """Interleave floor and user-path runs ``rounds`` times; report medians and the result check."""
    data, frame = write_candles(rows, folder)
    floors, runs, problems = [], [], []
    ref: dict[str, Any] = {}
    for _ in range(rounds):
        ref = floor_run(job, frame)
        got = user_path(job, data, workers, every_candle)
        floors.append(ref)
        runs.append(got)
        problems += check(job, ref, got)
    floor_s, floor_cpu = (statistics.median(f[k] for f in floors) for k in ("s", "cpu_s"))
    keys = ("build_s", "engine_s", "engine_cpu_s", "run_s", "run_cpu_s", "close_s", "peak_pss_mib")
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    per = 42 if job == "b2" else 1
    paired = [round(f["cpu_s"] / r["engine_cpu_s"], 3) for f, r in zip(floors, runs, strict=True)]
    out: dict[str, Any] = {
        "job": job,
        "rows": rows,
        "rounds": rounds,
        "tick": "every candle" if every_candle or job == "b3" else "tick schedule (tick_on)",
        "floor_candles_per_s": round(per * rows / floor_s),
        "engine_candles_per_s": round(per * rows / med["engine_s"]),
        "run_candles_per_s": round(per * rows / med["run_s"]),
        # the headline: engine loop (run database written as it goes) against the floor, in CPU seconds
        "ratio_engine_to_floor_cpu": round(floor_cpu / med["engine_cpu_s"], 3),
        "ratio_engine_to_floor_wall": round(floor_s / med["engine_s"], 3),
        # the whole wait: engine loop, then results built and written (results.json, database)
        "ratio_run_to_floor_cpu": round(floor_cpu / med["run_cpu_s"], 3),
        "ratio_run_to_floor_wall": round(floor_s / med["run_s"], 3),
        "target_ratio": TARGETS[job],
        "median_s": {k: round(v, 3) for k, v in med.items() if k.endswith("_s")},
        "ratio_engine_cpu_each_round": paired,
        # each engine round over the floor round run next to it: the machine's state cancels within a pair
        "ratio_engine_cpu_paired_median": round(statistics.median(paired), 3),
        "peak_pss_mib": round(med["peak_pss_mib"], 1),
        "run_folder_mb": round(runs[-1]["run_folder_mb"], 1),
        "matches_floor_reference": not problems,
    }
    if job == "b2":
        out["workers"] = workers
        out["note"] = "CPU ratios add the workers' CPU: the sweep's cost, not its wall time on 2 cores"
        # CPU seconds of the sweep (main process and workers) per combination-candle
        out["cpu_us_per_combination_candle"] = round(med["engine_cpu_s"] / (42 * rows) * 1e6, 3)
        out["live_optimization_estimate"] = daily_estimate(med["engine_cpu_s"] / (42 * rows), os.cpu_count() or 1)
    else:
        out |= {"trades": runs[-1]["trades"], "final_equity": round(runs[-1]["equity"], 2)}
    if problems:
        out["mismatches"] = sorted(set(problems))[:20]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", nargs="?", default="all", choices=["b1", "b2", "b3", "all"])
    parser.add_argument("--rows", type=int, default=None, help="candles (default per job: 1M, 500k, 100k)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="optimizer worker processes for B2")
    parser.add_argument(
        "--every-candle", action="store_true", help="B1/B2 without their tick schedules: tick on every candle"
    )
    args = parser.parse_args()
    jobs = ["b1", "b3", "b2"] if args.job == "all" else [args.job]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for job in jobs:
            rows = args.rows or DEFAULT_ROWS[job]
            out = run_job(job, rows, args.rounds, args.workers, Path(tmp), args.every_candle)
            failed |= not out["matches_floor_reference"]
            print(json.dumps(out, indent=2), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
