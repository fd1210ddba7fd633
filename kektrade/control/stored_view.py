"""``StoredView``: a run folder read from disk (finished, stopped, failed, or being written by another process)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from kektrade.analysis.account import combine_equity
from kektrade.analysis.tradebook import ExitContext
from kektrade.control.market import MarketColumns, market_of_prepared, stored_trades
from kektrade.control.viewrows import compact_results, is_inverse_pair, order_row, read_json, sub_info
from kektrade.engine.results import TRADES_FILE
from kektrade.persistence.database import open_run_database
from kektrade.runs.folders import CONFIG_FILE, Run, RunNotFoundError, list_runs

log = logging.getLogger("kektrade.control")

ENDED = ("finished", "stopped", "failed")


class StoredView:
    """A run folder read from disk (finished, stopped, failed, or being written by another process)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.run_id = run.run_id
        self._lock = threading.Lock()
        self._markets: dict[str, MarketColumns | None] = {}
        self._ended: dict[tuple[str, str | None], Any] = {}  # fills and equity of an ended run, read once

    def _read_json(self, name: str) -> Any:
        return read_json(self.run.folder / name)

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
            subs.append(sub_info(inst.subaccount, inst.pair, inst.strategy, currency, market))
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

    def _once_ended(self, key: tuple[str, str | None], read: Any) -> Any:
        """``read()``, kept once the run has ended (a run still being written is read every time)."""
        with self._lock:
            if key in self._ended:
                return self._ended[key]
        value = read()
        if self._meta()[0] in ENDED:
            with self._lock:
                self._ended[key] = value
        return value

    def fills(self, sub_id: str) -> list[Any]:
        """Fills from the run database."""
        return list(self._once_ended(("fills", sub_id), lambda: self._read_fills(sub_id)))

    def _read_fills(self, sub_id: str) -> list[Any]:
        if not self.run.db_path.is_file():
            return []
        with self._db() as db:
            return db.fills(sub_id)

    def equity(self, sub_id: str | None) -> tuple[list[int], list[float]]:
        """From the run database (the account: every subaccount's quote equity combined)."""
        times, values = self._once_ended(("equity", sub_id), lambda: self._read_equity(sub_id))
        return list(times), list(values)

    def _read_equity(self, sub_id: str | None) -> tuple[list[int], list[float]]:
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
        return stored_trades(fills, inverse, ExitContext(conditional=conditional, selections=picks))

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


def open_stored(run_id: str, history_dir: Path) -> StoredView:
    """The stored view of run ``run_id``; RunNotFoundError (naming recent runs) when there is no such folder."""
    folder = history_dir / run_id
    if "/" in run_id or "\\" in run_id or run_id in ("", ".", "..") or not (folder / CONFIG_FILE).is_file():
        raise RunNotFoundError(run_id, history_dir, list_runs(history_dir)[:10])
    return StoredView(Run.at(folder, resumed=False))
