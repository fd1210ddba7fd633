"""The peers' market maker (job B3) through the whole user path against a plain loop.

Every candle: cancel the quotes, bid 0.1 % below and ask 0.1 % above the close on the 0.1 tick, one unit
each, no bid at +5 and no ask at -5; a quote fills in the next candle when the low touches the bid (the high
the ask), at its price, maker fee on the notional. The reference is the floor's tick-rounded loop
(../shared/bench/peers/floor_all.py ``b3_loop``) written out here. Both ways of writing the strategy must
give its fills and equity: quotes rounded in the tick with ``round``, and the benchmark's ``PeerB3``, which
computes them vectorised in ``populate_indicators``.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kektrade.config import parse_config
from tests.engine.kit import run

ROOT = Path(__file__).resolve().parents[2]
MAKER = 0.0002
CASH = 1_000_000.0
ROUNDED_IN_TICK = """
from kektrade.strategy.base import Strategy


class RoundedQuotes(Strategy):
    def tick(self, dataframe, index, metadata, parameter, variables, account):
        account.cancel_all_orders()
        c = self.c.close[index]
        pos = account.contracts
        if pos < 5.0:
            account.open_order("limit", 1.0, round(c * 0.999 / 0.1) * 0.1, post_only=True)
        if pos > -5.0:
            account.open_order("limit", -1.0, round(c * 1.001 / 0.1) * 0.1, post_only=True)
"""


def tick_candles(path: Path, rows: int = 6000) -> None:
    """A random walk on the 0.1 grid (like the peers' candles): quotes often touch a low or high exactly."""
    rng = np.random.default_rng(7)
    steps = rng.integers(-40, 41, rows)
    close = (40_000 + np.cumsum(steps)) / 10  # integer ticks divided once: the nearest float to each price
    opens = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(opens, close) + rng.integers(0, 60, rows) / 10
    low = np.minimum(opens, close) - rng.integers(0, 60, rows) / 10
    time = pd.date_range("2024-01-01", periods=rows, freq="1min", tz="UTC")
    frame = pd.DataFrame({"timestamp": time, "open": opens, "high": high, "low": low, "close": close})
    frame["volume"] = 1.0
    frame.to_parquet(path)


def reference(frame: pd.DataFrame) -> tuple[float, int, float]:
    """The floor's B3 loop with quotes on the 0.1 tick: (equity, fills, position)."""
    h, lo, c = (frame[k].to_list() for k in ("high", "low", "close"))
    cash, pos, bid, ask, fills = CASH, 0.0, 0.0, 0.0, 0
    for i in range(len(c)):
        if bid > 0.0 and lo[i] <= bid:
            cash -= bid * (1.0 + MAKER)
            pos, fills = pos + 1.0, fills + 1
        if ask > 0.0 and h[i] >= ask:
            cash += ask * (1.0 - MAKER)
            pos, fills = pos - 1.0, fills + 1
        bid = round(c[i] * 0.999 / 0.1) * 0.1 if pos < 5.0 else 0.0
        ask = round(c[i] * 1.001 / 0.1) * 0.1 if pos > -5.0 else 0.0
    return cash + pos * c[-1], fills, pos


@pytest.mark.parametrize("strategy", ["RoundedQuotes", "PeerB3"])
def test_market_maker_fills_and_equity_match_the_plain_loop(tmp_path: Path, strategy: str) -> None:
    if strategy == "PeerB3":
        strategies = ROOT / "bench" / "strategies"
    else:
        strategies = tmp_path / "strategies"
        strategies.mkdir()
        (strategies / "rounded_quotes.py").write_text(textwrap.dedent(ROUNDED_IN_TICK))
    tick_candles(tmp_path / "candles.parquet")
    files = {"BTC/USDT:USDT": {"path": str(tmp_path / "candles.parquet"), "columns": {"date": "timestamp"}}}
    doc = {
        "metastrategy_id": "b3",
        "strategies_dir": str(strategies),
        "history_dir": str(tmp_path / "history"),
        "data": {"source": "file", "files": files},
        "backtest": {"limit_fill": "touch"},
        "subaccounts": [
            {
                "id": "b3",
                "strategy": strategy,
                "pair": "BTC/USDT:USDT",
                "timeframe": "1m",
                "leverage": 10,
                "initial_balance": CASH,
                "fees": {"taker": 0.00055, "maker": MAKER},
            }
        ],
    }
    controller = run(tmp_path, parse_config(json.dumps(doc)))
    assert controller.error is None
    inst = controller.session.instances[0]  # type: ignore[union-attr]
    equity, fills, pos = reference(inst.frame)
    assert fills > 1000
    assert len(inst.venue.fills) == fills
    assert inst.venue.contracts == pos
    assert np.isclose(inst.venue.equity(), equity, rtol=0, atol=1e-6)
    controller.close()
