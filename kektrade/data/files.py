"""Candle, mark-price and funding files (CSV, Parquet, Feather) read into kektrade's normalized frames."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.ipc
import pyarrow.parquet

from kektrade.data.market import (
    CANDLE_COLUMNS,
    DATE_DTYPE,
    MARK_COLUMNS,
    PRICE_COLUMNS,
    DataError,
    validate_candles,
    validate_funding,
)
from kektrade.data.resample import infer_step_ms, resample_ms
from kektrade.data.validate import check_candle_rows

FORMATS = ("auto", "csv", "parquet", "feather")
TIME_UNITS = ("auto", "ms", "s", "ns", "iso")
_SUFFIXES = {
    ".csv": "csv", ".txt": "csv", ".gz": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".feather": "feather", ".arrow": "feather", ".ipc": "feather",
}
_FUNDING_RATE_NAMES = ("rate", "funding_rate", "fundingRate", "open")  # "open": freqtrade's layout
_MINUTE_MS = 60_000


def detect_format(path: Path, fmt: str = "auto") -> str:
    """The file format: ``fmt`` itself, or for "auto" the one its suffix implies."""
    if fmt not in FORMATS:
        raise DataError(f"{path.name}: format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if fmt != "auto":
        return fmt
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise DataError(f"{path.name}: cannot tell the format from the suffix {path.suffix!r}; set 'format'")
    return found


def file_columns(path: Path, fmt: str) -> list[str]:
    """Column names of a data file, read from its header or schema only."""
    if fmt == "csv":
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    if fmt == "parquet":
        return list(pyarrow.parquet.read_schema(path).names)
    with pyarrow.ipc.open_file(path) as reader:
        return list(reader.schema.names)


def read_columns(path: Path, fmt: str, wanted: Mapping[str, str]) -> pd.DataFrame:
    """Read the file columns ``wanted`` (our name -> file column) and rename them to our names."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    try:
        present = file_columns(path, fmt)
    except (OSError, ValueError, pyarrow.ArrowInvalid) as exc:
        raise DataError(f"{path.name}: cannot read as {fmt}: {exc}") from exc
    for ours, theirs in wanted.items():
        if theirs not in present:
            mapped = f" (mapped from {ours!r})" if ours != theirs else ""
            raise DataError(f"{path.name}: missing column {theirs!r}{mapped} (columns: {', '.join(present)})")
    names = list(dict.fromkeys(wanted.values()))
    if fmt == "csv":
        raw = pd.read_csv(path, usecols=names)
    elif fmt == "parquet":
        raw = pd.read_parquet(path, columns=names)
    else:
        raw = pd.read_feather(path, columns=names)
    return pd.DataFrame({ours: raw[theirs] for ours, theirs in wanted.items()})


def _numeric_unit(values: np.ndarray) -> str:
    """Guess s / ms / us / ns from the magnitude of epoch numbers (dates after 1973)."""
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    biggest = float(np.abs(finite).max()) if finite.size else 0.0
    if biggest < 1e11:
        return "s"
    if biggest < 1e14:
        return "ms"
    if biggest < 1e17:
        return "us"
    return "ns"


def parse_dates(column: pd.Series, time_unit: str, origin: str) -> pd.Series:
    """A date column of any supported kind as datetime64[ms, UTC]; tz-naive values are taken as UTC."""
    if time_unit not in TIME_UNITS:
        raise DataError(f"{origin}: time_unit must be one of {', '.join(TIME_UNITS)} (got {time_unit!r})")
    kind = column.dtype.kind
    try:
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            parsed = column.dt.tz_convert("UTC")
        elif kind == "M":
            parsed = column.dt.tz_localize("UTC")
        elif kind in "iuf" and time_unit != "iso":
            unit: Any = _numeric_unit(column.to_numpy()) if time_unit == "auto" else time_unit
            parsed = pd.to_datetime(column, unit=unit, utc=True)
        else:
            parsed = pd.to_datetime(column, utc=True, format="ISO8601")
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"{origin}: cannot read column 'date' as {time_unit} times: {exc}") from exc
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(f"{origin}: column 'date' has an empty value at row {row}")
    return parsed.astype(DATE_DTYPE)


def _mapping(columns: Mapping[str, str] | None, ours: tuple[str, ...], origin: str) -> dict[str, str]:
    """Our name -> file column for ``ours``, from the config's partial ``columns`` mapping."""
    given = dict(columns or {})
    unknown = sorted(set(given) - set(CANDLE_COLUMNS) - {"rate"})
    if unknown:
        raise DataError(f"{origin}: columns: unknown name {unknown[0]!r}; use {', '.join(CANDLE_COLUMNS)}")
    return {name: given.get(name, name) for name in ours}


def _sorted_unique(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by date and keep the first row of each duplicated date, with a fresh RangeIndex."""
    if not frame["date"].is_monotonic_increasing:
        frame = frame.sort_values("date", kind="stable")
    frame = frame[~frame["date"].duplicated(keep="first")]
    return frame.reset_index(drop=True)


def _to_float(frame: pd.DataFrame, names: tuple[str, ...], origin: str) -> None:
    """Convert columns to float64 in place, naming the column that holds text."""
    for name in names:
        try:
            frame[name] = frame[name].astype("float64")
        except (ValueError, TypeError) as exc:
            raise DataError(f"{origin}: column {name!r} is not numeric: {exc}") from exc


def load_candles_file(
    path: Path | str,
    *,
    fmt: str = "auto",
    columns: Mapping[str, str] | None = None,
    time_unit: str = "auto",
    repair: bool = False,
) -> pd.DataFrame:
    """Read a candle file into the normalized frame (date ms UTC + float64 OHLCV), row by row checked
    (``validate.check_candle_rows``: refused with file, row and column, or repaired when ``repair``)."""
    path = Path(path)
    kind = detect_format(path, fmt)
    frame = read_columns(path, kind, _mapping(columns, CANDLE_COLUMNS, path.name))
    frame["date"] = parse_dates(frame["date"], time_unit, path.name)
    _to_float(frame, CANDLE_COLUMNS[1:], path.name)
    frame = check_candle_rows(frame, path.name, PRICE_COLUMNS, repair=repair)
    validate_candles(frame, path.name)
    return frame


def load_mark_file(
    path: Path | str,
    *,
    fmt: str = "auto",
    columns: Mapping[str, str] | None = None,
    time_unit: str = "auto",
    repair: bool = False,
) -> pd.DataFrame:
    """Read mark-price candles (OHLC; volume ignored) as date + mark_open/high/low/close, checked like
    candle files."""
    path = Path(path)
    kind = detect_format(path, fmt)
    frame = read_columns(path, kind, _mapping(columns, ("date", *PRICE_COLUMNS), path.name))
    frame["date"] = parse_dates(frame["date"], time_unit, path.name)
    _to_float(frame, PRICE_COLUMNS, path.name)
    frame = check_candle_rows(frame, path.name, PRICE_COLUMNS, volume=False, repair=repair)
    check = frame.assign(volume=0.0)
    validate_candles(check, path.name)
    return frame.rename(columns=dict(zip(PRICE_COLUMNS, MARK_COLUMNS, strict=True)))


def load_funding_file(path: Path | str, *, fmt: str = "auto", time_unit: str = "auto") -> pd.DataFrame:
    """Read funding rates (``date,rate`` or freqtrade's layout with the rate in ``open``) as date + rate.

    Settlement times are rounded to the nearest minute: exchanges stamp them with a few ms of jitter.
    """
    path = Path(path)
    kind = detect_format(path, fmt)
    present = file_columns(path, kind) if path.exists() else []
    rate_column = next((name for name in _FUNDING_RATE_NAMES if name in present), "rate")
    frame = read_columns(path, kind, {"date": "date", "rate": rate_column})
    dates = parse_dates(frame["date"], time_unit, path.name)
    frame["date"] = dates.dt.round("1min").astype(DATE_DTYPE)
    _to_float(frame, ("rate",), path.name)
    frame = _sorted_unique(frame)
    validate_funding(frame, path.name)
    return frame


def _span_text(ms: int) -> str:
    """``8h``, ``5m``, ``30s``: a duration in its largest whole unit."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def mark_at_timeframe(mark: pd.DataFrame, step_ms: int, origin: str) -> pd.DataFrame:
    """Mark candles at the candles' timeframe ``step_ms``: finer ones are aggregated (a bin's high and low
    are known at its close, like the candle's), coarser ones are refused.

    A coarser mark candle put on the first fine candle it covers would reveal its later high and low
    (an 8h mark low reached at 15:25 liquidating at 08:00): look-ahead. Refused rather than spread.
    """
    own = infer_step_ms(mark)
    if own is None or own == step_ms:
        return mark
    if own > step_ms:
        raise DataError(
            f"{origin}: mark candles every {_span_text(own)} are coarser than the {_span_text(step_ms)} "
            "candles; a coarse mark candle's high and low are only known at its close, so it cannot drive "
            "liquidation on finer candles (look-ahead). Give mark candles at the candle timeframe or finer."
        )
    if step_ms % own:
        raise DataError(f"{origin}: mark candles every {_span_text(own)} do not divide the "
                        f"{_span_text(step_ms)} candles")
    plain = mark.rename(columns=dict(zip(MARK_COLUMNS, PRICE_COLUMNS, strict=True))).assign(volume=0.0)
    binned = resample_ms(plain, step_ms, own)
    return binned[["date", *PRICE_COLUMNS]].rename(columns=dict(zip(PRICE_COLUMNS, MARK_COLUMNS, strict=True)))


def attach_mark(candles: pd.DataFrame, mark: pd.DataFrame) -> pd.DataFrame:
    """Candles with mark columns aligned by date; rows without a mark candle get NaN (the mark series
    must already be at the candles' timeframe: ``mark_at_timeframe``)."""
    base = candles.drop(columns=[c for c in MARK_COLUMNS if c in candles.columns])
    merged = base.merge(mark[["date", *MARK_COLUMNS]], on="date", how="left", sort=False)
    return merged.reset_index(drop=True)
