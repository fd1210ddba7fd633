"""A subaccount's history for front ends: every fill, closed trades and running PnL/drawdown.

Front ends call these off their UI thread (a market maker has tens of thousands of fills). The fills come
from the results document once a run has ended, else from the run database (a separate read connection),
else from the snapshot's latest fills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kektrade.analysis.trades import round_trips
from kektrade.domain.types import Fill, FillKind
from kektrade.engine.snapshot import EngineSnapshot, FillRow
from kektrade.persistence.database import open_run_database


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One closed round trip as front ends list it (money in the settle currency)."""

    direction: str  # long | short
    entry_ms: int
    exit_ms: int
    entry_price: float
    exit_price: float
    max_contracts: float
    pnl: float
    fees: float
    funding: float
    liquidated: bool


@dataclass(frozen=True, slots=True)
class PnlSummary:
    """Running figures of one subaccount from its equity series and closed trades."""

    pnl: float  # equity now - equity at the start (settle currency)
    return_pct: float
    drawdown_pct: float  # from the running peak now (0 at a high, negative below)
    max_drawdown_pct: float  # worst so far (negative)
    trades: int
    wins: int

    @property
    def win_rate_pct(self) -> float:
        """Winning closed trades in percent (0 without trades)."""
        return 100.0 * self.wins / self.trades if self.trades else 0.0


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def fill_from_entry(entry: Mapping[str, Any]) -> Fill:
    """A results-document fill (see kektrade.analysis.report) as a domain Fill."""
    qty = float(entry["qty"])
    return Fill(
        time_ms=_ms(str(entry["time"])),
        symbol=str(entry.get("subaccount", "")),
        kind=FillKind(str(entry.get("kind", "trade"))),
        contracts=qty if entry.get("side") == "buy" else -qty,
        price=float(entry["price"]),
        fee=float(entry.get("fee", 0.0)),
        realized_pnl=float(entry.get("realized_pnl", 0.0)),
        order_id=str(entry.get("order_id", "")),
        position_after=float(entry.get("position_after", 0.0)),
    )


def fill_row(fill: Fill) -> FillRow:
    """A domain Fill as a front-end row."""
    return FillRow(
        fill.time_ms,
        str(fill.kind),
        "buy" if fill.contracts > 0 else "sell",
        abs(fill.contracts),
        fill.price,
        fill.fee,
        fill.realized_pnl,
        fill.position_after,
    )


def subaccount_fills(
    sub_id: str,
    results: Mapping[str, Any] | None,
    db_path: Any = None,
    snapshot: EngineSnapshot | None = None,
) -> list[Fill]:
    """Every fill of ``sub_id`` in time order: from the results, the run database, or the snapshot."""
    for entry in (results or {}).get("subaccounts", []):
        if entry.get("id") == sub_id and "fills" in entry:  # results.json leaves them to the run database
            return [fill_from_entry(f) for f in entry["fills"]]
    if db_path is not None and db_path.is_file():
        with open_run_database(db_path) as db:
            return db.fills(sub_id)
    rows = snapshot.recent_fills.get(sub_id, ()) if snapshot is not None else ()
    return [
        Fill(r.time_ms, sub_id, FillKind(r.kind), r.qty if r.side == "buy" else -r.qty, r.price, r.fee,
             r.realized_pnl, position_after=r.position_after)
        for r in rows
    ]  # fmt: skip


def closed_trades(fills: Sequence[Fill]) -> list[TradeRow]:
    """Closed round trips, newest first."""
    rows = [
        TradeRow(
            "long" if t.direction > 0 else "short",
            t.entry_time_ms,
            t.exit_time_ms or 0,
            t.entry_price,
            t.exit_price,
            t.max_contracts,
            t.pnl,
            t.fees,
            t.funding,
            t.liquidated,
        )
        for t in round_trips(fills, memo=False)  # a copy made for this view: nothing to reuse
    ]
    rows.reverse()
    return rows


def drawdowns_pct(values: Sequence[float]) -> tuple[float, float]:
    """(drawdown now, worst drawdown) from the running peak, in percent (negative or 0)."""
    peak, worst, now = float("-inf"), 0.0, 0.0
    for v in values:
        peak = max(peak, v)
        now = 100.0 * (v / peak - 1.0) if peak > 0 else 0.0
        worst = min(worst, now)
    return now, worst


def pnl_summary(equity: Sequence[float], trades: Sequence[TradeRow] = ()) -> PnlSummary:
    """PnL, return and drawdown from an equity series (settle currency) and the closed trades."""
    if not equity:
        return PnlSummary(0.0, 0.0, 0.0, 0.0, len(trades), sum(t.pnl > 0 for t in trades))
    first, last = equity[0], equity[-1]
    now, worst = drawdowns_pct(equity)
    ret = 100.0 * (last / first - 1.0) if first else 0.0
    return PnlSummary(last - first, ret, now, worst, len(trades), sum(t.pnl > 0 for t in trades))
