"""The JSON API's answers, computed from a ``RunView`` (plain functions: the server runs them off the event loop).

Every list that can grow with the run is served by range: candles (the last ``limit`` in [start, end)),
fills (in [start, end)), round trips (filtered, sorted, one page), equity (compacted to ``points``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kektrade.control.viewing import RunView, equity_block, fill_row, time_slice

MAX_CANDLES = 5000
DEFAULT_CANDLES = 2000
MAX_FILLS = 20_000
MAX_TRADES_PAGE = 1000
MAX_EQUITY_POINTS = 20_000
TRADE_SORT_KEYS = frozenset(
    {
        "n",
        "side",
        "entry_time_ms",
        "exit_time_ms",
        "entry_price",
        "exit_price",
        "qty",
        "pnl",
        "pnl_quote",
        "pnl_pct",
        "fees",
        "funding",
        "duration_ms",
        "exit_reason",
        "subaccount",
    }
)


class BadRequest(ValueError):
    """A query parameter is missing or malformed (the message names it)."""


def int_param(
    query: Mapping[str, str], name: str, default: int | None, lo: int | None = None, hi: int | None = None
) -> int | None:
    """An integer query parameter within [lo, hi] (clamped), ``default`` when absent."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name}: expected an integer, got {raw!r}") from None
    if lo is not None:
        value = max(lo, value)
    return min(hi, value) if hi is not None else value


def _sub(view: RunView, query: Mapping[str, str], required: bool = True) -> str | None:
    sub = query.get("sub") or None
    known = [s["id"] for s in view.info()["subaccounts"]]
    if sub is None and required:
        raise BadRequest(f"sub: required, one of {known}")
    if sub is not None and sub not in known:
        raise LookupError(f"no subaccount {sub!r} in run {view.run_id} (has {known})")
    return sub


def candles(view: RunView, query: Mapping[str, str]) -> dict[str, Any]:
    """The last ``limit`` candles in [start, end) with the plot indicators; ``more``: older ones exist."""
    sub = _sub(view, query)
    assert sub is not None
    market = view.market(sub)
    if market is None or market.error:
        return {"sub": sub, "error": market.error if market else "no candles", "time_ms": [], "more": False}
    limit = int_param(query, "limit", DEFAULT_CANDLES, 1, MAX_CANDLES) or DEFAULT_CANDLES
    n = min(len(market.time_ms), len(market.close), len(market.open), len(market.high), len(market.low))
    if market.available is not None:  # a run going: only the candles it has reached
        n = min(n, market.available)
    times = market.time_ms[:n] if n < len(market.time_ms) else market.time_ms
    lo, hi = time_slice(times, int_param(query, "start", None), int_param(query, "end", None))
    lo = max(lo, hi - limit)
    window = market.window(lo, hi)
    return {
        "sub": sub,
        "timeframe_ms": market.timeframe_ms,
        "more": lo > 0,
        "total": n,
        **window,
        "overlay": {name: overlay for name, overlay in market.indicators},
    }


def fills(view: RunView, query: Mapping[str, str]) -> dict[str, Any]:
    """Fills in [start, end) (at most ``MAX_FILLS``, the latest ones)."""
    sub = _sub(view, query)
    assert sub is not None
    rows = view.fills(sub)
    times = [f.time_ms for f in rows]
    lo, hi = time_slice(times, int_param(query, "start", None), int_param(query, "end", None))
    lo = max(lo, hi - MAX_FILLS)
    return {"sub": sub, "truncated": lo > 0 and query.get("start") is None, "fills": [fill_row(f) for f in rows[lo:hi]]}


def equity(view: RunView, query: Mapping[str, str]) -> dict[str, Any]:
    """A subaccount's equity in its settle currency, or the account's in quote (no ``sub``), with drawdown."""
    sub = _sub(view, query, required=False)
    points = int_param(query, "points", 3000, 10, MAX_EQUITY_POINTS) or 3000
    times, values = view.equity(sub)
    return {"sub": sub, **equity_block(times, values, points)}


def _matches(row: Mapping[str, Any], needle: str) -> bool:
    fields = (row.get("side"), row.get("exit_reason"), row.get("subaccount"), row.get("parameters"))
    return any(needle in str(f).lower() for f in fields if f is not None)


def _sort_key(key: str) -> Any:
    def value(row: Mapping[str, Any]) -> tuple[int, Any]:
        v = row.get(key)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return (1, 0)
        return (0, v)

    return value


def trades(view: RunView, query: Mapping[str, str]) -> dict[str, Any]:
    """One page of round trips: ``q`` filters (side, exit reason, subaccount, parameters), ``sort``/``desc`` order."""
    sub = _sub(view, query, required=False)
    subs = [sub] if sub is not None else [s["id"] for s in view.info()["subaccounts"]]
    rows = [dict(r, subaccount=s) for s in subs for r in view.trades(s)]
    needle = (query.get("q") or "").strip().lower()
    if needle:
        rows = [r for r in rows if _matches(r, needle)]
    key = query.get("sort") or "entry_time_ms"
    if key not in TRADE_SORT_KEYS:
        raise BadRequest(f"sort: one of {sorted(TRADE_SORT_KEYS)}, got {key!r}")
    rows.sort(key=_sort_key(key), reverse=query.get("desc") in ("1", "true"))
    if query.get("desc") in ("1", "true"):  # missing values last either way
        rows.sort(key=lambda r: _sort_key(key)(r)[0])
    offset = int_param(query, "offset", 0, 0) or 0
    limit = int_param(query, "limit", 100, 1, MAX_TRADES_PAGE) or 100
    return {"total": len(rows), "offset": offset, "rows": rows[offset : offset + limit]}


def switches(view: RunView, query: Mapping[str, str]) -> dict[str, Any]:
    """The optimizer's parameter switches of one subaccount."""
    sub = _sub(view, query)
    assert sub is not None
    return {"sub": sub, "switches": view.switches(sub)}


def results(view: RunView, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The compact results document (null until the run has ended)."""
    return view.results()


def info(view: RunView, query: Mapping[str, str]) -> dict[str, Any]:
    """The run's description and state."""
    return view.info()


def orders(view: RunView, query: Mapping[str, str]) -> dict[str, Any]:
    """Open orders of every subaccount."""
    return {"orders": view.orders()}


ENDPOINTS = {
    "info": info,
    "results": results,
    "candles": candles,
    "fills": fills,
    "equity": equity,
    "trades": trades,
    "orders": orders,
    "switches": switches,
}
