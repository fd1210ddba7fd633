"""load_market_data dispatch, resampling, trimming, warmup and funding; DataProvider sharing and fan-out."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kektrade.data.market import DataError, MarketData, date_ms
from kektrade.data.provider import DataProvider, constant_funding, load_market_data, parse_utc_ms
from tests.fakes.bybit_v5 import FakeBybit

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
M = 60_000
H8 = 8 * 3_600_000


def real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real data file {name} not available")
    return path


def minute_csv(tmp_path: Path, minutes: list[int]) -> Path:
    path = tmp_path / "BTC.csv"
    lines = ["date,open,high,low,close,volume"]
    lines += [f"{T0 + i * M},{100 + i},{101 + i},{99 + i},{100.5 + i},1" for i in minutes]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_synthetic_source_trims_with_warmup() -> None:
    data = load_market_data("synthetic", "BTC/USDT:USDT", "5m", T0 + 86_400_000, T0 + 2 * 86_400_000,
                            synthetic={"seed": 3, "start": "2024-01-01", "days": 5}, warmup_candles=12)
    stamps = date_ms(data.candles)
    assert stamps[0] == T0 + 86_400_000 - 12 * 5 * M and stamps[-1] == T0 + 2 * 86_400_000 - 5 * M
    assert data.timeframe == "5m" and data.source == "synthetic(seed=3)"
    assert data.funding is not None
    assert date_ms(data.funding).tolist() == [T0 + 86_400_000 + k * H8 for k in range(3)]


def test_file_source_is_resampled_and_leaves_constant_funding_to_the_contract(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = minute_csv(tmp_path, [i for i in range(0, 20 * 60) if not 30 <= i < 45])
    with caplog.at_level(logging.WARNING):
        data = load_market_data("file", "BTC/USDT:USDT", "15m", None, None, file={"path": str(path)})
    stamps = date_ms(data.candles)
    assert len(stamps) == 4 * 20 - 1 and T0 + 30 * M not in stamps  # the empty 00:30 bin is a gap
    assert data.gaps == (data.gaps[0],) and data.gaps[0].start_ms == T0 + 30 * M
    assert data.candles.loc[0, ["open", "close", "volume"]].tolist() == [100, 114.5, 15]
    # no series is made up from data.funding_rate: the simulator settles a constant rate on the contract's
    # own interval (issue 12, finding 4; tests/exchange/sim/test_issue12_regressions.py)
    assert data.funding is None
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "15 missing candles in 1 gaps" in messages and "file:BTC.csv" in messages


def test_real_futures_file_with_mark_and_funding_files() -> None:
    data = load_market_data(
        "file", "XRP/USDT:USDT", "1h", None, None,
        file={"path": str(real("XRP_USDT_USDT-1h-futures.feather")), "timeframe": "1h",
              "mark_path": str(real("XRP_USDT_USDT-1h-mark.feather")),
              "funding_path": str(real("XRP_USDT_USDT-8h-funding_rate.feather"))},
    )
    candles = data.candles
    assert data.has_mark and len(candles) == 100
    assert candles["mark_close"].notna().sum() > 50
    assert data.funding is not None and data.funding["rate"].abs().max() < 0.01


def test_real_hourly_mark_file_on_five_minute_candles_is_refused() -> None:
    """An hourly mark candle's high and low are known at its close: on 5m candles they would be look-ahead."""
    with pytest.raises(DataError, match=r"XRP_USDT_USDT-1h-mark.feather: mark candles every 1h are coarser"):
        load_market_data(
            "file", "XRP/USDT:USDT", "1h", None, None,
            file={"path": str(real("XRP_USDT_USDT-5m-futures.feather")), "timeframe": "5m",
                  "mark_path": str(real("XRP_USDT_USDT-1h-mark.feather"))},
        )


def test_download_source_goes_through_the_cache(tmp_path: Path) -> None:
    with FakeBybit() as fake:
        fake.state.add_klines("BTCUSDT", [[T0 + i * M, 100, 101, 99, 100, 1] for i in range(120)])
        data = load_market_data("download", "BTC/USDT:USDT", "1m", T0 + 60 * M, T0 + 120 * M,
                                download={"exchange": "bybit", "api_base": fake.base_url},
                                cache_dir=tmp_path, warmup_candles=30)
    assert date_ms(data.candles)[0] == T0 + 30 * M and len(data.candles) == 90
    assert (tmp_path / "bybit" / "BTC_USDT_USDT" / "1m.parquet").exists()
    with pytest.raises(DataError, match=r"backtest.start and backtest.end: both are required"):
        load_market_data("download", "BTC/USDT:USDT", "1m", None, None, cache_dir=tmp_path)


def test_errors_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data.source: must be one of 'synthetic', 'file', 'download'"):
        load_market_data("ftp", "BTC/USDT:USDT", "1m", None, None)
    with pytest.raises(DataError, match=r"data.files\['BTC/USDT:USDT'\].path: required"):
        load_market_data("file", "BTC/USDT:USDT", "1m", None, None, file={})
    path = minute_csv(tmp_path, list(range(10)))
    with pytest.raises(DataError, match=r"no BTC/USDT:USDT 1m candles in 2025-01-01 00:00 \.\. - "
                                        r"\(data covers 2024-01-01 00:00 \.\. 2024-01-01 00:09\)"):
        load_market_data("file", "BTC/USDT:USDT", "1m", parse_utc_ms("2025-01-01", "x"), None,
                         file={"path": str(path)})
    with pytest.raises(DataError, match="candles are 1h; cannot make 5m candles"):
        load_market_data("file", "BTC/USDT:USDT", "5m", None, None,
                         file={"path": str(path), "timeframe": "1h"})
    with pytest.raises(DataError, match=r"data.synthetic.start: not an ISO date"):
        load_market_data("synthetic", "BTC/USDT:USDT", "5m", None, None, synthetic={"start": "Jan 1st"})


def test_parse_utc_ms_and_constant_funding() -> None:
    assert parse_utc_ms("2024-01-01", "f") == T0
    assert parse_utc_ms("2024-01-01T01:00:00+01:00", "f") == T0
    frame = constant_funding(T0 + 1, T0 + 3 * H8 + 1, 0.0001, H8)
    assert date_ms(frame).tolist() == [T0 + H8, T0 + 2 * H8, T0 + 3 * H8]
    hourly = constant_funding(T0, T0 + 25 * 3_600_000, 0.0001, 3_600_000)
    assert len(hourly) == 25


class CountingLoader:
    """Counts calls to the real load_market_data."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, source: str, pair: str, timeframe: str, *args: Any, **kwargs: Any) -> MarketData:
        with self._lock:
            self.calls.append((pair, timeframe, kwargs["warmup_candles"]))
        return load_market_data(source, pair, timeframe, *args, **kwargs)


@pytest.fixture
def provider() -> Iterator[tuple[DataProvider, CountingLoader]]:
    loader = CountingLoader()
    dp = DataProvider("synthetic", T0 + 86_400_000, None, synthetic={"days": 3, "seed": 1}, loader=loader)
    yield dp, loader


def test_instances_on_the_same_pair_share_one_load(provider: tuple[DataProvider, CountingLoader]) -> None:
    dp, loader = provider
    results: list[MarketData] = []
    threads = [
        threading.Thread(target=lambda: results.append(dp.get("BTC/USDT:USDT", "5m", 10))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loader.calls) == 1 and all(r is results[0] for r in results)
    assert dp.get("BTC/USDT:USDT", "5m") is results[0]  # less warmup: the loaded data serves
    other = dp.get("ETH/USDT:USDT", "5m")
    assert other.pair == "ETH/USDT:USDT"
    more = dp.get("BTC/USDT:USDT", "5m", 50)  # more warmup: one reload
    assert len(more.candles) == len(results[0].candles) + 40
    assert loader.calls == [
        ("BTC/USDT:USDT", "5m", 10), ("ETH/USDT:USDT", "5m", 0), ("BTC/USDT:USDT", "5m", 50)
    ]
    assert dp.loaded() == [("BTC/USDT:USDT", "5m"), ("ETH/USDT:USDT", "5m")]


def test_file_provider_needs_a_file_per_pair() -> None:
    dp = DataProvider("file", files={})
    with pytest.raises(DataError, match=r"data.files: no file for pair 'BTC/USDT:USDT' \(configured: none\)"):
        dp.get("BTC/USDT:USDT", "1m")


def test_publish_fans_new_closed_candles_out(provider: tuple[DataProvider, CountingLoader]) -> None:
    dp, _ = provider
    base = dp.get("BTC/USDT:USDT", "1h")
    first, second = dp.subscribe("BTC/USDT:USDT", "1h"), dp.subscribe("BTC/USDT:USDT", "1h")
    other = dp.subscribe("ETH/USDT:USDT", "1h")
    last = base.candles.iloc[[-1]]
    new = last.assign(date=last["date"] + pd.Timedelta(hours=1))
    batch = pd.concat([base.candles.iloc[[-2]], last, new, new], ignore_index=True)  # old, repeated, new
    added = dp.publish("BTC/USDT:USDT", "1h", batch)
    assert date_ms(added).tolist() == [base.end_ms + 3_600_000]  # type: ignore[operator]
    for inbox in (first, second):
        got = inbox.get_nowait()
        assert got.equals(added)
    assert other.empty()
    updated = dp.get("BTC/USDT:USDT", "1h")
    assert len(updated.candles) == len(base.candles) + 1 and updated.end_ms == base.end_ms + 3_600_000  # type: ignore[operator]
    assert dp.publish("BTC/USDT:USDT", "1h", new).empty  # nothing new: nothing sent
    with pytest.raises(queue.Empty):
        first.get_nowait()
    dp.unsubscribe("BTC/USDT:USDT", "1h", second)
    newer = new.assign(date=new["date"] + pd.Timedelta(hours=1))
    dp.publish("BTC/USDT:USDT", "1h", newer)
    assert not first.empty() and second.empty()
    assert np.all(np.diff(date_ms(dp.get("BTC/USDT:USDT", "1h").candles)) == 3_600_000)
