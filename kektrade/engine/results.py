"""Results of a finished run: per-subaccount and account metrics, results.json, the console table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kektrade.analysis.report import SubaccountResult, format_results_table, json_safe, results_document
from kektrade.analysis.study import account_analysis, subaccount_analysis, subaccount_trades
from kektrade.analysis.tradebook import ExitContext
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.tagging import TradeTags

TRADES_FILE = "trades.json"


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


def exit_context(inst: StrategyInstance, tags: TradeTags | None) -> ExitContext:
    """What tells the instance's exits apart and which parameters were in force when."""
    selections = tags.selections.get(inst.id, []) if tags is not None else []
    return ExitContext(
        conditional=tags.conditional.get(inst.id, {}) if tags is not None else {},
        tagged=inst.exit_tags,
        selections=selections,
        parameters=None if selections else dict(inst.parameter),  # optimized: none before the first pick
    )


def build_results(
    run_id: str,
    metastrategy_id: str,
    instances: Sequence[StrategyInstance],
    extra: dict[str, Any] | None = None,
    tags: TradeTags | None = None,
) -> dict[str, Any]:
    """The results document (schema: kektrade.analysis.report) with the trade analysis added.

    Each subaccount gains ``analysis`` (kektrade.analysis.study) and ``trades`` (every round trip; written
    to trades.json beside results.json, not into it); the account gains ``analysis`` in the quote currency.
    """
    subs = [subaccount_result(i) for i in instances]
    start = sum(initial_quote(i) for i in instances)
    doc = results_document(run_id, metastrategy_id, subs, start, extra)
    rows = {s.id: subaccount_trades(s, exit_context(i, tags)) for s, i in zip(subs, instances, strict=True)}
    for entry, sub in zip(doc["subaccounts"], subs, strict=True):
        entry["analysis"] = json_safe(subaccount_analysis(sub, rows[sub.id]))
        entry["trades"] = json_safe(rows[sub.id])
    doc["account"]["analysis"] = json_safe(account_analysis(subs, rows))
    return doc


def split_trades(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results without the round-trip rows, ``{"run_id", "subaccounts": {id: rows}}`` for trades.json)."""
    compact = dict(document)
    compact["subaccounts"] = [{k: v for k, v in s.items() if k != "trades"} for s in document["subaccounts"]]
    trades = {s["id"]: s.get("trades", []) for s in document["subaccounts"]}
    return compact, {"run_id": document["run"]["run_id"], "subaccounts": trades}


def _write_atomically(path: Path, data: Any, indent: int | None) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=indent, allow_nan=False, separators=None if indent else (",", ":")))
    tmp.replace(path)


def write_results(folder: Path, document: dict[str, Any]) -> Path:
    """Write results.json atomically into the run folder, moving the round trips out into trades.json.

    The subaccounts' ``trades`` rows leave ``document`` (which then equals results.json): a busy strategy's
    round trips would make results.json heavy; the web page and the report read them by range.
    """
    compact, trades = split_trades(document)
    _write_atomically(folder / TRADES_FILE, trades, None)
    for entry in document["subaccounts"]:
        entry.pop("trades", None)
    path = folder / "results.json"
    _write_atomically(path, compact, 1)
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
