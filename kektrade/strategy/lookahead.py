"""Look-ahead checks of a strategy: does anything it computes or decides at candle i depend on later candles?

Four probes, each naming what it found and the first candle:

- **reads**: while ``tick`` runs for candle i, every column read through ``self.c`` is watched; reading
  an element after i (``self.c.close[index + 1]``, ``close[-1]``, a slice past i, iterating a column)
  is look-ahead. Exact, and one pass over the ticked candles.
- **indicators**: the candles after a cut i are replaced by a mirror image of their path (price p
  becomes close_i² / p, volume reversed) and ``populate_indicators`` runs again; any indicator value at
  a candle <= i that changes is look-ahead (``shift(-1)``, centred windows, normalising by the whole
  column, back-filling, ...).
- **schedule**: on that replaced frame, ``tick_on`` (the candles a strategy asks to be ticked on) must
  select the same candles up to the cut.
- **decisions**: ``tick`` runs on that replaced frame up to the cut; every order call (open, edit,
  cancel, close, leverage, margin) at a candle <= i must equal the call on the real frame. This catches
  look-ahead through the ``dataframe`` argument, which the read probe does not watch.

The cuts are sampled evenly over the traded candles, so the check costs a few indicator passes and a
bounded number of ticks. Warm-up (recursive indicators) is kektrade.strategy.warmup.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kektrade.strategy.base import Strategy
from kektrade.strategy.columns import Columns
from kektrade.strategy.schedule import tick_schedule

#: account methods whose calls are order decisions (recorded and compared)
DECISIONS = frozenset(
    {"open_order", "edit_order", "cancel_order", "cancel_all_orders", "close_position", "set_leverage",
     "set_margin_mode", "add_margin"}
)  # fmt: skip
PRICES = (("open", "high", "low", "close"), ("mark_open", "mark_high", "mark_low", "mark_close"))


@dataclass(frozen=True, slots=True)
class Finding:
    """One look-ahead: what (column or decision), where (the first candle) and how it was seen."""

    kind: str  # "read" | "indicator" | "schedule" | "decision" | "error"
    name: str
    candle: int
    time: str
    detail: str


@dataclass
class Subject:
    """What the checks run: a populated strategy, its raw candles and how to trade them."""

    strategy: Strategy  # populate_indicators already ran on ``frame`` (state it set is kept)
    frame: pd.DataFrame  # the candles with the strategy's indicators, one row per candle
    raw_columns: list[str]  # the candle columns (date, OHLCV, mark prices) of ``frame``
    metadata: dict[str, Any]
    space: dict[str, list[Any]]
    first_index: int
    venue_factory: Callable[[], Any]  # a fresh simulated venue over the same candles
    parameters: list[dict[str, Any]] = field(default_factory=list)  # parameter sets to tick with

    def times_ms(self) -> list[int]:
        """Open time of every candle in milliseconds."""
        return pd.DatetimeIndex(self.frame["date"]).as_unit("ms").asi8.tolist()

    def indicator_columns(self) -> list[str]:
        """Columns the strategy added (numeric or boolean)."""
        raw = set(self.raw_columns)
        return [str(c) for c in self.frame.columns if c not in raw and self.frame[c].dtype.kind in "fiub"]


class _Clock:
    __slots__ = ("index", "reads")

    def __init__(self) -> None:
        self.index = -1  # the candle being ticked; -1 outside tick
        self.reads: dict[str, tuple[int, int]] = {}  # column -> (candle, element read), first only


class _Watched:
    """A column that notes the first read past the candle being ticked."""

    __slots__ = ("clock", "name", "values")

    def __init__(self, name: str, values: Any, clock: _Clock) -> None:
        self.name, self.values, self.clock = name, values, clock

    def _note(self, element: int) -> None:
        i = self.clock.index
        if 0 <= i < element and self.name not in self.clock.reads:
            self.clock.reads[self.name] = (i, element)

    def __getitem__(self, key: Any) -> Any:
        n = len(self.values)
        if isinstance(key, slice):
            picked = range(*key.indices(n))
            if len(picked) > 0:
                self._note(max(picked[0], picked[-1]))
        else:
            self._note(int(key) if key >= 0 else n + int(key))
        return self.values[key]

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[Any]:
        self._note(len(self.values) - 1)
        return iter(self.values)


class _WatchedColumns(Columns):
    __slots__ = ("_clock",)
    _keep_attributes = False  # every read goes through __getitem__, so it is watched

    def __init__(self, source: Any, clock: _Clock) -> None:
        super().__init__(source)
        self._clock = clock

    def __getitem__(self, name: str) -> Any:
        return _Watched(name, super().__getitem__(name), self._clock)


class _Recorder:
    """The venue as the strategy sees it, recording every order decision with its candle."""

    def __init__(self, venue: Any, clock: _Clock) -> None:
        self._venue, self._clock = venue, clock
        self.calls: list[tuple[int, str]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._venue, name)
        if name not in DECISIONS:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((self._clock.index, _describe(name, args, kwargs)))
            return attr(*args, **kwargs)

        return call


def _describe(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    def text(value: Any) -> str:
        return f"{value:.10g}" if isinstance(value, float) else str(getattr(value, "value", value))

    parts = [text(a) for a in args] + [f"{k}={text(v)}" for k, v in sorted(kwargs.items())]
    return f"{name}({', '.join(parts)})"


@dataclass
class TickRun:
    """The order decisions of one run and the first exception (candle, text), if any."""

    calls: list[tuple[int, str]]
    reads: dict[str, tuple[int, int]]
    error: tuple[int, str] | None


def run_ticks(
    subject: Subject, strategy: Strategy, frame: pd.DataFrame, parameter: dict[str, Any], stop: int
) -> TickRun:
    """Tick ``strategy`` on a fresh venue from the first traded candle to ``stop``, watching reads and decisions;
    a strategy with a tick schedule is ticked where the kernel would tick it (selected candles, account news)."""
    clock = _Clock()
    strategy.bind_columns(_WatchedColumns(frame, clock))
    venue = subject.venue_factory()
    account = _Recorder(venue, clock)
    variables: dict[str, Any] = {}
    metadata = dict(subject.metadata)
    try:
        schedule = tick_schedule(strategy, frame, parameter)
    except Exception as exc:  # reported as a finding by the caller
        return TickRun([], {}, (subject.first_index, f"{type(exc).__name__} in tick_on: {exc}"))
    wanted = set(schedule) if schedule is not None else None
    for i in range(subject.first_index, stop):
        news = venue.step_to(i, i + 1) == i  # as the kernel: ticked when selected or when the account changed
        if wanted is not None and i not in wanted and not news:
            continue
        clock.index = i
        try:
            strategy.tick(frame, i, metadata, parameter, variables, account)
        except Exception as exc:  # reported as a finding by the caller
            return TickRun(account.calls, clock.reads, (i, f"{type(exc).__name__}: {exc}"))
        finally:
            clock.index = -1
    return TickRun(account.calls, clock.reads, None)


def mirror_after(frame: pd.DataFrame, cut: int, tail: int | None = None) -> pd.DataFrame:
    """The raw candles with every candle after ``cut`` replaced by the mirror image of its path.

    ``tail`` keeps only that many candles after the cut (a cheaper frame: values up to the cut cannot
    depend on how many candles follow, unless the strategy looks ahead).
    """
    out = frame.iloc[: cut + 1 + tail].copy() if tail is not None else frame.copy()
    for group in PRICES:
        if not all(c in out.columns for c in group):
            continue
        pivot = float(out[group[3]].iloc[cut])
        o, h, lo, c = (out[name].to_numpy(dtype="float64").copy() for name in group)
        after = slice(cut + 1, None)
        sq = pivot * pivot
        o[after], h[after], lo[after], c[after] = sq / o[after], sq / lo[after], sq / h[after], sq / c[after]
        for name, values in zip(group, (o, h, lo, c), strict=True):
            out[name] = values
    if "volume" in out.columns:
        vol = out["volume"].to_numpy(dtype="float64").copy()
        vol[cut + 1 :] = vol[cut + 1 :][::-1]
        out["volume"] = vol
    return out


def cut_points(first: int, last: int, count: int) -> list[int]:
    """``count`` candles spread evenly over [first, last] (deterministic)."""
    if last < first or count <= 0:
        return []
    return sorted({round(x) for x in np.linspace(first, last, count + 2)[1:-1]} or {first})


def isolated(strategy: Strategy) -> Strategy:
    """A deep copy of ``strategy`` sharing only its bound columns: the checks' ticks must not touch the
    state of the strategy the run trades with (even one that, against the docs, keeps state on ``self``)."""
    columns = getattr(strategy, "c", None)
    try:
        return copy.deepcopy(strategy, {id(columns): columns} if columns is not None else {})
    except Exception:  # an attribute that cannot be copied (a lock, a module): share it, as a last resort
        return copy.copy(strategy)


def populate_copy(subject: Subject, candles: pd.DataFrame) -> tuple[Strategy, pd.DataFrame]:
    """A copy of the strategy and its indicators over ``candles`` (the subject's own stay untouched)."""
    strategy = isolated(subject.strategy)
    frame = strategy.populate_indicators(candles.copy(), dict(subject.metadata), subject.space)
    return strategy, frame


def first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    """Index of the first element where two columns differ (NaN equals NaN; 1e-9 relative), or None."""
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        x, y = a.astype("float64"), b.astype("float64")
        same = np.isclose(x, y, rtol=1e-9, atol=1e-12) | (np.isnan(x) & np.isnan(y))
    else:
        same = a == b
    bad = np.flatnonzero(~same)
    return int(bad[0]) if len(bad) else None
