"""A strategy with a tick schedule (``tick_on``) trades exactly as the same strategy ticked on every candle.

``CrossBracket`` acts on SMA crosses only: on a cross above it bids a limit below the close, once filled it
brackets the position with a stop-loss and a take-profit (both conditional, filled by the venue between
crosses), on a cross below it cancels and closes. ``tick_on`` selects the crosses; everything else reaches
it as account news (the limit's fill, a stop's trigger). Ticked on every candle it does nothing on the other
candles, so both versions must give the same fills, order events and equity: in a backtest with the run
database, and under live optimization (every virtual exchange, every selection), while the scheduled one
is ticked on a small share of the candles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kektrade.control.facade import RunController
from kektrade.persistence.database import open_run_database
from tests.engine.kit import REPO, config, run

STRATEGY = '''
import numpy as np

from kektrade.strategy.base import OptimizeableStrategy


class CrossBracket(OptimizeableStrategy):
    def get_search_space(self):
        return {"fast": [5, 9], "slow": [20, 40], "stop": [0.004, 0.01]}

    def populate_indicators(self, dataframe, metadata, parameters):
        for n in sorted(set(parameters["fast"]) | set(parameters["slow"])):
            dataframe[f"sma{n}"] = dataframe["close"].rolling(n).mean()
        return dataframe

    def crosses(self, dataframe, parameter):
        diff = (dataframe[f"sma{parameter['fast']}"] - dataframe[f"sma{parameter['slow']}"]).to_numpy()
        up, down = np.zeros(len(diff), dtype=bool), np.zeros(len(diff), dtype=bool)
        up[1:] = (diff[:-1] <= 0) & (diff[1:] > 0)
        down[1:] = (diff[:-1] >= 0) & (diff[1:] < 0)
        return up, down

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        variables["ticks"] = variables.get("ticks", 0) + 1
        c = self.c
        fast, slow = c[f"sma{parameter['fast']}"], c[f"sma{parameter['slow']}"]
        close = c.close[index]
        if index > 0:
            before, now = fast[index - 1] - slow[index - 1], fast[index] - slow[index]
            if before <= 0 < now and account.contracts == 0:
                account.cancel_all_orders()
                account.open_order("limit", 0.01, price=round(close * 0.9995, 1))
            elif before >= 0 > now:
                account.cancel_all_orders()
                if account.contracts:
                    account.close_position()
        if account.contracts > 0 and not account.get_open_orders():  # filled since: bracket it
            entry = account.get_position().entry_price
            stop = round(entry * (1 - parameter["stop"]), 1)
            account.open_order("stop_market", -account.contracts, trigger_price=stop, reduce_only=True)
            account.open_order("take_profit_market", -account.contracts,
                               trigger_price=round(entry * (1 + 2 * parameter["stop"]), 1), reduce_only=True)
        elif account.contracts == 0 and len(account.get_open_orders()) == 1:  # one leg of the bracket left
            order = account.get_open_orders()[0]
            if order.reduce_only:
                account.cancel_order(order.id)


class CrossBracketScheduled(CrossBracket):
    def tick_on(self, dataframe, parameter):
        up, down = self.crosses(dataframe, parameter)
        return up | down
'''

PARAMETERS = {"fast": 5, "slow": 20, "stop": 0.004}


def sub(strategy: str, **extra: Any) -> dict[str, Any]:
    return {"id": "x", "strategy": strategy, "pair": "BTC/USDT:USDT", "timeframe": "1m", "leverage": 5, **extra}


def backtest(folder: Path, strategy: str, **extra: Any) -> RunController:
    folder.mkdir()
    cfg = config(folder, [sub(strategy, **extra)])
    (Path(cfg.strategies_dir) / "cross.py").write_text(STRATEGY)
    return run(folder, cfg)


def order_events(controller: RunController) -> list[tuple[Any, ...]]:
    controller.close()
    db = open_run_database(controller.paths.db_path)
    try:
        return [(r.time_ms, r.event, r.order.id, r.order.status, r.order.filled) for r in db.order_events("x")]
    finally:
        db.close()


def test_a_scheduled_backtest_trades_exactly_like_ticking_every_candle(tmp_path: Path) -> None:
    every = backtest(tmp_path / "every", "CrossBracket", parameters=PARAMETERS)
    sched = backtest(tmp_path / "sched", "CrossBracketScheduled", parameters=PARAMETERS)
    a, b = every.session.instances[0], sched.session.instances[0]
    assert len(a.venue.fills) > 20, "the scenario must trade"
    assert b.venue.fills == a.venue.fills
    assert (b.times_ms, b.equity) == (a.times_ms, a.equity)
    candles = a.length - a.first_index
    assert a.variables["ticks"] == candles
    assert b.variables["ticks"] < candles / 5  # crosses and account news only
    assert order_events(sched) == order_events(every)


def test_live_optimization_with_a_schedule_scores_and_selects_like_every_candle(tmp_path: Path) -> None:
    opt = {"enabled": True, "reoptimize_every": "6h", "lookback": "12h", "objective": "return", "min_trades": 0,
           "workers": 1}
    every = backtest(tmp_path / "every", "CrossBracket", optimization=opt)
    sched = backtest(tmp_path / "sched", "CrossBracketScheduled", optimization=opt)
    oa, ob = every.session.optimizers[0], sched.session.optimizers[0]
    assert len(oa.selections) >= 3
    assert ob.selections == oa.selections
    assert ob._final == oa._final
    assert sched.session.instances[0].venue.fills == every.session.instances[0].venue.fills
    every.close()
    sched.close()


def test_the_shipped_sma_rsi_strategy_trades_the_same_with_and_without_its_schedule(tmp_path: Path) -> None:
    """``SmaRsiStrategy.tick_on`` selects its crosses; under live optimization (every combination of the
    seed's space) the same selections, fills and equity as ticking every candle, with far fewer ticks."""
    source = (REPO / "strategies" / "sma_rsi.py").read_text()
    every_candle = "\n\nclass SmaRsiEveryCandle(SmaRsiStrategy):\n    def tick_on(self, dataframe, parameter):\n" \
        "        return None\n"
    opt = {"enabled": True, "reoptimize_every": "12h", "lookback": "1d", "objective": "return", "min_trades": 0,
           "workers": 1}
    runs = {}
    for name in ("SmaRsiStrategy", "SmaRsiEveryCandle"):
        folder = tmp_path / name
        folder.mkdir()
        cfg = config(folder, [sub(name, leverage=1, optimization=opt)],
                     data={"source": "synthetic", "synthetic": {"seed": 11, "start": "2024-01-01", "days": 4}})
        (Path(cfg.strategies_dir) / "sma_rsi.py").write_text(source + every_candle)
        runs[name] = run(folder, cfg)
    sched, every = runs["SmaRsiStrategy"].session, runs["SmaRsiEveryCandle"].session
    assert len(every.instances[0].venue.fills) >= 4
    assert sched.instances[0].venue.fills == every.instances[0].venue.fills
    assert sched.optimizers[0].selections == every.optimizers[0].selections
    assert sched.optimizers[0]._final == every.optimizers[0]._final
    for controller in runs.values():
        controller.close()
