"""The trade book: round trips as rows a trader studies (exit reason, parameters in force, PnL in coin and quote).

Exit reasons, from the order of the fill that closed the trade:
- ``liquidation``: the venue liquidated the position;
- ``flatten``: the operator's flatten command; ``optimizer_switch``: the live optimizer flattened to switch
  parameters or to stand aside (both tagged by the engine on the closing order);
- ``stop`` / ``take_profit``: a stop or take-profit order (market or limit) triggered;
- ``strategy``: any other order of the strategy (market or limit);
- ``open``: still open at the end of the run (exit price = the last price, PnL unrealized is not counted).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kektrade.analysis.trades import Trade

EXIT_REASONS = ("strategy", "stop", "take_profit", "liquidation", "flatten", "optimizer_switch", "open")


@dataclass(frozen=True, slots=True)
class ExitContext:
    """What the engine knows about the orders that closed trades and the parameters over time."""

    conditional: Mapping[str, str] = field(default_factory=dict)  # order id -> stop/take-profit order type
    tagged: Mapping[str, str] = field(default_factory=dict)  # order id -> "flatten" | "optimizer_switch"
    selections: Sequence[tuple[int, dict[str, Any] | None]] = ()  # (time_ms, parameters), time order
    parameters: Mapping[str, Any] | None = None  # the set in force before any selection

    def parameters_at(self, time_ms: int) -> dict[str, Any] | None:
        """The parameter set in force at ``time_ms`` (the last selection at or before it)."""
        times = [t for t, _ in self.selections]
        k = bisect.bisect_right(times, time_ms) - 1
        if k >= 0:
            chosen = self.selections[k][1]
            return None if chosen is None else dict(chosen)
        return None if self.parameters is None else dict(self.parameters)


def exit_reason(trade: Trade, context: ExitContext) -> str:
    """Why ``trade`` ended (see the module docstring)."""
    if trade.is_open:
        return "open"
    if trade.liquidated:
        return "liquidation"
    tag = context.tagged.get(trade.exit_order_id)
    if tag is not None:
        return tag
    kind = context.conditional.get(trade.exit_order_id, "")
    if kind.startswith("stop"):
        return "stop"
    if kind.startswith("take_profit"):
        return "take_profit"
    return "strategy"


def trade_rows(
    trades: Sequence[Trade], context: ExitContext, is_inverse: bool, last_price: float | None = None
) -> list[dict[str, Any]]:
    """One JSON-ready row per round trip; ``pnl`` in the settle currency, ``pnl_quote`` valued at the exit."""
    rows = []
    for n, t in enumerate(trades, start=1):
        exit_price = t.exit_price if not t.is_open else (last_price or t.entry_price)
        value_price = exit_price or t.entry_price
        notional = (
            (t.entry_qty / t.entry_price if t.entry_price else 0.0) if is_inverse else t.entry_qty * t.entry_price
        )
        rows.append(
            {
                "n": n,
                "side": "long" if t.direction > 0 else "short",
                "entry_time_ms": t.entry_time_ms,
                "exit_time_ms": t.exit_time_ms,
                "entry_price": t.entry_price,
                "exit_price": exit_price,
                "qty": t.entry_qty,
                "max_qty": t.max_contracts,
                "gross_pnl": t.gross_pnl,
                "fees": t.fees,
                "funding": t.funding,
                "pnl": t.pnl,
                "pnl_quote": t.pnl * value_price if is_inverse else t.pnl,
                "pnl_pct": t.pnl / notional if notional else None,
                "duration_ms": t.duration_ms,
                "exit_reason": exit_reason(t, context),
                "parameters": context.parameters_at(t.entry_time_ms),
            }
        )
    return rows


def closed(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows of trades that ended."""
    return [r for r in rows if r["exit_reason"] != "open"]


def exit_reason_table(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per exit reason (in ``EXIT_REASONS`` order, only those that occur): count, wins, PnL, mean duration."""
    out = []
    for reason in EXIT_REASONS:
        group = [r for r in rows if r["exit_reason"] == reason]
        if not group:
            continue
        durations = [r["duration_ms"] for r in group if r["duration_ms"] is not None]
        out.append(
            {
                "reason": reason,
                "trades": len(group),
                "wins": sum(1 for r in group if r["pnl"] > 0),
                "pnl": sum(r["pnl"] for r in group),
                "pnl_quote": sum(r["pnl_quote"] for r in group),
                "avg_duration_ms": sum(durations) / len(durations) if durations else None,
            }
        )
    return out


def best_and_worst(rows: Sequence[Mapping[str, Any]], count: int = 5) -> dict[str, list[Mapping[str, Any]]]:
    """The ``count`` closed trades with the highest and the lowest quote PnL (ties: earlier first)."""
    done = closed(rows)
    best = sorted(done, key=lambda r: (-r["pnl_quote"], r["n"]))[:count]
    worst = sorted(done, key=lambda r: (r["pnl_quote"], r["n"]))[:count]
    return {"best": best, "worst": worst}


def trade_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, wins, total and mean PnL (settle and quote), mean and longest duration of closed trades."""
    done = closed(rows)
    durations = [r["duration_ms"] for r in done]
    wins = [r for r in done if r["pnl"] > 0]
    return {
        "closed": len(done),
        "open": len(rows) - len(done),
        "wins": len(wins),
        "losses": sum(1 for r in done if r["pnl"] < 0),
        "long": sum(1 for r in done if r["side"] == "long"),
        "short": sum(1 for r in done if r["side"] == "short"),
        "pnl": sum(r["pnl"] for r in done),
        "pnl_quote": sum(r["pnl_quote"] for r in done),
        "fees": sum(r["fees"] for r in done),
        "funding": sum(r["funding"] for r in done),
        "avg_duration_ms": sum(durations) / len(durations) if durations else None,
        "max_duration_ms": max(durations) if durations else None,
    }
