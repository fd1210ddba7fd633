"""``tick_schedule``: what ``Strategy.tick_on`` returns, checked and turned into sorted candle indices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kektrade.strategy.base import Strategy
from kektrade.strategy.schedule import ScheduleCache, ScheduleError, tick_schedule


class Picky(Strategy):
    """Returns whatever the test put in ``parameter['mask']`` (a callable of the frame)."""

    calls = 0

    def tick_on(self, dataframe: pd.DataFrame, parameter: Mapping[str, Any]) -> Any:
        Picky.calls += 1
        return parameter["mask"](dataframe)


FRAME = pd.DataFrame({"close": [1.0, 2.0, np.nan, 4.0, 5.0, 3.0]})


@pytest.mark.parametrize(
    ("mask", "want"),
    [
        (lambda f: f["close"] > 2.5, [3, 4, 5]),  # NaN compares False: no tick there
        (lambda f: (f["close"] > 1.5).to_numpy(), [1, 3, 4, 5]),
        (lambda f: [1, 0, 0, 0, 0, 1], [0, 5]),  # 0/1 integers are booleans
        (lambda f: np.zeros(len(f), dtype=bool), []),
        (lambda f: np.ones(len(f), dtype=bool), [0, 1, 2, 3, 4, 5]),
    ],
)
def test_the_selected_candles_come_back_sorted(mask: Any, want: list[int]) -> None:
    got = tick_schedule(Picky(), FRAME, {"mask": mask})
    assert got is not None
    assert list(got) == want


def test_none_means_every_candle() -> None:
    assert tick_schedule(Strategy(), FRAME, {}) is None


@pytest.mark.parametrize(
    ("mask", "words"),
    [
        (lambda f: [True, False], "returned 2 values for a frame of 6 candles"),
        (lambda f: f["close"].shift(1) > 0, None),  # fine: the first value is a plain False
        (lambda f: f["close"], "candle 1 is 2.0, not a boolean"),
        (lambda f: (f["close"] > 0).where(f["close"].notna()), "candle 2 is nan, not a boolean"),
        (lambda f: f["close"] * 0 + 2, "candle 0 is 2.0, not a boolean"),
        (lambda f: ["yes"] * 6, "candle 0 is 'yes', not a boolean"),
        (lambda f: True, "returned an array of shape ()"),
    ],
)
def test_a_wrong_selection_is_refused_naming_the_strategy_and_the_candle(mask: Any, words: str | None) -> None:
    if words is None:
        assert tick_schedule(Picky(), FRAME, {"mask": mask}) is not None
        return
    with pytest.raises(ScheduleError) as err:
        tick_schedule(Picky(), FRAME, {"mask": mask})
    assert "Picky.tick_on" in str(err.value)
    assert words in str(err.value)


def test_the_cache_recomputes_only_for_another_frame_or_parameter_set() -> None:
    cache, strategy = ScheduleCache(), Picky()
    parameter = {"mask": lambda f: f["close"] > 2.5}
    Picky.calls = 0
    first = cache.get(strategy, FRAME, parameter)
    assert cache.get(strategy, FRAME, parameter) is first
    assert Picky.calls == 1
    cache.get(strategy, FRAME.copy(), parameter)  # a live run's new frame
    cache.get(strategy, FRAME.copy(), dict(parameter))  # the optimizer's new pick
    assert Picky.calls == 3
