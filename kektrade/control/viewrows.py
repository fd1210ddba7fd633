"""What the run viewers share: the ``RunView`` protocol and JSON-ready rows, slices and documents."""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from kektrade.analysis.account import drawdown_series
from kektrade.analysis.periods import compact_series
from kektrade.control.market import MarketColumns
from kektrade.engine.results import split_trades

HEAVY_KEYS = ("fills", "trades")  # served by range, never inside /results


def compact_results(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The results document without fills and round trips (those are served by range)."""
    if document is None:
        return None
    compact, _ = split_trades(document)
    compact["subaccounts"] = [{k: v for k, v in s.items() if k not in HEAVY_KEYS} for s in compact["subaccounts"]]
    return compact


def fill_row(fill: Any) -> dict[str, Any]:
    """A fill as a JSON-ready row (time in ms, signed position after)."""
    return {
        "time_ms": fill.time_ms,
        "kind": str(fill.kind),
        "side": "buy" if fill.contracts > 0 else "sell",
        "qty": abs(fill.contracts),
        "price": fill.price,
        "fee": fill.fee,
        "realized_pnl": fill.realized_pnl,
        "order_id": fill.order_id,
        "position_after": fill.position_after,
    }


def order_row(sub_id: str, order: Any) -> dict[str, Any]:
    """An open order as a JSON-ready row."""
    return {
        "subaccount": sub_id,
        "id": order.id,
        "side": "buy" if order.contracts > 0 else "sell",
        "type": str(order.type),
        "price": order.price,
        "trigger_price": order.trigger_price,
        "qty": abs(order.contracts),
        "filled": abs(order.filled),
        "reduce_only": order.reduce_only,
        "post_only": order.post_only,
        "created_ms": order.created_ms,
        "status": str(order.status),
    }


def time_slice(times: Sequence[int], start_ms: int | None, end_ms: int | None) -> tuple[int, int]:
    """Indexes [lo, hi) of the sorted ``times`` within [start_ms, end_ms)."""
    lo = 0 if start_ms is None else bisect.bisect_left(times, start_ms)
    hi = len(times) if end_ms is None else bisect.bisect_left(times, end_ms)
    return lo, max(lo, hi)


def equity_block(times: Sequence[int], values: Sequence[float], max_points: int) -> dict[str, Any]:
    """An equity series with its drawdown, compacted to ``max_points``."""
    return compact_series(times, {"equity": values, "drawdown": drawdown_series(values)}, max_points)


_PARSED: dict[Path, tuple[tuple[int, int], Any]] = {}
_PARSED_LOCK = threading.Lock()


def read_json(path: Path) -> Any:
    """The parsed file (parsed again only when its size or time changed), None when missing or invalid.

    Callers must not change what they get: the parsed document is shared between requests.
    """
    try:
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        with _PARSED_LOCK:
            cached = _PARSED.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    with _PARSED_LOCK:
        if len(_PARSED) > 64:
            _PARSED.clear()
        _PARSED[path] = (key, data)
    return data


def is_inverse_pair(pair: str) -> bool:
    """``BTC/USD:BTC`` (settled in the base coin) is inverse; ``BTC/USDT:USDT`` is not."""
    base = pair.split("/", maxsplit=1)[0]
    return ":" in pair and pair.rsplit(":", 1)[1] == base


class RunView(Protocol):
    """What the web page and the report read of one run."""

    run_id: str

    def info(self) -> dict[str, Any]:
        """Run id, state, mode, and each subaccount's pair, currency, timeframe and plot indicators."""

    def results(self) -> dict[str, Any] | None:
        """The compact results document, None until the run has ended."""

    def market(self, sub_id: str) -> MarketColumns | None:
        """Candle columns with plot indicators of one subaccount (None: unknown or unavailable)."""

    def fills(self, sub_id: str) -> list[Any]:
        """Every fill of one subaccount, by time."""

    def equity(self, sub_id: str | None) -> tuple[list[int], list[float]]:
        """(times_ms, equity) of a subaccount in its settle currency, or of the account in quote (None)."""

    def trades(self, sub_id: str) -> list[dict[str, Any]]:
        """Round-trip rows of one subaccount."""

    def orders(self) -> list[dict[str, Any]]:
        """Open orders of every subaccount."""

    def switches(self, sub_id: str) -> list[dict[str, Any]]:
        """The optimizer's selections of one subaccount: time and parameters (None: stand aside)."""


def same_length(times: Sequence[int], values: Sequence[float]) -> tuple[list[int], list[float]]:
    """Both lists cut to the shorter length."""
    n = min(len(times), len(values))  # the engine may append between the two reads
    return list(times[:n]), list(values[:n])


def progress_row(p: Any) -> dict[str, Any]:
    """Progress as a JSON-ready row."""
    return {"done": p.done, "total": p.total, "fraction": p.fraction}


def sub_info(sub_id: str, pair: str, strategy: str, currency: str, market: MarketColumns | None) -> dict[str, Any]:
    """A subaccount's description for the page: pair, currency, timeframe, plot indicators."""
    return {
        "id": sub_id,
        "pair": pair,
        "strategy": strategy,
        "currency": currency,
        "timeframe_ms": market.timeframe_ms if market is not None else 0,
        "indicators": [{"name": n, "overlay": o} for n, o in market.indicators] if market is not None else [],
    }
