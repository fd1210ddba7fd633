"""Seeded intrabar price paths of the "Backtest Perpetual Realistic" venue.

A candle's path has ``points`` prices: it starts at the open, ends at the close and visits the high and
the low at two interior points, in an order chosen by a seeded coin weighted by the OHLC rule (a candle
that closes above its open goes low-first with probability ``rule_weight``, one that closes below goes
high-first with that probability, a doji picks either with probability 1/2). The other interior points
are a seeded Brownian bridge between these anchors, kept strictly inside (low, high) so that each
extreme is visited exactly once by the interior points. Everything comes from ``(seed, candle index)``:
the same inputs always give the same path.
"""

from __future__ import annotations

import math
import random
from typing import Final

#: Standard deviation of one bridge step as a share of the candle's range, times 1/sqrt(points - 1).
WIGGLE: Final = 0.5


def candle_rng(seed: int, index: int) -> random.Random:
    """The random stream of one candle (string seeding: stable across processes and Python runs)."""
    return random.Random(f"kektrade-path:{seed}:{index}")


def extreme_slots(rng: random.Random, points: int) -> tuple[int, int, float]:
    """Two interior indices (first < second) for the extremes and the uniform draw of the coin."""
    first, second = sorted(rng.sample(range(1, points - 1), 2))
    return first, second, rng.random()


def low_first(o: float, c: float, coin: float, rule_weight: float) -> bool:
    """The weighted OHLC rule: bullish candles tend to visit the low first, bearish ones the high."""
    if c > o:
        return coin < rule_weight
    if c < o:
        return coin >= rule_weight
    return coin < 0.5


def candle_path(
    o: float,
    h: float,
    lo: float,
    c: float,
    points: int,
    rng: random.Random,
    rule_weight: float = 0.75,
) -> list[float]:
    """The ``points`` prices of one candle's path (see the module docstring)."""
    if points < 4:
        raise ValueError(f"path_points must be >= 4 (got {points})")
    first, second, coin = extreme_slots(rng, points)
    path = [0.0] * points
    path[0], path[-1] = o, c
    a, b = (lo, h) if low_first(o, c, coin, rule_weight) else (h, lo)
    path[first], path[second] = a, b
    span = h - lo
    if span <= 0.0:
        return [o] * (points - 1) + [c]
    sigma = WIGGLE * span / math.sqrt(points - 1)
    inner_lo, inner_hi = lo + span * 1e-6, h - span * 1e-6
    gauss = rng.gauss
    for u, v in ((0, first), (first, second), (second, points - 1)):
        target = path[v]
        x = path[u]
        for k in range(u + 1, v):
            m = v - k + 1  # steps left from k-1 to v
            x = x + (target - x) / m + gauss(0.0, sigma * math.sqrt((m - 1) / m))
            x = inner_lo if x < inner_lo else (inner_hi if x > inner_hi else x)
            path[k] = x
    return path


def point_times(t: int, timeframe_ms: int, points: int) -> list[int]:
    """Times of the path points: evenly spread from the open (``t``) to the close (``t + timeframe``)."""
    last = points - 1
    return [t + (k * timeframe_ms) // last for k in range(points)]
