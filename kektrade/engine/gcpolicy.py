"""How a run uses Python's cyclic garbage collector.

A backtest allocates a few small objects per order (orders, fills, journal records), and none of them form
reference cycles. Two costs follow with the default collector: every 700 allocations a young-generation
pass, and, as the list of fills grows, full passes that rescan everything built before the run (candles,
indicator frames, strategies). Measured on the market-maker benchmark: ~25 % of the run. During a run the
heap built beforehand is frozen (moved out of the collector's view) and young passes run every 10,000
allocations; both are undone afterwards, so a long-lived process collects normally between runs.

The end of a run (the run database's bulk writes, the results document) makes millions more small objects
in one go; the collector is paused for it (``collector_paused``). Not frozen: the run's heap then holds the
failure's tracebacks, whose cycles must stay collectable the usual way.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RUN_GEN0_THRESHOLD = 10_000


@contextmanager
def collector_for_run() -> Iterator[None]:
    """Freeze the pre-run heap and space young-generation passes out; restored on exit."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(old[0], RUN_GEN0_THRESHOLD), old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block (objects made there are collected normally afterwards)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
