"""crossover / crossunder: truth table on lists, column names, Columns and NaN warm-up."""

import math

import pandas as pd
import pytest

from kektrade.strategy.columns import Columns
from kektrade.strategy.indicators import crossover, crossunder

NAN = math.nan
A = [1.0, 2.0, 3.0, 2.0, 2.0, 1.0]
B = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize(("i", "over", "under"), [
    (0, False, False),  # no previous candle
    (1, False, False),  # 1 -> 2 touches, does not cross
    (2, True, False),  # 2 -> 3 above 2: crosses over (a[i-1] <= b[i-1])
    (3, False, False),  # 3 -> 2: back to equal, not below
    (4, False, False),
    (5, False, True),  # 2 -> 1: crosses under (a[i-1] >= b[i-1])
])  # fmt: skip
def test_truth_table_on_lists(i: int, over: bool, under: bool) -> None:
    assert crossover(None, i, A, B) is over
    assert crossunder(None, i, A, B) is under


def test_column_names_on_a_frame_and_on_columns() -> None:
    frame = pd.DataFrame({"fast": A, "slow": B})
    assert [crossover(frame, i, "fast", "slow") for i in range(6)] == [False, False, True, False, False, False]
    assert [crossunder(Columns(frame), i, "fast", "slow") for i in range(6)] == [False] * 5 + [True]


def test_nan_warm_up_never_crosses() -> None:
    assert not crossover(None, 1, [NAN, 3.0], [2.0, 2.0])
    assert not crossunder(None, 1, [3.0, 1.0], [NAN, 2.0])
