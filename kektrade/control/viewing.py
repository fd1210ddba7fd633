"""Read-only views of runs for the web page and the HTML report: the run going on, or a stored run folder.

A ``RunView`` answers with plain JSON-ready data: the run's description, its compact results, candles with
the strategy's plot indicators and fills by time range, equity series, round trips and open orders.
``LiveView`` reads the running controller (snapshots, and the engine's append-only columns); ``StoredView``
reads a run folder (results.json, trades.json, the run database, candles rebuilt from its config.json and
strategy copies) — also while another process is still writing it.
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from kektrade.analysis.account import combine_equity, drawdown_series
from kektrade.analysis.periods import compact_series
from kektrade.control.facade import RunController
from kektrade.control.market import MarketColumns, market_of_instance, market_of_prepared, stored_trades
from kektrade.engine.results import TRADES_FILE, split_trades
from kektrade.persistence.database import open_run_database
from kektrade.runs.folders import CONFIG_FILE, Run, RunNotFoundError, list_runs

log = logging.getLogger("kektrade.control")

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


def _read_json(path: Path) -> Any:
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


class LiveView:
    """The run of this process, through its controller."""

    def __init__(self, controller: RunController) -> None:
        self.controller = controller
        self.run_id = controller.run_id or "live"

    def _instances(self) -> dict[str, Any]:
        session = self.controller.session
        return {i.id: i for i in session.instances} if session is not None else {}

    def info(self) -> dict[str, Any]:
        """From the latest snapshot and the session's instances."""
        snap = self.controller.snapshot()
        subs = []
        for row in snap.subaccounts:
            inst = self._instances().get(row.id)
            market = market_of_instance(inst) if inst is not None else None
            subs.append(_sub_info(row.id, row.pair, row.strategy, row.settle_currency, market))
        error = str(self.controller.error) if self.controller.error else ""
        return {
            "run_id": self.run_id,
            "state": snap.state,
            "mode": snap.mode,
            "live": not self.controller.finished,
            "now_ms": snap.now_ms,
            "progress": _progress(snap.progress),
            "message": snap.message,
            "error": error,
            "subaccounts": subs,
        }

    def results(self) -> dict[str, Any] | None:
        """The controller's results once written."""
        return compact_results(self.controller.results)

    def market(self, sub_id: str) -> MarketColumns | None:
        """The instance's venue columns (append-only) and frame."""
        inst = self._instances().get(sub_id)
        return market_of_instance(inst) if inst is not None else None

    def fills(self, sub_id: str) -> list[Any]:
        """The venue's fills (a copy of the append-only list)."""
        inst = self._instances().get(sub_id)
        return list(inst.venue.fills) if inst is not None else []

    def equity(self, sub_id: str | None) -> tuple[list[int], list[float]]:
        """The instance's sampled series, or the account's combined quote series."""
        instances = self._instances()
        if sub_id is not None:
            inst = instances.get(sub_id)
            return (list(inst.times_ms), list(inst.equity)) if inst is not None else ([], [])
        series = {i.id: _same_length(i.times_ms, i.equity_quote) for i in instances.values() if i.times_ms}
        return combine_equity(series)

    def trades(self, sub_id: str) -> list[dict[str, Any]]:
        """Rows of the results (or of trades.json once written), else rebuilt from the fills so far."""
        if self.controller.results is not None:
            for s in self.controller.results["subaccounts"]:
                if s["id"] == sub_id and "trades" in s:
                    return list(s["trades"])
            paths = self.controller.paths
            stored = _read_json(paths.folder / TRADES_FILE) if paths is not None else None
            if stored is not None:
                return list(stored.get("subaccounts", {}).get(sub_id, []))
        inst = self._instances().get(sub_id)
        if inst is None:
            return []
        return stored_trades(list(inst.venue.fills), inst.is_inverse, {}, [], dict(inst.parameter))

    def orders(self) -> list[dict[str, Any]]:
        """Open orders from the snapshot."""
        return [
            {
                "subaccount": o.subaccount,
                "id": o.order_id,
                "side": o.side,
                "type": o.type,
                "price": o.price,
                "trigger_price": o.trigger_price,
                "qty": o.contracts,
                "filled": o.filled,
                "reduce_only": o.reduce_only,
                "post_only": o.post_only,
                "created_ms": o.created_ms,
                "status": o.status,
            }
            for o in self.controller.snapshot().orders
        ]

    def switches(self, sub_id: str) -> list[dict[str, Any]]:
        """Selections the session's trade tags saw."""
        session = self.controller.session
        tags = getattr(session, "tags", None)
        picks = tags.selections.get(sub_id, []) if tags is not None else []
        return [{"time_ms": t, "parameters": p} for t, p in picks]


def _same_length(times: Sequence[int], values: Sequence[float]) -> tuple[list[int], list[float]]:
    n = min(len(times), len(values))  # the engine may append between the two reads
    return list(times[:n]), list(values[:n])


def _progress(p: Any) -> dict[str, Any]:
    return {"done": p.done, "total": p.total, "fraction": p.fraction}


def _sub_info(sub_id: str, pair: str, strategy: str, currency: str, market: MarketColumns | None) -> dict[str, Any]:
    return {
        "id": sub_id,
        "pair": pair,
        "strategy": strategy,
        "currency": currency,
        "timeframe_ms": market.timeframe_ms if market is not None else 0,
        "indicators": [{"name": n, "overlay": o} for n, o in market.indicators] if market is not None else [],
    }


class StoredView:
    """A run folder read from disk (finished, stopped, failed, or being written by another process)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.run_id = run.run_id
        self._lock = threading.Lock()
        self._markets: dict[str, MarketColumns | None] = {}

    def _read_json(self, name: str) -> Any:
        return _read_json(self.run.folder / name)

    def _db(self) -> Any:
        return open_run_database(self.run.db_path)

    def _meta(self) -> tuple[str, list[Any]]:
        if not self.run.db_path.is_file():
            return "unknown", []
        with self._db() as db:
            return str(db.get_meta("status", "unknown")), db.instances()

    def info(self) -> dict[str, Any]:
        """Status from the database, subaccounts from the database and the stored results."""
        status, instances = self._meta()
        results = self._read_json("results.json") or {}
        by_id = {s["id"]: s for s in results.get("subaccounts", [])}
        subs = []
        for inst in instances:
            stored = by_id.get(inst.subaccount, {})
            market = self._markets.get(inst.subaccount)
            currency = stored.get("settle_currency") or inst.pair.split(":")[-1]
            subs.append(_sub_info(inst.subaccount, inst.pair, inst.strategy, currency, market))
        return {
            "run_id": self.run_id,
            "state": status,
            "mode": "stored",
            "live": status == "running",
            "now_ms": 0,
            "progress": None,
            "message": "",
            "error": "",
            "subaccounts": subs,
        }

    def results(self) -> dict[str, Any] | None:
        """results.json without its heavy parts."""
        return compact_results(self._read_json("results.json"))

    def market(self, sub_id: str) -> MarketColumns | None:
        """Candles rebuilt once from the run's config and strategy copies (cached)."""
        with self._lock:
            if sub_id not in self._markets:
                self._markets[sub_id] = market_of_prepared(self.run, sub_id, self._last_parameters(sub_id))
            return self._markets[sub_id]

    def _last_parameters(self, sub_id: str) -> dict[str, Any] | None:
        results = self._read_json("results.json") or {}
        for s in results.get("subaccounts", []):
            if s["id"] == sub_id:
                return s.get("parameters")
        return None

    def fills(self, sub_id: str) -> list[Any]:
        """Fills from the run database."""
        if not self.run.db_path.is_file():
            return []
        with self._db() as db:
            return db.fills(sub_id)

    def equity(self, sub_id: str | None) -> tuple[list[int], list[float]]:
        """From the run database (the account: every subaccount's quote equity combined)."""
        if not self.run.db_path.is_file():
            return [], []
        with self._db() as db:
            if sub_id is not None:
                times, equity, _quote = db.equity(sub_id)
                return times, equity
            series = {}
            for inst in db.instances():
                times, _equity, quote = db.equity(inst.subaccount)
                if times:
                    series[inst.subaccount] = (times, quote)
        return combine_equity(series)

    def trades(self, sub_id: str) -> list[dict[str, Any]]:
        """trades.json once the run has ended, else rebuilt from the database's fills and orders."""
        stored = self._read_json(TRADES_FILE)
        if stored is not None:
            return list(stored.get("subaccounts", {}).get(sub_id, []))
        if not self.run.db_path.is_file():
            return []
        with self._db() as db:
            conditional = {e.order.id: str(e.order.type) for e in db.order_events(sub_id)}
            picks = [(s.time_ms, s.parameters) for s in db.selections(sub_id)]
            fills = db.fills(sub_id)
        inverse = any(i.subaccount == sub_id and is_inverse_pair(i.pair) for i in self._meta()[1])
        return stored_trades(fills, inverse, conditional, picks, None)

    def orders(self) -> list[dict[str, Any]]:
        """Open orders as the database last recorded them."""
        if not self.run.db_path.is_file():
            return []
        with self._db() as db:
            return [order_row(i.subaccount, o) for i in db.instances() for o in db.open_orders(i.subaccount)]

    def switches(self, sub_id: str) -> list[dict[str, Any]]:
        """Selections from the run database."""
        if not self.run.db_path.is_file():
            return []
        with self._db() as db:
            return [{"time_ms": s.time_ms, "parameters": s.parameters} for s in db.selections(sub_id)]


class RunCatalog:
    """The runs a web server shows: the live run of this process and/or stored run folders."""

    def __init__(
        self, views: Sequence[RunView] = (), history_dir: Path | None = None, only: Sequence[str] = ()
    ) -> None:
        self._views: dict[str, RunView] = {v.run_id: v for v in views}
        self.history_dir = history_dir
        self.only = list(only)

    def _stored_ids(self) -> list[str]:
        if self.history_dir is None:
            return []
        ids = list_runs(self.history_dir)
        return [i for i in ids if i in self.only] if self.only else ids

    def ids(self) -> list[str]:
        """Every run id shown, the live one first, then stored runs most recent first."""
        ids = list(self._views)
        return ids + [i for i in self._stored_ids() if i not in self._views]

    def get(self, run_id: str) -> RunView | None:
        """The view of ``run_id`` (stored views open lazily), None when it is not shown."""
        view = self._views.get(run_id)
        if view is None and run_id in self._stored_ids() and self.history_dir is not None:
            view = self._views[run_id] = StoredView(Run.at(self.history_dir / run_id, resumed=False))
        return view

    def summaries(self) -> list[dict[str, Any]]:
        """For the run list: id, state and the account's headline figures when results exist."""
        out = []
        for run_id in self.ids():
            view = self.get(run_id)
            if view is None:
                continue
            info = view.info()
            results = view.results() or {}
            account = results.get("account", {})
            out.append(
                {
                    "run_id": run_id,
                    "state": info["state"],
                    "live": info["live"],
                    "subaccounts": [s["id"] for s in info["subaccounts"]],
                    "start": results.get("run", {}).get("start"),
                    "end": results.get("run", {}).get("end"),
                    "metrics": account.get("metrics"),
                }
            )
        return out


def open_stored(run_id: str, history_dir: Path) -> StoredView:
    """The stored view of run ``run_id``; RunNotFoundError (naming recent runs) when there is no such folder."""
    folder = history_dir / run_id
    if "/" in run_id or "\\" in run_id or run_id in ("", ".", "..") or not (folder / CONFIG_FILE).is_file():
        raise RunNotFoundError(run_id, history_dir, list_runs(history_dir)[:10])
    return StoredView(Run.at(folder, resumed=False))
