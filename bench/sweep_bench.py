"""Sweep benchmarks: memory and speed of live optimization by combination count, and by Dask worker count.

    .venv/bin/python bench/sweep_bench.py memory [ROWS] [COMBOS,...] [ROUNDS]   # default 500000 6,42,168,1000 1
    .venv/bin/python bench/sweep_bench.py dask [ROWS] [WORKERS,...] [ROUNDS]     # default 500000 1,2,4 1
    .venv/bin/python bench/sweep_bench.py run ROWS COMBOS EXECUTOR WORKERS       # one run (used by the two above)

Every run is a fresh process running a config through the user path (RunController: engine, optimizer,
run database): the seed's SMA/RSI strategy with its search space widened to the combination count, daily
re-optimization over a 7-day lookback, on synthetic 1m candles (``../shared/data/make_candles.py``, the
B2 data of ``../shared/bench/peers/common.py``). Memory is the peak total PSS of the run's process tree
(the process and every descendant: forked optimizer workers, Dask nannies and workers), read from
``/proc/PID/smaps_rollup`` once a second. ``memory`` also runs the peers' floor (42 per-candle
callbacks side by side, ``floor_all.py b2 ROWS callback``) in the same rounds, interleaved, and prints the
ratio of combination-candles/s to it. The machine is shared: rounds are interleaved, figures are medians.
Data: $BENCH_DATA or ~/.cache/kektrade-bench (written on first use).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PEERS = SHARED / "bench" / "peers"
DATA_DIR = Path(os.environ.get("BENCH_DATA", Path.home() / ".cache" / "kektrade-bench"))

# search spaces of the seed's strategy widened to a combination count (rsi x sma x rsi_max x stake)
SPACES: dict[int, dict[str, list[Any]]] = {
    6: {"rsi": [4, 5, 6], "sma": [50, 100], "rsi_max": [70], "stake": [0.5]},
    42: {"rsi": [4, 5, 6, 7, 8, 10], "sma": [50, 100, 150, 200, 250, 300, 350], "rsi_max": [70], "stake": [0.5]},
    168: {
        "rsi": [4, 5, 6, 7, 8, 10],
        "sma": [50, 100, 150, 200, 250, 300, 350],
        "rsi_max": [60, 65, 70, 75],
        "stake": [0.5],
    },
    1000: {
        "rsi": [4, 5, 6, 7, 8],
        "sma": [50, 100, 150, 200, 250, 300, 350, 400],
        "rsi_max": [60, 65, 70, 75, 80],
        "stake": [0.1, 0.2, 0.3, 0.4, 0.5],
    },
}


def data_file(rows: int) -> Path:
    """The synthetic candles of the peers' benchmarks, made once."""
    path = DATA_DIR / f"synth_btc_1m_{rows}.parquet"
    if not path.exists():
        sys.path.insert(0, str(SHARED / "data"))
        from make_candles import make_candles

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        make_candles(rows).rename(columns={"timestamp": "date"}).to_parquet(path)
    return path


def strategy_dir(folder: Path, combos: int) -> Path:
    """The seed's strategy file plus a subclass with the widened search space."""
    out = folder / "strategies"
    out.mkdir()
    source = (ROOT / "strategies" / "sma_rsi.py").read_text()
    space = json.dumps(SPACES[combos])
    source += f"\n\nclass SweepStrategy(SmaRsiStrategy):\n    def get_search_space(self):\n        return {space}\n"
    (out / "sweep.py").write_text(source)
    return out


def config(folder: Path, rows: int, combos: int, executor: str, workers: int) -> Any:
    """One optimized subaccount on the synthetic candles."""
    from kektrade.config import parse_config

    optimization: dict[str, Any] = {
        "enabled": True,
        "reoptimize_every": "1d",
        "lookback": "7d",
        "objective": "sharpe",
        "min_trades": 1,
        "workers": workers,
        "max_combinations": max(combos, 1000),
    }
    if executor == "dask":
        optimization["executor"] = {"kind": "dask"}
    doc = {
        "metastrategy_id": "sweep-bench",
        "strategies_dir": str(strategy_dir(folder, combos)),
        "history_dir": str(folder / "history"),
        "data": {"source": "file", "files": {"BTC/USDT:USDT": {"path": str(data_file(rows)), "timeframe": "1m"}}},
        "persistence": {"equity_sample": "1h"},
        "subaccounts": [
            {
                "id": "sweep",
                "strategy": "SweepStrategy",
                "pair": "BTC/USDT:USDT",
                "timeframe": "1m",
                "leverage": 1,
                "initial_balance": 100_000,
                "optimization": optimization,
            }
        ],
    }
    return parse_config(json.dumps(doc))


def tree_pss_mib(root: int) -> float:
    """Total PSS of ``root`` and all its descendants, MiB."""
    total_kb, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
                    break
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total_kb / 1024


class PeakPss:
    """Samples the process tree's PSS in a thread; ``peak`` is the largest total seen."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.peak, self.interval_s, self._stop = 0.0, interval_s, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, tree_pss_mib(os.getpid()))

    def stop(self) -> float:
        """Stop sampling; the peak (MiB)."""
        self._stop.set()
        self._thread.join()
        return max(self.peak, tree_pss_mib(os.getpid()))


def run_once(rows: int, combos: int, executor: str, workers: int) -> dict[str, Any]:
    """One optimized backtest through the user path; speed of the candle loop and peak PSS."""
    from kektrade.control.facade import RunController, RunPaths

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cfg = config(folder, rows, combos, executor, workers)
        pss = PeakPss()
        t0 = time.perf_counter()
        controller = RunController(cfg)
        session = controller.build()
        controller.attach(RunPaths("bench", folder, folder / "run.sqlite"))
        controller.start()
        controller.wait()
        wall_s = time.perf_counter() - t0
        peak = pss.stop()
        opt = session.optimizers[0]
        inst = session.instances[0]
        selections = [s["combination"] for s in opt.selections]
        loop_s = session.engine.progress().elapsed_s
        controller.close()
        if controller.error:
            raise controller.error
    candles = inst.length - inst.first_index
    return {
        "combinations": len(opt.combos),
        "executor": executor,
        "workers": workers,
        "candles": candles,
        "engine_loop_s": round(loop_s, 2),
        "wall_s": round(wall_s, 2),
        "combination_candles_per_s": round(len(opt.combos) * candles / loop_s),
        "peak_pss_mib": round(peak),
        "selections": len(selections),
        "selection_digest": hash(tuple(-1 if s is None else s for s in selections)) & 0xFFFFFFFF,
    }


def child(args: list[str]) -> dict[str, Any]:
    """Run ``args`` of this script in a fresh process; its JSON line."""
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def floor(rows: int) -> dict[str, Any]:
    """The peers' floor: 42 B2 per-candle callbacks side by side (same data, same machine), with its PSS."""
    data_file(rows)
    link = DATA_DIR / f"synth_btc_1m_{rows}_ts.parquet"  # the peers' loader wants a 'timestamp' column
    if not link.exists():
        import pandas as pd

        pd.read_parquet(data_file(rows)).rename(columns={"date": "timestamp"}).to_parquet(link)
    env = dict(os.environ, BENCH_DATA=str(DATA_DIR / "floor"))
    (DATA_DIR / "floor").mkdir(exist_ok=True)
    target = DATA_DIR / "floor" / f"synth_btc_1m_{rows}.parquet"
    if not target.exists():
        target.symlink_to(link)
    proc = subprocess.Popen(
        [sys.executable, str(PEERS / "floor_all.py"), "b2", str(rows), "callback"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_pss_mib(proc.pid))
        time.sleep(0.25)
    doc = json.loads((proc.stdout.read() if proc.stdout else "").strip().splitlines()[-1])
    return {"combination_candles_per_s": doc["combo_candles_per_s"], "peak_pss_mib": round(peak)}


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    """Median of one figure over rounds."""
    return statistics.median(r[key] for r in runs)


def memory(rows: int, counts: list[int], rounds: int) -> dict[str, Any]:
    """Peak PSS and speed by combination count, interleaved with the floor."""
    results: dict[str, list[dict[str, Any]]] = {"floor": []}
    for _ in range(rounds):
        results["floor"].append(floor(rows))
        for n in counts:
            results.setdefault(str(n), []).append(child(["run", str(rows), str(n), "processes", "2"]))
    floor_rate = median_of(results["floor"], "combination_candles_per_s")
    out: dict[str, Any] = {"rows": rows, "rounds": rounds, "floor_42_side_by_side": {
        "combination_candles_per_s": floor_rate, "peak_pss_mib": median_of(results["floor"], "peak_pss_mib")}}
    for n in counts:
        runs = results[str(n)]
        rate = median_of(runs, "combination_candles_per_s")
        out[f"{n}_combinations"] = {
            "combination_candles_per_s": rate,
            "ratio_to_floor": round(rate / floor_rate, 3),
            "peak_pss_mib": median_of(runs, "peak_pss_mib"),
            "engine_loop_s": median_of(runs, "engine_loop_s"),
            "wall_s": median_of(runs, "wall_s"),
        }
    return out


def dask(rows: int, counts: list[int], rounds: int) -> dict[str, Any]:
    """The 42-combination sweep on a local Dask cluster of 1, 2, 4 worker processes, beside the process executor."""
    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(rounds):
        results.setdefault("processes-2", []).append(child(["run", str(rows), "42", "processes", "2"]))
        for w in counts:
            results.setdefault(f"dask-{w}", []).append(child(["run", str(rows), "42", "dask", str(w)]))
    digests = {r["selection_digest"] for runs in results.values() for r in runs}
    out: dict[str, Any] = {"rows": rows, "rounds": rounds, "identical_selections": len(digests) == 1}
    for name, runs in results.items():
        out[name] = {
            key: median_of(runs, key)
            for key in ("combination_candles_per_s", "engine_loop_s", "wall_s", "peak_pss_mib")
        }
    return out


def main() -> None:
    """Dispatch on the job name."""
    job, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("memory", [])
    if job == "run":
        rows, combos, executor, workers = int(rest[0]), int(rest[1]), rest[2], int(rest[3])
        print(json.dumps(run_once(rows, combos, executor, workers)))
        return
    rows = int(rest[0]) if rest else 500_000
    counts = [int(x) for x in rest[1].split(",")] if len(rest) > 1 else None
    rounds = int(rest[2]) if len(rest) > 2 else 1
    if job == "memory":
        print(json.dumps(memory(rows, counts or [6, 42, 168, 1000], rounds), indent=2))
    elif job == "dask":
        print(json.dumps(dask(rows, counts or [1, 2, 4], rounds), indent=2))
    else:
        raise SystemExit(f"unknown job {job!r}: memory, dask or run")


if __name__ == "__main__":
    main()
