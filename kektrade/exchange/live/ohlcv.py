"""Paginated candle and funding-rate downloads through ccxt (sync client)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ccxt

from kektrade.exchange.live.candle_checks import ONCE, check_rows, measure_clock_offset, report_clock_offset
from kektrade.exchange.live.dialect import Dialect
from kektrade.exchange.live.dialects import known_dialect

ProgressCallback = Callable[[int, int], None]
BYBIT_API_KEYS = ("spot", "futures", "v2", "public", "private")
_DEFAULT_FUNDING_INTERVAL_MS = 8 * 3_600_000


def make_exchange(exchange_id: str, testnet: bool = False, api_base: str | None = None) -> ccxt.Exchange:
    """A sync ccxt client; ``api_base`` (a fake's URL in tests) replaces every API host of the exchange.

    The exchange's dialect (dialects.py) supplies the constructor options and how to point it at a fake.
    """
    factory = getattr(ccxt, exchange_id, None)
    if not isinstance(factory, type) or not issubclass(factory, ccxt.Exchange):
        raise ValueError(f"data.download.exchange: ccxt has no exchange {exchange_id!r}")
    dialect = known_dialect(exchange_id) or Dialect
    exchange = factory({"enableRateLimit": api_base is None, "options": dialect.client_options()})
    if testnet:
        dialect.use_testnet(exchange)
    if api_base is not None:
        dialect.point_at(exchange, api_base.rstrip("/"))
    return exchange


def timeframe_step_ms(exchange: ccxt.Exchange, timeframe: str) -> int:
    """Milliseconds of one candle of ``timeframe`` as ccxt parses it."""
    return int(exchange.parse_timeframe(timeframe) * 1000)


def _collect_windows(
    fetch: Callable[[int, int], list[tuple[int, Any]]],
    start_ms: int,
    until_ms: int,
    step_ms: int,
    limit: int,
    progress: Callable[[int], None],
) -> dict[int, Any]:
    """Walk [start_ms, until_ms) in windows of ``limit`` steps; ``fetch(lo, hi)`` returns items in [lo, hi].

    Items are at least ``step_ms`` apart. A full page may mean the window held more: the parts of it
    the page did not cover are fetched again, whichever end the venue anchors its pages to.
    """
    found: dict[int, Any] = {}
    cursor = start_ms
    while cursor < until_ms:
        window_end = min(until_ms - 1, cursor + limit * step_ms - 1)
        pending = [(cursor, window_end)]
        while pending:
            lo, hi = pending.pop()
            page = [(t, item) for t, item in fetch(lo, hi) if lo <= t <= hi]
            found.update(page)
            if len(page) >= limit:
                stamps = [t for t, _ in page]
                pending += [(lo, min(stamps) - 1), (max(stamps) + step_ms, hi)]
                pending = [(a, b) for a, b in pending if a <= b]
        cursor = window_end + 1
        progress(cursor)
    return found


def fetch_ohlcv_range(
    exchange: ccxt.Exchange,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int,
    on_progress: ProgressCallback | None = None,
    price: str | None = None,
    closed_by_ms: int | None = None,
) -> list[list[float]]:
    """Every candle opening in [since_ms, until_ms), oldest first, fetched page by page.

    Each request asks for one window of at most ``limit`` candles (``since`` .. ``until``). ``price``
    "mark" or "index" selects mark/index-price candles. ``on_progress(done, total)`` counts candle slots.
    Pages are checked (``candle_checks.check_rows``): out-of-order and duplicated rows are fixed, candles
    not closed by ``closed_by_ms`` and malformed ones dropped, gaps fetched once more; each kind of
    problem is logged once.
    """
    step = timeframe_step_ms(exchange, timeframe)
    limit = (known_dialect(exchange.id) or Dialect).ohlcv_page_limit
    start = -(-since_ms // step) * step
    total = max(0, -(-(until_ms - start) // step))
    what = f"{symbol} {timeframe}{' ' + price if price else ''}"

    def fetch(lo: int, hi: int) -> list[tuple[int, Any]]:
        params: dict[str, Any] = {"until": hi}
        if price is not None:
            params["price"] = price
        page = exchange.fetch_ohlcv(symbol, timeframe, since=lo, limit=limit, params=params)
        checked = check_rows(page, step, closed_by_ms)
        _report(what, checked.problems)
        return [(int(row[0]), row) for row in checked.rows]

    def progress(cursor: int) -> None:
        if on_progress is not None:
            on_progress(min(total, (cursor - start) // step), total)

    rows = _collect_windows(fetch, start, until_ms, step, limit, progress)
    gaps = check_rows([rows[t] for t in sorted(rows)], step).gaps
    if closed_by_ms is not None and rows:  # a truncated last page: closed candles missing at the end
        last_closed = min(until_ms - 1, closed_by_ms - step) // step * step
        if max(rows) < last_closed:
            gaps.append((max(rows) + step, last_closed))
    for lo, hi in gaps:
        rows.update((t, row) for t, row in fetch(lo, hi) if lo <= t <= hi)  # one more try per gap
    final = check_rows([rows[t] for t in sorted(rows)], step)
    if closed_by_ms is not None and final.rows:
        last_closed = min(until_ms - 1, closed_by_ms - step) // step * step
        if int(final.rows[-1][0]) < last_closed:
            final.gaps.append((int(final.rows[-1][0]) + step, last_closed))
    if final.gaps:
        missing = sum((hi - lo) // step + 1 for lo, hi in final.gaps)
        first = final.gaps[0][0]
        ONCE.warning(
            f"gap:{what}:{first}", "%s: %d gap(s), %d candle(s) missing from the exchange's data (the first at %d)",
            what, len(final.gaps), missing, first,
        )  # fmt: skip
    return final.rows


def _report(what: str, problems: list[str]) -> None:
    """Log each kind of page problem once per stream."""
    for problem in problems:
        kind = problem.split(" at ")[0].split(" (")[0]
        ONCE.warning(f"page:{what}:{kind}", "%s: candle page checked: %s", what, problem)


def exchange_clock_offset_ms(exchange: ccxt.Exchange, apply: bool = True) -> int:
    """Measure the exchange clock against ours; log once when it is off, and sign requests with its time."""
    offset = measure_clock_offset(exchange.fetch_time)
    report_clock_offset(offset, exchange.id)
    if apply:
        exchange.options["timeDifference"] = -offset  # ccxt signs with milliseconds() - timeDifference
    return offset


def funding_interval_ms(exchange: ccxt.Exchange, symbol: str) -> int:
    """The market's funding interval from its exchange info (bybit: minutes), else 8 hours."""
    if not exchange.markets:
        exchange.load_markets()
    info = exchange.market(symbol).get("info") or {}
    minutes = info.get("fundingInterval")
    try:
        return int(minutes) * 60_000 if minutes else _DEFAULT_FUNDING_INTERVAL_MS
    except (TypeError, ValueError):
        return _DEFAULT_FUNDING_INTERVAL_MS


def fetch_funding_range(
    exchange: ccxt.Exchange,
    symbol: str,
    since_ms: int,
    until_ms: int,
    on_progress: ProgressCallback | None = None,
) -> list[tuple[int, float]]:
    """Funding settlements (time ms, rate) in [since_ms, until_ms), oldest first, fetched page by page."""
    interval = funding_interval_ms(exchange, symbol)
    limit = (known_dialect(exchange.id) or Dialect).funding_page_limit
    total = max(0, -(-(until_ms - since_ms) // interval))

    def fetch(lo: int, hi: int) -> list[tuple[int, Any]]:
        page = exchange.fetch_funding_rate_history(symbol, since=lo, limit=limit, params={"until": hi})
        return [(int(item["timestamp"]), float(item["fundingRate"])) for item in page]

    def progress(cursor: int) -> None:
        if on_progress is not None:
            on_progress(min(total, (cursor - since_ms) // interval), total)

    rates = _collect_windows(fetch, since_ms, until_ms, interval, limit, progress)
    return sorted(rates.items())
