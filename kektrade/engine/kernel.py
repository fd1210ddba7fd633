"""The candle kernel: the one routine that advances a strategy on a venue by closed candles.

Every run kind goes through it — backtests (replayed candles), paper and live runs (polled candles) and
each virtual exchange of the live optimizer — so a rule fixed here is fixed for all of them. For each
candle ``i`` in order:

1. ``venue.step(i)``: the venue lives through candle i (simulator: funding, liquidation and fills of
   orders placed before i along the candle's price path; live account: re-read once it closed);
2. the strategy's ``tick`` for candle i, unless the lane is not ticking (paused, standing aside, failed)
   — orders it places can only match from candle i + 1 on: no look-ahead by construction. A strategy
   with a tick schedule (``Strategy.tick_on``) is ticked only on the candles it selected and on those
   where the venue changed the account (``venue.step_to`` steps the candles in between and stops at
   such a change);
3. an equity sample when candle i's open time reached the lane's next sample time.

A strategy exception never escapes: the lane's ``fail`` decides what it means (an instance pauses, a
virtual exchange drops out of the ranking) and the kernel stops ticking that lane for the rest of the call.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any, Protocol


class Lane(Protocol):
    """What the kernel needs of something it advances (a real instance or one virtual exchange)."""

    venue: Any
    metadata: dict[str, Any]
    parameter: dict[str, Any]
    variables: dict[str, Any]
    account: Any  # what tick receives as ``account`` (the venue, or a guard in front of it)
    next_index: int
    next_sample_ms: int  # open time at or after which the next equity sample is due

    @property
    def frame(self) -> Any:
        """The indicator frame handed to tick."""

    @property
    def ticking(self) -> bool:
        """Whether the strategy's tick is called."""

    def tick_function(self) -> Any:
        """The strategy's bound ``tick``."""

    def schedule(self) -> Sequence[int] | None:
        """Sorted candle indices the strategy asked to be ticked on (``Strategy.tick_on``); None: all."""

    def sample(self, i: int) -> int:
        """Record an equity sample at the close of candle i; returns the next sample's due open time."""

    def fail(self, i: int, exc: BaseException) -> None:
        """The strategy raised at candle i (called inside the ``except`` block)."""


def advance(lane: Lane, stop: int) -> int:
    """Run candles [lane.next_index, stop) through venue step, tick and sampling; returns how many ran.

    The candles run in segments that end at the next candle whose equity sample is due (found by bisection
    on the sorted open times), so the per-candle loop is just step and tick: no time read or comparison.
    """
    start = i = lane.next_index
    if i >= stop:
        return 0
    step = lane.venue.step
    times = lane.venue.market.time_ms
    tf = lane.venue.market.timeframe_ms
    tick = lane.tick_function()
    frame, metadata, parameter, variables, account = (
        lane.frame,
        lane.metadata,
        lane.parameter,
        lane.variables,
        lane.account,
    )
    ticking = lane.ticking
    next_sample = lane.next_sample_ms
    schedule: Sequence[int] | None = None
    if ticking:
        try:
            schedule = lane.schedule()
        except Exception as exc:  # a broken tick_on is a strategy bug like a tick that raises
            lane.fail(i, exc)
            ticking = False
    try:
        while i < stop:
            due = first_due(times, next_sample, i, stop, tf)  # the first candle whose sample is due (stop: none)
            last = min(due + 1, stop)  # this segment: candles [i, last), the due one included
            if ticking and schedule is not None:
                i, ticking = _scheduled(lane, schedule, i, last, tick, (frame, metadata, parameter, variables, account))
            elif ticking:
                for i in range(i, last):  # noqa: B020 - i is the pending candle if step raises
                    step(i)  # compiled: an idle candle costs a few comparisons
                    try:
                        tick(frame, i, metadata, parameter, variables, account)
                    except Exception as exc:  # a strategy bug stops this lane's ticks only
                        lane.fail(i, exc)
                        ticking = False
                        break
                i += 1
            if not ticking:  # the rest of the segment (all of it for a lane that is not ticking)
                for i in range(i, last):  # noqa: B020
                    step(i)
                i = last
            if due < stop:
                next_sample = lane.sample(due)
    except BaseException:  # a venue that raised in step_to: the candles before the one that raised are done
        if schedule is not None:
            i = max(i, lane.venue.candle_index + 1)
        raise
    finally:  # a venue that raised in step(i) leaves candle i pending: never processed twice
        lane.next_index = i
        lane.next_sample_ms = next_sample
    return i - start


def _scheduled(
    lane: Lane, schedule: Sequence[int], i: int, last: int, tick: Any, args: tuple[Any, ...]
) -> tuple[int, bool]:
    """Candles [i, last) of a lane with a tick schedule: ``step_to`` crosses the unselected candles, stopping
    where the venue changed the account; tick runs there and on each selected candle. Returns (the next
    candle, still ticking): after a tick raised, the one after it (``advance`` steps the rest)."""
    step, step_to = lane.venue.step, lane.venue.step_to
    frame, metadata, parameter, variables, account = args
    k, n = bisect_left(schedule, i), len(schedule)
    while i < last:
        wanted = schedule[k] if k < n and schedule[k] < last else last
        j = step_to(i, wanted) if i < wanted else wanted  # the first candle with account news, or wanted
        if j == last:
            return last, True
        if j == wanted:
            step(j)
        i = j + 1
        try:
            tick(frame, j, metadata, parameter, variables, account)
        except Exception as exc:  # as in advance: the lane stops ticking
            lane.fail(j, exc)
            return i, False
        while k < n and schedule[k] < i:
            k += 1
    return i, True


def first_due(times: Any, due_ms: int, lo: int, hi: int, tf: int) -> int:
    """The first index in [lo, hi) whose open time is at or after ``due_ms`` (``hi``: none), as ``bisect_left``.

    Candles are usually one timeframe apart: the index is guessed from the time and checked with two reads
    (a bisection over an ``array.array`` reads ~20); gaps fall back to the bisection.
    """
    if lo >= hi:
        return hi
    first = times[lo]
    if first >= due_ms:
        return lo
    guess = lo + (due_ms - first + tf - 1) // tf if tf > 0 else hi
    if lo < guess < hi and times[guess - 1] < due_ms <= times[guess]:
        return guess
    if guess >= hi and times[hi - 1] < due_ms:
        return hi
    return bisect_left(times, due_ms, lo, hi)
