"""The account equity series of snapshots: incremental, equal to a from-scratch union with carried values."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

from kektrade.engine.views import AccountSeries


def brute(instances: list[Any]) -> tuple[list[int], dict[str, list[float]]]:
    """The union of sample times; each series at its last sample at or before t (its first before that)."""
    times = sorted({t for inst in instances for t in inst.times_ms})
    out: dict[str, list[float]] = {}
    for inst in instances:
        values = []
        for t in times:
            seen = [v for s, v in zip(inst.times_ms, inst.equity_quote, strict=True) if s <= t]
            values.append(seen[-1] if seen else inst.equity_quote[0])
        out[inst.id] = values
    return times, out


def fake(sid: str) -> Any:
    return SimpleNamespace(id=sid, times_ms=[], equity_quote=[])


def test_incremental_updates_equal_a_rebuild_from_scratch() -> None:
    rng = random.Random(3)
    a, b = fake("a"), fake("b")
    series = AccountSeries([a, b], max_points=10_000)
    clock = 0
    for _ in range(60):  # samples arrive in batches, a on a 1-step grid, b on a 3-step grid starting later
        for _ in range(rng.randint(0, 5)):
            clock += 1
            a.times_ms.append(clock)
            a.equity_quote.append(1000 + rng.random())
            if clock % 3 == 0 and clock > 10:
                b.times_ms.append(clock)
                b.equity_quote.append(500 + rng.random())
        series.update()
    times, by_sub = brute([a, b])
    got_times, total, got = series.series()
    assert list(got_times) == times
    assert list(got["a"]) == by_sub["a"] and list(got["b"]) == by_sub["b"]
    assert list(total) == [x + y for x, y in zip(by_sub["a"], by_sub["b"], strict=True)]


def test_long_series_are_thinned_but_keep_the_latest_point() -> None:
    a = fake("a")
    series = AccountSeries([a], max_points=50)
    for t in range(1, 1_001):
        a.times_ms.append(t)
        a.equity_quote.append(float(t))
        if t % 7 == 0:
            series.update()
    series.update()
    times, total, by_sub = series.series()
    assert len(times) <= 101 and times[-1] == 1_000 and total[-1] == 1_000.0
    assert list(by_sub["a"]) == [float(t) for t in times]  # every kept point is exact
    assert times == tuple(sorted(times))
