"""Indicator helpers for ``tick``: crossovers on plain lists, cheap enough for every candle."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kektrade.strategy.columns import Columns

Series = Sequence[float] | str


def _values(source: Any, column: Series) -> Sequence[float]:
    if not isinstance(column, str):
        return column
    if isinstance(source, Columns):
        return source[column]
    return Columns(source)[column]


def crossover(source: Any, index: int, a: Series, b: Series) -> bool:
    """True when ``a`` crosses above ``b`` at ``index``: a[i-1] <= b[i-1] and a[i] > b[i].

    ``a`` and ``b`` are column names of ``source`` (a DataFrame or ``strategy.c``) or value lists.
    NaN (indicator warm-up) never crosses.
    """
    if index < 1:
        return False
    x, y = _values(source, a), _values(source, b)
    prev_a, prev_b, now_a, now_b = x[index - 1], y[index - 1], x[index], y[index]
    if math.isnan(prev_a + prev_b + now_a + now_b):
        return False
    return prev_a <= prev_b and now_a > now_b


def crossunder(source: Any, index: int, a: Series, b: Series) -> bool:
    """True when ``a`` crosses below ``b`` at ``index``: a[i-1] >= b[i-1] and a[i] < b[i]."""
    if index < 1:
        return False
    x, y = _values(source, a), _values(source, b)
    prev_a, prev_b, now_a, now_b = x[index - 1], y[index - 1], x[index], y[index]
    if math.isnan(prev_a + prev_b + now_a + now_b):
        return False
    return prev_a >= prev_b and now_a < now_b
