"""A local fake of OKX's v5 REST API (market data half) for driving the real ccxt ``okx`` client in tests.

``FakeOkx`` serves an ``OkxState`` over HTTP on 127.0.0.1 (a free port) from a background thread. Routes
are ``{(method, path): handler}``; a handler takes ``(fake, request)`` and returns the ``data`` list or
raises ``OkxError(code, message)``: the envelope is ``{"code": "0", "msg": "", "data": [...]}``, business
errors come with HTTP 200 like OKX sends them. Order endpoints report refusals per item (``sCode``).

Market data: public/instruments (USDT- and coin-margined SWAP with ctVal, lotSz, minSz, tickSz),
public/time, market/candles and history-candles (newest first, ``after``/``before`` paging, max 300/100
rows), mark-price candles, public/funding-rate and funding-rate-history, public/position-tiers (sizes in
contracts), market/ticker. Every request is recorded (method, path, query, body, headers).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl

from tests.fakes.local_server import JsonRequestHandler, LocalFake

MINUTE_MS = 60_000
BARS_MS = {"1m": MINUTE_MS, "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS, "1H": 60 * MINUTE_MS, "4H": 240 * MINUTE_MS}
BARS_MS.update({"6Hutc": 360 * MINUTE_MS, "12Hutc": 720 * MINUTE_MS, "1Dutc": 1440 * MINUTE_MS})


class OkxError(Exception):
    """A business error: ``{"code": code, "msg": message}`` (per item as sCode/sMsg on order endpoints)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OkxRequest:
    """One request as the fake received it (``raw_path`` with the query string, ``raw_body`` as sent)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    raw_path: str
    raw_body: str


def fmt(value: float | None) -> str:
    """A number as OKX writes it (an exact decimal string, no trailing '.0'; '' for None)."""
    if value is None or value != value:
        return ""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


@dataclass
class OkxState:
    """Everything the fake serves; tests fill it through the ``add_*`` helpers."""

    instruments: dict[str, dict[str, Any]] = field(default_factory=dict)
    candles: dict[tuple[str, str], dict[int, list[float]]] = field(default_factory=dict)
    mark_candles: dict[tuple[str, str], dict[int, list[float]]] = field(default_factory=dict)
    funding: dict[str, dict[int, float]] = field(default_factory=dict)
    tiers: dict[str, list[tuple[float, float, float, float]]] = field(default_factory=dict)
    now_ms: int | None = None

    def add_instrument(
        self, inst_id: str, ct_val: str, lot: str, min_sz: str, tick: str, lever: str = "100",
        tiers: list[tuple[float, float, float, float]] | None = None,
    ) -> None:
        """A SWAP ``BASE-QUOTE-SWAP``; linear when the quote is USDT/USDC, inverse (settled in the base) else.

        ``tiers``: (max contracts, mmr, imr, max leverage) rows of public/position-tiers.
        """
        base, quote, _ = inst_id.split("-")
        linear = quote in ("USDT", "USDC")
        self.instruments[inst_id] = {
            "instId": inst_id, "instType": "SWAP", "instFamily": f"{base}-{quote}", "uly": f"{base}-{quote}",
            "baseCcy": "", "quoteCcy": "", "settleCcy": quote if linear else base,
            "ctType": "linear" if linear else "inverse", "ctVal": ct_val, "ctValCcy": base if linear else "USD",
            "ctMult": "1", "lotSz": lot, "minSz": min_sz, "tickSz": tick, "maxLmtSz": "100000000",
            "maxMktSz": "35000", "lever": lever, "state": "live", "listTime": "1611916828000", "expTime": "",
            "alias": "", "category": "1", "optType": "", "stk": "",
        }
        self.tiers[inst_id] = tiers or [(2000.0, 0.004, 0.01, 100.0), (10000.0, 0.006, 0.0125, 75.0)]

    def add_default_instruments(self) -> None:
        """BTC-USDT-SWAP (ctVal 0.01 BTC, lot 0.01 contracts), ETH-USDT-SWAP (ctVal 0.1), BTC-USD-SWAP (100 USD)."""
        self.add_instrument("BTC-USDT-SWAP", "0.01", "0.01", "0.01", "0.1")
        self.add_instrument("ETH-USDT-SWAP", "0.1", "1", "1", "0.01")
        self.add_instrument("BTC-USD-SWAP", "100", "1", "1", "0.1")

    def add_candles(self, inst_id: str, rows: list[list[float]], bar: str = "1m", mark: bool = False) -> None:
        """Candles ``[ts, o, h, l, c, vol(base coin)]``."""
        table = (self.mark_candles if mark else self.candles).setdefault((inst_id, bar), {})
        for row in rows:
            table[int(row[0])] = list(row)

    def add_funding(self, inst_id: str, rows: list[tuple[int, float]]) -> None:
        """Funding settlements ``(time_ms, realized rate)``."""
        self.funding.setdefault(inst_id, {}).update({int(t): float(r) for t, r in rows})

    def time_ms(self) -> int:
        """The fake's clock."""
        return self.now_ms if self.now_ms is not None else int(time.time() * 1000)


Handler = Callable[[Any, OkxRequest], list[Any]]


def _int(request: OkxRequest, name: str) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError:
        raise OkxError(51000, f"Parameter {name} error") from None


def _instrument(fake: Any, inst_id: str | None) -> dict[str, Any]:
    found = fake.state.instruments.get(inst_id or "")
    if found is None:
        raise OkxError(51001, "Instrument ID does not exist")
    return dict(found)


def instruments(fake: Any, request: OkxRequest) -> list[Any]:
    """GET /api/v5/public/instruments?instType=SWAP."""
    if request.query.get("instType") != "SWAP":
        return []
    return [dict(i) for i in fake.state.instruments.values()]


def server_time(fake: Any, request: OkxRequest) -> list[Any]:
    """GET /api/v5/public/time."""
    return [{"ts": str(fake.state.time_ms())}]


def _candle_rows(fake: Any, request: OkxRequest, mark: bool, max_limit: int) -> list[Any]:
    """Newest first; ``after``: older than, ``before``: newer than (both exclusive), like OKX."""
    inst_id = request.query.get("instId")
    _instrument(fake, inst_id)
    bar = request.query.get("bar", "1m")
    if bar not in BARS_MS:
        raise OkxError(51000, f"Parameter bar error ({bar})")
    table = (fake.state.mark_candles if mark else fake.state.candles).get((inst_id, bar), {})
    after, before = _int(request, "after"), _int(request, "before")
    limit = min(max_limit, _int(request, "limit") or 100)
    stamps = sorted(t for t in table if (after is None or t < after) and (before is None or t > before))
    if after is None and before is not None:
        stamps = stamps[:limit]  # OKX anchors a "before" page at its oldest end
    chosen = sorted(stamps, reverse=True)[:limit]
    out = []
    for t in chosen:
        row = table[t]
        vol = row[5] if len(row) > 5 else 0.0
        ct_val = float(fake.state.instruments[inst_id]["ctVal"])
        base = [str(t), fmt(row[1]), fmt(row[2]), fmt(row[3]), fmt(row[4])]
        out.append(base + ([] if mark else [fmt(vol / ct_val), fmt(vol), fmt(vol * row[4])]) + ["1"])
    return out


def candles(fake: Any, request: OkxRequest) -> list[Any]:
    """GET /api/v5/market/candles (at most 300 rows)."""
    return _candle_rows(fake, request, False, 300)


def history_candles(fake: Any, request: OkxRequest) -> list[Any]:
    """GET /api/v5/market/history-candles (at most 100 rows)."""
    return _candle_rows(fake, request, False, 100)


def mark_candles(fake: Any, request: OkxRequest) -> list[Any]:
    """GET /api/v5/market/mark-price-candles and history-mark-price-candles (at most 100 rows)."""
    return _candle_rows(fake, request, True, 100)


def funding_rate(fake: Any, request: OkxRequest) -> list[Any]:
    """GET /api/v5/public/funding-rate: the latest settlement and the next one (8-hour interval)."""
    inst_id = request.query.get("instId")
    _instrument(fake, inst_id)
    table = fake.state.funding.get(inst_id, {})
    last = max(table) if table else fake.state.time_ms() // (8 * 3_600_000) * 8 * 3_600_000
    rate = table.get(last, 0.0001)
    return [{
        "instId": inst_id, "instType": "SWAP", "fundingRate": fmt(rate), "fundingTime": str(last + 8 * 3_600_000),
        "nextFundingTime": str(last + 16 * 3_600_000), "nextFundingRate": "", "method": "current_period",
        "maxFundingRate": "0.0075", "minFundingRate": "-0.0075", "ts": str(fake.state.time_ms()),
    }]  # fmt: skip


def funding_history(fake: Any, request: OkxRequest) -> list[Any]:
    """GET /api/v5/public/funding-rate-history: newest first, ``before``/``after`` exclusive, at most 100."""
    inst_id = request.query.get("instId")
    _instrument(fake, inst_id)
    table = fake.state.funding.get(inst_id, {})
    after, before = _int(request, "after"), _int(request, "before")
    limit = min(100, _int(request, "limit") or 100)
    stamps = sorted(t for t in table if (after is None or t < after) and (before is None or t > before))
    if after is None and before is not None:
        stamps = stamps[:limit]
    return [
        {"instId": inst_id, "instType": "SWAP", "fundingRate": fmt(table[t]), "realizedRate": fmt(table[t]),
         "fundingTime": str(t), "method": "current_period"}
        for t in sorted(stamps, reverse=True)[:limit]
    ]  # fmt: skip


def position_tiers(fake: Any, request: OkxRequest) -> list[Any]:
    """GET /api/v5/public/position-tiers?instType=SWAP&tdMode&instFamily: sizes in contracts."""
    family = request.query.get("instFamily") or request.query.get("uly")
    rows = []
    for inst_id, info in fake.state.instruments.items():
        if info["instFamily"] != family:
            continue
        low = 0.0
        for n, (high, mmr, imr, lever) in enumerate(fake.state.tiers[inst_id]):
            rows.append({
                "tier": str(n + 1), "minSz": fmt(low), "maxSz": fmt(high), "mmr": fmt(mmr), "imr": fmt(imr),
                "maxLever": fmt(lever), "instFamily": family, "uly": family, "instId": "", "optMgnFactor": "0",
                "baseMaxLoan": "", "quoteMaxLoan": "",
            })  # fmt: skip
            low = high + 1
    if not rows:
        raise OkxError(51000, "Parameter instFamily error")
    return rows


def ticker(fake: Any, request: OkxRequest) -> list[Any]:
    """GET /api/v5/market/ticker: the last 1m candle's close."""
    inst_id = request.query.get("instId")
    _instrument(fake, inst_id)
    table = fake.state.candles.get((inst_id, "1m"), {})
    last = table[max(table)] if table else [fake.state.time_ms(), 0, 0, 0, 0, 0]
    close = fmt(last[4])
    return [{
        "instType": "SWAP", "instId": inst_id, "last": close, "lastSz": "1", "askPx": close, "askSz": "1",
        "bidPx": close, "bidSz": "1", "open24h": fmt(last[1]), "high24h": fmt(last[2]), "low24h": fmt(last[3]),
        "volCcy24h": "0", "vol24h": "0", "sodUtc0": close, "sodUtc8": close, "ts": str(fake.state.time_ms()),
    }]  # fmt: skip


MARKET_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/api/v5/public/instruments"): instruments,
    ("GET", "/api/v5/public/time"): server_time,
    ("GET", "/api/v5/market/candles"): candles,
    ("GET", "/api/v5/market/history-candles"): history_candles,
    ("GET", "/api/v5/market/mark-price-candles"): mark_candles,
    ("GET", "/api/v5/market/history-mark-price-candles"): mark_candles,
    ("GET", "/api/v5/public/funding-rate"): funding_rate,
    ("GET", "/api/v5/public/funding-rate-history"): funding_history,
    ("GET", "/api/v5/public/position-tiers"): position_tiers,
    ("GET", "/api/v5/market/ticker"): ticker,
}


class _Handler(JsonRequestHandler):
    """Turns HTTP requests into route calls and OKX envelopes (always HTTP 200, as OKX does)."""

    def answer(self, method: str, parts: SplitResult, body: bytes) -> tuple[int, Any]:
        """The recorded request's envelope; the raw body and path are kept for the signature check."""
        raw = body.decode()
        request = OkxRequest(
            method, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)), json.loads(raw) if raw else None,
            dict(self.headers), self.path, raw,
        )  # fmt: skip
        return 200, self.server.fake.handle(request)


class FakeOkx(LocalFake[OkxRequest]):
    """The fake server: ``with FakeOkx() as fake: make_exchange("okx", api_base=fake.base_url)``."""

    handler_class = _Handler
    thread_name = "fake-okx"

    def __init__(self, state: OkxState | None = None) -> None:
        self.state = state or OkxState()
        if not self.state.instruments:
            self.state.add_default_instruments()
        self.routes: dict[tuple[str, str], Handler] = dict(MARKET_ROUTES)
        self._init_serving(threading.RLock())

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Add or replace an endpoint."""
        self.routes[(method.upper(), path)] = handler

    def handle(self, request: OkxRequest) -> dict[str, Any]:
        """Record the request and build its envelope."""
        with self._lock:
            self.requests.append(request)
            handler = self.routes.get((request.method, request.path))
            try:
                if handler is None:
                    raise OkxError(50030, f"unknown path {request.method} {request.path}")
                return {"code": "0", "msg": "", "data": handler(self, request)}
            except OkxError as exc:
                if request.method == "POST" and request.path.startswith("/api/v5/trade/"):  # per-item, like OKX
                    item = {"sCode": str(exc.code), "sMsg": exc.message, "ordId": "", "clOrdId": "", "tag": ""}
                    return {"code": "1", "msg": "All operations failed", "data": [item]}
                return {"code": str(exc.code), "msg": exc.message, "data": []}
