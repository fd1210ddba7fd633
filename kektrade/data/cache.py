"""Downloaded candles, mark candles and funding kept in an on-disk Parquet cache, resumable.

Layout: ``<cache_dir>/<exchange>[_testnet]/<symbol with / and : as _>/<timeframe>.parquet`` plus
``<timeframe>-mark.parquet``, ``funding.parquet`` and ``contract.json`` (the exchange's instrument numbers
and leverage tiers when the market was first downloaded: tick, lot, min qty, contract size, risk ladder).
Each file records the time range it covers in its Parquet metadata, so a later call fetches only the
missing head and tail (also when the exchange had no data there). Downloads are saved chunk by chunk with
atomic writes (tmp file + ``os.replace``): an interrupted download resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kektrade.data.files import attach_mark
from kektrade.data.market import MARK_COLUMNS, PRICE_COLUMNS, DataError, MarketData, date_ms, ms_to_dates
from kektrade.data.resample import detect_gaps, report_gaps
from kektrade.domain.specs import ContractSpec, formulas_for, spec_from_dict, spec_to_dict
from kektrade.domain.timeframes import align_down, align_up, timeframe_ms

ProgressCallback = Callable[[int, int], None]
CONTRACT_FILE = "contract.json"
log = logging.getLogger(__name__)
Coverage = tuple[int, int]
_META_KEY = b"kektrade.coverage"


class ProgressPrinter:
    """A text progress line for the CLI: ``BTC/USDT:USDT 1m: 3000/5000 candles (60%)``."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        """Print the progress (a line per call; a newline when complete)."""
        stream = self.stream or sys.stderr
        pct = 100.0 if total <= 0 else 100.0 * done / total
        if int(pct) == self._last and done < total:
            return
        self._last = int(pct)
        end = "\n" if done >= total else ""
        stream.write(f"\r{self.label}: {done}/{total} candles ({pct:.0f}%){end}")
        stream.flush()


def cache_folder(cache_dir: Path, exchange_id: str, pair: str, testnet: bool = False) -> Path:
    """The cache folder of one market."""
    venue = f"{exchange_id}_testnet" if testnet else exchange_id
    return Path(cache_dir) / venue / pair.replace("/", "_").replace(":", "_")


def read_cached(path: Path) -> tuple[pd.DataFrame | None, Coverage | None]:
    """A cached frame and the [start, end) range it covers; (None, None) when absent."""
    if not path.exists():
        return None, None
    table = pq.read_table(path)
    meta = (table.schema.metadata or {}).get(_META_KEY)
    coverage = tuple(json.loads(meta)) if meta else None
    frame = table.to_pandas()
    frame["date"] = frame["date"].astype("datetime64[ms, UTC]")
    return frame, (int(coverage[0]), int(coverage[1])) if coverage else None


def write_atomic(frame: pd.DataFrame, path: Path, coverage: Coverage) -> None:
    """Write Parquet with the coverage in its metadata: a tmp file, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[_META_KEY] = json.dumps(list(coverage)).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table.replace_schema_metadata(metadata), tmp, compression="zstd")
    os.replace(tmp, path)


def plan_chunks(coverage: Coverage | None, start_ms: int, end_ms: int, chunk_ms: int) -> list[Coverage]:
    """Ranges to fetch, in order, so the covered range stays contiguous after every chunk.

    Head chunks walk backwards from the covered start; tail chunks walk forwards from the covered end.
    """
    if start_ms >= end_ms:
        return []
    if coverage is None:
        return [(lo, min(lo + chunk_ms, end_ms)) for lo in range(start_ms, end_ms, chunk_ms)]
    head = [(max(start_ms, hi - chunk_ms), hi) for hi in range(coverage[0], start_ms, -chunk_ms)]
    tail = [(lo, min(lo + chunk_ms, end_ms)) for lo in range(coverage[1], end_ms, chunk_ms)]
    return head + tail


def merge_rows(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Union of two frames by date, newer rows winning, sorted with a fresh index."""
    if old is None or old.empty:
        merged = new
    elif new.empty:
        merged = old
    else:
        merged = pd.concat([old, new], ignore_index=True)
    merged = merged.drop_duplicates("date", keep="last").sort_values("date", kind="stable")
    return merged.reset_index(drop=True)


def sync_series(
    path: Path, start_ms: int, end_ms: int, chunk_ms: int, fetch: Callable[[int, int], pd.DataFrame]
) -> pd.DataFrame | None:
    """Bring one cached series up to [start_ms, end_ms), fetching only what it does not cover."""
    frame, coverage = read_cached(path)
    for lo, hi in plan_chunks(coverage, start_ms, end_ms, chunk_ms):
        frame = merge_rows(frame, fetch(lo, hi))
        coverage = (lo, hi) if coverage is None else (min(coverage[0], lo), max(coverage[1], hi))
        write_atomic(frame, path, coverage)
    return frame


def _missing_ms(path: Path, start_ms: int, end_ms: int, chunk_ms: int) -> int:
    """Milliseconds of [start_ms, end_ms) not covered by the cached file."""
    _, coverage = read_cached(path)
    return sum(hi - lo for lo, hi in plan_chunks(coverage, start_ms, end_ms, chunk_ms))


def _candle_frame(rows: list[list[float]], mark: bool) -> pd.DataFrame:
    """ccxt OHLCV rows as a frame: date + OHLCV, or date + mark OHLC."""
    data = np.array(rows, dtype="float64").reshape(-1, 6)
    frame: dict[str, Any] = {"date": ms_to_dates(data[:, 0].astype("int64"))}
    names = MARK_COLUMNS if mark else (*PRICE_COLUMNS, "volume")
    for i, name in enumerate(names, start=1):
        frame[name] = data[:, i]
    return pd.DataFrame(frame)


class _Download:
    """One market's download session: the lazily created client and the progress bookkeeping."""

    def __init__(self, exchange_id: str, pair: str, testnet: bool, api_base: str | None) -> None:
        self.exchange_id, self.pair, self.testnet, self.api_base = exchange_id, pair, testnet, api_base
        self._exchange: Any = None
        self.done = 0
        self.total = 0
        self.on_progress: ProgressCallback | None = None

    @property
    def exchange(self) -> Any:
        """The ccxt client with markets loaded (created on first use: a full cache needs no network)."""
        if self._exchange is None:
            from kektrade.exchange.live.ohlcv import make_exchange  # ccxt loads only when downloading

            exchange = make_exchange(self.exchange_id, self.testnet, self.api_base)
            exchange.load_markets()
            if self.pair not in exchange.markets:
                known = ", ".join(sorted(exchange.markets)[:5])
                raise DataError(f"{self.exchange_id}: no market {self.pair!r} (for example: {known})")
            self._exchange = exchange
        return self._exchange

    def candles(self, timeframe: str, step: int, price: str | None) -> Callable[[int, int], pd.DataFrame]:
        """A fetcher of trade (``price`` None) or mark candles for [lo, hi)."""
        def fetch(lo: int, hi: int) -> pd.DataFrame:
            base = self.done

            def progress(done: int, _total: int) -> None:
                self.done = base + done
                if self.on_progress is not None:
                    self.on_progress(self.done, self.total)

            mark = price == "mark"
            from kektrade.exchange.live.ohlcv import fetch_ohlcv_range

            rows = [] if mark and not self.is_swap() else fetch_ohlcv_range(
                self.exchange, self.pair, timeframe, lo, hi, progress, price
            )
            self.done = base + (hi - lo) // step
            return _candle_frame(rows, mark=mark)
        return fetch

    def funding(self, lo: int, hi: int) -> pd.DataFrame:
        """Funding settlements in [lo, hi) as date + rate."""
        from kektrade.exchange.live.ohlcv import fetch_funding_range

        rates = fetch_funding_range(self.exchange, self.pair, lo, hi) if self.is_swap() else []
        times = np.array([t for t, _ in rates], dtype="int64")
        values = np.array([r for _, r in rates], dtype="float64")
        return pd.DataFrame({"date": ms_to_dates(times), "rate": values})

    def contract(self) -> ContractSpec:
        """The market's contract spec (instrument numbers and leverage tiers) from the exchange."""
        from kektrade.exchange.live.markets import fetch_contract_spec

        return fetch_contract_spec(self.exchange, self.pair)

    def is_swap(self) -> bool:
        """True for perpetual swaps (which have mark prices and funding)."""
        return bool(self.exchange.market(self.pair).get("swap"))


def _trim(frame: pd.DataFrame | None, start_ms: int, end_ms: int) -> pd.DataFrame | None:
    """Rows with start_ms <= date < end_ms, fresh index (None stays None)."""
    if frame is None:
        return None
    stamps = date_ms(frame)
    return frame[(stamps >= start_ms) & (stamps < end_ms)].reset_index(drop=True)


def download_market_data(
    exchange_id: str,
    pair: str,
    timeframe: str,
    start_ms: int,
    end_ms: int,
    cache_dir: Path,
    testnet: bool = False,
    api_base: str | None = None,
    on_progress: ProgressCallback | None = None,
    chunk_candles: int = 20_000,
    now_ms: int | None = None,
) -> MarketData:
    """Candles, mark candles and funding of ``pair`` for [start_ms, end_ms) through the cache.

    Only closed candles are fetched (``now_ms``, default the wall clock, bounds the range).
    """
    step = timeframe_ms(timeframe)
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    start = align_down(start_ms, step)
    end = min(align_up(end_ms, step), align_down(now, step))
    if start >= end:
        raise DataError(f"download {pair} {timeframe}: empty range (start must be before end and before now)")
    folder = cache_folder(cache_dir, exchange_id, pair, testnet)
    chunk = chunk_candles * step
    session = _Download(exchange_id, pair, testnet, api_base)
    paths = {"trade": folder / f"{timeframe}.parquet", "mark": folder / f"{timeframe}-mark.parquet"}
    session.total = sum(_missing_ms(p, start, end, chunk) for p in paths.values()) // step
    session.on_progress = on_progress
    candles = sync_series(paths["trade"], start, end, chunk, session.candles(timeframe, step, None))
    mark = sync_series(paths["mark"], start, end, chunk, session.candles(timeframe, step, "mark"))
    funding = sync_series(folder / "funding.parquet", start, end, chunk, session.funding)
    if on_progress is not None and session.total == 0:
        on_progress(0, 0)
    trades = _trim(candles, start, end)
    if trades is None or trades.empty:
        raise DataError(f"download {pair} {timeframe}: {exchange_id} has no candles in the requested range")
    marks = _trim(mark, start, end)
    if marks is not None and not marks.empty:
        trades = attach_mark(trades, marks)
    gaps = detect_gaps(trades, step)
    report_gaps(gaps, f"{exchange_id} {pair} {timeframe}")
    rates = _trim(funding, start, end)
    rates = rates if rates is not None and not rates.empty else None
    contract = cached_contract(folder / CONTRACT_FILE, session)
    return MarketData(pair, timeframe, trades, rates, gaps, f"download:{exchange_id}", contract)


def cached_contract(path: Path, session: _Download) -> ContractSpec | None:
    """The contract spec cached beside the candles, fetched once (None for a market that is not a swap)."""
    if path.exists():
        try:
            cached = json.loads(path.read_text())
            if "formulas" in cached or formulas_for(session.exchange_id) == "bybit":
                return spec_from_dict(cached)
            # cached before the exchange's own formulas were known (issue 11): its ladder may be Bybit's
            log.warning("%s: cached without the exchange's formulas; fetching it again", path)
        except (ValueError, OSError) as exc:
            log.warning("%s: unreadable cached contract (%s); fetching it again", path, exc)
    if not session.is_swap():
        return None
    spec = session.contract()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(spec_to_dict(spec), indent=1))
    os.replace(tmp, path)
    return spec
