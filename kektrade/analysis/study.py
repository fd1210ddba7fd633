"""The trade analysis of a run: per subaccount and for the account, the figures a trader studies.

``analysis`` blocks in results.json (small: tables and a compact equity series); the full round-trip rows
go beside them (``trades`` per subaccount, written to trades.json by the engine's results writer).
Money: a subaccount's ``pnl``/equity are in its settle currency (the coin for inverse contracts, named in
``currency``), ``*_quote`` values in the quote currency; the account is in the quote currency only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kektrade.analysis.account import combine_equity, drawdown_series
from kektrade.analysis.metrics import exposure, open_intervals, price_return
from kektrade.analysis.periods import PERIODS, compact_series, daily_ratios, period_table
from kektrade.analysis.report import SubaccountResult
from kektrade.analysis.tradebook import (
    ExitContext,
    best_and_worst,
    exit_reason_table,
    trade_rows,
    trade_summary,
)
from kektrade.analysis.trades import round_trips

EQUITY_POINTS = 1500  # the compact series kept in results.json


def _exposure(intervals: Sequence[Sequence[tuple[int, int | None]]], times_ms: Sequence[int]) -> dict[str, Any]:
    t = np.asarray(times_ms, dtype=np.int64)
    share = exposure(intervals, t)
    span = int(t[-1] - t[0]) if len(t) > 1 else 0
    return {"share": share, "time_in_market_ms": int(share * span) if span and not math.isnan(share) else 0}


def _returns(sub: SubaccountResult) -> dict[str, Any]:
    """Strategy and buy-and-hold returns in the same currency (both coin and quote for inverse)."""
    bh_quote = price_return(sub.first_price, sub.last_price)
    out: dict[str, Any] = {}
    if sub.is_inverse and len(sub.equity):
        out[sub.settle_currency] = {
            "strategy": sub.equity[-1] / sub.initial_balance - 1.0,
            "buy_and_hold": 0.0,  # holding the coin, counted in the coin
        }
    if len(sub.equity_quote):
        out["quote"] = {"strategy": sub.equity_quote[-1] / sub.equity_quote[0] - 1.0, "buy_and_hold": bh_quote}
    return out


def subaccount_trades(sub: SubaccountResult, context: ExitContext) -> list[dict[str, Any]]:
    """Every round trip of ``sub`` as a row (open one included)."""
    trades = round_trips(sub.fills, include_open=True)
    return trade_rows(trades, context, sub.is_inverse, sub.last_price)


def series_block(times_ms: Sequence[int], equity: Sequence[float]) -> dict[str, Any]:
    """The compact equity series with its drawdown (fraction below the running peak)."""
    return compact_series(times_ms, {"equity": equity, "drawdown": drawdown_series(equity)}, EQUITY_POINTS)


def subaccount_analysis(sub: SubaccountResult, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Tables of one subaccount in its settle currency (and quote where stated)."""
    times, equity = list(sub.times_ms), list(sub.equity)
    return {
        "currency": sub.settle_currency,
        "is_inverse": sub.is_inverse,
        "summary": trade_summary(rows),
        "exit_reasons": exit_reason_table(rows),
        **best_and_worst(rows),
        "periods": {p: period_table(times, equity, rows, p, "pnl") for p in PERIODS} if times else {},
        "exposure": _exposure([open_intervals(sub.fills)], times),
        "daily": daily_ratios(times, equity),
        "returns": _returns(sub),
        "equity": series_block(times, equity) if times else None,
    }


def account_analysis(
    subs: Sequence[SubaccountResult], rows: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, Any]:
    """The account's tables in the quote currency: every subaccount's trades pooled by quote PnL."""
    times, equity = combine_equity({s.id: (s.times_ms, s.equity_quote) for s in subs if len(s.times_ms)})
    pooled = [dict(r, subaccount=sid, pnl=r["pnl_quote"]) for sid, sub_rows in rows.items() for r in sub_rows]
    pooled.sort(key=lambda r: (r["exit_time_ms"] or 0, r["subaccount"]))
    return {
        "currency": "quote",
        "summary": trade_summary(pooled),
        "exit_reasons": exit_reason_table(pooled),
        **best_and_worst(pooled),
        "periods": {p: period_table(times, equity, pooled, p, "pnl_quote") for p in PERIODS} if times else {},
        "exposure": _exposure([open_intervals(s.fills) for s in subs], times),
        "daily": daily_ratios(times, equity),
        "equity": series_block(times, equity) if times else None,
    }
