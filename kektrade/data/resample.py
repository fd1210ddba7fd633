"""Resampling to coarser timeframes and gap detection. Missing candles are reported, never invented."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from kektrade.data.market import MARK_COLUMNS, DataError, Gap, date_ms, empty_candles, ms_to_dates
from kektrade.domain.timeframes import format_ms, timeframe_ms

log = logging.getLogger(__name__)


def infer_step_ms(candles: pd.DataFrame) -> int | None:
    """The smallest spacing between consecutive candles (the file's own timeframe), None if < 2 rows."""
    stamps = date_ms(candles)
    if stamps.size < 2:
        return None
    return int(np.diff(stamps).min())


def _bin_bounds(stamps: np.ndarray, step_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin open times and the index where each bin's rows start (rows sorted by time)."""
    bins = stamps - stamps % step_ms
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    return bins[starts], starts


def _aggregate(values: pd.DataFrame, starts: np.ndarray) -> dict[str, np.ndarray]:
    """OHLCV per bin with ``reduceat``: first open, max high, min low, last close, summed volume."""
    ends = np.r_[starts[1:], len(values)] - 1
    return {
        "open": values["open"].to_numpy()[starts],
        "high": np.maximum.reduceat(values["high"].to_numpy(), starts),
        "low": np.minimum.reduceat(values["low"].to_numpy(), starts),
        "close": values["close"].to_numpy()[ends],
        "volume": np.add.reduceat(values["volume"].to_numpy(), starts),
    }


def _aggregate_mark(values: pd.DataFrame, bins_per_row: np.ndarray) -> dict[str, np.ndarray]:
    """Mark OHLC per bin from the rows that have a mark candle (NaN rows skipped; all-NaN bins stay NaN)."""
    groups = values[list(MARK_COLUMNS)].groupby(bins_per_row, sort=False)
    agg = groups.agg({"mark_open": "first", "mark_high": "max", "mark_low": "min", "mark_close": "last"})
    return {name: agg[name].to_numpy(dtype="float64") for name in MARK_COLUMNS}


def resample(candles: pd.DataFrame, timeframe: str, source_step_ms: int | None = None) -> pd.DataFrame:
    """Aggregate finer candles into ``timeframe`` bins aligned to UTC epoch boundaries, labelled by open time.

    A bin with some missing source candles is built from those present; a bin with none is absent. The
    last bin is dropped unless its final source candle is present (it may still be forming).
    """
    target_ms = timeframe_ms(timeframe)
    step_ms = source_step_ms or infer_step_ms(candles) or target_ms
    if step_ms == target_ms:
        return candles.reset_index(drop=True)
    if step_ms > target_ms or target_ms % step_ms:
        gap_s = step_ms // 1000
        raise DataError(f"cannot resample candles {gap_s}s apart to {timeframe}: not a finer divisor")
    return resample_ms(candles, target_ms, step_ms)


def resample_ms(candles: pd.DataFrame, target_ms: int, step_ms: int) -> pd.DataFrame:
    """``resample`` by durations: candles ``step_ms`` apart into ``target_ms`` bins (a finer divisor)."""
    has_mark = MARK_COLUMNS[0] in candles.columns
    if candles.empty:
        return empty_candles(has_mark)
    stamps = date_ms(candles)
    opens, starts = _bin_bounds(stamps, target_ms)
    columns: dict[str, object] = {"date": ms_to_dates(opens)}
    columns.update(_aggregate(candles, starts))
    if has_mark:
        columns.update(_aggregate_mark(candles, stamps - stamps % target_ms))
    result = pd.DataFrame(columns)
    if stamps[-1] + step_ms < opens[-1] + target_ms:
        result = result.iloc[:-1].reset_index(drop=True)
    return result


def detect_gaps(candles: pd.DataFrame, timeframe_ms: int) -> tuple[Gap, ...]:
    """Runs of missing candles between the first and the last one, for candles ``timeframe_ms`` apart."""
    stamps = date_ms(candles)
    if stamps.size < 2:
        return ()
    steps = np.diff(stamps)
    where = np.flatnonzero(steps > timeframe_ms)
    return tuple(
        Gap(
            start_ms=int(stamps[i] + timeframe_ms),
            end_ms=int(stamps[i + 1]),
            missing_candles=int(steps[i] // timeframe_ms - 1),
        )
        for i in where
    )


def gap_summary(gaps: tuple[Gap, ...], show: int = 3) -> str:
    """``538 missing candles in 41 gaps; largest: 2017-11-05 03:00 (45), ...`` ('' when no gaps)."""
    if not gaps:
        return ""
    total = sum(g.missing_candles for g in gaps)
    largest = sorted(gaps, key=lambda g: (-g.missing_candles, g.start_ms))[:show]
    shown = ", ".join(f"{format_ms(g.start_ms)} ({g.missing_candles})" for g in largest)
    return f"{total} missing candles in {len(gaps)} gaps; largest: {shown}"


def report_gaps(gaps: tuple[Gap, ...], label: str, logger: logging.Logger | None = None) -> None:
    """Log a warning with the count of missing candles and the largest gaps (nothing when complete)."""
    summary = gap_summary(gaps)
    if summary:
        (logger or log).warning("%s: %s (not filled)", label, summary)
