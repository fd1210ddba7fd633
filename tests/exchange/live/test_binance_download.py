"""Candle, mark-price and funding downloads from Binance USDⓈ-M, page by page, against the fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kektrade.exchange.live.ohlcv import fetch_funding_range, fetch_ohlcv_range, make_exchange
from tests.fakes.binance_fapi import FakeBinance

T0 = 1_704_067_200_000
MINUTE = 60_000
EIGHT_HOURS = 8 * 3_600_000
PAIR = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBinance]:
    """2,500 one-minute candles (mark = close - 0.25) and 1,200 funding settlements."""
    with FakeBinance() as server:
        rows = [[T0 + k * MINUTE, 100 + k % 7, 101 + k % 7, 99 + k % 7, 100.5 + k % 7, 1 + k % 3] for k in range(2500)]
        server.state.add_klines("BTCUSDT", rows)
        server.state.add_klines("BTCUSDT", [[r[0], r[1] - 0.25, r[2] - 0.25, r[3] - 0.25, r[4] - 0.25] for r in rows],
                                mark=True)  # fmt: skip
        server.state.add_funding("BTCUSDT", [(T0 - k * EIGHT_HOURS, k % 5 / 10_000, 100.0) for k in range(1200)])
        server.state.now_ms = T0 + 2500 * MINUTE
        yield server


def test_candles_and_mark_candles_over_several_pages(fake: FakeBinance) -> None:
    client = make_exchange("binanceusdm", api_base=fake.base_url)
    fake.clear_requests()
    candles = fetch_ohlcv_range(client, PAIR, "1m", T0, T0 + 2500 * MINUTE)
    assert [c[0] for c in candles] == [T0 + k * MINUTE for k in range(2500)]
    assert candles[1234][1:6] == [100 + 1234 % 7, 101 + 1234 % 7, 99 + 1234 % 7, 100.5 + 1234 % 7, 1 + 1234 % 3]
    assert len(fake.requests_to("/fapi/v1/klines")) == 3  # pages of 1,000 (the dialect's page size)
    marks = fetch_ohlcv_range(client, PAIR, "1m", T0, T0 + 2500 * MINUTE, price="mark")
    assert [m[4] for m in marks] == [c[4] - 0.25 for c in candles]


def test_funding_history_over_several_pages(fake: FakeBinance) -> None:
    client = make_exchange("binanceusdm", api_base=fake.base_url)
    start = T0 - 1199 * EIGHT_HOURS
    rates = fetch_funding_range(client, PAIR, start, T0 + 1)
    assert [t for t, _ in rates] == [start + k * EIGHT_HOURS for k in range(1200)]
    assert rates[-1] == (T0, 0.0) and rates[-2] == (T0 - EIGHT_HOURS, 0.0001)
