"""Kit for strategy tests: load a shipped strategy, run it on candle rows through a real SimExchange."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from kektrade.data.market import MarketData, ms_to_dates
from kektrade.domain.journal import MemoryJournal, OrderRecorded
from kektrade.domain.specs import builtin_spec
from kektrade.engine.build import market_arrays
from kektrade.engine.instance import StrategyInstance
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from kektrade.strategy.base import Strategy
from kektrade.strategy.columns import Columns
from kektrade.strategy.loader import load_strategy_class

STRATEGIES_DIR = Path(__file__).resolve().parents[2] / "strategies"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE = 60_000


def load(name: str) -> Strategy:
    """A fresh instance of a shipped strategy, loaded the way the engine loads it."""
    return load_strategy_class(name, STRATEGIES_DIR)()


def module_of(strategy: Strategy) -> ModuleType:
    """The module a loaded strategy was defined in (for its helper functions)."""
    return sys.modules[type(strategy).__module__]


def frame(rows: Sequence[Sequence[float]], tf: int = MINUTE) -> pd.DataFrame:
    """A candle frame from (open, high, low, close) rows; candle k opens at T0 + k * tf."""
    times = [T0 + k * tf for k in range(len(rows))]
    return pd.DataFrame(
        {
            "date": ms_to_dates(pd.Series(times).to_numpy()),
            "open": [float(r[0]) for r in rows],
            "high": [float(r[1]) for r in rows],
            "low": [float(r[2]) for r in rows],
            "close": [float(r[3]) for r in rows],
            "volume": [1.0] * len(rows),
        }
    )


def arrays(candles: pd.DataFrame, tf: int = MINUTE) -> MarketArrays:
    """The simulator's market arrays for a candle frame (no funding)."""
    return MarketArrays(
        time_ms=[T0 + k * tf for k in range(len(candles))],
        open=candles["open"].tolist(),
        high=candles["high"].tolist(),
        low=candles["low"].tolist(),
        close=candles["close"].tolist(),
        timeframe_ms=tf,
    )


@dataclass
class Run:
    """A strategy wired to a simulated venue, stepped like the engine does; records order events."""

    strategy: Strategy
    frame: pd.DataFrame
    venue: SimExchange
    parameter: dict[str, Any]
    journal: MemoryJournal
    variables: dict[str, Any] = field(default_factory=dict)
    next_index: int = 0
    log: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)

    def step(self, i: int) -> None:
        """Simulate candle i, then call the strategy's tick for it; ``log[i]`` gets the order events."""
        before = len(self.journal.records)
        self.venue.step(i)
        self.strategy.tick(
            self.frame, i, {"pair": self.venue.spec.symbol}, self.parameter, self.variables, self.venue
        )
        self.next_index = i + 1
        self.log[i] = [brief(e) for e in self.events(before)]

    def until(self, stop: int) -> None:
        """Step candles [next_index, stop)."""
        for i in range(self.next_index, stop):
            self.step(i)

    def events(self, since: int = 0) -> list[OrderRecorded]:
        """Order events recorded after the first ``since`` records."""
        return [r for r in self.journal.records[since:] if isinstance(r, OrderRecorded)]


def brief(event: OrderRecorded) -> tuple[Any, ...]:
    """(event, type, signed contracts, limit price, trigger price, reduce-only) of an order event."""
    o = event.order
    return (event.event, o.type.value, o.contracts, o.price, o.trigger_price, o.reduce_only)


def prepared(strategy: Strategy, candles: pd.DataFrame, parameter: Mapping[str, Any]) -> pd.DataFrame:
    """populate_indicators for the one parameter set, then bind the columns (as the engine does)."""
    space = {k: [v] for k, v in parameter.items()}
    out = strategy.populate_indicators(candles.copy(), {}, space)
    strategy.bind_columns(Columns(out))
    return out


def make_run(
    name: str,
    rows: Sequence[Sequence[float]],
    parameter: Mapping[str, Any],
    symbol: str = "BTC/USDT:USDT",
    balance: float = 100_000.0,
    leverage: float = 1.0,
    venue_cls: type[SimExchange] = SimExchange,
    **venue_kw: Any,
) -> Run:
    """Load strategy ``name`` and wire it to a SimExchange over ``rows``."""
    strategy = load(name)
    candles = prepared(strategy, frame(rows), parameter)
    spec = builtin_spec(symbol)
    assert spec is not None
    journal = MemoryJournal()
    venue = venue_cls(
        spec,
        arrays(candles),
        initial_balance=balance,
        leverage=leverage,
        journal=journal,
        settings=SimSettings(),
        **venue_kw,
    )
    return Run(strategy, candles, venue, dict(parameter), journal)


def synthetic_instance(
    name: str,
    data: MarketData,
    parameter: Mapping[str, Any],
    tf: int,
    balance: float,
    leverage: float,
    margin_mode: str = "isolated",
) -> StrategyInstance:
    """A StrategyInstance over synthetic data, built like the engine builds one (journal attached)."""
    strategy = load(name)
    candles = prepared(strategy, data.candles.copy(), parameter)
    spec = builtin_spec(data.pair)
    assert spec is not None
    venue = SimExchange(
        spec,
        market_arrays(candles, data, tf),
        initial_balance=balance,
        leverage=leverage,
        margin_mode=margin_mode,
        journal=MemoryJournal(),
    )
    return StrategyInstance(
        "smoke", strategy, candles, venue, parameter, {"pair": data.pair}, strategy.startup_candle_count
    )


def engine_run(name: str, rows: Sequence[Sequence[float]], parameter: Mapping[str, Any], **kw: Any) -> Run:
    """Like ``make_run``, but stepped by the engine's StrategyInstance (``advance``), not a plain loop."""
    run = make_run(name, rows, parameter, **kw)
    inst = StrategyInstance("test", run.strategy, run.frame, run.venue, run.parameter, {}, 0)
    inst.variables = run.variables
    inst.advance(len(rows))
    run.next_index = len(rows)
    return run
