"""Message texts of the Telegram bot, built from engine snapshots (pure functions), and message splitting."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from kektrade.engine.snapshot import EngineSnapshot, FillRow, OrderRow, SubaccountRow

MAX_MESSAGE_CHARS = 4000  # Telegram's limit is 4096; leave room for a continuation marker
FILLS_SHOWN = 10


def escape(text: str) -> str:
    """Text made safe for Telegram's HTML (``&``, ``<``, ``>``; quotes stay readable)."""
    return html.escape(text, quote=False)


def fmt_time(time_ms: int) -> str:
    """Milliseconds UTC as ``YYYY-MM-DD HH:MM UTC`` ("-" before the first candle)."""
    if time_ms <= 0:
        return "-"
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_num(value: float, digits: int = 2) -> str:
    """A number with ``digits`` decimals and thousands separators."""
    return f"{value:,.{digits}f}"


def fmt_qty(value: float) -> str:
    """A quantity without trailing zeros."""
    return f"{value:.8f}".rstrip("0").rstrip(".") or "0"


def fmt_params(parameters: dict[str, Any]) -> str:
    """``name=value`` pairs in key order."""
    return " ".join(f"{k}={parameters[k]}" for k in sorted(parameters)) or "-"


def account_equity(snap: EngineSnapshot) -> float:
    """The account's equity in quote currency: the latest total, else the sum of the subaccounts."""
    if snap.equity_total:
        return snap.equity_total[-1]
    return sum(row.equity_quote for row in snap.subaccounts)


def subaccount_line(row: SubaccountRow) -> str:
    """One subaccount: id, status, pair, position and equity."""
    if row.contracts:
        position = f"pos {fmt_qty(row.contracts)} @ {fmt_num(row.entry_price)} uPnL {fmt_num(row.unrealized_pnl)}"
    else:
        position = "flat"
    line = f"{row.id} [{row.status}] {row.pair} {position} eq {fmt_num(row.equity, 4)} {row.settle_currency}"
    return line + (f" ERROR {row.error}" if row.error else "")


def status_text(snap: EngineSnapshot, run_id: str = "") -> str:
    """The /status answer: mode, state, progress, account equity, one line per subaccount.

    ``run_id`` names the run when the snapshot predates it (taken before the run folder existed).
    """
    mode = snap.mode.upper() + (" (testnet)" if snap.testnet else "")
    progress = snap.progress
    head = [
        f"{mode} run {snap.run_id or run_id or '-'}: {snap.state}",
        f"progress {progress.fraction * 100:.1f}% ({progress.done}/{progress.total} candles)"
        f" at {fmt_time(snap.now_ms)}",
        f"account equity {fmt_num(account_equity(snap))}",
    ]
    rows = [subaccount_line(row) for row in snap.subaccounts] or ["no subaccounts"]
    message = [snap.message] if snap.message else []
    return "\n".join(head + message + rows)


def order_line(order: OrderRow) -> str:
    """One open order."""
    price = fmt_num(order.price) if order.price is not None else "market"
    trigger = f" trigger {fmt_num(order.trigger_price)}" if order.trigger_price is not None else ""
    flags = "".join([" reduce-only" if order.reduce_only else "", " post-only" if order.post_only else ""])
    return (
        f"{order.subaccount} {order.side} {order.type} {fmt_qty(order.contracts)} @ {price}{trigger}"
        f" filled {fmt_qty(order.filled)}{flags} ({order.status}, {order.order_id})"
    )


def orders_text(snap: EngineSnapshot, subaccount: str | None = None) -> str:
    """The /orders answer: open orders of one subaccount (or all)."""
    orders = [o for o in snap.orders if subaccount in (None, o.subaccount)]
    where = subaccount or "any subaccount"
    if not orders:
        return f"no open orders on {where}"
    return f"{len(orders)} open order(s) on {where}:\n" + "\n".join(order_line(o) for o in orders)


def fill_line(subaccount: str, fill: FillRow) -> str:
    """One fill: time, kind, side, quantity, price, fee and realized PnL."""
    kind = "" if fill.kind == "trade" else f"{fill.kind.upper()} "
    return (
        f"{fmt_time(fill.time_ms)} {subaccount} {kind}{fill.side} {fmt_qty(fill.qty)} @ {fmt_num(fill.price)}"
        f" fee {fmt_num(fill.fee, 6)} pnl {fmt_num(fill.realized_pnl, 6)} pos {fmt_qty(fill.position_after)}"
    )


def fills_text(snap: EngineSnapshot, subaccount: str | None = None, count: int = FILLS_SHOWN) -> str:
    """The /fills answer: the latest ``count`` fills of one subaccount (or of all, newest last)."""
    lines: list[tuple[int, str]] = []
    for sub_id, fills in snap.recent_fills.items():
        if subaccount in (None, sub_id):
            lines.extend((f.time_ms, fill_line(sub_id, f)) for f in fills[-count:])
    lines.sort(key=lambda item: item[0])
    where = subaccount or "any subaccount"
    if not lines:
        return f"no fills on {where} yet"
    shown = [text for _, text in lines[-count:]]
    return f"latest {len(shown)} fill(s) on {where}:\n" + "\n".join(shown)


def split_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line ends where possible."""
    pieces: list[str] = []
    current = ""
    for raw in text.split("\n"):
        line = raw
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def split_html(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """``split_message`` for HTML replies: a ``<pre>`` block cut in two is closed and reopened."""
    pieces: list[str] = []
    inside = False
    for piece in split_message(text, limit - 12):
        body = ("<pre>" if inside else "") + piece
        inside = body.count("<pre>") > body.count("</pre>")
        pieces.append(body + ("</pre>" if inside else ""))
    return pieces
