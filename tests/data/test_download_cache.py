"""download_market_data through the real ccxt client and the Bybit v5 fake: cache, resume, progress."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kektrade.data.cache import (
    ProgressPrinter,
    cache_folder,
    download_market_data,
    merge_rows,
    plan_chunks,
    read_cached,
    write_atomic,
)
from kektrade.data.market import DataError, MarketData, date_ms
from kektrade.data.synthetic import synthetic_market
from tests.fakes.bybit_v5 import FakeBybit

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
M = 60_000
H8 = 8 * 3_600_000
NOW = T0 + 30 * 86_400_000


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    """The fake with 6,000 synthetic 1m candles, mark candles and funding for BTCUSDT."""
    market = synthetic_market("BTC/USDT:USDT", "1m", T0, 6000 / 1440, seed=4)
    c = market.candles
    rows = np.column_stack([date_ms(c), c[["open", "high", "low", "close", "volume"]].to_numpy()]).tolist()
    with FakeBybit() as server:
        server.state.now_ms = NOW
        server.state.add_klines("BTCUSDT", rows)
        marks = [[r[0], r[1] + 1, r[2] + 1, r[3] + 1, r[4] + 1] for r in rows]
        server.state.add_klines("BTCUSDT", marks, mark=True)
        server.state.add_funding("BTCUSDT", [(T0 + i * H8, 0.0001) for i in range(30)])
        yield server


def download(fake: FakeBybit, tmp_path: Path, end_min: int, start_min: int = 0, **kw: Any) -> MarketData:
    return download_market_data(
        "bybit", "BTC/USDT:USDT", "1m", T0 + start_min * M, T0 + end_min * M, tmp_path,
        api_base=fake.base_url, now_ms=NOW, **kw,
    )


def kline_starts(fake: FakeBybit, path: str = "/v5/market/kline") -> list[int]:
    return [int(r.query["start"]) for r in fake.requests_to(path)]


def test_download_fills_the_cache_with_candles_mark_and_funding(fake: FakeBybit, tmp_path: Path) -> None:
    data = download(fake, tmp_path, 5000)
    assert len(data.candles) == 5000 and data.gaps == ()
    candles = data.candles
    assert list(candles.columns) == ["date", "open", "high", "low", "close", "volume",
                                     "mark_open", "mark_high", "mark_low", "mark_close"]
    assert np.allclose(candles["mark_close"], candles["close"] + 1)
    assert len(data.funding) == 11  # 5000 minutes (83.3 h) hold 11
    folder = tmp_path / "bybit" / "BTC_USDT_USDT"
    assert folder == cache_folder(tmp_path, "bybit", "BTC/USDT:USDT")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["1m-mark.parquet", "1m.parquet", "contract.json", "funding.parquet"]
    assert kline_starts(fake) == [T0 + k * 1000 * M for k in range(5)]
    assert len(fake.requests_to("/v5/market/mark-price-kline")) == 5
    _, coverage = read_cached(folder / "1m.parquet")
    assert coverage == (T0, T0 + 5000 * M)


def test_second_call_reads_only_the_cache(fake: FakeBybit, tmp_path: Path) -> None:
    first = download(fake, tmp_path, 5000)
    fake.clear_requests()
    again = download(fake, tmp_path, 5000, start_min=1000)
    assert fake.requests == []  # not even load_markets
    assert date_ms(again.candles)[0] == T0 + 1000 * M
    assert again.candles.equals(first.candles.iloc[1000:].reset_index(drop=True))


def test_resume_fetches_only_the_new_tail_and_head(fake: FakeBybit, tmp_path: Path) -> None:
    download(fake, tmp_path, 5000, start_min=1000)
    fake.clear_requests()
    data = download(fake, tmp_path, 6000)
    assert kline_starts(fake) == [T0, T0 + 5000 * M]  # the head [0, 1000) and the tail [5000, 6000)
    assert kline_starts(fake, "/v5/market/mark-price-kline") == [T0, T0 + 5000 * M]
    assert [int(r.query["endTime"]) for r in fake.requests_to("/v5/market/funding/history")] == [
        T0 + 1000 * M - 1, T0 + 6000 * M - 1,
    ]
    assert len(data.candles) == 6000
    assert np.all(np.diff(date_ms(data.candles)) == M)


def test_an_interrupted_download_resumes_where_it_stopped(fake: FakeBybit, tmp_path: Path) -> None:
    def stop_after_2000(done: int, total: int) -> None:
        if done >= 2000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download(fake, tmp_path, 5000, on_progress=stop_after_2000, chunk_candles=1000)
    folder = tmp_path / "bybit" / "BTC_USDT_USDT"
    saved, coverage = read_cached(folder / "1m.parquet")
    assert coverage == (T0, T0 + 1000 * M) and saved is not None and len(saved) == 1000
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]  # writes are atomic
    fake.clear_requests()
    data = download(fake, tmp_path, 5000, chunk_candles=1000)
    assert kline_starts(fake) == [T0 + k * 1000 * M for k in range(1, 5)]
    assert len(data.candles) == 5000


def test_progress_printer_reports_counts_and_percent(fake: FakeBybit, tmp_path: Path) -> None:
    out = io.StringIO()
    download(fake, tmp_path, 3000, on_progress=ProgressPrinter("BTC/USDT:USDT 1m", out))
    text = out.getvalue()
    assert "\rBTC/USDT:USDT 1m: 1000/6000 candles (17%)" in text  # trade + mark candles
    assert text.endswith("\rBTC/USDT:USDT 1m: 6000/6000 candles (100%)\n")


def test_inverse_symbol_and_testnet_folders(fake: FakeBybit, tmp_path: Path) -> None:
    fake.state.add_klines("BTCUSD", [[T0 + i * M, 100, 101, 99, 100, 5000, 50] for i in range(10)],
                          category="inverse")
    data = download_market_data("bybit", "BTC/USD:BTC", "1m", T0, T0 + 10 * M, tmp_path,
                                api_base=fake.base_url, now_ms=NOW)
    assert data.candles["volume"].tolist() == [50.0] * 10  # coin turnover, as ccxt reports inverse volume
    assert not data.has_mark and data.funding is None
    assert (tmp_path / "bybit" / "BTC_USD_BTC" / "1m.parquet").exists()
    assert cache_folder(tmp_path, "bybit", "BTC/USD:BTC", testnet=True).name == "BTC_USD_BTC"
    assert cache_folder(tmp_path, "bybit", "BTC/USD:BTC", testnet=True).parent.name == "bybit_testnet"


def test_only_closed_candles_and_clear_errors(fake: FakeBybit, tmp_path: Path) -> None:
    data = download_market_data("bybit", "BTC/USDT:USDT", "1m", T0 + 5990 * M, T0 + 9000 * M, tmp_path,
                                api_base=fake.base_url, now_ms=T0 + 5995 * M + 30_000)
    assert date_ms(data.candles).tolist() == [T0 + (5990 + i) * M for i in range(5)]  # 5995 still forming
    with pytest.raises(DataError, match="bybit: no market 'DOGE/USDT:USDT'"):
        download_market_data("bybit", "DOGE/USDT:USDT", "1m", T0, T0 + M, tmp_path, api_base=fake.base_url,
                             now_ms=NOW)
    with pytest.raises(DataError, match="empty range"):
        download_market_data("bybit", "BTC/USDT:USDT", "1m", T0, T0, tmp_path, api_base=fake.base_url)


def test_plan_chunks_truth_table() -> None:
    assert plan_chunks(None, 0, 25, 10) == [(0, 10), (10, 20), (20, 25)]
    assert plan_chunks((30, 50), 5, 62, 10) == [(20, 30), (10, 20), (5, 10), (50, 60), (60, 62)]
    assert plan_chunks((30, 50), 30, 50, 10) == []
    assert plan_chunks((30, 50), 40, 45, 10) == []
    assert plan_chunks(None, 5, 5, 10) == []


def test_merge_rows_and_atomic_write_round_trip(tmp_path: Path) -> None:
    old = synthetic_market("BTC/USDT:USDT", "1h", T0, 2, seed=1).candles
    new = old.iloc[40:].copy()
    new["volume"] = 1.0
    merged = merge_rows(old.iloc[:45], new)
    assert len(merged) == 48 and merged["volume"].iloc[40:].tolist() == [1.0] * 8  # newer rows win
    path = tmp_path / "x" / "1h.parquet"
    write_atomic(merged, path, (T0, T0 + 48 * 3_600_000))
    back, coverage = read_cached(path)
    assert coverage == (T0, T0 + 48 * 3_600_000)
    assert back is not None and back.equals(merged)
    assert read_cached(tmp_path / "missing.parquet") == (None, None)
