"""``FaultLog``: the transient exchange faults of one live venue, as episodes front ends can show.

Every failed attempt is counted (by kind); the first failure of an operation opens an episode and is
logged once ("exchange fault on fetch_positions: timeout ..."), later failures of the same operation are
counted silently, and the first success closes the episode with one line saying how many faults it had.
``active`` lists open episodes (a front end's notice), ``recent`` the last faults.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from dataclasses import dataclass

from kektrade.exchange.live.retry import Fault

log = logging.getLogger("kektrade.engine")


@dataclass(frozen=True, slots=True)
class VenueFault:
    """One transient fault as front ends see it."""

    time_ms: int  # wall clock
    subaccount: str
    operation: str
    kind: str
    message: str


class FaultLog:
    """Counts faults, logs one line per episode and keeps the recent ones."""

    def __init__(self, subaccount: str, keep: int = 100) -> None:
        self.subaccount = subaccount
        self.by_kind: Counter[str] = Counter()
        self.recent: deque[VenueFault] = deque(maxlen=keep)
        self._episodes: dict[str, int] = {}

    def __call__(self, fault: Fault) -> None:
        """Record one failed attempt (the account's ``on_fault`` sink)."""
        self.add(fault.operation, fault.kind.value, fault.message)

    def add(self, operation: str, kind: str, message: str) -> None:
        """Record one failure of ``operation``; logs when it opens an episode."""
        item = VenueFault(int(time.time() * 1000), self.subaccount, operation, kind, message)
        self.by_kind[kind] += 1
        self.recent.append(item)
        count = self._episodes.get(operation, 0)
        self._episodes[operation] = count + 1
        if count == 0:
            log.warning(
                "subaccount %s: exchange fault on %s: %s (%s); retrying, keeping the last known view",
                self.subaccount, operation, kind, message[:200],
            )  # fmt: skip

    def recovered(self, operation: str) -> None:
        """``operation`` answered: close its episode (one line when there was one)."""
        count = self._episodes.pop(operation, 0)
        if count:
            log.info("subaccount %s: %s answered again after %d fault(s)", self.subaccount, operation, count)

    @property
    def total(self) -> int:
        """Every fault counted so far."""
        return sum(self.by_kind.values())

    @property
    def active(self) -> list[str]:
        """Operations in an open fault episode."""
        return sorted(self._episodes)

    @property
    def notice(self) -> str | None:
        """A one-line notice for front ends while an episode is open, else None."""
        if not self._episodes:
            return None
        last = self.recent[-1] if self.recent else None
        detail = f": {last.kind} on {last.operation}" if last is not None else ""
        return f"exchange faults ({sum(self._episodes.values())}){detail}; retrying"
