"""Engine and live-optimization benchmarks on a year of real BTC/USDT 1m candles (2024).

    .venv/bin/python bench/engine_bench.py engine     # SMA/RSI, fixed parameters, through the whole engine
    .venv/bin/python bench/engine_bench.py optimize   # the seed's 42-combination space, live-optimized daily

Each prints one JSON object: wall time, candles (or combination-candles) per second, peak memory, and the
ratio against the bare simulator (bench/sim_bench.py job (a)) measured in the same process on the same
candles, so the figures survive a noisy shared machine. Data: ../shared/data/real/btcusdt-1m-2024.parquet
(set KEKTRADE_BENCH_DATA to another 1m file, ROWS=N to cut it).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from kektrade.config import parse_config  # noqa: E402
from kektrade.control.facade import RunController, RunPaths  # noqa: E402
from kektrade.exchange.sim.settings import MarketArrays  # noqa: E402

DATA = Path(os.environ.get("KEKTRADE_BENCH_DATA", ROOT.parent / "shared" / "data" / "real" / "btcusdt-1m-2024.parquet"))


def config_text(optimize: bool, end: str | None) -> str:
    """A one-subaccount config on the real file; optimization per the issue's benchmark."""
    sub: dict[str, object] = {
        "id": "sma_btc",
        "strategy": "SmaRsiStrategy",
        "pair": "BTC/USDT:USDT",
        "timeframe": "1m",
        "leverage": 1,
        "initial_balance": 100_000,
    }
    if optimize:
        sub["optimization"] = {
            "enabled": True,
            "reoptimize_every": "1d",
            "lookback": "7d",
            "objective": "sharpe",
            "min_trades": 1,
            "workers": 2,
        }
    else:
        sub["parameters"] = {"rsi": 7, "sma": 200}
    doc = {
        "metastrategy_id": "bench",
        "strategies_dir": str(ROOT / "strategies"),
        "data": {"source": "file", "files": {"BTC/USDT:USDT": {"path": str(DATA), "timeframe": "1m"}}},
        "backtest": {"end": end} if end else {},
        "persistence": {"equity_sample": "1h"},
        "subaccounts": [sub],
    }
    return json.dumps(doc)


def simulator_rate(arrays: MarketArrays) -> float:
    """Job (a) of sim_bench on the same candles: the bare simulator's candles/s."""
    import sim_bench

    seconds, _ = sim_bench.run_a(arrays)
    return len(arrays.close) / seconds


def bare_same_strategy(session: Any) -> float:
    """The same strategy, frame and parameters through a bare SimExchange loop: no engine, no journal (ticked
    where the engine ticks it: its tick schedule, if it has one, and the candles with account news)."""
    from kektrade.engine.build import make_provider, make_venue, prepare_instance, sim_settings
    from kektrade.strategy.schedule import tick_schedule

    config = session.config
    sub = config.subaccounts[0]
    prepared = prepare_instance(config, sub, 0, make_provider(config), Path(config.strategies_dir))
    venue = make_venue(prepared, sim_settings(config, sub), None)
    tick, frame, meta = prepared.strategy.tick, prepared.frame, prepared.metadata
    variables: dict[str, Any] = {}
    parameter = dict(session.instances[0].parameter)
    step, n = venue.step, len(prepared.arrays)
    t0 = time.perf_counter()
    schedule = tick_schedule(prepared.strategy, frame, parameter)
    if schedule is None:
        for i in range(prepared.first_index, n):
            step(i)
            tick(frame, i, meta, parameter, variables, venue)
    else:  # the strategy's tick schedule, as the kernel follows it: selected candles and account news
        i = prepared.first_index
        for wanted in [*(k for k in schedule if k >= i), n]:
            while i <= wanted and i < n:
                j = venue.step_to(i, wanted) if i < wanted else wanted
                if j == n:
                    break
                if j == wanted:
                    step(j)
                tick(frame, j, meta, parameter, variables, venue)
                i = j + 1
    return (n - prepared.first_index) / (time.perf_counter() - t0)


def run(optimize: bool) -> dict[str, object]:
    """Build and run the session in a temporary run folder; time the engine."""
    end = os.environ.get("END")
    config = parse_config(config_text(optimize, end))
    t0 = time.perf_counter()
    controller = RunController(config)
    session = controller.build()
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        controller.attach(RunPaths("bench", Path(tmp), Path(tmp) / "run.sqlite"))
        t1 = time.perf_counter()
        controller.start()
        controller.wait()
        run_s = time.perf_counter() - t1
        controller.close()
    if controller.error:
        raise controller.error
    inst = session.instances[0]
    candles = inst.length - inst.first_index
    engine_s = session.engine.progress().elapsed_s  # the candle loop alone (results and I/O excluded)
    combos = len(session.optimizers[0].combos) if session.optimizers else 1
    rate = simulator_rate(
        inst.venue.market.__class__(
            time_ms=inst.venue.market.time_ms,
            open=inst.venue.market.open,
            high=inst.venue.market.high,
            low=inst.venue.market.low,
            close=inst.venue.market.close,
            timeframe_ms=60_000,
        )
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out: dict[str, object] = {
        "job": "optimize" if optimize else "engine",
        "candles": candles,
        "build_s": round(build_s, 2),
        "run_s": round(run_s, 2),
        "engine_loop_s": round(engine_s, 2),
        "simulator_candles_per_s": round(rate),
        "peak_rss_mb": round(own, 1),
        "peak_rss_worker_mb": round(kids, 1),
        "fills": len(inst.venue.fills),
    }
    if optimize:
        cc = combos * candles / engine_s
        out |= {
            "combinations": combos,
            "combination_candles_per_s": round(cc),
            "ratio_to_simulator": round(cc / rate, 3),
            "target_combination_candles_per_s": 1_000_000,
            "selections": len(session.optimizers[0].selections),
        }
    else:
        bare = bare_same_strategy(session)
        out |= {
            "engine_candles_per_s": round(candles / engine_s),
            "ratio_to_simulator": round(candles / engine_s / rate, 3),
            "target_ratio": 0.5,
            "bare_simulator_same_strategy_candles_per_s": round(bare),
            "ratio_to_bare_same_strategy": round(candles / engine_s / bare, 3),
        }
    return out


def main() -> None:
    job = sys.argv[1] if len(sys.argv) > 1 else "engine"
    if not DATA.exists():
        raise SystemExit(f"benchmark data not found: {DATA}")
    print(json.dumps(run(job == "optimize"), indent=2))


if __name__ == "__main__":
    main()
