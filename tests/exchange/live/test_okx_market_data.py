"""Candle, mark-price candle and funding-rate downloads from the fake OKX through the real ccxt okx client."""

from __future__ import annotations

import pytest

from kektrade.exchange.live.markets import fetch_contract_spec
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


def test_the_downloaded_contract_spec_is_in_coins(market: FakeOkxExchange) -> None:
    """A backtest of an OKX pair sizes in coins: lot = lotSz x ctVal; tier bounds are position sizes (OKX's)."""
    market.state.add_candles(INST, [[T0_MS + 250 * MINUTE, 40_000.0, 40_000.0, 40_000.0, 40_000.0, 1.0]])
    client = make_exchange("okx", api_base=market.base_url)
    client.load_markets()
    spec = fetch_contract_spec(client, PAIR)
    assert (spec.lot_step, spec.min_qty, spec.max_qty, spec.contract_size) == (0.0001, 0.0001, 1_000_000.0, 0.01)
    assert [t.limit_value for t in spec.risk_tiers] == pytest.approx([20.0, 100.0])  # 2,000 and 10,000 x 0.01 BTC
    assert spec.formulas == "okx" and spec.tiers_by_size
    inverse = fetch_contract_spec(client, "BTC/USD:BTC")
    assert (inverse.lot_step, inverse.min_qty) == (100.0, 100.0)  # 1 contract = 100 USD
