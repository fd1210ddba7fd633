"""HTML reports of the bot: balance, profit, periodic PnL, performance, trades and the live optimizer.

Pure functions of snapshots and closed trades; tables go in ``<pre>`` so they keep their columns on a
phone, and every value from outside is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from kektrade.control.history import TradeRow, pnl_summary
from kektrade.engine.snapshot import EngineSnapshot
from kektrade.telegram.formatting import account_equity, escape, fmt_num, fmt_params, fmt_time

PERIODS = {"daily": 7, "weekly": 4, "monthly": 6}  # periods shown by default


def pre(rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> str:
    """A text table in ``<pre>``: columns padded to their widest cell (``right`` ones right-aligned)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []
    lines = [
        "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    return "<pre>" + escape("\n".join(line.rstrip() for line in lines)) + "</pre>"


def fmt_pct(value: float) -> str:
    """``+1.23%``."""
    return f"{value:+.2f}%"


def balance_html(snap: EngineSnapshot) -> str:
    """/balance: each subaccount's equity (settle and quote currency), UPNL, and the account total."""
    rows = [["sub", "equity", "cur", "quote", "UPNL"]]
    for r in snap.subaccounts:
        digits = 4 if r.settle_currency in ("BTC", "ETH") else 2
        rows.append([r.id, fmt_num(r.equity, digits), r.settle_currency, fmt_num(r.equity_quote),
                     fmt_num(r.unrealized_pnl, digits)])  # fmt: skip
    rows.append(["ACCOUNT", "", "", fmt_num(account_equity(snap)), ""])
    return f"<b>Balance</b> at {escape(fmt_time(snap.now_ms))}\n" + pre(rows, frozenset({1, 3, 4}))


def profit_html(snap: EngineSnapshot, trades: Mapping[str, Sequence[TradeRow]]) -> str:
    """/profit: PnL, return and drawdown of the account and each subaccount, closed trades and win rate."""
    rows = [["sub", "PnL", "return", "DD now", "max DD", "trades", "won"]]
    for r in snap.subaccounts:
        s = pnl_summary(snap.equity_by_subaccount.get(r.id, ()), trades.get(r.id, ()))
        rows.append([r.id, fmt_num(s.pnl), fmt_pct(s.return_pct), fmt_pct(s.drawdown_pct),
                     fmt_pct(s.max_drawdown_pct), str(s.trades), f"{s.win_rate_pct:.0f}%"])  # fmt: skip
    total = pnl_summary(snap.equity_total, [t for ts in trades.values() for t in ts])
    rows.append(["ACCOUNT", fmt_num(total.pnl), fmt_pct(total.return_pct), fmt_pct(total.drawdown_pct),
                 fmt_pct(total.max_drawdown_pct), str(total.trades), f"{total.win_rate_pct:.0f}%"])  # fmt: skip
    head = "<b>Profit</b> (quote currency, from the first equity sample)"
    return head + "\n" + pre(rows, frozenset({1, 2, 3, 4, 5, 6}))


def period_start(time_ms: int, period: str) -> datetime:
    """The UTC start of the day, ISO week (Monday) or month holding ``time_ms``."""
    t = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return day
    if period == "weekly":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_pnl(times_ms: Sequence[int], equity: Sequence[float], period: str) -> list[tuple[datetime, float, float]]:
    """(period start, PnL, return %) per day/week/month: last equity of the period minus the previous one's.

    The first period is measured from the first sample.
    """
    closes: dict[datetime, float] = {}
    for t, v in zip(times_ms, equity, strict=True):
        closes[period_start(t, period)] = v
    out: list[tuple[datetime, float, float]] = []
    previous = equity[0] if equity else 0.0
    for start, close in closes.items():
        out.append((start, close - previous, 100.0 * (close / previous - 1.0) if previous else 0.0))
        previous = close
    return out


def periodic_html(snap: EngineSnapshot, period: str, count: int) -> str:
    """/daily, /weekly, /monthly: the account's PnL of the last ``count`` periods, newest first."""
    found = period_pnl(snap.equity_times_ms, snap.equity_total, period)[-count:]
    if not found:
        return f"no equity yet for /{period}"
    fmt = "%Y-%m" if period == "monthly" else "%Y-%m-%d"
    rows = [["from", "PnL", "return"]]
    rows += [[start.strftime(fmt), fmt_num(pnl), fmt_pct(ret)] for start, pnl, ret in reversed(found)]
    title = {"daily": "Daily", "weekly": "Weekly (from Monday)", "monthly": "Monthly"}[period]
    return f"<b>{title} profit</b> of the account (quote, market time)\n" + pre(rows, frozenset({1, 2}))


def performance_html(snap: EngineSnapshot, trades: Mapping[str, Sequence[TradeRow]]) -> str:
    """/performance: closed-trade PnL per subaccount and pair, best first."""
    pairs = {r.id: (r.pair, r.settle_currency) for r in snap.subaccounts}
    stats = []
    for sid, ts in trades.items():
        pnl = sum(t.pnl for t in ts)
        stats.append((pnl, sid, len(ts), sum(t.pnl > 0 for t in ts)))
    if not stats:
        return "no closed trades yet"
    rows = [["sub", "pair", "PnL", "cur", "trades", "won"]]
    for pnl, sid, n, wins in sorted(stats, reverse=True):
        pair, cur = pairs.get(sid, ("-", ""))
        rows.append([sid, pair, fmt_num(pnl, 4 if cur in ("BTC", "ETH") else 2), cur, str(n),
                     f"{100 * wins / n:.0f}%" if n else "-"])  # fmt: skip
    return "<b>Performance</b> (closed trades, after fees and funding)\n" + pre(rows, frozenset({2, 4, 5}))


def trades_html(sub_id: str, trades: Sequence[TradeRow], count: int) -> str:
    """/trades: the latest ``count`` closed trades of one subaccount, newest first."""
    if not trades:
        return f"no closed trades on {escape(sub_id)} yet"
    rows = [["exit", "side", "entry", "exit px", "PnL"]]
    for t in trades[:count]:
        side = t.direction + (" LIQ" if t.liquidated else "")
        rows.append([fmt_time(t.exit_ms).removesuffix(" UTC"), side, fmt_num(t.entry_price),
                     fmt_num(t.exit_price), fmt_num(t.pnl, 4)])  # fmt: skip
    head = f"<b>{escape(sub_id)}</b>: latest {min(count, len(trades))} of {len(trades)} closed trades"
    return head + "\n" + pre(rows, frozenset({2, 3, 4}))


def live_html(snap: EngineSnapshot, sub_id: str | None, count: int = 5) -> str:
    """/live: each optimized subaccount's parameters in use and the top of its leaderboard."""
    parts: list[str] = []
    for r in snap.subaccounts:
        board = snap.leaderboards.get(r.id, [])
        if sub_id not in (None, r.id) or (sub_id is None and not board and not r.optimizer_note):
            continue
        parts.append(f"<b>{escape(r.id)}</b> [{escape(r.status)}] trades {escape(fmt_params(r.parameters))}")
        if r.optimizer_note:
            parts.append(escape(r.optimizer_note))
        if board:
            rows = [["#", "score", "parameters"]]
            rows += [[str(i), fmt_num(score, 4), fmt_params(p)] for i, (p, score) in enumerate(board[:count], 1)]
            parts.append(pre(rows, frozenset({0, 1})))
        else:
            parts.append("no leaderboard (fixed parameters, or no optimization yet)")
    return "\n".join(parts) or "no subaccount is live-optimized"
