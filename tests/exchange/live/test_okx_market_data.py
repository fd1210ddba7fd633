"""Candle, mark-price candle and funding-rate downloads from the fake OKX through the real ccxt okx client."""

from __future__ import annotations

import pytest

from kektrade.exchange.live.ohlcv import fetch_funding_range, fetch_ohlcv_range, funding_interval_ms, make_exchange
from tests.fakes.okx_trading import T0_MS, FakeOkxExchange

INST, PAIR, MINUTE, HOURS8 = "BTC-USDT-SWAP", "BTC/USDT:USDT", 60_000, 8 * 3_600_000


@pytest.fixture
def market(okx: FakeOkxExchange) -> FakeOkxExchange:
    """250 one-minute candles (mark candles one higher) and 150 funding settlements."""
    rows = [[T0_MS + i * MINUTE, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 2.0] for i in range(250)]
    okx.state.add_candles(INST, rows)
    okx.state.add_candles(INST, [[r[0], r[1] + 1, r[2] + 1, r[3] + 1, r[4] + 1] for r in rows], mark=True)
    okx.state.add_funding(INST, [(T0_MS + k * HOURS8, 0.0001 * k) for k in range(150)])
    okx.state.now_ms = T0_MS + 400 * MINUTE
    return okx


def test_candles_page_by_page_within_okx_limits(market: FakeOkxExchange) -> None:
    client = make_exchange("okx", api_base=market.base_url)
    rows = fetch_ohlcv_range(client, PAIR, "1m", T0_MS, T0_MS + 250 * MINUTE)
    assert [int(r[0]) for r in rows] == [T0_MS + i * MINUTE for i in range(250)]
    assert rows[7][1:6] == [107.0, 108.0, 106.0, 107.5, 2.0]  # volume in coins (volCcy), not contracts
    pages = market.requests_to("/api/v5/market/history-candles")
    assert len(pages) == 3 and all(int(p.query["limit"]) <= 100 for p in pages)  # OKX serves 100 per page


def test_mark_price_candles(market: FakeOkxExchange) -> None:
    client = make_exchange("okx", api_base=market.base_url)
    rows = fetch_ohlcv_range(client, PAIR, "1m", T0_MS, T0_MS + 250 * MINUTE, price="mark")
    assert len(rows) == 250 and rows[0][1:5] == [101.0, 102.0, 100.0, 101.5]
    assert market.requests_to("/api/v5/market/history-mark-price-candles")


def test_funding_rate_history(market: FakeOkxExchange) -> None:
    client = make_exchange("okx", api_base=market.base_url)
    assert funding_interval_ms(client, PAIR) == HOURS8
    rates = fetch_funding_range(client, PAIR, T0_MS, T0_MS + 150 * HOURS8)
    assert [t for t, _ in rates] == [T0_MS + k * HOURS8 for k in range(150)]
    assert [r for _, r in rates] == pytest.approx([0.0001 * k for k in range(150)])
