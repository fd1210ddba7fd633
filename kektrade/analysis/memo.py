"""Results of an analysis of a fill list, computed once while the list is unchanged.

Building a run's results walks a subaccount's fills several times for the same thing (round trips for the
metrics, the account metrics, the trade table and the study; open intervals for two exposures): 60k fills
of a market maker took ~0.25 s a walk. Fill lists only grow (venues append), so a list that is the same
object, as long, and ends with the same fill, holds the same fills.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from kektrade.domain.types import Fill

_SIZE = 16  # subaccounts x analyses kept (the newest)


class FillsMemo:
    """A small cache of ``compute(fills)`` by (list identity, length, last fill, ``what``)."""

    def __init__(self, size: int = _SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[int, int, Hashable], tuple[Sequence[Fill], Fill | None, Any]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()  # the web and TUI threads read trades while the engine builds results

    def get[T](self, fills: Sequence[Fill], what: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``'s result for these fills, from the cache when they are unchanged."""
        last = fills[-1] if fills else None
        key = (id(fills), len(fills), what)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] is fills and hit[1] is last:
                self._entries.move_to_end(key)
                found: T = hit[2]
                return found
        value = compute()
        with self._lock:
            self._entries[key] = (fills, last, value)  # holding the list keeps its id from being reused
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


MEMO = FillsMemo()
