"""The real ccxt client against the local Bybit v5 fake: paginated candles, mark candles, funding."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from kektrade.exchange.live.ohlcv import (
    BYBIT_API_KEYS,
    fetch_funding_range,
    fetch_ohlcv_range,
    make_exchange,
)
from tests.fakes.bybit_v5 import FakeBybit

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
M = 60_000
H8 = 8 * 3_600_000


def candle(i: int) -> list[float]:
    """A deterministic 1m candle number ``i`` after T0."""
    price = 40_000 + (i % 97) * 1.5
    return [T0 + i * M, price, price + 10, price - 10, price + 0.5, 1 + i % 7]


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    with FakeBybit() as server:
        yield server


def test_make_exchange_points_every_api_url_at_the_fake(fake: FakeBybit) -> None:
    exchange = make_exchange("bybit", api_base=fake.base_url + "/")
    assert set(exchange.urls["api"]) == set(BYBIT_API_KEYS)
    assert all(url == fake.base_url for url in exchange.urls["api"].values())
    assert exchange.enableRateLimit is False
    assert exchange.options["fetchMarkets"]["types"] == ["linear", "inverse"]
    exchange.load_markets()
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USD:BTC"} <= set(exchange.markets)
    assert exchange.market("BTC/USD:BTC")["inverse"] is True
    assert {r.path for r in fake.requests} == {"/v5/market/instruments-info"}
    calls = [(r.query.get("category"), r.query.get("status")) for r in fake.requests]
    assert calls == [("linear", None), ("linear", "PreLaunch"), ("inverse", None), ("inverse", "PreLaunch")]


def test_make_exchange_rejects_unknown_ids_and_keeps_rate_limit_for_real_hosts() -> None:
    with pytest.raises(ValueError, match="ccxt has no exchange 'bibyt'"):
        make_exchange("bibyt")
    assert make_exchange("bybit").enableRateLimit is True
    assert "testnet" in make_exchange("bybit", testnet=True).urls["api"]["public"]


def test_5000_candles_are_fetched_in_five_contiguous_pages(fake: FakeBybit) -> None:
    fake.state.add_klines("BTCUSDT", [candle(i) for i in range(5000)])
    exchange = make_exchange("bybit", api_base=fake.base_url)
    progress: list[tuple[int, int]] = []
    rows = fetch_ohlcv_range(
        exchange, "BTC/USDT:USDT", "1m", T0, T0 + 5000 * M, lambda done, total: progress.append((done, total))
    )
    assert rows == [[float(v) for v in candle(i)] for i in range(5000)]
    pages = fake.requests_to("/v5/market/kline")
    assert [(int(p.query["start"]), int(p.query["end"])) for p in pages] == [
        (T0 + k * 1000 * M, T0 + (k + 1) * 1000 * M - 1) for k in range(5)
    ]
    assert {p.query["limit"] for p in pages} == {"1000"} and {p.query["interval"] for p in pages} == {"1"}
    assert progress == [(1000 * k, 5000) for k in range(1, 6)]


def test_missing_candles_stay_missing_and_since_is_aligned(fake: FakeBybit) -> None:
    fake.state.add_klines("BTCUSDT", [candle(i) for i in range(300) if not 100 <= i < 150])
    exchange = make_exchange("bybit", api_base=fake.base_url)
    rows = fetch_ohlcv_range(exchange, "BTC/USDT:USDT", "5m", T0 + 1, T0 + 300 * M)
    assert rows == []  # no 5m table in the fake
    rows = fetch_ohlcv_range(exchange, "BTC/USDT:USDT", "1m", T0 + 30_001, T0 + 300 * M)
    assert len(rows) == 299 - 50 and rows[0][0] == T0 + M
    assert all(not T0 + 100 * M <= r[0] < T0 + 150 * M for r in rows)


def test_mark_price_candles_use_the_mark_endpoint(fake: FakeBybit) -> None:
    fake.state.add_klines("BTCUSDT", [candle(i)[:5] for i in range(10)], mark=True)
    exchange = make_exchange("bybit", api_base=fake.base_url)
    rows = fetch_ohlcv_range(exchange, "BTC/USDT:USDT", "1m", T0, T0 + 10 * M, price="mark")
    assert [r[:5] for r in rows] == [[float(v) for v in candle(i)[:5]] for i in range(10)]
    assert len(fake.requests_to("/v5/market/mark-price-kline")) == 1
    assert fake.requests_to("/v5/market/kline") == []


def test_inverse_symbol_reports_turnover_as_volume(fake: FakeBybit) -> None:
    fake.state.add_klines("BTCUSD", [[T0, 40_000, 40_010, 39_990, 40_005, 200_000, 5.0]], category="inverse")
    exchange = make_exchange("bybit", api_base=fake.base_url)
    rows = fetch_ohlcv_range(exchange, "BTC/USD:BTC", "1m", T0, T0 + M)
    assert rows == [[float(T0), 40_000.0, 40_010.0, 39_990.0, 40_005.0, 5.0]]
    assert fake.requests_to("/v5/market/kline")[0].query["category"] == "inverse"


def test_funding_history_is_paginated(fake: FakeBybit) -> None:
    fake.state.add_funding("BTCUSDT", [(T0 + i * H8, 0.0001 + i * 1e-6) for i in range(400)])
    exchange = make_exchange("bybit", api_base=fake.base_url)
    rates = fetch_funding_range(exchange, "BTC/USDT:USDT", T0, T0 + 400 * H8)
    assert rates == [(T0 + i * H8, pytest.approx(0.0001 + i * 1e-6)) for i in range(400)]
    pages = fake.requests_to("/v5/market/funding/history")
    assert len(pages) == 2 and all("endTime" in p.query for p in pages)


def test_windows_holding_more_than_a_page_are_split(fake: FakeBybit) -> None:
    # the instrument claims 8h funding but settles hourly: each 200-settlement window holds 1600
    fake.state.add_funding("BTCUSDT", [(T0 + i * 3_600_000, 0.0001) for i in range(2000)])
    exchange = make_exchange("bybit", api_base=fake.base_url)
    rates = fetch_funding_range(exchange, "BTC/USDT:USDT", T0, T0 + 2000 * 3_600_000)
    assert [t for t, _ in rates] == [T0 + i * 3_600_000 for i in range(2000)]


def test_unknown_paths_answer_10001_with_the_path(fake: FakeBybit) -> None:
    exchange = make_exchange("bybit", api_base=fake.base_url)
    with pytest.raises(ccxt.BadRequest, match="/v5/market/orderbook"):
        exchange.publicGetV5MarketOrderbook({"category": "linear", "symbol": "BTCUSDT"})
    assert fake.requests[-1].path == "/v5/market/orderbook"


def test_tickers_time_and_funding_rate(fake: FakeBybit) -> None:
    fake.state.now_ms = T0 + 5 * M
    fake.state.add_klines("BTCUSDT", [candle(i) for i in range(3)])
    fake.state.add_funding("BTCUSDT", [(T0, 0.00025)])
    exchange = make_exchange("bybit", api_base=fake.base_url)
    assert exchange.fetch_time() == T0 + 5 * M
    rate = exchange.fetch_funding_rate("BTC/USDT:USDT")
    assert rate["fundingRate"] == 0.00025 and rate["markPrice"] == candle(2)[4]
    assert rate["interval"] == "8h"
