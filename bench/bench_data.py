"""Benchmark data: the peers' synthetic candles (../shared/data/make_candles.py), generated in memory.

The generator is deterministic (seed 42), so every benchmark here and every peer script sees exactly the
same prices. Without ../shared (a bare clone), kektrade's own synthetic market stands in.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from kektrade.exchange.sim.settings import MarketArrays

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def _peer_frame(rows: int) -> Any:
    path = SHARED / "data" / "make_candles.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("peer_make_candles", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_candles(rows, 42)


def peer_candles(rows: int) -> MarketArrays:
    """``rows`` 1-minute candles as the peers generate them, as simulator arrays."""
    frame = _peer_frame(rows)
    if frame is None:
        from kektrade.data.synthetic import synthetic_market

        data = synthetic_market("BTC/USDT:USDT", "1m", 1_704_067_200_000, rows / 1440, seed=42)
        frame = data.candles.rename(columns={"date": "timestamp"})
    times = frame["timestamp"].astype("int64").to_numpy()
    if times.max() > 10**14:  # nanoseconds
        times = times // 1_000_000
    return MarketArrays(
        time_ms=times.tolist(),
        open=frame["open"].tolist(),
        high=frame["high"].tolist(),
        low=frame["low"].tolist(),
        close=frame["close"].tolist(),
        timeframe_ms=60_000,
        volume=frame["volume"].tolist(),  # the realistic venue's partial fills read it
    )
