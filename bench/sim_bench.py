"""Simulator benchmark: candles/s of the Bybit-exact simulated exchange, as a ratio to a bare loop.

(a) SMA(50)/SMA(200) crossover, always in the market with market orders (peer job B1);
(b) a market maker cancelling and re-placing two post-only limits every candle (peer job B3), on the basic
venue and on the realistic one (12-point intrabar paths, partial fills, 250 ms latency).
Both follow ../shared/bench/peers/common.py exactly (same candles, sizes, fees) so the figures sit next
to the peers' in ../shared/bench/README.md. Printed as ratios against a bare per-candle Python callback
over the same arrays, run in the same process (the machine is shared and noisy: compare ratios).

    .venv/bin/python bench/sim_bench.py [ROWS]        (default 1,000,000)
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from kektrade.domain.specs import builtin_spec
from kektrade.domain.types import OrderType
from kektrade.engine.gcpolicy import collector_for_run
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.realistic import RealisticSimExchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from kektrade.native import native_state

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import peer_candles

CASH_B3 = 1e9  # the peers run B3 without margin limits: a large wallet keeps every quote affordable
CASH, FAST, SLOW, TAKER, MAKER, OFFSET, CAP = 1_000_000.0, 50, 200, 0.00055, 0.0002, 0.001, 5.0


def sma(values: np.ndarray, n: int) -> list[float]:
    """Simple moving average, NaN before n values."""
    out = np.full(len(values), np.nan)
    c = np.cumsum(values)
    out[n - 1 :] = (c[n - 1 :] - np.concatenate([[0.0], c[:-n]])) / n
    return out.tolist()


def make_exchange(m: MarketArrays, limit_fill: str = "trade_through", cash: float = CASH) -> SimExchange:
    spec = builtin_spec("BTCUSDT")
    assert spec is not None
    spec = replace(spec, max_qty=1e9)
    return SimExchange(
        spec,
        m,
        initial_balance=cash,
        leverage=1.0,
        taker_fee=TAKER,
        maker_fee=MAKER,
        settings=SimSettings(limit_fill=limit_fill),
    )  # type: ignore[arg-type]


def run_a(m: MarketArrays) -> tuple[float, SimExchange]:
    """B1: target +1 when SMA50 > SMA200, -1 when below, market orders at the next open."""
    ex = make_exchange(m)
    close = np.asarray(m.close)
    fast, slow = sma(close, FAST), sma(close, SLOW)
    step, place = ex.step, ex.open_order
    market = OrderType.MARKET
    t0 = time.perf_counter()
    for i in range(len(close)):
        step(i)
        f, s = fast[i], slow[i]
        if math.isnan(s):
            continue
        target = 1.0 if f > s else (-1.0 if f < s else ex.contracts)
        pos = ex.contracts
        if target != pos and not ex._orders:
            place(market, target - pos)
    return time.perf_counter() - t0, ex


def quote_loop(ex: SimExchange, m: MarketArrays) -> tuple[float, SimExchange]:
    """B3's per-candle loop on any venue: cancel both quotes, quote 0.1 % either side of the close, cap +-5."""
    close = m.close
    step, place, cancel_all = ex.step, ex.open_order, ex.cancel_all_orders
    limit = OrderType.LIMIT
    t0 = time.perf_counter()
    for i in range(len(close)):
        step(i)
        if ex._orders:
            cancel_all()
        c = close[i]
        pos = ex.contracts
        if pos < CAP:
            place(limit, 1.0, round(c * (1 - OFFSET) / 0.1) * 0.1, None, False, True)
        if pos > -CAP:
            place(limit, -1.0, round(c * (1 + OFFSET) / 0.1) * 0.1, None, False, True)
    return time.perf_counter() - t0, ex


def run_b(m: MarketArrays) -> tuple[float, SimExchange]:
    """B3 on the basic venue (limit fills on touch)."""
    return quote_loop(make_exchange(m, "touch", CASH_B3), m)


def run_b_realistic(m: MarketArrays) -> tuple[float, SimExchange]:
    """B3 on the realistic venue (default options: 12-point paths, 250 ms latency, partial fills)."""
    spec = builtin_spec("BTCUSDT")
    assert spec is not None
    ex = RealisticSimExchange(
        replace(spec, max_qty=1e9), m, initial_balance=CASH_B3, leverage=1.0, taker_fee=TAKER, maker_fee=MAKER
    )
    return quote_loop(ex, m)


def run_floor(m: MarketArrays) -> float:
    """The bare per-candle Python callback over the same arrays (the peers' floor)."""
    close = m.close
    fast, slow = sma(np.asarray(close), FAST), sma(np.asarray(close), SLOW)
    state = {"pos": 0.0, "n": 0}

    def tick(i: int) -> None:
        f, s = fast[i], slow[i]
        if f > s and state["pos"] <= 0:
            state["pos"] = 1.0
            state["n"] += 1
        elif f < s and state["pos"] >= 0:
            state["pos"] = -1.0
            state["n"] += 1

    t0 = time.perf_counter()
    for i in range(len(close)):
        tick(i)
    return time.perf_counter() - t0


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    m = peer_candles(rows)
    with collector_for_run():  # the collector as Engine.run sets it (kektrade/engine/gcpolicy.py)
        floor_s = run_floor(m)
        a_s, a_ex = run_a(m)
        b_s, b_ex = run_b(m)
        r_s, r_ex = run_b_realistic(m)
    n = len(m.close)
    out = {
        "rows": n,
        "floor_candles_per_s": round(n / floor_s),
        "a_sma_cross": {
            "candles_per_s": round(n / a_s),
            "ratio_to_floor": round(floor_s / a_s, 3),
            "fills": len(a_ex.fills),
            "final_equity": round(a_ex.equity(), 2),
        },
        "b_market_maker": {
            "candles_per_s": round(n / b_s),
            "ratio_to_floor": round(floor_s / b_s, 3),
            "fills": len(b_ex.fills),
            "final_equity": round(b_ex.equity(), 2),
        },
        "b_market_maker_realistic": {
            "candles_per_s": round(n / r_s),
            "ratio_to_floor": round(floor_s / r_s, 3),
            "fills": len(r_ex.fills),
            "final_equity": round(r_ex.equity(), 2),
        },
        "targets": {"a_candles_per_s": 1_000_000, "b_candles_per_s": 400_000},
        "simulator_build": native_state().describe(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
