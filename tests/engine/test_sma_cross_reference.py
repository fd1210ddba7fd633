"""An SMA cross through the whole user path (config, engine, run database) against a plain loop.

The peers' job B1 (../shared/bench/peers/common.py): +1 unit while SMA(fast) > SMA(slow), -1 while below,
market orders filled at the next open, taker fee on the notional. The reference is the peers' floor loop
written out here; fills and final equity must match it exactly (up to float summation order), so the
engine's fast paths (the segmented kernel, attribute-cached columns) cannot change a result.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from kektrade.config import parse_config
from tests.engine.kit import run

STRATEGY = """
import numpy as np
from kektrade.strategy.base import Strategy


class SmaCross(Strategy):
    def populate_indicators(self, dataframe, metadata, parameters):
        close = dataframe["close"]
        dataframe["fast"] = close.rolling(parameters["fast"][0]).mean()
        dataframe["slow"] = close.rolling(parameters["slow"][0]).mean()
        return dataframe

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        f, s = self.c.fast[index], self.c.slow[index]
        target = 1.0 if f > s else (-1.0 if f < s else None)
        if target is not None and target != account.contracts:
            account.open_order("market", target - account.contracts)
"""
FEE = 0.00055


def reference(frame: pd.DataFrame, fast: int, slow: int, cash: float) -> tuple[float, int]:
    """The floor's B1 loop: a signal at candle i's close fills at candle i + 1's open."""
    o, c = frame["open"].to_numpy(), frame["close"].to_numpy()
    f = pd.Series(c).rolling(fast).mean().to_numpy()
    s = pd.Series(c).rolling(slow).mean().to_numpy()
    pos = want = 0.0
    trades = 0
    for i in range(len(c)):
        if want != pos:
            d = want - pos
            cash -= d * o[i] + abs(d) * o[i] * FEE
            pos, trades = want, trades + 1
        if f[i] > s[i]:
            want = 1.0
        elif f[i] < s[i]:
            want = -1.0
    return cash + pos * c[-1], trades


def test_sma_cross_fills_and_equity_match_the_plain_loop(tmp_path: Path) -> None:
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "sma_cross.py").write_text(textwrap.dedent(STRATEGY))
    doc = {
        "metastrategy_id": "b1",
        "strategies_dir": str(strategies),
        "history_dir": str(tmp_path / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 3, "days": 6, "funding": False}},
        "persistence": {"equity_sample": "7m"},
        "subaccounts": [
            {
                "id": "b1",
                "strategy": "SmaCross",
                "pair": "BTC/USDT:USDT",
                "timeframe": "1m",
                "initial_balance": 1_000_000,
                "fees": {"taker": FEE},
                "parameters": {"fast": 10, "slow": 40},
            }
        ],
    }
    controller = run(tmp_path, parse_config(json.dumps(doc)))
    assert controller.error is None
    inst = controller.session.instances[0]  # type: ignore[union-attr]
    equity, trades = reference(inst.frame, 10, 40, 1_000_000.0)
    assert trades > 100
    assert len(inst.venue.fills) == trades
    assert np.isclose(inst.venue.equity(), equity, rtol=0, atol=1e-6)
    # every 7 minutes of market time an equity sample, and the last candle's
    n = len(inst.frame)
    assert len(inst.times_ms) == (n - 1) // 7 + 1 + (1 if (n - 1) % 7 else 0)
    controller.close()
