"""The candle container every other layer reads: MarketData, Gap, DataError and the frame invariants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from kektrade.domain.specs import ContractSpec
from kektrade.domain.timeframes import format_ms

DATE_DTYPE: Final = "datetime64[ms, UTC]"
PRICE_COLUMNS = ("open", "high", "low", "close")
CANDLE_COLUMNS = ("date", *PRICE_COLUMNS, "volume")
MARK_COLUMNS = ("mark_open", "mark_high", "mark_low", "mark_close")


class DataError(ValueError):
    """Bad or missing market data; the message names the file (or source) and the row or column."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing candles: ``start_ms`` is the first missing open time, ``end_ms`` the next present one."""

    start_ms: int
    end_ms: int
    missing_candles: int


@dataclass(frozen=True)
class MarketData:
    """Candles (and optional mark candles and funding) of one pair at one timeframe, validated."""

    pair: str
    timeframe: str
    candles: pd.DataFrame
    funding: pd.DataFrame | None
    gaps: tuple[Gap, ...]
    source: str
    #: The contract as the exchange described it when the candles were downloaded (None for other sources).
    contract: ContractSpec | None = None

    def __post_init__(self) -> None:
        validate_candles(self.candles, self.source)
        if self.funding is not None:
            validate_funding(self.funding, self.source)

    @property
    def has_mark(self) -> bool:
        """True when mark-price columns are present."""
        return MARK_COLUMNS[0] in self.candles.columns

    @property
    def start_ms(self) -> int | None:
        """Open time of the first candle, None when empty."""
        return None if self.candles.empty else int(date_ms(self.candles)[0])

    @property
    def end_ms(self) -> int | None:
        """Open time of the last candle, None when empty."""
        return None if self.candles.empty else int(date_ms(self.candles)[-1])


def date_ms(frame: pd.DataFrame) -> np.ndarray:
    """The ``date`` column as int64 epoch milliseconds (no copy when already datetime64[ms])."""
    dates = frame["date"]
    if str(dates.dtype) != DATE_DTYPE:
        dates = dates.astype(DATE_DTYPE)
    return dates.to_numpy(dtype="datetime64[ms]").view("int64")


def ms_to_dates(values: np.ndarray) -> pd.Series:
    """Epoch milliseconds as a datetime64[ms, UTC] Series."""
    return pd.Series(np.asarray(values, dtype="int64").view("datetime64[ms]")).dt.tz_localize("UTC")


def empty_candles(with_mark: bool = False) -> pd.DataFrame:
    """An empty candle frame with the right columns and dtypes."""
    columns: dict[str, pd.Series] = {"date": pd.Series([], dtype=DATE_DTYPE)}
    for name in CANDLE_COLUMNS[1:] + (MARK_COLUMNS if with_mark else ()):
        columns[name] = pd.Series([], dtype="float64")
    return pd.DataFrame(columns)


def _row_text(frame: pd.DataFrame, row: int) -> str:
    """``row 17 (2024-01-01 00:16)`` for messages."""
    stamp = frame["date"].iloc[row]
    when = format_ms(int(pd.Timestamp(stamp).value // 1_000_000)) if not pd.isna(stamp) else "no date"
    return f"row {row} ({when})"


def _first_bad(mask: np.ndarray) -> int | None:
    """Index of the first True in ``mask``, or None."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _check_columns(frame: pd.DataFrame, origin: str, required: tuple[str, ...]) -> None:
    """Raise unless every required column is present."""
    for name in required:
        if name not in frame.columns:
            present = ", ".join(map(str, frame.columns))
            raise DataError(f"{origin}: missing column {name!r} (columns: {present})")


def _check_dates(frame: pd.DataFrame, origin: str) -> None:
    """Dates must be datetime64[ms, UTC], sorted, unique; the index a RangeIndex."""
    if str(frame["date"].dtype) != DATE_DTYPE:
        raise DataError(f"{origin}: column 'date' must be {DATE_DTYPE} (got {frame['date'].dtype})")
    if not isinstance(frame.index, pd.RangeIndex) or (len(frame) and frame.index[0] != 0):
        raise DataError(f"{origin}: the frame must have a RangeIndex starting at 0")
    stamps = date_ms(frame)
    bad = _first_bad(np.diff(stamps) <= 0)
    if bad is not None:
        raise DataError(f"{origin}: dates not strictly increasing at {_row_text(frame, bad + 1)}")


def _ohlc_violation(o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Per-row mask of broken OHLC invariants (NaN counts as broken)."""
    with np.errstate(invalid="ignore"):
        positive = (o > 0) & (h > 0) & (low > 0) & (c > 0)
        return ~(positive & (h >= np.maximum(o, c)) & (low <= np.minimum(o, c)))


def validate_candles(frame: pd.DataFrame, origin: str) -> None:
    """Raise DataError naming ``origin`` and the first bad row unless the candle frame is well formed."""
    _check_columns(frame, origin, CANDLE_COLUMNS)
    _check_dates(frame, origin)
    cols = {name: frame[name].to_numpy(dtype="float64") for name in CANDLE_COLUMNS[1:]}
    bad = _first_bad(_ohlc_violation(cols["open"], cols["high"], cols["low"], cols["close"]))
    if bad is not None:
        values = ", ".join(f"{n}={cols[n][bad]:g}" for n in PRICE_COLUMNS)
        raise DataError(
            f"{origin}: {_row_text(frame, bad)}: need 0 < low <= min(open, close) and "
            f"high >= max(open, close) ({values})"
        )
    with np.errstate(invalid="ignore"):
        bad = _first_bad(~(cols["volume"] >= 0))
    if bad is not None:
        raise DataError(f"{origin}: {_row_text(frame, bad)}: volume must be >= 0 (got {cols['volume'][bad]})")
    if MARK_COLUMNS[0] in frame.columns:
        _check_columns(frame, origin, MARK_COLUMNS)
        mark = [frame[name].to_numpy(dtype="float64") for name in MARK_COLUMNS]
        present = ~np.isnan(mark[0])
        bad = _first_bad(present & _ohlc_violation(*mark))
        if bad is not None:
            where = _row_text(frame, bad)
            raise DataError(f"{origin}: {where}: mark candle breaks 0 < low <= open/close <= high")


def validate_funding(frame: pd.DataFrame, origin: str) -> None:
    """Raise DataError unless the funding frame has sorted unique dates and finite rates."""
    _check_columns(frame, origin, ("date", "rate"))
    _check_dates(frame, f"{origin} (funding)")
    rates = frame["rate"].to_numpy(dtype="float64")
    bad = _first_bad(~np.isfinite(rates))
    if bad is not None:
        raise DataError(f"{origin} (funding): {_row_text(frame, bad)}: rate must be a finite number")
