"""Binance USDⓈ-M and OKX market payloads (shapes from ../shared/research/okx-binance.md, 2.3 and 1.3), parsed
by the real ccxt client offline, and the ContractSpec kektrade makes of them."""

from __future__ import annotations

from typing import Any

import ccxt

from kektrade.domain.specs import ContractSpec
from kektrade.exchange.live.markets import spec_from_market

BINANCE_BTCUSDT: dict[str, Any] = {
    "symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL", "status": "TRADING", "baseAsset": "BTC",
    "quoteAsset": "USDT", "marginAsset": "USDT", "onboardDate": 1569398400000, "pricePrecision": 2,
    "quantityPrecision": 3, "liquidationFee": "0.012500",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "261.10", "maxPrice": "809484", "tickSize": "0.10"},
        {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
        {"filterType": "MIN_NOTIONAL", "notional": "100"},
    ],
    "orderTypes": ["LIMIT", "MARKET"],
}
# X4: BTCUSDT brackets (floor, cap, MMR, max leverage, cum), freqtrade's snapshot of 2024-10-24
BINANCE_BRACKETS = [
    (0, 50_000, 0.004, 125, 0.0), (50_000, 600_000, 0.005, 100, 50.0), (600_000, 3_000_000, 0.0065, 75, 950.0),
    (3_000_000, 12_000_000, 0.01, 50, 11_450.0), (12_000_000, 70_000_000, 0.02, 25, 131_450.0),
    (70_000_000, 100_000_000, 0.025, 20, 481_450.0), (100_000_000, 230_000_000, 0.05, 10, 2_981_450.0),
]

OKX_BTC_USDT_SWAP: dict[str, Any] = {
    "instId": "BTC-USDT-SWAP", "instType": "SWAP", "instFamily": "BTC-USDT", "uly": "BTC-USDT", "baseCcy": "",
    "quoteCcy": "", "settleCcy": "USDT", "ctType": "linear", "ctVal": "0.01", "ctValCcy": "BTC", "ctMult": "1",
    "lotSz": "0.01", "minSz": "0.01", "tickSz": "0.1", "maxLmtSz": "100000000", "maxMktSz": "35000",
    "lever": "100", "state": "live", "listTime": "1611916828000", "expTime": "",
}
# OKX /public/position-tiers rows: limits in contracts (100 contracts = 1 BTC)
OKX_TIERS = [
    {"instFamily": "BTC-USDT", "tier": "1", "minSz": "0", "maxSz": "100", "mmr": "0.004", "imr": "0.01",
     "maxLever": "100"},
    {"instFamily": "BTC-USDT", "tier": "2", "minSz": "100", "maxSz": "500", "mmr": "0.006", "imr": "0.015",
     "maxLever": "50"},
]


def binance_bracket_rows(with_cum: bool = True) -> dict[str, Any]:
    """The signed /fapi/v1/leverageBracket answer for BTCUSDT (``cum`` left out when asked)."""
    brackets = []
    for n, (floor, cap, mmr, lev, cum) in enumerate(BINANCE_BRACKETS, start=1):
        row: dict[str, Any] = {"bracket": n, "initialLeverage": lev, "notionalCap": cap, "notionalFloor": floor,
                               "maintMarginRatio": mmr}
        if with_cum:
            row["cum"] = cum
        brackets.append(row)
    return {"symbol": "BTCUSDT", "notionalCoef": 1.0, "brackets": brackets}


def binance_spec(with_cum: bool = True) -> ContractSpec:
    """BTCUSDT on Binance USDⓈ-M through ccxt's own parsers."""
    exchange = ccxt.binanceusdm()
    market = exchange.parse_market(BINANCE_BTCUSDT)
    exchange.markets, exchange.markets_by_id = {market["symbol"]: market}, {market["id"]: [market]}
    tiers = exchange.parse_market_leverage_tiers(binance_bracket_rows(with_cum), market)
    return spec_from_market(market, tiers, exchange_id="binanceusdm")


def okx_spec() -> ContractSpec:
    """BTC-USDT-SWAP on OKX through ccxt's own parsers."""
    exchange = ccxt.okx()
    market = exchange.parse_market(OKX_BTC_USDT_SWAP)
    exchange.markets, exchange.markets_by_id = {market["symbol"]: market}, {market["id"]: [market]}
    rows = [{**row, "instId": "BTC-USDT-SWAP"} for row in OKX_TIERS]
    tiers = exchange.parse_market_leverage_tiers(rows, market)
    return spec_from_market(market, tiers, exchange_id="okx", funding_interval_ms=8 * 3_600_000)
