"""Read-only views of runs for the web page and the HTML report: the run going on, or a stored run folder.

A ``RunView`` answers with plain JSON-ready data: the run's description, its compact results, candles with
the strategy's plot indicators and fills by time range, equity series, round trips and open orders.
``LiveView`` reads the running controller (snapshots, and the engine's append-only columns); ``StoredView``
reads a run folder (results.json, trades.json, the run database, candles rebuilt from its config.json and
strategy copies) — also while another process is still writing it.
"""

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kektrade.analysis.account import combine_equity
from kektrade.control.facade import RunController
from kektrade.control.market import MarketColumns, market_of_instance, stored_trades
from kektrade.control.stored_view import StoredView, open_stored
from kektrade.control.viewrows import (
    RunView,
    compact_results,
    equity_block,
    fill_row,
    order_row,
    progress_row,
    read_json,
    same_length,
    sub_info,
    time_slice,
)
from kektrade.engine.results import TRADES_FILE, exit_context
from kektrade.engine.snapshot import SubaccountRow
from kektrade.runs.folders import Run, list_runs

log = logging.getLogger("kektrade.control")

__all__ = [
    "LiveView",
    "RunCatalog",
    "RunView",
    "StoredView",
    "equity_block",
    "fill_row",
    "open_stored",
    "order_row",
    "time_slice",
]


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
            entry = sub_info(row.id, row.pair, row.strategy, row.settle_currency, market)
            entry.update(live_state(row, snap.leaderboards.get(row.id, [])))
            subs.append(entry)
        error = str(self.controller.error) if self.controller.error else ""
        return {
            "run_id": self.run_id,
            "state": snap.state,
            "mode": snap.mode,
            "live": not self.controller.finished,
            "now_ms": snap.now_ms,
            "progress": progress_row(snap.progress),
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
        series = {i.id: same_length(i.times_ms, i.equity_quote) for i in instances.values() if i.times_ms}
        return combine_equity(series)

    def trades(self, sub_id: str) -> list[dict[str, Any]]:
        """Rows of the results (or of trades.json once written), else rebuilt from the fills so far."""
        if self.controller.results is not None:
            for s in self.controller.results["subaccounts"]:
                if s["id"] == sub_id and "trades" in s:
                    return list(s["trades"])
            paths = self.controller.paths
            stored = read_json(paths.folder / TRADES_FILE) if paths is not None else None
            if stored is not None:
                return list(stored.get("subaccounts", {}).get(sub_id, []))
        inst = self._instances().get(sub_id)
        if inst is None:
            return []
        tags = getattr(self.controller.session, "tags", None)  # stop/take-profit ids and picks seen so far
        venue = inst.venue
        last = venue.market.close[venue.candle_index] if venue.candle_index >= 0 else None
        return stored_trades(list(venue.fills), inst.is_inverse, exit_context(inst, tags), last)

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


def live_state(row: SubaccountRow, leaderboard: list[tuple[dict[str, Any], float]], top: int = 5) -> dict[str, Any]:
    """What a running subaccount does now: status, the live parameter set, position, equity, notices and the
    live optimizer's latest leaderboard (best first)."""
    return {
        "status": row.status,
        "parameters": row.parameters,
        "contracts": row.contracts,
        "equity": row.equity,
        "notice": row.notice or "",
        "entries_allowed": row.entries_allowed,
        "leaderboard": [{"parameters": params, "score": score} for params, score in leaderboard[:top]],
    }
