"""Row checks of candle files before anything trades on them, with an opt-in repair mode.

A candle file is refused with a ``DataError`` naming the file, the row and the column of the first
problem: a value that is not a finite number, a price that is not positive or outside
[``MIN_PRICE``, ``MAX_PRICE``], a negative volume, high below low, open or close outside [low, high],
dates that go backwards, and one date given twice with different values. Rows are numbered as they
appear in the file, 1 for the first data row (the header is not counted). Rows repeated exactly are
dropped silently (re-downloaded overlaps): they change nothing.

With ``repair=True`` the same problems are fixed instead, each kind counted in one warning: rows with
unusable values (not finite, not positive, out of bounds, negative volume, high below low) are dropped
and become gaps, high/low are widened to contain open and close, rows are sorted by date, and of a date
given twice the last row in the file is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kektrade.data.market import DataError, date_ms
from kektrade.domain.timeframes import format_ms

log = logging.getLogger(__name__)

#: Prices outside these bounds are refused: no traded contract quotes them, and they break the arithmetic
#: (1e-300 makes inverse values overflow, 1e300 overflows equity and metrics).
MIN_PRICE = 1e-12
MAX_PRICE = 1e12


def _where(frame: pd.DataFrame, row: int) -> str:
    """``row 18 (2024-01-01 00:17)``: 1-based file row and its date."""
    return f"row {row + 1} ({format_ms(int(date_ms(frame.iloc[[row]])[0]))})"


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _value_problems(frame: pd.DataFrame, prices: Sequence[str], volume: bool) -> list[tuple[np.ndarray, str, str]]:
    """(row mask, column, what is wrong) per kind of bad value, in the order they are reported."""
    out: list[tuple[np.ndarray, str, str]] = []
    columns = [*prices, "volume"] if volume else list(prices)
    for name in columns:
        values = frame[name].to_numpy(dtype="float64")
        out.append((~np.isfinite(values), name, "is not a finite number"))
    with np.errstate(invalid="ignore"):
        for name in prices:
            values = frame[name].to_numpy(dtype="float64")
            out.append((values <= 0.0, name, "must be > 0"))
            bounds = f"is outside [{MIN_PRICE:g}, {MAX_PRICE:g}]"
            out.append(((values < MIN_PRICE) | (values > MAX_PRICE), name, bounds))
        if volume:
            out.append((frame["volume"].to_numpy(dtype="float64") < 0.0, "volume", "must be >= 0"))
        high, low = (frame[name].to_numpy(dtype="float64") for name in prices[1:3])
        out.append((high < low, prices[1], f"is below {prices[2]}"))
    return out


def _range_problems(frame: pd.DataFrame, prices: Sequence[str]) -> list[tuple[np.ndarray, str, str]]:
    """Open or close outside [low, high]."""
    o, h, lo, c = (frame[name].to_numpy(dtype="float64") for name in prices)
    return [
        ((o < lo) | (o > h), prices[0], f"is outside [{prices[2]}, {prices[1]}]"),
        ((c < lo) | (c > h), prices[3], f"is outside [{prices[2]}, {prices[1]}]"),
    ]


def _refuse(frame: pd.DataFrame, origin: str, row: int, column: str, what: str) -> DataError:
    value = float(frame[column].iloc[row])
    return DataError(f"{origin}: {_where(frame, row)}, column {column!r}: {what} (got {value!r}); "
                     "fix the file or set repair: true")


def _fix_values(frame: pd.DataFrame, origin: str, prices: Sequence[str], volume: bool, repair: bool) -> pd.DataFrame:
    """Refuse (or drop) rows with unusable values; refuse (or widen) open/close outside the range."""
    bad = np.zeros(len(frame), dtype=bool)
    for mask, column, what in _value_problems(frame, prices, volume):
        row = _first(mask & ~bad)
        if row is not None and not repair:
            raise _refuse(frame, origin, row, column, what)
        bad |= mask
    if bad.any():
        log.warning("%s: repair dropped %d row(s) with unusable values (first: %s)", origin, int(bad.sum()),
                    _where(frame, int(np.flatnonzero(bad)[0])))
        frame = frame[~bad].reset_index(drop=True)
    for mask, column, what in _range_problems(frame, prices):
        row = _first(mask)
        if row is not None and not repair:
            raise _refuse(frame, origin, row, column, what)
    if repair:
        o, h, lo, c = (frame[name].to_numpy(dtype="float64") for name in prices)
        widened = int(((np.maximum(o, c) > h) | (np.minimum(o, c) < lo)).sum())
        if widened:
            log.warning("%s: repair widened high/low to contain open and close in %d row(s)", origin, widened)
            frame = frame.assign(**{prices[1]: np.maximum(h, np.maximum(o, c)),
                                    prices[2]: np.minimum(lo, np.minimum(o, c))})
    return frame


def _fix_order(frame: pd.DataFrame, origin: str, repair: bool) -> pd.DataFrame:
    """Refuse (or sort) dates that go backwards; drop exact repeats; refuse (or keep the last of)
    a date given twice with different values."""
    stamps = date_ms(frame)
    back = _first(np.diff(stamps) < 0)
    if back is not None:
        if not repair:
            raise DataError(f"{origin}: {_where(frame, back + 1)}: dates go backwards (after {_where(frame, back)}); "
                            "sort the file or set repair: true")
        log.warning("%s: repair sorted the rows by date", origin)
        frame = frame.sort_values("date", kind="stable").reset_index(drop=True)
    exact = frame.duplicated(keep="first").to_numpy()
    clash = frame["date"].duplicated(keep="first").to_numpy() & ~exact
    if clash.any():
        row = int(np.flatnonzero(clash)[0])
        if not repair:
            first = int(np.flatnonzero(date_ms(frame) == date_ms(frame)[row])[0])
            differ = [c for c in frame.columns if c != "date" and frame[c].iloc[first] != frame[c].iloc[row]]
            raise DataError(f"{origin}: {_where(frame, row)}: the date of {_where(frame, first)} again with a "
                            f"different {(differ or ['value'])[0]!r}; remove one or set repair: true")
        log.warning("%s: repair kept the last row of %d dates given twice", origin, int(clash.sum()))
    frame = frame[~exact].reset_index(drop=True)
    return frame[~frame["date"].duplicated(keep="last")].reset_index(drop=True)


def check_candle_rows(
    frame: pd.DataFrame, origin: str, prices: Sequence[str], *, volume: bool = True, repair: bool = False
) -> pd.DataFrame:
    """The candle rows of ``origin`` (in file order) checked, or repaired when ``repair``; sorted, unique."""
    if frame.empty:
        return frame.reset_index(drop=True)
    frame = _fix_values(frame.reset_index(drop=True), origin, prices, volume, repair)
    return _fix_order(frame, origin, repair)
