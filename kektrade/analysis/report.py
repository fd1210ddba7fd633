"""The results document of a run (results.json) and its console table.

Schema of ``results_document(...)`` (``schema`` = "kektrade.results/1"); every value is JSON-safe:

```
{
  "schema": "kektrade.results/1",
  "run": {"run_id": str, "metastrategy_id": str,
          "start": ISO time | null, "end": ISO time | null},      # span of all equity samples
  "account": {
    "currency": "quote",                                        # everything below is in the quote currency
    "initial": float, "final": float,
    "metrics": {<Metrics fields>}                               # from the combined quote equity
  },
  "subaccounts": [{
    "id", "venue", "pair", "strategy", "status": str,
    "settle_currency": str, "is_inverse": bool,
    "initial_balance": float,                                   # settle currency
    "first_price", "last_price": float | null,
    "parameters": object | null,                                # the last selected parameter set
    "metrics": {<Metrics fields>},                              # settle currency (coin for inverse)
    "final_quote_equity": float | null,
    "final_position": {<PositionView fields>},
    "final_wallet": {<WalletView fields>},
    "fills": [{"time": ISO, "subaccount", "side": "buy"|"sell", "qty": float (abs contracts),
               "price", "fee", "realized_pnl": float, "kind": "trade"|"funding"|"liquidation",
               "order_id": str, "position_after": float}]
  }],
  "correlations": [{"a": id, "b": id, "correlation": float | null}],   # of per-sample quote returns
  "extra": object                                               # caller's additions (e.g. timings)
}
```

Metrics fields: total_return, cagr, max_drawdown (fractions), max_drawdown_duration_ms, sharpe, sortino,
calmar, win_rate, profit_factor, expectancy, exposure, trades, fees_paid, funding_paid, liquidations,
buy_and_hold_return, final_equity (see kektrade.analysis.metrics). JSON has no NaN or infinity, so
``json_safe`` writes NaN (undefined) as null and +/-infinity as the strings "inf" / "-inf" (a profit
factor with winners and no losers stays distinguishable from an undefined one).

Account metrics: trade counts, win rate, profit factor and expectancy pool every subaccount's closed
trades, with inverse PnL converted to quote at each trade's exit price; fees and funding are converted
at each fill's price; exposure is the share of time at least one subaccount holds a position;
buy_and_hold_return is the average of the subaccounts' price returns weighted by their initial quote
equity.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kektrade.analysis.account import combine_equity, correlation
from kektrade.analysis.metrics import (
    Metrics,
    compute_metrics,
    exposure,
    open_intervals,
    price_return,
    trade_stats,
)
from kektrade.analysis.trades import round_trips
from kektrade.domain.types import Fill, FillKind, PositionView, WalletView

SCHEMA = "kektrade.results/1"


@dataclass(frozen=True, slots=True)
class SubaccountResult:
    """Everything the results document needs about one subaccount at the end of a run."""

    id: str
    venue: str
    pair: str
    strategy: str
    settle_currency: str
    initial_balance: float
    times_ms: Sequence[int]
    equity: Sequence[float]
    equity_quote: Sequence[float]
    fills: Sequence[Fill]
    position: PositionView
    wallet: WalletView
    first_price: float | None
    last_price: float | None
    is_inverse: bool
    parameters: dict[str, Any] | None
    status: str


def iso_ms(time_ms: int) -> str:
    """ISO-8601 UTC text of a millisecond timestamp."""
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def json_safe(value: Any) -> Any:
    """Deep copy with NaN -> None, +inf -> "inf", -inf -> "-inf", tuples -> lists, enums -> str."""
    kind = type(value)  # the exact plain types first: a results document has hundreds of thousands of values
    if kind is float:
        return value if value - value == 0.0 else _special(value)  # inf - inf and NaN - NaN are NaN
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): json_safe(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, str):
        return str(value)  # plain str, also for StrEnum members
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if f - f == 0.0 else _special(f)
    if isinstance(value, np.integer):
        return int(value)
    raise TypeError(f"json_safe: cannot convert {type(value).__name__} value {value!r}")


def _special(f: float) -> Any:
    """NaN -> None, +inf -> "inf", -inf -> "-inf"."""
    return None if math.isnan(f) else ("inf" if f > 0 else "-inf")


def subaccount_metrics(sub: SubaccountResult) -> Metrics:
    """Metrics of one subaccount in its settle currency."""
    return compute_metrics(
        sub.times_ms,
        sub.equity,
        sub.fills,
        sub.initial_balance,
        sub.first_price,
        sub.last_price,
        sub.is_inverse,
    )


def fill_entries(sub_id: str, fills: Sequence[Fill]) -> list[dict[str, Any]]:
    """Every fill as the results document lists it, JSON-safe (also rebuilt from the run database by stored
    views). A market maker has 60k fills: their times are formatted in one NumPy call (``iso_ms``'s text)."""
    if not fills:
        return []
    stamps = np.fromiter((f.time_ms for f in fills), np.int64, len(fills)).astype("datetime64[ms]")
    times = np.datetime_as_string(stamps, unit="ms").tolist()
    entries = [
        {
            "time": t + "+00:00",
            "subaccount": sub_id,
            "side": "buy" if f.contracts > 0 else "sell",
            "qty": abs(f.contracts),
            "price": f.price,
            "fee": f.fee,
            "realized_pnl": f.realized_pnl,
            "kind": str(f.kind),
            "order_id": f.order_id,
            "position_after": f.position_after,
        }
        for f, t in zip(fills, times, strict=True)
    ]
    numbers = np.fromiter(
        (x for f in fills for x in (f.contracts, f.price, f.fee, f.realized_pnl, f.position_after)), np.float64
    )
    return entries if np.isfinite(numbers).all() else json_safe(entries)  # NaN -> null, inf -> "inf"


def _subaccount_entry(sub: SubaccountResult) -> dict[str, Any]:
    return {
        "id": sub.id,
        "venue": sub.venue,
        "pair": sub.pair,
        "strategy": sub.strategy,
        "status": sub.status,
        "settle_currency": sub.settle_currency,
        "is_inverse": sub.is_inverse,
        "initial_balance": sub.initial_balance,
        "first_price": sub.first_price,
        "last_price": sub.last_price,
        "parameters": sub.parameters,
        "metrics": subaccount_metrics(sub).as_dict(),
        "final_quote_equity": sub.equity_quote[-1] if len(sub.equity_quote) else None,
        "final_position": dataclasses.asdict(sub.position),
        "final_wallet": dataclasses.asdict(sub.wallet),
    }


def _to_quote(sub: SubaccountResult, amount: float, price: float) -> float:
    return amount * price if sub.is_inverse else amount


def account_metrics(subs: Sequence[SubaccountResult], initial_quote: float) -> Metrics:
    """Account metrics from the combined quote equity plus pooled trades (see the module docstring)."""
    times, equity = combine_equity({s.id: (s.times_ms, s.equity_quote) for s in subs if len(s.times_ms)})
    base = compute_metrics(times, equity, [], initial_quote)
    pnls = [
        _to_quote(s, t.pnl, t.exit_price)
        for s in subs
        for t in round_trips(s.fills)
        if t.exit_time_ms is not None
    ]
    win_rate, profit_factor, expectancy = trade_stats(pnls)
    trading = [_to_quote(s, f.fee, f.price) for s in subs for f in s.fills if f.kind != FillKind.FUNDING]
    funding = [_to_quote(s, f.fee, f.price) for s in subs for f in s.fills if f.kind == FillKind.FUNDING]
    weighted = [
        (s.equity_quote[0], price_return(s.first_price, s.last_price)) for s in subs if len(s.equity_quote)
    ]
    weighted = [(w, r) for w, r in weighted if not math.isnan(r) and w > 0]
    total_weight = sum(w for w, _ in weighted)
    return dataclasses.replace(
        base,
        win_rate=win_rate,
        profit_factor=profit_factor,
        expectancy=expectancy,
        trades=len(pnls),
        fees_paid=sum(trading),
        funding_paid=sum(funding),
        liquidations=sum(subaccount_metrics(s).liquidations for s in subs),
        exposure=exposure([open_intervals(s.fills) for s in subs], np.asarray(times, dtype=np.int64)),
        buy_and_hold_return=sum(w * r for w, r in weighted) / total_weight if total_weight > 0 else math.nan,
    )


def results_document(
    run_id: str,
    metastrategy_id: str,
    subaccounts: list[SubaccountResult],
    account_initial_quote: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-safe results document of a run (schema in the module docstring)."""
    all_times = [t for s in subaccounts for t in s.times_ms]
    account = account_metrics(subaccounts, account_initial_quote)
    quote = {s.id: (s.times_ms, s.equity_quote) for s in subaccounts if len(s.times_ms)}
    doc = {
        "schema": SCHEMA,
        "run": {
            "run_id": run_id,
            "metastrategy_id": metastrategy_id,
            "start": iso_ms(min(all_times)) if all_times else None,
            "end": iso_ms(max(all_times)) if all_times else None,
        },
        "account": {
            "currency": "quote",
            "initial": account_initial_quote,
            "final": account.final_equity,
            "metrics": account.as_dict(),
        },
        "subaccounts": [_subaccount_entry(s) for s in subaccounts],
        "correlations": [{"a": a, "b": b, "correlation": c} for (a, b), c in correlation(quote).items()],
        "extra": extra or {},
    }
    safe: dict[str, Any] = json_safe(doc)
    for entry, sub in zip(safe["subaccounts"], subaccounts, strict=True):
        entry["fills"] = fill_entries(sub.id, sub.fills)  # JSON-safe as built: json_safe need not walk them
    return safe


_COLUMNS: tuple[tuple[str, str, int, str], ...] = (
    # (header, metrics key, width, format: "pct" | "num" | "int" | "money")
    ("return %", "total_return", 9, "pct"),
    ("CAGR %", "cagr", 9, "pct"),
    ("maxDD %", "max_drawdown", 8, "pct"),
    ("Sharpe", "sharpe", 7, "num"),
    ("Sortino", "sortino", 7, "num"),
    ("Calmar", "calmar", 7, "num"),
    ("win %", "win_rate", 6, "pct"),
    ("PF", "profit_factor", 6, "num"),
    ("trades", "trades", 6, "int"),
    ("fees", "fees_paid", 11, "money"),
    ("funding", "funding_paid", 11, "money"),
    ("liqs", "liquidations", 4, "int"),
    ("B&H %", "buy_and_hold_return", 8, "pct"),
)


def _cell(value: Any, kind: str, width: int) -> str:
    """One right-aligned cell; null (undefined) is "-", infinities print as "inf"."""
    if value is None:
        text = "-"
    elif isinstance(value, str):
        text = value
    elif kind == "pct":
        text = f"{value * 100:.2f}"
    elif kind == "int":
        text = str(int(value))
    elif kind == "money":
        text = f"{value:.6g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4f}"
    else:
        text = f"{value:.2f}"
    if len(text) > width and isinstance(value, float | int) and kind != "int":
        shown = value * 100 if kind == "pct" else value
        text = f"{shown:.{max(1, width - 6)}g}"  # scientific notation keeps the column width
    return text.rjust(width)


def format_results_table(doc: dict[str, Any]) -> str:
    """Fixed-width console table of a results document: one row per subaccount plus an ACCOUNT row."""
    failed = {s["id"] for s in doc["subaccounts"] if s.get("status") == "failed"}  # the strategy raised
    rows = [(s["id"] + (" FAILED" if s["id"] in failed else ""), s["metrics"]) for s in doc["subaccounts"]]
    rows.append(("ACCOUNT", doc["account"]["metrics"]))
    name_width = max(7, *(len(name) for name, _ in rows))
    header = "subaccount".ljust(name_width + 3) + " ".join(h.rjust(w) for h, _, w, _ in _COLUMNS)
    lines = [header, "-" * len(header)]
    for i, (name, metrics) in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("-" * len(header))
        cells = " ".join(_cell(metrics.get(key), kind, width) for _, key, width, kind in _COLUMNS)
        lines.append(name.ljust(name_width + 3) + cells)
    return "\n".join(lines)
