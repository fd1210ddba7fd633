"""Indicator helpers for ``tick``: crossovers on plain lists, cheap enough for every candle."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kektrade.strategy.columns import Columns, column_values

Series = Sequence[float] | str


def _values(source: Any, column: Series) -> Sequence[float]:
    if not isinstance(column, str):
        return column
    if isinstance(source, Columns):
        return source[column]
    return column_values(source, column)  # a frame: the one column, without building a Columns around it


def _last_two(source: Any, index: int, a: Series, b: Series) -> tuple[float, float, float, float] | None:
    """(a[i-1], b[i-1], a[i], b[i]), or None before the second candle or while any value is NaN."""
    if index < 1:
        return None
    x, y = _values(source, a), _values(source, b)
    values = x[index - 1], y[index - 1], x[index], y[index]
    return None if math.isnan(sum(values)) else values


def crossover(source: Any, index: int, a: Series, b: Series) -> bool:
    """True when ``a`` crosses above ``b`` at ``index``: a[i-1] <= b[i-1] and a[i] > b[i].

    ``a`` and ``b`` are column names of ``source`` (a DataFrame or ``strategy.c``) or value lists.
    NaN (indicator warm-up) never crosses.
    """
    v = _last_two(source, index, a, b)
    return v is not None and v[0] <= v[1] and v[2] > v[3]


def crossunder(source: Any, index: int, a: Series, b: Series) -> bool:
    """True when ``a`` crosses below ``b`` at ``index``: a[i-1] >= b[i-1] and a[i] < b[i]."""
    v = _last_two(source, index, a, b)
    return v is not None and v[0] >= v[1] and v[2] < v[3]
