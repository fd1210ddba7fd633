"""``StoredRunController``: a read-only controller over a run that has ended, for ``kektrade show RUNID``.

It reads the run folder (config.json) and its database (results document, equity series, status) and
presents them as front ends expect: a final snapshot (subaccounts, equity per subaccount and for the
account, the latest fills, leaderboards), the results and the walk-forward table. Nothing runs and no
command is accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kektrade.analysis.account import combine_equity
from kektrade.analysis.report import fill_entries
from kektrade.config import KektradeConfig, parse_config
from kektrade.control.facade import RunController, RunPaths
from kektrade.control.history import fill_from_entry, fill_row
from kektrade.data.market import date_ms
from kektrade.domain.types import Fill
from kektrade.engine.build import make_provider
from kektrade.engine.commands import EngineCommand
from kektrade.engine.session import Session
from kektrade.engine.snapshot import ChartData, EngineSnapshot, Progress, SubaccountRow
from kektrade.persistence.database import RunDatabase, open_run_database

log = logging.getLogger("kektrade.control")
CHART_CANDLES = 3_000  # the latest candles of each subaccount the detail chart can page through


class StoredRunError(RuntimeError):
    """The run folder cannot be shown (no results stored yet, unreadable config)."""


def _row(entry: Mapping[str, Any], fills: int) -> SubaccountRow:
    """A results-document subaccount as a front-end row."""
    pos, wallet = entry.get("final_position") or {}, entry.get("final_wallet") or {}
    return SubaccountRow(
        id=str(entry["id"]),
        venue=str(entry.get("venue", "")),
        pair=str(entry.get("pair", "")),
        strategy=str(entry.get("strategy", "")),
        parameters=dict(entry.get("parameters") or {}),
        status=str(entry.get("status", "")),
        contracts=float(pos.get("contracts", 0.0)),
        entry_price=float(pos.get("entry_price", 0.0)),
        mark_price=float(pos.get("mark_price", 0.0)),
        liquidation_price=float(pos.get("liquidation_price", 0.0)),
        unrealized_pnl=float(pos.get("unrealized_pnl", 0.0)),
        equity=float(wallet.get("margin_balance", 0.0)),
        equity_quote=float(entry.get("final_quote_equity") or 0.0),
        settle_currency=str(entry.get("settle_currency", "")),
        fills=fills,
    )


def _stored_fills(entry: Mapping[str, Any], db: RunDatabase) -> list[Fill]:
    """A subaccount's fills: from an older results document that held them, else from the run database."""
    if "fills" in entry:
        return [fill_from_entry(f) for f in entry["fills"]]
    return db.fills(str(entry["id"]))


class StoredRunController(RunController):
    """Shows a stored run; every steering command is refused."""

    def __init__(self, folder: Path) -> None:
        db_path = folder / "run.sqlite"
        try:
            config = parse_config((folder / "config.json").read_text(encoding="utf-8"), source=str(folder))
        except OSError as exc:
            raise StoredRunError(f"{folder}: cannot read config.json ({exc.strerror or exc})") from None
        super().__init__(config, folder.name)
        if not db_path.is_file():
            raise StoredRunError(f"run {folder.name}: no database (run.sqlite) in {folder}")
        self.paths = RunPaths(folder.name, folder, db_path)
        with open_run_database(db_path) as db:
            results = db.load_results()
            status = str(db.get_meta("status", "unknown"))
            series = {str(e["id"]): db.equity(str(e["id"])) for e in (results or {}).get("subaccounts", [])}
            fills = {str(e["id"]): _stored_fills(e, db) for e in (results or {}).get("subaccounts", [])}
        for entry in (results or {}).get("subaccounts", []):  # the document as the run had it in memory
            entry.setdefault("fills", fill_entries(str(entry["id"]), fills[str(entry["id"])]))
        if results is None:
            raise StoredRunError(f"run {folder.name} has no stored results yet (status {status}); it may still run")
        self.results = results
        self._snapshot = self._stored_snapshot(results, status, series, fills)
        self._snapshot.charts.update(stored_charts(config))
        self._done.set()

    def _stored_snapshot(
        self,
        results: Mapping[str, Any],
        status: str,
        series: Mapping[str, tuple[list[int], list[float], list[float]]],
        fills: Mapping[str, list[Fill]],
    ) -> EngineSnapshot:
        entries = list(results.get("subaccounts", []))
        quote = {sid: (times, values_q) for sid, (times, _v, values_q) in series.items() if times}
        times, total = combine_equity(quote) if quote else ([], [])
        by_sub = {sid: _held(quote[sid], times) for sid in quote}
        candles = int((results.get("extra") or {}).get("candles") or 0)
        recent = {sid: tuple(fill_row(f) for f in rows[-100:]) for sid, rows in fills.items()}
        boards = {  # the stored report keeps the selections, not the whole ranking: the last pick is shown
            sid: [(dict(report["selections"][-1].get("parameters", {})), float(report["selections"][-1]["score"]))]
            for sid, report in ((results.get("extra") or {}).get("optimization") or {}).items()
            if isinstance(report, dict) and report.get("selections")
        }
        return EngineSnapshot(
            run_id=self.run_id,
            mode="backtest",
            testnet=False,
            state=status,
            now_ms=times[-1] if times else 0,
            progress=Progress(candles, candles, 0.0, None, 0.0),
            subaccounts=tuple(_row(e, len(fills.get(str(e["id"]), ()))) for e in entries),
            equity_times_ms=tuple(times),
            equity_total=tuple(total),
            equity_by_subaccount=by_sub,
            leaderboards=boards,
            recent_fills=recent,
            message="stored run (read-only)",
        )

    # -- a stored run neither runs nor takes commands ------------------------------------------------

    def build(self) -> Session:
        """A stored run is not built again."""
        raise StoredRunError("a stored run is read-only")

    def start(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing is open (the database is read at construction)."""

    def send(self, command: EngineCommand) -> None:
        """Refused: the run has ended."""
        raise StoredRunError("a stored run takes no commands")


def stored_charts(config: KektradeConfig) -> dict[str, ChartData]:
    """The candles each subaccount traded, loaded again from the config's data source (seeded synthetic data,
    the files, or the download cache); none for a subaccount whose data cannot be loaded any more."""
    provider = make_provider(config)
    charts: dict[str, ChartData] = {}
    for sub in config.subaccounts:
        if not sub.enabled:
            continue
        try:
            candles = provider.get(sub.pair, sub.timeframe).candles.tail(CHART_CANDLES)
        except Exception as exc:  # files moved, cache deleted: the other tabs still work
            log.warning("show: no candles for %s (%s: %s)", sub.id, type(exc).__name__, exc)
            continue
        o, h, lo, c = (tuple(float(v) for v in candles[name]) for name in ("open", "high", "low", "close"))
        charts[sub.id] = ChartData(tuple(int(t) for t in date_ms(candles)), o, h, lo, c)
    return charts


def _held(series: tuple[list[int], list[float]], times: list[int]) -> tuple[float, ...]:
    """``series`` on ``times``, each value held until the next sample (the first value before it starts)."""
    own_t, own_v = series
    out, k, last = [], 0, own_v[0] if own_v else 0.0
    for t in times:
        while k < len(own_t) and own_t[k] <= t:
            last = own_v[k]
            k += 1
        out.append(last)
    return tuple(out)
