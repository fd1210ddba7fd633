"""How a run uses Python's cyclic garbage collector.

A backtest allocates a few small objects per order (orders, fills, journal records), and none of them form
reference cycles. Two costs follow with the default collector: every 700 allocations a young-generation
pass, and, as the list of fills grows, full passes that rescan everything built before the run (candles,
indicator frames, strategies). Measured on the market-maker benchmark: ~25 % of the run. During a run the
heap built beforehand is frozen (moved out of the collector's view) and young passes run every 10,000
allocations; both are undone afterwards, so a long-lived process collects normally between runs.

What a run keeps by the hundred thousand (orders, fills, journal records: ~430k order events per 100k
candles of a market maker, held until written) is compiled acyclic (``@mypyc_attr(acyclic=True)`` in
``kektrade/domain``): the collector does not track it at all. Before, each young pass scanned the held
orders once and each middle-generation pass again (25 ms per pass). What a strategy keeps still counts: in a
backtest, middle passes are spaced out to every 100 young passes (a million allocations: a cycle that
outlives a young pass waits at most that long); paper and live sessions keep the usual spacing. At the end
of any run its survivors join the pre-run heap in the oldest generation unscanned (freeze, then unfreeze).
Their cycles, if any, are freed by the next full pass.

The end of a run (the run database's bulk writes, the results document) makes millions more small objects
in one go; the collector is paused for it (``collector_paused``). Not frozen: the run's heap then holds the
failure's tracebacks, whose cycles must stay collectable the usual way.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RUN_GEN0_THRESHOLD = 10_000
RUN_GEN1_THRESHOLD = 100


@contextmanager
def collector_for_run(holds_records: bool = True) -> Iterator[None]:
    """Freeze the pre-run heap and space young-generation passes out; restored on exit.

    ``holds_records``: the run keeps what it makes until its end (a backtest's bulk journal and fills), so
    middle passes are spaced out too. Paper and live sessions pass False: they run for days, keep little,
    and their network threads make short-lived cycles that the usual middle passes free sooner.
    """
    old = gc.get_threshold()
    gc.freeze()
    middle = max(old[1], RUN_GEN1_THRESHOLD) if holds_records else old[1]
    gc.set_threshold(max(old[0], RUN_GEN0_THRESHOLD), middle, old[2])
    try:
        yield
    finally:
        gc.freeze()  # the run's survivors join the pre-run heap unscanned: no middle-generation pass over them
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
