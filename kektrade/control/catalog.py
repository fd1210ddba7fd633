"""``kektrade runs``: one line per run folder with status, period, venues, subaccounts and return.

Read from the run folder only: ``config.json`` (venues, subaccounts), ``results.json`` (period, return,
subaccounts whose strategy failed) and the database's status (running, finished, stopped, failed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kektrade.persistence.database import open_run_database


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What ``kektrade runs`` shows of one run."""

    run_id: str
    status: str
    period: str
    venues: str
    subaccounts: int
    return_pct: float | None
    failed: list[str] = field(default_factory=list)

    @property
    def status_text(self) -> str:
        """The status, with FAILED and the failed subaccounts when a strategy raised."""
        return f"{self.status} FAILED({','.join(self.failed)})" if self.failed else self.status


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _status(db_path: Path) -> str:
    if not db_path.is_file():
        return "no database"
    try:
        with open_run_database(db_path) as db:
            return str(db.get_meta("status", "unknown"))
    except Exception as exc:  # a damaged database must not hide the other runs
        return f"unreadable ({type(exc).__name__})"


def summarize_run(folder: Path) -> RunSummary:
    """The summary of the run in ``folder``."""
    config, results = _json(folder / "config.json"), _json(folder / "results.json")
    subs = [s for s in config.get("subaccounts", []) if isinstance(s, dict)]
    default_venue = (config.get("defaults") or {}).get("venue", "backtest_perpetual")
    venues = sorted({str(s.get("venue", default_venue)).replace("backtest_perpetual", "backtest") for s in subs})
    run = results.get("run") or {}
    start, end = str(run.get("start") or "")[:10], str(run.get("end") or "")[:10]
    metrics = ((results.get("account") or {}).get("metrics")) or {}
    total = metrics.get("total_return")
    failed = [str(s.get("id")) for s in results.get("subaccounts", []) if s.get("status") == "failed"]
    return RunSummary(
        run_id=folder.name,
        status=_status(folder / "run.sqlite"),
        period=f"{start} → {end}" if start else "-",
        venues=",".join(venues) or "-",
        subaccounts=len(subs),
        return_pct=100.0 * float(total) if isinstance(total, int | float) else None,
        failed=failed,
    )


def runs_table(summaries: list[RunSummary]) -> str:
    """A fixed-width table of run summaries, most recent first."""
    rows = [("run", "status", "period", "venue", "subs", "return")]
    for s in summaries:
        ret = f"{s.return_pct:+.2f} %" if s.return_pct is not None else "-"
        rows.append((s.run_id, s.status_text, s.period, s.venues, str(s.subaccounts), ret))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.rjust(w) if i >= 4 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
        for r in rows
    )
