"""Results of a finished run: per-subaccount and account metrics, results.json, the console table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kektrade.analysis.report import SubaccountResult, format_results_table, results_document
from kektrade.engine.instance import StrategyInstance
from kektrade.exchange.sim.summary import venue_summary


def subaccount_result(inst: StrategyInstance) -> SubaccountResult:
    """The analysis input of one instance."""
    venue = inst.venue
    closes = venue.market.close
    first = closes[inst.first_index] if closes else None
    last = closes[venue.candle_index] if venue.candle_index >= 0 else None
    return SubaccountResult(
        id=inst.id,
        venue=str(inst.metadata.get("venue", "")),
        pair=venue.spec.symbol,
        strategy=type(inst.strategy).__name__,
        settle_currency=venue.spec.settle,
        initial_balance=venue.initial_balance,
        times_ms=inst.times_ms,
        equity=inst.equity,
        equity_quote=inst.equity_quote,
        fills=venue.fills,
        position=venue.get_position(),
        wallet=venue.get_wallet(),
        first_price=first,
        last_price=last,
        is_inverse=inst.is_inverse,
        parameters=dict(inst.parameter),
        status=inst.status.value,
    )


def initial_quote(inst: StrategyInstance) -> float:
    """Starting equity in the quote currency (inverse: coin x the first traded candle's open)."""
    balance = inst.venue.initial_balance
    if not inst.is_inverse:
        return balance
    return balance * inst.venue.market.open[inst.first_index]


def build_results(
    run_id: str,
    metastrategy_id: str,
    instances: Sequence[StrategyInstance],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The results document (schema: kektrade.analysis.report)."""
    subs = [subaccount_result(i) for i in instances]
    start = sum(initial_quote(i) for i in instances)
    # issue 12: which contract numbers, risk ladder and rules of the period each venue used
    venues = {i.id: venue_summary(i.venue) for i in instances}
    return results_document(run_id, metastrategy_id, subs, start, {**(extra or {}), "venues": venues})


def write_results(folder: Path, document: dict[str, Any]) -> Path:
    """Write results.json atomically into the run folder."""
    path = folder / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, allow_nan=False))
    tmp.replace(path)
    return path


def results_table(document: dict[str, Any]) -> str:
    """The console table of a results document."""
    return format_results_table(document)


def walk_forward_table(document: dict[str, Any]) -> str:
    """The walk-forward comparison of each optimized subaccount: live-optimized vs fixed vs buy-and-hold."""
    reports = (document.get("extra") or {}).get("optimization") or {}
    lines = []
    for sub_id, report in reports.items():
        wf = report.get("walk_forward") or {}
        fixed = wf.get("fixed") or {}

        def pct(value: Any) -> str:
            return "-" if value is None else f"{100 * float(value):+.2f} %"

        lines.append(
            f"walk-forward {sub_id}: {report['combinations']} combinations, objective {report['objective']}, "
            f"{len(report.get('selections', []))} re-optimizations"
        )
        lines.append(f"  live-optimized      {pct(wf.get('live_optimized_return'))}")
        for name in ("best", "median", "worst"):
            if name in fixed:
                lines.append(f"  fixed {name:<13} {pct(fixed[name]['return'])}   {fixed[name]['parameters']}")
        lines.append(f"  buy and hold        {pct(wf.get('buy_and_hold_return'))}")
        lines.append(
            f"  fixed combinations that beat live optimization: {wf.get('fixed_better_than_live')}"
            f" of {report['combinations']}"
        )
    return "\n".join(lines)
