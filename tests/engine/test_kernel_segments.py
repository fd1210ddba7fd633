"""The candle kernel runs candles in segments between equity samples; the order of events must not change.

Reference: the rule of engine/kernel.py's docstring written out candle by candle (step, tick unless the lane
stopped ticking, a sample once the candle's open time reached the next due time). Both run the same lanes
(samples every candle, every few candles or never; a tick that raises; a venue that raises; advancing in
chunks of any size) and must produce the identical event log and lane state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kektrade.engine import kernel

TF = 60_000


class Boom(Exception):
    """A venue failure (propagates out of the kernel)."""


@dataclass
class FakeMarket:
    time_ms: list[int]
    timeframe_ms: int = TF


@dataclass
class FakeVenue:
    log: list[tuple[str, int]]
    market: FakeMarket
    raise_at: int = -1
    news_at: frozenset[int] = frozenset()  # candles on which the venue changes the account
    candle_index: int = -1

    def step(self, i: int) -> None:
        if i == self.raise_at:
            self.raise_at = -1  # once: the retried candle goes through
            raise Boom(i)
        self.log.append(("step", i))
        self.candle_index = i

    def step_to(self, i: int, end: int) -> int:
        for j in range(i, end):
            self.step(j)
            if j in self.news_at:
                return j
        return end


@dataclass
class FakeLane:
    venue: FakeVenue
    sample_every: int  # candles between samples; 0: every candle ("candle" sampling)
    fail_at: int = -1
    next_index: int = 0
    next_sample_ms: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    parameter: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    account: Any = None
    frame: Any = None
    ticking: bool = True
    failed_at: int | None = None
    ticks_on: list[int] | None = None  # the strategy's tick schedule (None: every candle)

    def schedule(self) -> list[int] | None:
        return self.ticks_on

    def tick_function(self) -> Any:
        def tick(frame: Any, i: int, metadata: Any, parameter: Any, variables: Any, account: Any) -> None:
            self.venue.log.append(("tick", i))
            if i == self.fail_at:
                raise ValueError("strategy bug")

        return tick

    def sample(self, i: int) -> int:
        self.venue.log.append(("sample", i))
        due = self.venue.market.time_ms[i] + TF
        return due + self.sample_every * TF - TF if self.sample_every else 0

    def fail(self, i: int, exc: BaseException) -> None:
        self.failed_at = i
        self.ticking = False


def reference_advance(lane: FakeLane, stop: int) -> int:
    """The kernel's rule, one candle at a time."""
    start = i = lane.next_index
    times = lane.venue.market.time_ms
    tick = lane.tick_function()
    ticking = lane.ticking
    try:
        while i < stop:
            lane.venue.step(i)
            scheduled = lane.ticks_on is None or i in lane.ticks_on or i in lane.venue.news_at
            if ticking and scheduled:
                try:
                    tick(None, i, {}, {}, {}, None)
                except Exception as exc:
                    lane.fail(i, exc)
                    ticking = False
            if times[i] >= lane.next_sample_ms:
                lane.next_sample_ms = lane.sample(i)
            i += 1
    finally:
        lane.next_index = i
    return i - start


def drive(run: Any, lane: FakeLane, chunks: list[int], n: int) -> list[Any]:
    """Advance in chunks (retrying a candle whose venue step raised); the log and final state."""
    out: list[Any] = []
    stop = 0
    for size in [*chunks, n]:
        stop = min(stop + size, n)
        while lane.next_index < stop:
            try:
                out.append(run(lane, stop))
            except Boom as exc:
                out.append(("boom", exc.args[0], lane.next_index))
            lane.ticking = lane.failed_at is None
    return [*out, lane.venue.log, lane.next_index, lane.next_sample_ms, lane.failed_at]


def make(n: int, sample_every: int, fail_at: int, raise_at: int, gap: bool) -> FakeLane:
    times = [k * TF + (7 * TF if gap and k > n // 2 else 0) for k in range(n)]  # a gap in the data
    return FakeLane(FakeVenue([], FakeMarket(times), raise_at), sample_every, fail_at)


@pytest.mark.parametrize("sample_every", [0, 1, 3, 60, 1000])
@pytest.mark.parametrize("fail_at", [-1, 0, 5, 9, 29])
@pytest.mark.parametrize("raise_at", [-1, 0, 6, 12])
@pytest.mark.parametrize("chunks", [[], [1, 1, 1], [4, 7, 2, 5], [13]])
def test_segments_keep_the_candle_by_candle_order(
    sample_every: int, fail_at: int, raise_at: int, chunks: list[int]
) -> None:
    for gap in (False, True):
        want = drive(reference_advance, make(30, sample_every, fail_at, raise_at, gap), chunks, 30)
        got = drive(kernel.advance, make(30, sample_every, fail_at, raise_at, gap), chunks, 30)
        assert got == want


def test_a_lane_that_is_not_ticking_only_steps_and_samples() -> None:
    lane = make(10, 4, -1, -1, False)
    lane.ticking = False
    assert kernel.advance(lane, 10) == 10
    assert ("tick", 0) not in lane.venue.log
    assert [e for e in lane.venue.log if e[0] == "sample"] == [("sample", 0), ("sample", 4), ("sample", 8)]


def test_the_due_candle_lookup_agrees_with_bisection_on_gapped_times() -> None:
    import random
    from array import array
    from bisect import bisect_left

    from kektrade.engine.kernel import first_due

    rnd = random.Random(11)
    for _ in range(300):
        tf = rnd.choice([60_000, 300_000, 3_600_000])
        t, times = rnd.randrange(0, 10**12, tf), array("q")
        for _ in range(rnd.randrange(1, 80)):
            times.append(t)
            t += tf * (1 if rnd.random() < 0.85 else rnd.randrange(2, 30))  # mostly regular, some gaps
        for _ in range(20):
            lo = rnd.randrange(0, len(times))
            hi = rnd.randrange(lo, len(times) + 1)
            due = rnd.randrange(times[0] - 2 * tf, times[-1] + 3 * tf)
            assert first_due(times, due, lo, hi, tf) == bisect_left(times, due, lo, hi), (lo, hi, due)


@pytest.mark.parametrize("ticks_on", [[], [0, 5, 6, 17, 29], list(range(0, 30, 4)), list(range(30))])
@pytest.mark.parametrize("news_at", [frozenset(), frozenset({3, 5, 9, 20, 21})])
@pytest.mark.parametrize("sample_every", [0, 3, 1000])
@pytest.mark.parametrize("fail_at", [-1, 5, 9])
@pytest.mark.parametrize("raise_at", [-1, 0, 6, 12])
@pytest.mark.parametrize("chunks", [[], [1, 1, 1], [4, 7, 2, 5]])
def test_a_tick_schedule_ticks_on_its_candles_and_on_account_news_only(
    ticks_on: list[int], news_at: frozenset[int], sample_every: int, fail_at: int, raise_at: int, chunks: list[int]
) -> None:
    """The reference ticks candle i when it is scheduled or the venue changed the account on it; stepping,
    sampling, failing and a venue that raises behave as without a schedule."""

    def lane() -> FakeLane:
        made = make(30, sample_every, fail_at, raise_at, gap=True)
        made.ticks_on, made.venue.news_at = ticks_on, news_at
        return made

    want = drive(reference_advance, lane(), chunks, 30)
    got = drive(kernel.advance, lane(), chunks, 30)
    assert got == want
    ticked = {i for kind, i in got[-4] if kind == "tick"}
    assert ticked <= set(ticks_on) | news_at
    if fail_at < 0:
        assert ticked == set(ticks_on) | news_at


def test_a_schedule_that_raises_fails_the_lane_and_steps_on() -> None:
    made = make(10, 4, -1, -1, False)

    def broken() -> list[int]:
        raise KeyError("sma300")

    made.schedule = broken  # type: ignore[method-assign]
    assert kernel.advance(made, 10) == 10
    assert made.failed_at == 0
    assert [e for e in made.venue.log if e[0] == "tick"] == []
    assert [e for e in made.venue.log if e[0] == "step"] == [("step", i) for i in range(10)]
