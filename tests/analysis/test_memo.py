"""Analyses of a fill list are computed once while the list is unchanged, and again as soon as it changes."""

from __future__ import annotations

from kektrade.analysis.memo import FillsMemo
from kektrade.analysis.metrics import open_intervals
from kektrade.analysis.trades import round_trips
from kektrade.domain.types import Fill, FillKind


def trade(t: int, qty: float, price: float, after: float) -> Fill:
    return Fill(t, "BTC/USDT:USDT", FillKind.TRADE, qty, price, 0.0, 0.0, position_after=after)


def test_round_trips_follow_a_growing_fill_list() -> None:
    fills = [trade(1, 1, 100, 1), trade(2, -1, 110, 0)]
    first = round_trips(fills)
    again = round_trips(fills)
    assert again == first and again is not first and again[0] is first[0]  # a new list of the same trades
    fills.append(trade(3, -2, 120, -2))
    assert len(round_trips(fills)) == 1 and len(round_trips(fills, include_open=True)) == 2
    fills.append(trade(4, 2, 100, 0))
    assert [t.exit_time_ms for t in round_trips(fills)] == [2, 4]
    assert open_intervals(fills) == [(1, 2), (3, 4)]


def test_a_list_refilled_to_the_same_length_is_recomputed() -> None:
    fills = [trade(1, 1, 100, 1), trade(2, -1, 110, 0)]
    assert round_trips(fills)[0].exit_price == 110
    fills.clear()
    fills.extend([trade(1, 1, 100, 1), trade(2, -1, 90, 0)])  # same object, same length, other fills
    assert round_trips(fills)[0].exit_price == 90
    fills[-1] = trade(2, -1, 95, 0)  # the last fill replaced in place
    assert round_trips(fills)[0].exit_price == 95


def test_the_cache_is_bounded_and_keyed_by_analysis() -> None:
    memo = FillsMemo(size=2)
    calls: list[str] = []
    lists = [[trade(k, 1, 100, 1)] for k in range(3)]

    def compute(name: str) -> str:
        calls.append(name)
        return name

    assert memo.get(lists[0], "a", lambda: compute("a0")) == "a0"
    assert memo.get(lists[0], "a", lambda: compute("again")) == "a0"  # cached
    assert memo.get(lists[0], "b", lambda: compute("b0")) == "b0"  # another analysis of the same list
    assert memo.get(lists[1], "a", lambda: compute("a1")) == "a1"  # evicts the oldest (lists[0], "a")
    assert memo.get(lists[0], "a", lambda: compute("a0 again")) == "a0 again"
    assert calls == ["a0", "b0", "a1", "a0 again"]
    assert memo.get([], "a", lambda: "empty") == "empty"


def test_a_copy_made_for_one_view_is_not_kept_by_the_memo() -> None:
    import gc
    import weakref

    class Fills(list[Fill]):  # a list that can be watched for being freed
        pass

    copy = Fills([trade(1, 1, 100, 1), trade(2, -1, 110, 0), trade(3, 1, 105, 1)])
    watch = weakref.ref(copy)
    rows = round_trips(copy, include_open=True, memo=False)
    assert [t.exit_time_ms for t in rows] == [2, None]  # the same trades as with the memo
    assert rows == round_trips(list(copy), include_open=True)
    del copy
    gc.collect()
    assert watch() is None  # nothing holds the copy: the memo did not keep it
