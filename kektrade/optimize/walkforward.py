"""The live optimizer's record: why "none" was chosen, the walk-forward comparison and its diagnostics.

Definitions (also in docs/optimization.md):

- The **evaluation span** runs from the first selection to the end of the data: the time live
  optimization could trade. Every fixed combination and buy-and-hold are measured on that same span,
  from their equity (or price) at the first selection. Without any selection the span is empty and the
  figures are null.
- The **median** fixed combination is the one at rank ceil(N/2) when the N combinations are ordered by
  span return, best first; ``median_fixed_return`` is that combination's return (never an average).
- A **window** is one re-optimization period (one selection); a **"none" window** is one whose
  selection stood aside; a **switch** is a selection whose result differs from the previous one
  (another combination, or to or from "none").
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from kektrade.domain.timeframes import format_ms
from kektrade.optimize.diagnostics import overfitting_report

if TYPE_CHECKING:
    from kektrade.optimize.live import LiveOptimizer

SPAN_NOTE = "fixed combinations and buy-and-hold measured from the first selection, the span live optimization traded"


def why_none(
    scored: list[tuple[int, float, int]], reasons: dict[int, str | None], combos: list[dict[str, Any]], size: int
) -> dict[str, Any]:
    """The best score of all, how many combinations each criterion ruled out, and the top ``size`` of them."""
    finite = [s for s in scored if math.isfinite(s[1])]
    ordered = sorted(finite, key=lambda s: (-s[1], s[0])) + [s for s in scored if not math.isfinite(s[1])]
    best = ordered[0] if finite else None
    return {
        "best_score": best[1] if best else None,
        "best_parameters": dict(combos[best[0]]) if best else None,
        "ruled_out": dict(Counter(str(r).split(" (")[0] for r in reasons.values() if r is not None)),
        "candidates": [
            {"parameters": dict(combos[k]), "score": v, "trades": n, "ruled_out": reasons[k]}
            for k, v, n in ordered[:size]
        ],
    }


def none_text(why: dict[str, Any]) -> str:
    """One log line: the best score, what ruled it out, and the count per criterion."""
    counts = ", ".join(f"{name} {count}" for name, count in sorted(why["ruled_out"].items()))
    top = why["candidates"][0] if why["candidates"] else None
    if top is None:
        return "no combinations"
    best = "no finite score" if why["best_score"] is None else f"best score {why['best_score']:.4g}"
    return f"{best} {top['parameters']} ruled out by {top['ruled_out']}; ruled out: {counts}"


def live_state(opt: LiveOptimizer) -> dict[str, Any]:
    """What is live now: the parameter set (null when standing aside) and since when."""
    if not opt.selections:
        return {"parameters": None, "since": None, "text": "none yet (waiting for the first full lookback)"}
    last = opt.selections[-1]
    since = last["time_ms"]
    for record in reversed(opt.selections):  # the start of the current run of equal selections
        if record["parameters"] != last["parameters"]:
            break
        since = record["time_ms"]
    params = last["parameters"]
    text = f"{params} since {format_ms(since)}" if params is not None else f"none since {format_ms(since)}"
    return {"parameters": params, "since": format_ms(since), "text": text}


def _value_at(times: list[int], values: Sequence[float], t: int, default: float) -> float:
    j = bisect.bisect_right(times, t) - 1
    return values[j] if j >= 0 else default


def _span(opt: LiveOptimizer, finals: dict[int, float]) -> tuple[int | None, dict[int, float], float | None]:
    """(span start, each fixed combination's return on the span, the live return on the span)."""
    if not opt.selections:
        return None, {}, None
    start_ms = opt.selections[0]["time_ms"]
    balance = opt.instance.venue.initial_balance
    returns = {}
    for k, final in finals.items():
        begin = _value_at(opt.times, opt.equity[k], start_ms, balance)
        if k not in opt.failed and begin > 0 and math.isfinite(final):
            returns[k] = final / begin - 1.0
    live_begin = opt.live_equity_at(start_ms)
    live = opt.instance.venue.equity() / live_begin - 1.0 if live_begin > 0 else None
    return start_ms, returns, live


def _buy_and_hold(opt: LiveOptimizer, start_ms: int | None) -> float | None:
    market, inst = opt.instance.venue.market, opt.instance
    if start_ms is None or inst.venue.candle_index < 0:
        return None
    first = bisect.bisect_left(market.time_ms, start_ms)
    last = inst.venue.candle_index
    if first > last or not market.open[first]:
        return None
    return market.close[last] / market.open[first] - 1.0


def _counts(opt: LiveOptimizer) -> dict[str, int]:
    picks = [s["parameters"] for s in opt.selections]
    return {
        "windows": len(picks),
        "none_windows": sum(1 for p in picks if p is None),
        "switches": sum(1 for a, b in pairwise(picks) if a != b),
    }


def build_report(opt: LiveOptimizer, finals: dict[int, float]) -> dict[str, Any]:
    """The optimizer's block of results.json (see the module docstring for the definitions)."""
    start_ms, returns, live_ret = _span(opt, finals)
    ordered = sorted(returns, key=lambda k: (-returns[k], k))

    def pick(k: int) -> dict[str, Any]:
        return {"parameters": dict(opt.combos[k]), "return": returns[k]}

    fixed: dict[str, Any] = {}
    if ordered:
        fixed = {"best": pick(ordered[0]), "median": pick(median_of(ordered)), "worst": pick(ordered[-1])}
    end_ms = opt.instance.time_of(opt.instance.venue.candle_index) if opt.instance.venue.candle_index >= 0 else None
    return {
        "combinations": len(opt.combos),
        "objective": opt.objective,
        "min_trades": opt.min_trades,
        "min_score": opt.min_score,
        "failed": len(opt.failed),
        "live": live_state(opt),
        "selections": [_selection_entry(s) for s in opt.selections],
        "walk_forward": {
            "span": {
                "start": format_ms(start_ms) if start_ms is not None else None,
                "end": format_ms(end_ms) if end_ms is not None and start_ms is not None else None,
                "note": SPAN_NOTE,
            },
            **_counts(opt),
            "live_optimized_return": live_ret,
            "fixed": fixed,
            "median_fixed_return": fixed["median"]["return"] if fixed else None,
            "fixed_better_than_live": (
                sum(1 for r in returns.values() if r > live_ret) if live_ret is not None else None
            ),
            "buy_and_hold_return": _buy_and_hold(opt, start_ms),
        },
        "overfitting": overfitting_report(opt, start_ms, ordered[0] if ordered else None),
        "curves": curves(opt, ordered),
    }


def median_of(ordered: list[int]) -> int:
    """The combination at rank ceil(N/2) of ``ordered`` (best first)."""
    return ordered[(len(ordered) - 1) // 2]


def _selection_entry(record: dict[str, Any]) -> dict[str, Any]:
    entry = {"time": format_ms(record["time_ms"]), "parameters": record["parameters"], "score": record["score"]}
    if "why_none" in record:
        entry["why_none"] = record["why_none"]
    return entry


def curves(opt: LiveOptimizer, ordered: list[int], points: int = 400) -> dict[str, Any]:
    """Equity of the live-optimized instance and the best, median and worst fixed combinations."""
    if not ordered or not opt.times:
        return {}
    stride = max(1, len(opt.times) // points)
    picks = {"best": ordered[0], "median": median_of(ordered), "worst": ordered[-1]}
    out: dict[str, Any] = {"times_ms": opt.times[::stride]}
    for name, k in picks.items():
        out[name] = list(opt.equity[k][::stride])
    out["live"] = [opt.live_equity_at(t) for t in out["times_ms"]]
    return out
