"""Peer job B3 (market making, ../shared/bench/peers/common.py) through the user's path, against the floor.

    .venv/bin/python bench/user_path.py [ROWS] [ROUNDS]     (default 100,000 candles, 3 rounds)

The user's path is ``kektrade CONFIG --no-tui`` run in this process (``kektrade.cli.main``): config,
build, engine, run database, results.json, trades.json, the console table. Each round also runs the
peers' floor — a bare per-candle Python callback over the same candles (floor_all.py's B3Strategy) — in
the same process, interleaved, because the machine is shared and noisy: the figures are ratios and
medians. Printed (one JSON object):

- ``engine_ratio``: candles/s of the engine loop with the run database attached / the floor's;
- ``process_ratio``: candles/s of the whole ``kektrade`` call (build, loop, results, writing) / the floor's;
- ``cpu``: the same in CPU seconds (this process's threads only: steadier than wall time when other
  processes load the machine; the old journal's writer thread counts in ``process_s``);
- ``new_process_s``: the same command in a new process (Python start and imports included; NO_SPAWN=1
  skips it);
- ``engine_s``, ``results_s`` (flushing the journal, building and writing the results), ``process_s``;
- ``run_folder_mb``: the run folder's size per 100k candles, and the size of each file in it;
- ``fills``, ``final_equity`` and the reference (the floor loop with quotes on the 0.1 tick).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_data import _peer_frame  # noqa: E402

OFFSET, CAP, QTY, MAKER, CASH, TICK = 0.001, 5.0, 1.0, 0.0002, 1e9, 0.1


class FloorB3:
    """The peers' per-candle-callback floor for B3 (floor_all.py ``B3Strategy``)."""

    def __init__(self, h: list[float], lo: list[float], c: list[float]) -> None:
        self.h, self.l, self.c = h, lo, c
        self.pos, self.bid, self.ask, self.cash, self.fills = 0.0, 0.0, 0.0, CASH, 0

    def on_candle(self, i: int) -> None:
        """Fill a touched quote, then quote again around the close."""
        if self.bid > 0.0 and self.l[i] <= self.bid:
            self.cash -= QTY * self.bid * (1.0 + MAKER)
            self.pos += QTY
            self.fills += 1
        if self.ask > 0.0 and self.h[i] >= self.ask:
            self.cash += QTY * self.ask * (1.0 - MAKER)
            self.pos -= QTY
            self.fills += 1
        px = self.c[i]
        self.bid = px * (1.0 - OFFSET) if self.pos < CAP else 0.0
        self.ask = px * (1.0 + OFFSET) if self.pos > -CAP else 0.0


def floor_seconds(h: list[float], lo: list[float], c: list[float]) -> tuple[float, float]:
    """(wall, CPU) seconds of the floor loop over every candle."""
    s = FloorB3(h, lo, c)
    cb = s.on_candle
    t0, cpu0 = time.perf_counter(), time.thread_time()
    for i in range(len(c)):
        cb(i)
    return time.perf_counter() - t0, time.thread_time() - cpu0


def reference(h: list[float], lo: list[float], c: list[float]) -> tuple[int, float]:
    """(fills, final equity) of the floor loop with quotes rounded to the 0.1 tick, as kektrade quotes."""
    pos = bid = ask = 0.0
    cash, fills = CASH, 0
    for i in range(len(c)):
        if bid > 0.0 and lo[i] <= bid:
            cash -= QTY * bid * (1.0 + MAKER)
            pos += QTY
            fills += 1
        if ask > 0.0 and h[i] >= ask:
            cash += QTY * ask * (1.0 - MAKER)
            pos -= QTY
            fills += 1
        bid = round(c[i] * (1 - OFFSET) / TICK) * TICK if pos < CAP else 0.0
        ask = round(c[i] * (1 + OFFSET) / TICK) * TICK if pos > -CAP else 0.0
    return fills, cash + pos * c[-1]


def write_config(folder: Path, data: Path) -> Path:
    """The B3 config: the peer candles from a file, touch fills, maker fee 0.02 %, no margin limit."""
    doc = {
        "metastrategy_id": "b3",
        "strategies_dir": str(ROOT / "bench" / "strategies"),
        "history_dir": str(folder / "history"),
        "data": {"source": "file", "files": {"BTC/USDT:USDT": {"path": str(data), "timeframe": "1m"}}},
        "backtest": {"limit_fill": "touch"},
        "subaccounts": [
            {
                "id": "b3",
                "strategy": "PeerB3",  # bench/strategies/peer_jobs.py, the one B3 strategy of the benches
                "pair": "BTC/USDT:USDT",
                "timeframe": "1m",
                "initial_balance": CASH,
                "fees": {"maker": MAKER, "taker": 0.00055},
                "contract": {"max_qty": 1e9},
            }
        ],
    }
    path = folder / "b3.json"
    path.write_text(json.dumps(doc))
    return path


def user_path(config: Path) -> dict[str, Any]:
    """One ``kektrade CONFIG --no-tui`` in this process: whole-call seconds, engine loop seconds, run folder."""
    from kektrade import cli
    from kektrade.control import facade

    seen: list[Any] = []
    original = facade.RunController._finish

    def spy(self: Any, session: Any, state: str) -> None:  # on the engine's thread
        seen.append(session.engine.progress().elapsed_s)
        cpu0 = time.thread_time()  # the engine thread's CPU seconds: the loop (and a little start-up)
        t0 = time.perf_counter()
        original(self, session, state)
        seen.extend((time.perf_counter() - t0, cpu0, time.thread_time() - cpu0))

    facade.RunController._finish = spy  # type: ignore[method-assign]
    err = io.StringIO()
    try:
        t0, cpu0 = time.perf_counter(), _cpu()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = cli.main([str(config), "--no-tui", "--log-level", "WARNING"])
        seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
    finally:
        facade.RunController._finish = original  # type: ignore[method-assign]
    if code != 0:
        raise SystemExit(f"kektrade exited {code}: {err.getvalue()[-2000:]}")
    history = config.parent / "history"
    folder = max((p for p in history.iterdir() if p.is_dir() and p.name != "data"), key=lambda p: p.stat().st_mtime)
    return {
        "seconds": seconds,
        "engine_s": seen[0],
        "finish_s": seen[1],
        "engine_cpu_s": seen[2],
        "finish_cpu_s": seen[3],
        "cpu_s": cpu,
        "folder": folder,
    }


def _cpu() -> float:
    """CPU seconds of this process, every thread (the journal writer's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def subprocess_seconds(config: Path) -> float:
    """Wall seconds of ``python -m kektrade CONFIG --no-tui`` in a new process (imports included)."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kektrade", str(config), "--no-tui", "--log-level", "WARNING"],
        cwd=config.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"kektrade exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds


def folder_sizes(folder: Path) -> dict[str, int]:
    """Bytes per file of a run folder (recursively)."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def outcome(folder: Path) -> tuple[int, float]:
    """(fills, final equity) read back from the run folder (results.json and the run database)."""
    from kektrade.control.stored_view import StoredView
    from kektrade.runs.folders import Run

    results = json.loads((folder / "results.json").read_text())
    sub = results["subaccounts"][0]
    fills = StoredView(Run.at(folder, resumed=False)).fills(sub["id"])
    return len(fills), float(sub["final_wallet"]["margin_balance"])


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    frame = _peer_frame(rows)
    if frame is None:
        raise SystemExit("needs ../shared/data/make_candles.py (the peers' candles)")
    h, lo, c = (frame[k].tolist() for k in ("high", "low", "close"))
    floors, runs, spawned = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "candles.parquet"
        frame.rename(columns={"timestamp": "date"}).to_parquet(data)
        config = write_config(Path(tmp), data)
        for _ in range(rounds):  # interleaved: floor, user path, floor, ...
            floors.append(floor_seconds(h, lo, c))
            runs.append(user_path(config))
            if not os.environ.get("NO_SPAWN"):
                spawned.append(subprocess_seconds(config))
        floors.append(floor_seconds(h, lo, c))
        folder = runs[-1]["folder"]
        sizes = folder_sizes(folder)
        fills, equity = outcome(folder)
    ref_fills, ref_equity = reference(h, lo, c)
    floor_s = statistics.median(f[0] for f in floors)
    floor_cpu = statistics.median(f[1] for f in floors)
    cpu = {k: statistics.median(r[k] for r in runs) for k in ("engine_cpu_s", "finish_cpu_s", "cpu_s")}
    engine_s = statistics.median(r["engine_s"] for r in runs)
    whole_s = statistics.median(r["seconds"] for r in runs)
    finish_s = statistics.median(r["finish_s"] for r in runs)
    total = sum(sizes.values())
    print(json.dumps({
        "job": "B3 market making, user path (kektrade CONFIG --no-tui, run database on)",
        "candles": rows,
        "rounds": rounds,
        "floor_candles_per_s": round(rows / floor_s),
        "engine_candles_per_s": round(rows / engine_s),
        "engine_ratio": round(floor_s / engine_s, 4),
        "engine_s": round(engine_s, 3),
        "results_s": round(finish_s, 3),
        "process_s": round(whole_s, 3),
        "process_candles_per_s": round(rows / whole_s),
        "process_ratio": round(floor_s / whole_s, 4),
        "new_process_s": round(statistics.median(spawned), 3) if spawned else None,
        "target_ratio": 0.12,
        "cpu": {
            "floor_s": round(floor_cpu, 4),
            "engine_thread_s": round(cpu["engine_cpu_s"], 3),
            "results_s": round(cpu["finish_cpu_s"], 3),
            "process_s": round(cpu["cpu_s"], 3),
            "engine_ratio": round(floor_cpu / cpu["engine_cpu_s"], 4),
            "process_ratio": round(floor_cpu / cpu["cpu_s"], 4),
        },
        "run_folder_mb_per_100k": round(total / 1e6 * 100_000 / rows, 2),
        "run_folder_files": sizes,
        "fills": fills,
        "final_equity": round(equity, 2),
        "reference_fills": ref_fills,
        "reference_final_equity": round(ref_equity, 2),
        "pid": os.getpid(),
    }, indent=1))


if __name__ == "__main__":
    main()
