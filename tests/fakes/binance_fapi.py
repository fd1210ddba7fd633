"""A local fake of Binance's USDⓈ-M futures REST API (``/fapi``) for driving the real ccxt ``binanceusdm``.

``FakeBinance`` serves a ``FakeBinanceState`` over HTTP on 127.0.0.1 (a free port) from a background
thread. Point ccxt at it by replacing only the scheme and host of every ``urls['api']`` entry, keeping
the ``/fapi/v1``, ``/fapi/v2``, ``/fapi/v3`` and ``/sapi/v1`` paths (``point_ccxt_at``): Binance serves
the same path name in several versions (``account``, ``positionRisk``), so the version matters.

Routes are a table ``{(method, path): handler}``; a handler takes ``(state, request)`` and returns the
JSON body or raises ``BinanceError(code, msg, http_status)``, answered as Binance does: HTTP 4xx with
``{"code": -2019, "msg": "..."}``. This file holds the public market-data half: exchangeInfo (filters,
order types, liquidation fee), klines, mark-price klines, premiumIndex, funding-rate history, fundingInfo,
24h ticker, book ticker and time. ``binance_trading.py`` adds the signed trading half.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

from tests.fakes.local_server import JsonRequestHandler, LocalFake

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
INTERVALS_MS = {
    "1m": MINUTE_MS, "3m": 3 * MINUTE_MS, "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS, "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS, "2h": 2 * HOUR_MS, "4h": 4 * HOUR_MS, "6h": 6 * HOUR_MS, "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS, "1d": 24 * HOUR_MS, "3d": 72 * HOUR_MS, "1w": 168 * HOUR_MS,
}
ORDER_TYPES = ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"]
TIME_IN_FORCE = ["GTC", "IOC", "FOK", "GTX", "GTD"]


class BinanceError(Exception):
    """A refusal answered the way Binance does: an HTTP 4xx status with ``{"code", "msg"}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; ``raw`` is the signed payload (query string or form body)."""

    method: str
    path: str
    params: dict[str, str]
    raw: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Bracket:
    """One rung of a leverage-bracket ladder: notional in [floor, cap), maintenance rate and amount."""

    floor: float
    cap: float
    mmr: float
    max_leverage: float
    cum: float


def brackets_from_ladder(rows: Iterable[tuple[float, float, float]]) -> tuple[Bracket, ...]:
    """Brackets from ``(cap, mmr, max_leverage)`` rows, each ``cum`` derived by Binance's recurrence:
    cum(n) = floor(n) × (mmr(n) − mmr(n−1)) + cum(n−1), cum(1) = 0."""
    out: list[Bracket] = []
    floor, prev_mmr, cum = 0.0, 0.0, 0.0
    for k, (cap, mmr, lev) in enumerate(rows):
        cum = 0.0 if k == 0 else floor * (mmr - prev_mmr) + cum
        out.append(Bracket(floor, cap, mmr, lev, round(cum, 8)))
        floor, prev_mmr = cap, mmr
    return tuple(out)


# BTCUSDT ladder as in the research note (X4: freqtrade's binance_leverage_tiers.json, 2024-10-24).
BTCUSDT_BRACKETS = brackets_from_ladder(
    [
        (50_000, 0.004, 125), (600_000, 0.005, 100), (3_000_000, 0.0065, 75), (12_000_000, 0.01, 50),
        (70_000_000, 0.02, 25), (100_000_000, 0.025, 20), (230_000_000, 0.05, 10),
    ]
)
ETHUSDT_BRACKETS = brackets_from_ladder(
    [(10_000, 0.005, 100), (100_000, 0.0065, 75), (500_000, 0.01, 50), (1_000_000, 0.02, 25), (5_000_000, 0.05, 10)]
)


@dataclass
class FakeBinanceState:
    """Everything the fake serves publicly; tests fill it through the ``add_*`` helpers."""

    symbols: dict[str, dict[str, Any]] = field(default_factory=dict)
    brackets: dict[str, tuple[Bracket, ...]] = field(default_factory=dict)
    klines: dict[tuple[str, str], dict[int, list[float]]] = field(default_factory=dict)
    mark_klines: dict[tuple[str, str], dict[int, list[float]]] = field(default_factory=dict)
    funding: dict[str, dict[int, tuple[float, float]]] = field(default_factory=dict)  # time -> (rate, mark)
    funding_hours: dict[str, int] = field(default_factory=dict)  # symbols off the default 8 h
    maker_fee: float = 0.0002
    taker_fee: float = 0.0005
    now_ms: int | None = None  # None: the wall clock

    def add_symbol(
        self, symbol: str, base: str, quote: str = "USDT", tick: str = "0.10", step: str = "0.001",
        min_qty: str = "0.001", max_qty: str = "1000", market_max_qty: str = "120", min_notional: str = "100",
        brackets: tuple[Bracket, ...] | None = None, status: str = "TRADING",
    ) -> None:
        """Register a USDⓈ-M perpetual with Binance's filters and a bracket ladder."""
        self.symbols[symbol] = {
            "symbol": symbol, "pair": symbol, "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000, "status": status, "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000", "baseAsset": base, "quoteAsset": quote, "marginAsset": quote,
            "pricePrecision": max(0, len(tick.split(".")[1]) if "." in tick else 0),
            "quantityPrecision": max(0, len(step.split(".")[1]) if "." in step else 0),
            "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN", "underlyingSubType": [],
            "triggerProtect": "0.0500", "liquidationFee": "0.012500", "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "4529764", "tickSize": tick},
                {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": max_qty, "stepSize": step},
                {"filterType": "MARKET_LOT_SIZE", "minQty": min_qty, "maxQty": market_max_qty, "stepSize": step},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": min_notional},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
                 "multiplierDecimal": "4"},
            ],
            "orderTypes": list(ORDER_TYPES), "timeInForce": list(TIME_IN_FORCE),
        }
        self.brackets[symbol] = brackets or brackets_from_ladder([(1e12, 0.01, 50)])

    def add_default_symbols(self) -> None:
        """BTCUSDT and ETHUSDT with the research note's bracket ladders."""
        self.add_symbol("BTCUSDT", "BTC", brackets=BTCUSDT_BRACKETS)
        self.add_symbol(
            "ETHUSDT", "ETH", tick="0.01", step="0.001", min_qty="0.001", max_qty="10000",
            market_max_qty="2000", min_notional="20", brackets=ETHUSDT_BRACKETS,
        )

    def filter_of(self, symbol: str, kind: str) -> dict[str, Any]:
        """One filter of a symbol's exchangeInfo entry."""
        return next(f for f in self.symbols[symbol]["filters"] if f["filterType"] == kind)

    def add_klines(self, symbol: str, rows: Iterable[list[float]], interval: str = "1m", mark: bool = False) -> None:
        """Add candles ``[open_ms, open, high, low, close(, volume)]``."""
        table = (self.mark_klines if mark else self.klines).setdefault((symbol, interval), {})
        for row in rows:
            table[int(row[0])] = [float(v) for v in row]

    def add_funding(self, symbol: str, rows: Iterable[tuple[int, float, float]]) -> None:
        """Add funding settlements ``(time_ms, rate, mark_price)``."""
        self.funding.setdefault(symbol, {}).update({int(t): (float(r), float(m)) for t, r, m in rows})

    def time_ms(self) -> int:
        """The fake's clock."""
        return self.now_ms if self.now_ms is not None else int(time.time() * 1000)

    def interval_ms(self, symbol: str) -> int:
        """The symbol's funding interval."""
        return self.funding_hours.get(symbol, 8) * HOUR_MS


Handler = Callable[[FakeBinanceState, RecordedRequest], Any]


def fmt(value: float | None) -> str:
    """A number as Binance writes it: a decimal string without float noise ("0" for None)."""
    if value is None or value != value:
        return "0"
    text = format(Decimal(repr(float(value))), "f")  # the shortest exact decimal, never in exponent form
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("", "-0") else text


def int_param(request: RecordedRequest, name: str, default: int | None = None) -> int | None:
    """An integer parameter; -1100 when malformed."""
    raw = request.params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None


def symbol_param(state: FakeBinanceState, request: RecordedRequest, required: bool = True) -> str | None:
    """The ``symbol`` parameter; -1102 when missing, -1121 when unknown."""
    symbol = request.params.get("symbol")
    if not symbol:
        if required:
            raise BinanceError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        return None
    if symbol not in state.symbols:
        raise BinanceError(-1121, "Invalid symbol.")
    return symbol


def window(table: dict[int, Any], start: int | None, end: int | None, limit: int) -> list[int]:
    """Keys in [start, end] ascending, at most ``limit``: from ``start`` when given, else the newest."""
    keys = sorted(t for t in table if (start is None or t >= start) and (end is None or t <= end))
    return keys[:limit] if start is not None else keys[-limit:]


def exchange_info(state: FakeBinanceState, request: RecordedRequest) -> dict[str, Any]:
    """GET /fapi/v1/exchangeInfo."""
    return {
        "timezone": "UTC", "serverTime": state.time_ms(), "futuresType": "U_MARGINED",
        "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400}],
        "exchangeFilters": [], "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": list(state.symbols.values()),
    }


def _klines(state: FakeBinanceState, request: RecordedRequest, mark: bool) -> list[list[Any]]:
    symbol = str(symbol_param(state, request))
    interval = request.params.get("interval", "")
    if interval not in INTERVALS_MS:
        raise BinanceError(-1120, "Invalid interval.")
    limit = min(1500, int_param(request, "limit", 500) or 500)
    table = state.klines.get((symbol, interval), {})
    if mark:  # the mark table, or the trade candles when no mark prices were given
        table = state.mark_klines.get((symbol, interval), table)
    step = INTERVALS_MS[interval]
    rows = []
    for t in window(table, int_param(request, "startTime"), int_param(request, "endTime"), limit):
        row = table[t]
        o, h, lo, c = (fmt(v) for v in row[1:5])
        if mark:
            rows.append([t, o, h, lo, c, "0", t + step - 1, "0", 60, "0", "0", "0"])
        else:
            volume = row[5] if len(row) > 5 else 1.0
            rows.append([t, o, h, lo, c, fmt(volume), t + step - 1, fmt(volume * row[4]), 60, fmt(volume / 2),
                         fmt(volume * row[4] / 2), "0"])
    return rows


def klines(state: FakeBinanceState, request: RecordedRequest) -> list[list[Any]]:
    """GET /fapi/v1/klines (oldest first)."""
    return _klines(state, request, mark=False)


def mark_price_klines(state: FakeBinanceState, request: RecordedRequest) -> list[list[Any]]:
    """GET /fapi/v1/markPriceKlines: the mark table, or the trade candles when no mark was set."""
    return _klines(state, request, mark=True)


def _last_close(state: FakeBinanceState, symbol: str) -> float:
    table = state.klines.get((symbol, "1m"), {})
    return table[max(table)][4] if table else 0.0


def _mark(state: FakeBinanceState, symbol: str) -> float:
    table = state.mark_klines.get((symbol, "1m"), {})
    return table[max(table)][4] if table else _last_close(state, symbol)


def premium_row(state: FakeBinanceState, symbol: str) -> dict[str, Any]:
    """One premiumIndex row: mark from the newest mark candle, the running rate from the newest settlement."""
    now, interval = state.time_ms(), state.interval_ms(symbol)
    funding = state.funding.get(symbol, {})
    rate = funding[max(funding)][0] if funding else 0.0001
    mark = _mark(state, symbol)
    return {
        "symbol": symbol, "markPrice": fmt(mark), "indexPrice": fmt(mark), "estimatedSettlePrice": fmt(mark),
        "lastFundingRate": fmt(rate), "interestRate": "0.00010000",
        "nextFundingTime": (now // interval + 1) * interval, "time": now,
    }


def premium_index(state: FakeBinanceState, request: RecordedRequest) -> Any:
    """GET /fapi/v1/premiumIndex: one object with ``symbol``, else a list."""
    symbol = symbol_param(state, request, required=False)
    if symbol is not None:
        return premium_row(state, symbol)
    return [premium_row(state, s) for s in state.symbols]


def funding_rate(state: FakeBinanceState, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v1/fundingRate: settlements ascending with their mark price (limit ≤ 1000, default 100)."""
    symbol = str(symbol_param(state, request))
    limit = min(1000, int_param(request, "limit", 100) or 100)
    table = state.funding.get(symbol, {})
    keys = window(table, int_param(request, "startTime"), int_param(request, "endTime"), limit)
    return [
        {"symbol": symbol, "fundingTime": t, "fundingRate": fmt(table[t][0]), "markPrice": fmt(table[t][1])}
        for t in keys
    ]


def funding_info(state: FakeBinanceState, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v1/fundingInfo: only symbols whose interval differs from the default are listed."""
    return [
        {"symbol": s, "adjustedFundingRateCap": "0.02000000", "adjustedFundingRateFloor": "-0.02000000",
         "fundingIntervalHours": hours, "disclaimer": False}
        for s, hours in state.funding_hours.items()
    ]


def ticker_24hr(state: FakeBinanceState, request: RecordedRequest) -> Any:
    """GET /fapi/v1/ticker/24hr: last price = the newest 1m close."""
    def row(symbol: str) -> dict[str, Any]:
        last = fmt(_last_close(state, symbol))
        now = state.time_ms()
        return {
            "symbol": symbol, "priceChange": "0", "priceChangePercent": "0", "weightedAvgPrice": last,
            "lastPrice": last, "lastQty": "1", "openPrice": last, "highPrice": last, "lowPrice": last,
            "volume": "0", "quoteVolume": "0", "openTime": now - 86_400_000, "closeTime": now,
            "firstId": 1, "lastId": 1, "count": 1,
        }

    symbol = symbol_param(state, request, required=False)
    return row(symbol) if symbol is not None else [row(s) for s in state.symbols]


def book_ticker(state: FakeBinanceState, request: RecordedRequest) -> Any:
    """GET /fapi/v1/ticker/bookTicker: bid = ask = the newest close."""
    def row(symbol: str) -> dict[str, Any]:
        last = fmt(_last_close(state, symbol))
        return {"symbol": symbol, "bidPrice": last, "bidQty": "1", "askPrice": last, "askQty": "1",
                "time": state.time_ms()}

    symbol = symbol_param(state, request, required=False)
    return row(symbol) if symbol is not None else [row(s) for s in state.symbols]


def server_time(state: FakeBinanceState, request: RecordedRequest) -> dict[str, int]:
    """GET /fapi/v1/time."""
    return {"serverTime": state.time_ms()}


def ping(state: FakeBinanceState, request: RecordedRequest) -> dict[str, Any]:
    """GET /fapi/v1/ping."""
    return {}


MARKET_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/fapi/v1/exchangeInfo"): exchange_info,
    ("GET", "/fapi/v1/klines"): klines,
    ("GET", "/fapi/v1/markPriceKlines"): mark_price_klines,
    ("GET", "/fapi/v1/premiumIndex"): premium_index,
    ("GET", "/fapi/v1/fundingRate"): funding_rate,
    ("GET", "/fapi/v1/fundingInfo"): funding_info,
    ("GET", "/fapi/v1/ticker/24hr"): ticker_24hr,
    ("GET", "/fapi/v1/ticker/bookTicker"): book_ticker,
    ("GET", "/fapi/v1/time"): server_time,
    ("GET", "/fapi/v1/ping"): ping,
}


def point_ccxt_at(exchange: Any, base_url: str) -> None:
    """Replace scheme and host of every ccxt API URL with ``base_url``, keeping each URL's path."""
    api = exchange.urls["api"]
    for key, url in list(api.items()):
        parts = urlsplit(url)
        api[key] = base_url.rstrip("/") + parts.path


class _RequestHandler(JsonRequestHandler):
    """Turns HTTP requests into route calls; errors become Binance's 4xx ``{"code", "msg"}``."""

    def do_PUT(self) -> None:
        """Answer a PUT (form body)."""
        self._answer("PUT")

    def do_DELETE(self) -> None:
        """Answer a DELETE (query string)."""
        self._answer("DELETE")

    def answer(self, method: str, parts: SplitResult, body: bytes) -> tuple[int, Any]:
        """Query and form parameters merged; the signed raw string is the query (GET, DELETE) or the body."""
        text = body.decode()
        raw = parts.query if method in ("GET", "DELETE") else text
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        params.update(parse_qsl(text, keep_blank_values=True))
        return self.server.fake.handle(RecordedRequest(method, parts.path, params, raw, dict(self.headers)))


class FakeBinance(LocalFake[RecordedRequest]):
    """The fake server: ``with FakeBinance() as fake: point_ccxt_at(ccxt.binanceusdm(), fake.base_url)``."""

    handler_class = _RequestHandler
    thread_name = "fake-binance"

    def __init__(self, state: FakeBinanceState | None = None) -> None:
        self.state = state or FakeBinanceState()
        if not self.state.symbols:
            self.state.add_default_symbols()
        self.routes: dict[tuple[str, str], Handler] = dict(MARKET_ROUTES)
        self._init_serving(threading.Lock())

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Add or replace an endpoint."""
        self.routes[(method.upper(), path)] = handler

    def handle(self, request: RecordedRequest) -> tuple[int, Any]:
        """Record the request; the HTTP status and JSON body of its answer."""
        with self._lock:
            self.requests.append(request)
            handler = self.routes.get((request.method, request.path))
            try:
                if handler is None:
                    raise BinanceError(-5000, f"Path {request.method} {request.path}, Method GET is invalid", 404)
                return 200, handler(self.state, request)
            except BinanceError as exc:
                return exc.status, {"code": exc.code, "msg": exc.msg}
