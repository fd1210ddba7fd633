"""Tick schedules: the candles a strategy asked to be ticked on (``Strategy.tick_on``), as sorted indices.

A strategy that acts only on some candles (a crossing, a breakout, a session open) returns a boolean
column from ``tick_on``; the kernel then steps the venue through the other candles without calling
``tick`` (the simulator does that in compiled code), except on a candle where the venue changed the
account's orders or position (a fill, a trigger, a venue-side cancel, a liquidation): ``tick`` runs there
too. ``None`` (the default) ticks every candle.

The schedule is computed per (frame, parameter set): once per virtual exchange of a sweep and again when a
live run's frame or the optimizer's pick changes (``ScheduleCache``).
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from kektrade.strategy.base import Strategy


class ScheduleError(ValueError):
    """``tick_on`` returned something that is not one boolean per candle of the frame."""


def tick_schedule(strategy: Strategy, frame: pd.DataFrame, parameter: Mapping[str, Any]) -> array[int] | None:
    """Sorted indices of the candles ``strategy.tick_on`` selects on ``frame``; None: every candle.

    Refused, naming the strategy and what is wrong: a result of another length than the frame, values
    that are not booleans (or 0/1), missing values (a NaN in a comparison's input is False there, not NA).
    """
    mask = strategy.tick_on(frame, parameter)
    if mask is None:
        return None
    name = type(strategy).__name__
    values = mask.to_numpy() if hasattr(mask, "to_numpy") else np.asarray(mask)
    if values.ndim != 1 or len(values) != len(frame):
        got = f"{len(values)} values" if values.ndim == 1 else f"an array of shape {values.shape}"
        raise ScheduleError(
            f"{name}.tick_on returned {got} for a frame of {len(frame)} candles: return one boolean per "
            "candle (a column of the frame), or None to tick on every candle"
        )
    if values.dtype.kind != "b":
        if values.dtype.kind in "iuf":
            wrong = ~np.isin(values, (0, 1))
        else:  # objects (a nullable or mixed column): booleans and 0/1 only, NA is a decision not taken
            wrong = np.array([not _is_boolean(v) for v in values], dtype=bool)
        if wrong.any():
            bad = int(np.flatnonzero(wrong)[0])
            raise ScheduleError(
                f"{name}.tick_on: candle {bad} is {_plain(values[bad])!r}, not a boolean (missing values must be "
                "decided: fillna(False) ticks there only on account events, fillna(True) ticks there)"
            )
        values = values.astype(bool)
    out: array[int] = array("q")
    out.frombytes(np.flatnonzero(values).astype(np.int64).tobytes())
    return out


def _is_boolean(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return True
    return isinstance(value, int | float | np.integer | np.floating) and value in (0, 1)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (for messages)."""
    item = getattr(value, "item", None)
    return item() if item is not None else value


class ScheduleCache:
    """A lane's schedule, recomputed only when its frame or parameter set is another object."""

    __slots__ = ("_frame", "_parameter", "_schedule")

    def __init__(self) -> None:
        self._frame: Any = None
        self._parameter: Any = None
        self._schedule: array[int] | None = None

    def get(self, strategy: Strategy, frame: pd.DataFrame, parameter: Mapping[str, Any]) -> array[int] | None:
        """The schedule for ``frame`` and ``parameter`` (cached by identity: both are replaced, not mutated)."""
        if frame is not self._frame or parameter is not self._parameter:
            self._schedule = tick_schedule(strategy, frame, parameter)
            self._frame, self._parameter = frame, parameter
        return self._schedule
