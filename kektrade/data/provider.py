"""One entry point for market data (synthetic, file, download) and the DataProvider shared by instances."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kektrade.data.cache import download_market_data
from kektrade.data.files import (
    attach_mark,
    load_candles_file,
    load_funding_file,
    load_mark_file,
    mark_at_timeframe,
    parse_dates,
)
from kektrade.data.market import MARK_COLUMNS, DataError, MarketData, date_ms, ms_to_dates
from kektrade.data.resample import detect_gaps, report_gaps, resample
from kektrade.data.synthetic import synthetic_market
from kektrade.domain.timeframes import align_up, duration_ms, format_ms, timeframe_ms

SOURCES = ("synthetic", "file", "download")
Loader = Callable[..., MarketData]


def parse_utc_ms(text: str, field: str) -> int:
    """An ISO date or datetime (UTC when no offset is given) as epoch ms; DataError naming ``field``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"{field}: not an ISO date or datetime (got {text!r})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def trim(frame: pd.DataFrame, start_ms: int | None, end_ms: int | None) -> pd.DataFrame:
    """Rows with start_ms <= date < end_ms (either bound optional), fresh index."""
    stamps = date_ms(frame)
    keep = np.ones(stamps.size, dtype=bool)
    if start_ms is not None:
        keep &= stamps >= start_ms
    if end_ms is not None:
        keep &= stamps < end_ms
    return frame if keep.all() else frame[keep].reset_index(drop=True)


def constant_funding(first_ms: int, end_ms: int, rate: float, interval_ms: int) -> pd.DataFrame:
    """Settlements every ``interval_ms`` (UTC-aligned) from ``first_ms`` up to ``end_ms``, all at ``rate``."""
    times = np.arange(align_up(first_ms, interval_ms), end_ms, interval_ms, dtype="int64")
    return pd.DataFrame({"date": ms_to_dates(times), "rate": np.full(times.size, float(rate))})


def _load_synthetic(pair: str, timeframe: str, options: Mapping[str, Any]) -> MarketData:
    """The synthetic source with the config's defaults."""
    start = parse_utc_ms(str(options.get("start", "2024-01-01")), "data.synthetic.start")
    return synthetic_market(
        pair, timeframe, start, float(options.get("days", 60)), int(options.get("seed", 42)),
        options.get("start_price"), bool(options.get("funding", True)),
    )


def _load_file(pair: str, options: Mapping[str, Any]) -> MarketData:
    """A file source at its own timeframe, with optional mark and funding files (all rows checked; a
    mark series coarser than the candles is refused, a finer one aggregated to the candles' timeframe)."""
    if "path" not in options:
        raise DataError(f"data.files[{pair!r}].path: required")
    fmt, unit = str(options.get("format", "auto")), str(options.get("time_unit", "auto"))
    own_timeframe = str(options.get("timeframe", "1m"))
    repair = bool(options.get("repair", False))
    candles = load_candles_file(options["path"], fmt=fmt, columns=options.get("columns"), time_unit=unit,
                                repair=repair)
    if options.get("mark_path"):
        mark = load_mark_file(options["mark_path"], fmt=fmt, columns=_price_columns(options), time_unit=unit,
                              repair=repair)
        mark = mark_at_timeframe(mark, duration_ms(own_timeframe), Path(options["mark_path"]).name)
        candles = attach_mark(candles, mark)
    funding = load_funding_file(options["funding_path"], fmt=fmt, time_unit=unit) if options.get(
        "funding_path") else None
    return MarketData(pair, own_timeframe, candles, funding, (), f"file:{Path(options['path']).name}")


def _price_columns(options: Mapping[str, Any]) -> dict[str, str]:
    """The config's column mapping restricted to date and OHLC (mark files carry no volume)."""
    return {k: v for k, v in (options.get("columns") or {}).items() if k != "volume"}


def _to_timeframe(data: MarketData, timeframe: str) -> MarketData:
    """Resample to ``timeframe`` when the source is finer; reject a coarser source."""
    if data.timeframe == timeframe:
        return data
    own, want = duration_ms(data.timeframe), timeframe_ms(timeframe)
    if own > want or want % own:
        raise DataError(
            f"{data.source}: candles are {data.timeframe}; cannot make {timeframe} candles from them"
        )
    candles = resample(data.candles, timeframe, own)
    return MarketData(data.pair, timeframe, candles, data.funding, (), data.source)


def load_market_data(
    source: str,
    pair: str,
    timeframe: str,
    start_ms: int | None,
    end_ms: int | None,
    *,
    synthetic: dict[str, Any] | None = None,
    file: dict[str, Any] | None = None,
    download: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    warmup_candles: int = 0,
) -> MarketData:
    """Load ``pair`` at ``timeframe`` for [start_ms - warmup, end_ms) from the configured source.

    A constant funding rate (``data.funding_rate``) is not turned into a series here: the simulator
    settles it on its contract's own funding interval (1h, 4h, 8h...), which only the contract knows.
    """
    step = timeframe_ms(timeframe)
    first_ms = None if start_ms is None else start_ms - warmup_candles * step
    if source == "synthetic":
        data = _load_synthetic(pair, timeframe, synthetic or {})
    elif source == "file":
        data = _load_file(pair, file or {})
        _report_source_gaps(data)
    elif source == "download":
        data = _download(pair, timeframe, first_ms, end_ms, download or {}, cache_dir)
    else:
        raise DataError(f"data.source: must be one of {', '.join(map(repr, SOURCES))} (got {source!r})")
    data = _to_timeframe(data, timeframe)
    return _finish(data, first_ms, end_ms)


def _report_source_gaps(data: MarketData) -> None:
    """Log the missing candles of the source at its own timeframe."""
    report_gaps(detect_gaps(data.candles, duration_ms(data.timeframe)), f"{data.source} {data.pair}")


def _download(
    pair: str, timeframe: str, first_ms: int | None, end_ms: int | None, options: Mapping[str, Any],
    cache_dir: Path | None,
) -> MarketData:
    """The download source through the on-disk cache."""
    if first_ms is None or end_ms is None:
        raise DataError("backtest.start and backtest.end: both are required with data.source 'download'")
    if cache_dir is None:
        raise DataError("data.download: a cache directory is required")
    return download_market_data(
        str(options.get("exchange", "bybit")), pair, timeframe, first_ms, end_ms, Path(cache_dir),
        testnet=bool(options.get("testnet", False)), api_base=options.get("api_base"),
        on_progress=options.get("on_progress"),
    )


def _finish(data: MarketData, first_ms: int | None, end_ms: int | None) -> MarketData:
    """Trim, detect gaps; DataError when nothing is left."""
    candles = trim(data.candles, first_ms, end_ms)
    if candles.empty:
        raise DataError(
            f"{data.source}: no {data.pair} {data.timeframe} candles in {_span(first_ms, end_ms)} "
            f"(data covers {_covered(data.candles)})"
        )
    stamps = date_ms(candles)
    last_close = int(stamps[-1]) + timeframe_ms(data.timeframe)
    funding = None if data.funding is None else trim(data.funding, int(stamps[0]), last_close)
    gaps = detect_gaps(candles, timeframe_ms(data.timeframe))
    report_gaps(gaps, f"{data.source} {data.pair} {data.timeframe}")
    return MarketData(data.pair, data.timeframe, candles, funding, gaps, data.source)


def _span(first_ms: int | None, end_ms: int | None) -> str:
    """``2024-01-01 00:00 .. 2024-02-01 00:00`` with ``-`` for an open bound."""
    lo = format_ms(first_ms) if first_ms is not None else "-"
    hi = format_ms(end_ms) if end_ms is not None else "-"
    return f"{lo} .. {hi}"


def _covered(candles: pd.DataFrame) -> str:
    """The open times of the first and last candle, or 'no candles'."""
    if candles.empty:
        return "no candles"
    stamps = date_ms(candles)
    return _span(int(stamps[0]), int(stamps[-1]))


class DataProvider:
    """Market data for running instances: one load per (pair, timeframe); live candles go to queues."""

    def __init__(
        self,
        source: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        *,
        synthetic: dict[str, Any] | None = None,
        files: dict[str, dict[str, Any]] | None = None,
        download: dict[str, Any] | None = None,
        cache_dir: Path | None = None,
        funding_rate: float | None = None,
        loader: Loader = load_market_data,
    ) -> None:
        self.source, self.start_ms, self.end_ms = source, start_ms, end_ms
        # ``funding_rate`` is accepted for the callers' sake and kept as an attribute only: a constant rate
        # is settled by the simulator on the contract's funding interval, not by a series made here
        self.funding_rate = funding_rate
        self._options = {"synthetic": synthetic, "download": download, "cache_dir": cache_dir}
        self._files = files or {}
        self._loader = loader
        self._data: dict[tuple[str, str], tuple[MarketData, int]] = {}
        self._subscribers: dict[tuple[str, str], list[queue.Queue[pd.DataFrame]]] = {}
        self._lock = threading.RLock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    def get(self, pair: str, timeframe: str, warmup_candles: int = 0) -> MarketData:
        """The market data of (pair, timeframe), loaded once and shared (reloaded only for more warmup)."""
        key = (pair, timeframe)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            cached = self._data.get(key)
            if cached is not None and cached[1] >= warmup_candles:
                return cached[0]
            if self.source == "file" and pair not in self._files:
                configured = ", ".join(self._files) or "none"
                raise DataError(f"data.files: no file for pair {pair!r} (configured: {configured})")
            data = self._loader(
                self.source, pair, timeframe, self.start_ms, self.end_ms, file=self._files.get(pair),
                warmup_candles=warmup_candles, **self._options,
            )
            with self._lock:
                self._data[key] = (data, warmup_candles)
            return data

    def loaded(self) -> list[tuple[str, str]]:
        """The (pair, timeframe) keys loaded so far."""
        with self._lock:
            return list(self._data)

    def subscribe(self, pair: str, timeframe: str) -> queue.Queue[pd.DataFrame]:
        """A queue receiving each batch of new closed candles published for (pair, timeframe)."""
        inbox: queue.Queue[pd.DataFrame] = queue.Queue()
        with self._lock:
            self._subscribers.setdefault((pair, timeframe), []).append(inbox)
        return inbox

    def unsubscribe(self, pair: str, timeframe: str, inbox: queue.Queue[pd.DataFrame]) -> None:
        """Stop delivering to ``inbox``."""
        with self._lock:
            listeners = self._subscribers.get((pair, timeframe), [])
            if inbox in listeners:
                listeners.remove(inbox)

    def publish(self, pair: str, timeframe: str, new_candles: pd.DataFrame) -> pd.DataFrame:
        """Append closed candles newer than the stored ones and send them to every subscriber.

        Returns the rows actually added (older or repeated candles are dropped); nothing is sent when
        none are new.
        """
        key = (pair, timeframe)
        with self._lock:
            cached = self._data.get(key)
            fresh = new_candles.assign(date=parse_dates(new_candles["date"], "auto", f"publish {pair}"))
            fresh = fresh.sort_values("date").drop_duplicates("date", keep="last").reset_index(drop=True)
            if cached is not None and cached[0].end_ms is not None:
                fresh = trim(fresh, cached[0].end_ms + 1, None)
            if fresh.empty:
                return fresh
            if cached is not None:
                self._data[key] = (_extend(cached[0], fresh), cached[1])
            listeners = list(self._subscribers.get(key, []))
        for inbox in listeners:
            inbox.put(fresh)
        return fresh


def _extend(data: MarketData, fresh: pd.DataFrame) -> MarketData:
    """``data`` with ``fresh`` candles appended (mark columns NaN where the new rows have none)."""
    if MARK_COLUMNS[0] in data.candles.columns:
        fresh = fresh.reindex(columns=list(data.candles.columns))
    else:
        fresh = fresh[list(data.candles.columns)]
    candles = pd.concat([data.candles, fresh], ignore_index=True)
    gaps = detect_gaps(candles, timeframe_ms(data.timeframe))
    return MarketData(data.pair, data.timeframe, candles, data.funding, gaps, data.source)
