"""Checks on candle pages and the exchange clock: anything odd is logged once and handled.

``check_rows`` sorts, de-duplicates and drops candles that are not closed yet, and lists the gaps it
finds; ``measure_clock_offset`` compares the exchange's clock with ours (the midpoint of the request).
Each distinct problem is logged once per process (``LogOnce``), not once per poll.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("kektrade.exchange")

CLOCK_TOLERANCE_MS = 1_000


class LogOnce:
    """Logs each distinct message key once; ``clear(key)`` lets it be logged again (a new episode)."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self._seen: set[str] = set()
        self._log = logger

    def warning(self, key: str, message: str, *args: Any) -> bool:
        """Log at WARNING unless ``key`` was logged already; True when it logged."""
        if key in self._seen:
            return False
        self._seen.add(key)
        self._log.warning(message, *args)
        return True

    def clear(self, key: str) -> None:
        """Forget ``key``."""
        self._seen.discard(key)


ONCE = LogOnce()


@dataclass
class PageCheck:
    """What ``check_rows`` found: the cleaned rows and the problems, in words."""

    rows: list[list[float]]
    problems: list[str] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)  # missing open times [first, last]


def check_rows(rows: Sequence[Sequence[float]], step_ms: int, closed_until_ms: int | None = None) -> PageCheck:
    """Sort, de-duplicate and keep only closed, well-formed candles; report every fix and every gap."""
    problems: list[str] = []
    stamps = [int(r[0]) for r in rows]
    if any(b < a for a, b in itertools.pairwise(stamps)):
        problems.append("candles out of order (sorted)")
    by_time: dict[int, list[float]] = {}
    for row in rows:
        t = int(row[0])
        values = [float("nan") if v is None else float(v) for v in row]
        if t in by_time and by_time[t][1:5] != values[1:5]:
            problems.append(f"two different candles at {t} (kept the later one)")
        elif t in by_time:
            problems.append(f"duplicated candle at {t} (dropped)")
        by_time[t] = values
    kept: list[list[float]] = []
    for t in sorted(by_time):
        row = by_time[t]
        if t % step_ms:
            problems.append(f"candle at {t} is not on the {step_ms} ms grid (dropped)")
        elif closed_until_ms is not None and t + step_ms > closed_until_ms:
            problems.append(f"candle at {t} is not closed yet (dropped)")
        elif not _well_formed(row):
            problems.append(f"candle at {t} has invalid prices {row[1:5]} (dropped)")
        else:
            kept.append(row)
    gaps = [(int(a[0]) + step_ms, int(b[0]) - step_ms) for a, b in itertools.pairwise(kept) if b[0] - a[0] > step_ms]
    return PageCheck(kept, problems, gaps)


def _well_formed(row: list[float]) -> bool:
    o, h, lo, c = row[1:5]
    if not all(math.isfinite(v) and v > 0 for v in (o, h, lo, c)):
        return False
    return h >= max(o, c, lo) and lo <= min(o, c)


def measure_clock_offset(fetch_time: Callable[[], Any], clock_ms: Callable[[], int] | None = None) -> int:
    """Exchange clock minus ours, in ms (ours taken at the midpoint of the request)."""
    now = clock_ms or (lambda: int(time.time() * 1000))
    before = now()
    server = int(fetch_time())
    after = now()
    return server - (before + after) // 2


def report_clock_offset(offset_ms: int, venue: str, tolerance_ms: int = CLOCK_TOLERANCE_MS) -> bool:
    """Log once when the exchange clock is off by more than ``tolerance_ms``; True when it is."""
    if abs(offset_ms) <= tolerance_ms:
        ONCE.clear(f"clock:{venue}")
        return False
    ONCE.warning(
        f"clock:{venue}",
        "%s: the exchange clock is %+.1f s off ours; requests are signed with the exchange's time and "
        "candles are judged closed by it",
        venue, offset_ms / 1000,
    )  # fmt: skip
    return True
