"""A local fake of Bybit's v5 REST API for driving the real ccxt client in tests.

``FakeBybit`` serves a ``FakeBybitState`` over HTTP on 127.0.0.1 (a free port) from a background thread.
Endpoints live in a route table ``{(method, path): handler}``; a handler takes ``(state, request)`` and
returns the ``result`` object or raises ``BybitError(code, message)``. Extend it by adding routes
(``fake.route("POST", "/v5/order/create", handler)``) and fields to the state.

Market data half: instruments-info, kline, mark-price-kline, funding/history, tickers, time and
asset/coin/query-info. Every request is recorded (method, path, query, body) so tests can assert on
pagination.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl

from tests.fakes.local_server import JsonRequestHandler, LocalFake

MINUTE_MS = 60_000
INTERVALS_MS = {
    "1": MINUTE_MS, "3": 3 * MINUTE_MS, "5": 5 * MINUTE_MS, "15": 15 * MINUTE_MS, "30": 30 * MINUTE_MS,
    "60": 60 * MINUTE_MS, "120": 120 * MINUTE_MS, "240": 240 * MINUTE_MS, "360": 360 * MINUTE_MS,
    "720": 720 * MINUTE_MS, "D": 1440 * MINUTE_MS,
}


class BybitError(Exception):
    """A business error answered as HTTP 200 with a non-zero retCode, like Bybit does."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    headers: dict[str, str]


@dataclass
class FakeBybitState:
    """Everything the fake serves; tests fill it through the ``add_*`` helpers."""

    instruments: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"linear": {}, "inverse": {}}
    )
    klines: dict[tuple[str, str, str], dict[int, list[float]]] = field(default_factory=dict)
    mark_klines: dict[tuple[str, str, str], dict[int, list[float]]] = field(default_factory=dict)
    funding: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict)
    tickers: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    now_ms: int | None = None  # None: the wall clock

    def add_instrument(
        self, symbol: str, category: str, base: str, quote: str, settle: str, tick: str = "0.1",
        qty_step: str = "0.001", min_qty: str = "0.001", funding_interval_min: int = 480,
    ) -> None:
        """Register a perpetual (``LinearPerpetual`` or ``InversePerpetual``)."""
        kind = "LinearPerpetual" if category == "linear" else "InversePerpetual"
        self.instruments[category][symbol] = {
            "symbol": symbol, "contractType": kind,
            "status": "Trading", "baseCoin": base, "quoteCoin": quote, "settleCoin": settle,
            "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": "2",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": tick, "maxPrice": "1999999.80", "tickSize": tick},
            "lotSizeFilter": {
                "maxOrderQty": "1190.000", "minOrderQty": min_qty, "qtyStep": qty_step,
                "postOnlyMaxOrderQty": "1190.000", "maxMktOrderQty": "500.000", "minNotionalValue": "5",
            },
            "unifiedMarginTrade": True, "fundingInterval": funding_interval_min,
            "copyTrading": "both", "upperFundingRate": "0.005", "lowerFundingRate": "-0.005",
        }

    def add_default_instruments(self) -> None:
        """BTCUSDT and ETHUSDT (linear), BTCUSD (inverse)."""
        self.add_instrument("BTCUSDT", "linear", "BTC", "USDT", "USDT")
        self.add_instrument(
            "ETHUSDT", "linear", "ETH", "USDT", "USDT", tick="0.01", qty_step="0.01", min_qty="0.01"
        )
        self.add_instrument("BTCUSD", "inverse", "BTC", "USD", "BTC", tick="0.5", qty_step="1", min_qty="1")

    def add_klines(
        self, symbol: str, rows: Iterable[list[float]], interval: str = "1", category: str = "linear",
        mark: bool = False,
    ) -> None:
        """Add candles ``[start_ms, open, high, low, close, volume(, turnover)]`` to the kline table."""
        table = (self.mark_klines if mark else self.klines).setdefault((category, symbol, interval), {})
        for row in rows:
            table[int(row[0])] = list(row)

    def add_funding(self, symbol: str, rows: Iterable[tuple[int, float]], category: str = "linear") -> None:
        """Add funding settlements ``(time_ms, rate)``."""
        self.funding.setdefault((category, symbol), {}).update({int(t): float(r) for t, r in rows})

    def time_ms(self) -> int:
        """The fake's clock."""
        return self.now_ms if self.now_ms is not None else int(time.time() * 1000)


Handler = Callable[[FakeBybitState, RecordedRequest], Any]


def _int(request: RecordedRequest, name: str, default: int | None = None) -> int | None:
    """An integer query parameter, BybitError 10001 when malformed."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BybitError(10001, f"params error: {name} must be an integer") from None


def _newest_first(table: dict[int, Any], start: int | None, end: int | None, limit: int) -> list[int]:
    """Keys in [start, end], newest first, at most ``limit`` (anchored at ``end`` like Bybit)."""
    lo = start if start is not None else -(2**63)
    hi = end if end is not None else 2**63
    return sorted((t for t in table if lo <= t <= hi), reverse=True)[:limit]


def _fmt(value: float) -> str:
    """A number as Bybit writes it (a string without float noise)."""
    return format(value, ".10g")


def instruments_info(state: FakeBybitState, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/market/instruments-info: PreLaunch queries answer an empty list."""
    category = request.query.get("category", "")
    if category not in state.instruments:
        raise BybitError(10001, f"params error: category {category!r} not supported")
    items = [] if request.query.get("status") == "PreLaunch" else list(state.instruments[category].values())
    symbol = request.query.get("symbol")
    if symbol:
        items = [i for i in items if i["symbol"] == symbol]
    return {"category": category, "list": items, "nextPageCursor": ""}


def _kline(state: FakeBybitState, request: RecordedRequest, mark: bool) -> dict[str, Any]:
    """Shared body of kline and mark-price-kline."""
    category = request.query.get("category", "linear")
    symbol = request.query.get("symbol", "")
    interval = request.query.get("interval", "")
    if interval not in INTERVALS_MS:
        raise BybitError(10001, f"params error: invalid interval {interval!r}")
    limit = min(1000, _int(request, "limit", 200) or 200)
    table = (state.mark_klines if mark else state.klines).get((category, symbol, interval), {})
    keys = _newest_first(table, _int(request, "start"), _int(request, "end"), limit)
    width = 5 if mark else 7
    rows = [[str(k)] + [_fmt(v) for v in table[k][1:width]] for k in keys]
    if not mark:
        for row, key in zip(rows, keys, strict=True):
            if len(row) < 7:  # no turnover given: close x volume
                row.append(_fmt(table[key][4] * table[key][5]))
    return {"category": category, "symbol": symbol, "list": rows}


def kline(state: FakeBybitState, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/market/kline."""
    return _kline(state, request, mark=False)


def mark_price_kline(state: FakeBybitState, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/market/mark-price-kline."""
    return _kline(state, request, mark=True)


def funding_history(state: FakeBybitState, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/market/funding/history: startTime needs endTime, as on Bybit."""
    category = request.query.get("category", "linear")
    symbol = request.query.get("symbol", "")
    start, end = _int(request, "startTime"), _int(request, "endTime")
    if start is not None and end is None:
        raise BybitError(10001, "params error: endTime is required when startTime is given")
    limit = min(200, _int(request, "limit", 200) or 200)
    table = state.funding.get((category, symbol), {})
    rows = [
        {"symbol": symbol, "fundingRate": _fmt(table[t]), "fundingRateTimestamp": str(t)}
        for t in _newest_first(table, start, end, limit)
    ]
    return {"category": category, "list": rows}


def tickers(state: FakeBybitState, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/market/tickers: configured tickers, or ones built from the last candle."""
    category = request.query.get("category", "linear")
    wanted = request.query.get("symbol")
    items = []
    for symbol in state.instruments.get(category, {}):
        if wanted and symbol != wanted:
            continue
        items.append(state.tickers.get((category, symbol)) or _ticker_from_klines(state, category, symbol))
    return {"category": category, "list": items}


def _ticker_from_klines(state: FakeBybitState, category: str, symbol: str) -> dict[str, str]:
    """A ticker whose prices are the close of the newest 1m candle (0 when there are none)."""
    table = state.klines.get((category, symbol, "1"), {})
    last = _fmt(table[max(table)][4]) if table else "0"
    funding = state.funding.get((category, symbol), {})
    rate = _fmt(funding[max(funding)]) if funding else "0.0001"
    return {
        "symbol": symbol, "lastPrice": last, "markPrice": last, "indexPrice": last, "fundingRate": rate,
        "nextFundingTime": str((state.time_ms() // 28_800_000 + 1) * 28_800_000), "bid1Price": last,
        "ask1Price": last, "bid1Size": "1", "ask1Size": "1", "prevPrice24h": last, "highPrice24h": last,
        "lowPrice24h": last, "volume24h": "0", "turnover24h": "0", "price24hPcnt": "0",
    }


def server_time(state: FakeBybitState, request: RecordedRequest) -> dict[str, str]:
    """GET /v5/market/time."""
    now = state.time_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def coin_query_info(state: FakeBybitState, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/asset/coin/query-info (ccxt's fetchCurrencies when credentials are set)."""
    return {"rows": []}


MARKET_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/v5/market/instruments-info"): instruments_info,
    ("GET", "/v5/market/kline"): kline,
    ("GET", "/v5/market/mark-price-kline"): mark_price_kline,
    ("GET", "/v5/market/funding/history"): funding_history,
    ("GET", "/v5/market/tickers"): tickers,
    ("GET", "/v5/market/time"): server_time,
    ("GET", "/v5/asset/coin/query-info"): coin_query_info,
}


class _RequestHandler(JsonRequestHandler):
    """Turns HTTP requests into route calls and v5 envelopes."""

    def answer(self, method: str, parts: SplitResult, body: bytes) -> tuple[int, Any]:
        """The recorded request's v5 envelope (JSON body), always HTTP 200 as Bybit does."""
        request = RecordedRequest(
            method,
            parts.path,
            dict(parse_qsl(parts.query, keep_blank_values=True)),
            json.loads(body) if body else None,
            dict(self.headers),
        )
        return 200, self.server.fake.handle(request)


class FakeBybit(LocalFake[RecordedRequest]):
    """The fake server: ``with FakeBybit() as fake: make_exchange("bybit", api_base=fake.base_url)``."""

    handler_class = _RequestHandler
    thread_name = "fake-bybit"

    def __init__(self, state: FakeBybitState | None = None) -> None:
        self.state = state or FakeBybitState()
        if not any(self.state.instruments.values()):
            self.state.add_default_instruments()
        self.routes: dict[tuple[str, str], Handler] = dict(MARKET_ROUTES)
        self._init_serving(threading.Lock())

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Add or replace an endpoint."""
        self.routes[(method.upper(), path)] = handler

    def handle(self, request: RecordedRequest) -> dict[str, Any]:
        """Record the request and build its v5 envelope."""
        with self._lock:
            self.requests.append(request)
            handler = self.routes.get((request.method, request.path))
            try:
                if handler is None:
                    raise BybitError(10001, f"unknown path {request.method} {request.path}")
                result, code, message = handler(self.state, request), 0, "OK"
            except BybitError as exc:
                result, code, message = {}, exc.code, exc.message
        now = self.state.time_ms()
        return {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": now}
