"""The collector policy of a run: frozen pre-run heap, spaced young passes, all restored afterwards."""

from __future__ import annotations

import gc

import pytest

from kektrade.engine.gcpolicy import RUN_GEN0_THRESHOLD, RUN_GEN1_THRESHOLD, collector_for_run


def test_a_run_freezes_the_heap_and_restores_the_collector() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with collector_for_run():
        assert gc.get_freeze_count() > frozen_before  # the pre-run heap left the collector's view
        assert gc.get_threshold()[0] == max(before[0], RUN_GEN0_THRESHOLD)
        assert gc.get_threshold()[1:] == (max(before[1], RUN_GEN1_THRESHOLD), before[2])
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_live_session_keeps_the_usual_middle_generation_spacing() -> None:
    before = gc.get_threshold()
    with collector_for_run(holds_records=False):
        assert gc.get_threshold() == (max(before[0], RUN_GEN0_THRESHOLD), before[1], before[2])
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_collector_is_restored_when_the_run_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collector_for_run():
        raise RuntimeError("strategy bug")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_cycles_made_during_a_run_are_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    with collector_for_run():
        for _ in range(RUN_GEN0_THRESHOLD * 3):
            Node()
        assert gc.collect() >= 0
        assert sum(isinstance(o, Node) for o in gc.get_objects()) < RUN_GEN0_THRESHOLD


def test_what_a_run_keeps_is_not_rescanned_by_a_middle_pass_after_it_and_its_cycles_stay_collectable() -> None:
    import weakref

    class Node:
        def __init__(self) -> None:
            self.me = self

    gc.collect()
    with collector_for_run():
        kept = [Node() for _ in range(RUN_GEN0_THRESHOLD * 2)]  # survivors of young passes (a run's records)
        dropped = Node()
        probe = weakref.ref(dropped)
        gc.collect(0)  # the cycle is alive here, so it survives into the middle generation
        del dropped
    assert probe() is not None  # no middle-generation pass at the end of the run found it
    middle = gc.get_objects(generation=1)
    assert not any(isinstance(o, Node) for o in middle)  # the kept records went to the oldest generation
    assert len(kept) == RUN_GEN0_THRESHOLD * 2
    gc.collect()
    assert probe() is None  # a full pass still frees the run's cycles
