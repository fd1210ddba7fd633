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
from kektrade.exchange.sim.summary import venue_summary

TRADES_FILE = "trades.json"
#: kept in the document in memory, left out of results.json: the run database's fill table holds them
STORED_ELSEWHERE = ("fills",)


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
    # issue 12: which contract numbers, risk ladder and rules of the period each venue used
    venues = {i.id: venue_summary(i.venue) for i in instances}
    doc = results_document(run_id, metastrategy_id, subs, start, {**(extra or {}), "venues": venues})
    rows = {s.id: subaccount_trades(s, exit_context(i, tags)) for s, i in zip(subs, instances, strict=True)}
    for entry, sub in zip(doc["subaccounts"], subs, strict=True):
        entry["analysis"] = json_safe(subaccount_analysis(sub, rows[sub.id]))
        entry["trades"] = json_safe(rows[sub.id])
    doc["account"]["analysis"] = json_safe(account_analysis(subs, rows))
    _show_live_parameters(doc)
    return doc


def split_trades(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results without round trips and fills, ``{"run_id", "subaccounts": {id: rows}}`` for trades.json)."""
    compact = dict(document)
    left_out = ("trades", *STORED_ELSEWHERE)
    compact["subaccounts"] = [{k: v for k, v in s.items() if k not in left_out} for s in document["subaccounts"]]
    trades = {s["id"]: s.get("trades", []) for s in document["subaccounts"]}
    return compact, {"run_id": document["run"]["run_id"], "subaccounts": trades}


def _write_atomically(path: Path, data: Any, indent: int | None) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=indent, allow_nan=False, separators=None if indent else (",", ":")))
    tmp.replace(path)


def _show_live_parameters(document: dict[str, Any]) -> None:
    """An optimized subaccount shows what is live: its pick, or null and "none since ..." when standing aside."""
    reports = (document.get("extra") or {}).get("optimization") or {}
    for entry in document["subaccounts"]:
        live = (reports.get(entry["id"]) or {}).get("live")
        if live is not None:
            entry["parameters"] = live["parameters"]
            entry["live_since"] = live["since"]
            entry["live_text"] = live["text"]


def write_results(folder: Path, document: dict[str, Any]) -> Path:
    """Write results.json atomically into the run folder, moving the round trips out into trades.json.

    The subaccounts' ``trades`` rows leave ``document``: a busy strategy's round trips would make
    results.json heavy; the web page and the report read them by range. Its ``fills`` stay in ``document``
    (front ends of the running process show them) but not in results.json: the run database's fill table
    holds the same fills (for a backtest in columnar parts, kektrade.persistence.columnar), and a market
    maker's 60k fills would be most of the run folder twice over.
    """
    compact, trades = split_trades(document)
    _write_atomically(folder / TRADES_FILE, trades, None)
    for entry in document["subaccounts"]:
        entry.pop("trades", None)
    path = folder / "results.json"
    _write_atomically(path, compact, 1)
    return path


def results_table(document: dict[str, Any]) -> str:
    """The console table of a results document, then a warning per strategy that failed the look-ahead check."""
    warnings = check_warnings(document)
    return format_results_table(document) + ("\n\n" + "\n".join(warnings) if warnings else "")


def check_warnings(document: dict[str, Any]) -> list[str]:
    """One line per subaccount whose strategy failed the backtest's look-ahead check (extra.strategy_checks)."""
    lines = []
    for sub_id, check in ((document.get("extra") or {}).get("strategy_checks") or {}).items():
        if check.get("lookahead") == "fail" and check.get("findings"):
            first = check["findings"][0]
            lines.append(
                f"WARNING {sub_id}: {check['strategy']} looks ahead ({first['kind']} {first['name']} at "
                f"{first['time']}): these results cannot be trusted; run `kektrade check` for every finding"
            )
    return lines


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):+.2f} %"


def _num(value: Any, digits: int = 2) -> str:
    return "-" if value is None or isinstance(value, str) else f"{float(value):.{digits}f}"


def _track_record(over: dict[str, Any]) -> str:
    days = over.get("min_track_record_days")
    if days is not None:
        return f"min track record {days:.0f} days"
    return "no track record suffices at this Sharpe" if over.get("dsr_live") is not None else "no track record"


def walk_forward_table(document: dict[str, Any]) -> str:
    """The walk-forward comparison of each optimized subaccount: live-optimized vs fixed vs buy-and-hold.

    Fixed combinations and buy-and-hold are measured on the span live optimization traded (from the
    first selection on); then the overfitting diagnostics and their one-line reading.
    """
    reports = (document.get("extra") or {}).get("optimization") or {}
    lines: list[str] = []
    for sub_id, report in reports.items():
        lines.extend(_walk_forward_lines(sub_id, report))
    return "\n".join(lines)


def _walk_forward_lines(sub_id: str, report: dict[str, Any]) -> list[str]:
    wf = report.get("walk_forward") or {}
    fixed = wf.get("fixed") or {}
    span = wf.get("span") or {}
    live = report.get("live") or {}
    lines = [
        f"walk-forward {sub_id}: {report['combinations']} combinations, objective {report['objective']}, "
        f"{wf.get('windows', 0)} windows ({wf.get('none_windows', 0)} none), {wf.get('switches', 0)} switches",
        f"  span {span.get('start') or '-'} .. {span.get('end') or '-'} (fixed and buy-and-hold on the same span)",
        f"  live now            {live.get('text', '-')}",
        f"  live-optimized      {_pct(wf.get('live_optimized_return'))}",
    ]
    for name in ("best", "median", "worst"):
        if name in fixed:
            lines.append(f"  fixed {name:<13} {_pct(fixed[name]['return'])}   {fixed[name]['parameters']}")
    lines.append(f"  buy and hold        {_pct(wf.get('buy_and_hold_return'))}")
    lines.append(
        f"  fixed combinations that beat live optimization: {wf.get('fixed_better_than_live')}"
        f" of {report['combinations']}"
    )
    over = report.get("overfitting") or {}
    if over:
        lines.append(
            f"  PBO {_num(over.get('pbo'))} ({over.get('pbo_blocks')} blocks, "
            f"logit mean {_num(over.get('logit_mean'))}, degradation slope {_num(over.get('degradation_slope'))}); "
            f"deflated Sharpe live {_num(over.get('dsr_live'))}, best fixed {_num(over.get('dsr_best_fixed'))} "
            f"({over.get('distinct_trials', '-')} trials, {_track_record(over)})"
        )
        lines.append(f"  reading: {over.get('reading', '-')}")
    return lines
