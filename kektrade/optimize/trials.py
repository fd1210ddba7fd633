"""Virtual exchanges: every parameter combination trading on its own simulated subaccount.

A ``TrialSpec`` is everything needed to run combinations and is picklable (an executor on another
machine can rebuild the book from it). The candle frame and arrays are shared by every combination of a
book: one copy per process, never one per combination.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kektrade.analysis.trades import TripBuilder
from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import MarginMode
from kektrade.engine import kernel
from kektrade.engine.venues import simulated_venue
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from kektrade.strategy.base import Strategy
from kektrade.strategy.schedule import ScheduleCache


@dataclass
class TrialSpec:
    """Inputs of the virtual exchanges of one instance (same venue rules as the real subaccount)."""

    strategy: Strategy
    frame: pd.DataFrame
    arrays: MarketArrays
    spec: ContractSpec
    settings: SimSettings
    initial_balance: float
    leverage: float
    margin_mode: MarginMode | str
    funding_rate: float | None
    first_index: int
    metadata: dict[str, Any]
    combos: list[dict[str, Any]]
    sample_ms: int
    builder: str = "sim"  # the real subaccount's venue builder (domain/venues.py): the same simulator
    realistic: dict[str, Any] | None = None


@dataclass
class BookUpdate:
    """What a book reports after advancing: new equity samples and closed-trade PnLs per combination."""

    sample_times_ms: list[int]
    equity: dict[int, list[float]]
    closes: dict[int, list[tuple[int, float]]]
    failed: dict[int, str] = field(default_factory=dict)


class VirtualBook:
    """Runs a subset of the combinations, each on its own SimExchange, candle by candle."""

    def __init__(self, spec: TrialSpec, combo_ids: list[int]) -> None:
        self.spec = spec
        self.ids = combo_ids
        self.venues = {k: self._venue() for k in combo_ids}
        self.failed: dict[int, str] = {}
        self.next_index = spec.first_index
        self._trips = {k: TripBuilder() for k in combo_ids}  # round trips, as the results table counts them
        self._next_sample = 0
        self.metadata = dict(spec.metadata, mode="trial", is_trial=True, is_backtest=False, is_live=False)
        self.lanes = {k: TrialLane(self, k) for k in combo_ids}

    @property
    def variables(self) -> dict[int, dict[str, Any]]:
        """Each combination's strategy variables."""
        return {k: lane.variables for k, lane in self.lanes.items()}

    def _venue(self) -> SimExchange:
        s = self.spec
        return simulated_venue(
            s.builder,
            s.spec,
            s.arrays,
            realistic=s.realistic,
            initial_balance=s.initial_balance,
            leverage=s.leverage,
            margin_mode=s.margin_mode,
            settings=s.settings,
            journal=None,
            subaccount_id="virtual",
            funding_rate=s.funding_rate,
        )

    def sample_indices(self, start: int, stop: int) -> list[int]:
        """Candles whose close is an equity sample (every ``sample_ms`` of market time, and the last)."""
        times, tf = self.spec.arrays.time_ms, self.spec.arrays.timeframe_ms
        picks, nxt = [], self._next_sample
        for i in range(start, stop):
            close_ms = times[i] + tf
            if close_ms >= nxt:
                picks.append(i)
                nxt = close_ms - close_ms % self.spec.sample_ms + self.spec.sample_ms
        self._next_sample = nxt
        return picks

    def advance(self, stop: int) -> BookUpdate:
        """Run every combination of this book up to candle ``stop`` (exclusive)."""
        start = self.next_index
        stop = min(stop, len(self.spec.arrays))
        # samples on the regular grid only: scores must not depend on how the engine chunks time
        samples = self.sample_indices(start, stop) if stop > start else []
        tf = self.spec.arrays.timeframe_ms
        update = BookUpdate([self.spec.arrays.time_ms[i] + tf for i in samples], {}, {})
        for k in self.ids:
            update.equity[k] = self._run_combo(k, start, stop, samples)
            update.closes[k] = self._closes(k)
        update.failed = dict(self.failed)
        self.next_index = max(stop, start)
        return update

    def _run_combo(self, k: int, start: int, stop: int, samples: list[int]) -> list[float]:
        lane = self.lanes[k]
        lane.out = []
        kernel.advance(lane, stop)
        assert len(lane.out) == len(samples), "every combination samples the book's grid"
        return lane.out

    def _closes(self, k: int) -> list[tuple[int, float]]:
        """(exit time, net PnL) of the round trips the new fills closed (the results table's trades); the venue
        then drops its fills.

        A virtual exchange keeps no fill history: scoring needs only these pairs, and a fill list growing
        with the run was most of a sweep's memory (thousands of fills per combination).
        """
        fills = self.venues[k].fills
        out = self._trips[k].feed_closes(fills)
        fills.clear()
        return out

    def final_equity(self) -> dict[int, float]:
        """Each combination's equity at the last simulated candle."""
        return {k: v.equity() for k, v in self.venues.items()}


class TrialLane:
    """One combination of a book as a kernel lane: its venue, variables and equity samples."""

    def __init__(self, book: VirtualBook, k: int) -> None:
        self.book, self.k = book, k
        self.venue = book.venues[k]
        self.account = self.venue
        self.metadata = book.metadata
        self.parameter = book.spec.combos[k]
        self.variables: dict[str, Any] = {}
        self.next_index = book.spec.first_index
        self.next_sample_ms = 0
        self.out: list[float] = []
        self._schedule = ScheduleCache()
        tf, every = book.spec.arrays.timeframe_ms, book.spec.sample_ms
        self._tf, self._every = tf, every

    @property
    def frame(self) -> pd.DataFrame:
        """The book's indicator frame (live runs replace it as candles arrive)."""
        return self.book.spec.frame

    @property
    def ticking(self) -> bool:
        """A combination that raised is out of the running."""
        return self.k not in self.book.failed

    def tick_function(self) -> Any:
        """The strategy's bound tick."""
        return self.book.spec.strategy.tick

    def schedule(self) -> Sequence[int] | None:
        """The candles the strategy's ``tick_on`` selects for this combination (None: every candle)."""
        return self._schedule.get(self.book.spec.strategy, self.book.spec.frame, self.parameter)

    def sample(self, i: int) -> int:
        """Equity at the close of candle i (NaN once failed); the next sample is due on the regular grid."""
        self.out.append(self.venue.equity() if self.k not in self.book.failed else math.nan)
        close_ms = self.venue.market.time_ms[i] + self._tf
        return close_ms - close_ms % self._every + self._every - self._tf

    def fail(self, i: int, exc: BaseException) -> None:
        """Drop the combination from the ranking."""
        self.book.failed[self.k] = f"{type(exc).__name__}: {exc}"
