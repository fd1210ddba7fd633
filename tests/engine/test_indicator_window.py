"""Live indicators equal the backtest's: the recomputation window grows until the values no longer move.

EMA(200) and RSI(14) are recursive: a value depends, ever less, on every candle before it. Computed on a
short window they differ from the same indicator computed over the whole history. The live slot checks
each recomputation against the values it already holds for the last processed rows and doubles the window
until they agree to 1e-9 — after which new values match the full-history computation too.
"""

from __future__ import annotations

import logging
import queue

import numpy as np
import pandas as pd
import pandas_ta as ta
import pytest

from kektrade.domain.specs import builtin_spec
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.live import LiveSlot
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.strategy.base import Strategy
from kektrade.strategy.columns import Columns
from tests.strategies.kit import arrays, frame


class Recursive(Strategy):
    """EMA(200) and RSI(14) of the close, nothing traded."""

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict, parameters: dict) -> pd.DataFrame:
        dataframe["ema200"] = ta.ema(dataframe["close"], length=200)
        dataframe["rsi14"] = ta.rsi(dataframe["close"], length=14)
        return dataframe

    def tick(self, dataframe, index, metadata, parameter, variables, account) -> None:  # type: ignore[no-untyped-def]
        return None


def candles(n: int) -> pd.DataFrame:
    """A deterministic random walk (seeded)."""
    rng = np.random.default_rng(7)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    rows = [(c, c * 1.001, c * 0.999, c) for c in close]
    return frame(rows)


def slot_on(history: pd.DataFrame, window: int) -> LiveSlot:
    strategy = Recursive()
    computed = strategy.populate_indicators(history.copy(), {}, {})
    strategy.bind_columns(Columns(computed))
    venue = SimExchange(builtin_spec("BTCUSDT"), arrays(history), initial_balance=1_000.0)  # type: ignore[arg-type]
    n = len(history)
    inst = StrategyInstance("w", strategy, computed, venue, {}, {"pair": "BTC/USDT:USDT"}, n - 1)
    inst.next_index = n
    slot = LiveSlot(inst, history.copy(), {}, window, queue.Queue(), ("BTC/USDT:USDT", "1m"))
    slot.bind(computed)
    return slot


def test_window_grows_until_recursive_indicators_match_the_full_history(caplog: pytest.LogCaptureFixture) -> None:
    series = candles(3_000)
    slot = slot_on(series.iloc[:2_000].reset_index(drop=True), window=250)
    caplog.set_level(logging.WARNING, logger="kektrade.engine")
    for k in range(2_000, 2_010):  # ten live candles, one batch each
        slot.append(series.iloc[k : k + 1])
        slot.recompute()
        slot.inst.next_index = len(slot.raw)
    full = Recursive().populate_indicators(series.iloc[:2_010].copy(), {}, {})
    for name in ("ema200", "rsi14"):
        live = slot.inst.frame[name].to_numpy()[-10:]
        np.testing.assert_allclose(live, full[name].to_numpy()[-10:], rtol=1e-9, atol=0)
        assert slot.inst.strategy.c[name][-1] == pytest.approx(full[name].iloc[-1], rel=1e-9)
    assert slot.window >= 2_000  # 250 -> 500 -> 1000 -> 2000: EMA(200) needs ~2,000 rows for 1e-9
    assert "'ema200' still depends on where its 250-row window starts" in caplog.text


def test_a_window_already_long_enough_is_kept() -> None:
    series = candles(1_300)
    slot = slot_on(series.iloc[:1_200].reset_index(drop=True), window=1_000)
    slot.append(series.iloc[1_200:1_201])
    slot.window = 4_000  # the whole history fits: computed exactly like the backtest
    slot.recompute()
    full = Recursive().populate_indicators(series.iloc[:1_201].copy(), {}, {})
    assert slot.inst.frame["ema200"].iloc[-1] == full["ema200"].iloc[-1]
    assert len(slot.inst.frame) == 1_201 and slot.window == 4_000
