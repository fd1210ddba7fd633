"""HTML tables of the page: subaccounts, open orders, recent fills (every text cell escaped)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from kektrade.engine.snapshot import FillRow, OrderRow, SubaccountRow

FILLS_SHOWN = 20


def num(value: float | None, digits: int = 2, blank_zero: bool = False, signed: bool = False) -> str:
    """A number with thousands separators; ``-`` for None, NaN, infinities (and zero when ``blank_zero``)."""
    if value is None or not math.isfinite(value) or (blank_zero and value == 0):
        return "-"
    return f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"


def price(value: float | None, blank_zero: bool = False) -> str:
    """A price with decimals by magnitude (2 from 100, 4 from 1, else 6); ``-`` like ``num``."""
    size = abs(value) if value is not None and math.isfinite(value) else 0.0
    return num(value, 2 if size >= 100 else 4 if size >= 1 else 6, blank_zero)


def utc(time_ms: int) -> str:
    """A UTC ``YYYY-MM-DD HH:MM`` of a millisecond time (``-`` for 0)."""
    if not time_ms:
        return "-"
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str, css: str = "") -> str:
    """An escaped HTML table; numeric-looking columns are right-aligned by the page's CSS class."""
    if not rows:
        return f'<p class="empty">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{escape(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def parameters_text(parameters: dict[str, Any]) -> str:
    """Parameters as ``key=value`` pairs in key order."""
    return " ".join(f"{k}={v}" for k, v in sorted(parameters.items()))


def subaccounts_table(rows: Sequence[SubaccountRow]) -> str:
    """The subaccounts: id, pair, strategy, parameters, status, position, prices, UPNL and equity."""
    headers = ("id", "pair", "strategy", "parameters", "status", "position", "entry", "mark", "liq", "UPNL", "equity")
    body = []
    for r in rows:
        status = r.status + (f" ({r.error})" if r.error else "")
        digits = 8 if r.settle_currency not in ("USDT", "USDC", "USD") else 2
        body.append(
            (
                r.id,
                r.pair,
                r.strategy,
                parameters_text(r.parameters),
                status,
                num(r.contracts, 4),
                price(r.entry_price, blank_zero=True),
                price(r.mark_price, blank_zero=True),
                price(r.liquidation_price, blank_zero=True),
                num(r.unrealized_pnl, digits, signed=True),
                f"{num(r.equity, digits)} {r.settle_currency}",
            )
        )
    return table(headers, body, "no subaccounts yet", "subaccounts")


def orders_table(rows: Sequence[OrderRow]) -> str:
    """Open orders of every subaccount."""
    headers = ("subaccount", "id", "side", "type", "price", "trigger", "qty", "filled", "flags", "created", "status")
    body = []
    for o in rows:
        flags = " ".join(f for f, on in (("reduce-only", o.reduce_only), ("post-only", o.post_only)) if on)
        body.append(
            (
                o.subaccount,
                o.order_id,
                o.side,
                o.type,
                price(o.price),
                price(o.trigger_price),
                num(o.contracts, 4),
                num(o.filled, 4),
                flags,
                utc(o.created_ms),
                o.status,
            )
        )
    return table(headers, body, "no open orders", "orders")


def fills_table(fills: Sequence[FillRow], limit: int = FILLS_SHOWN) -> str:
    """The latest ``limit`` fills, newest first."""
    headers = ("time", "kind", "side", "qty", "price", "fee", "realized PnL", "position after")
    body = [
        (
            utc(f.time_ms),
            f.kind,
            f.side,
            num(f.qty, 4),
            price(f.price),
            num(f.fee, 4),
            num(f.realized_pnl, 4, signed=True),
            num(f.position_after, 4),
        )
        for f in list(fills)[-limit:][::-1]
    ]
    return table(headers, body, "no fills yet", "fills")
