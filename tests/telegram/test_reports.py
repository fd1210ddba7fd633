"""The bot's HTML reports and chart against hand-computed figures."""

from __future__ import annotations

import dataclasses
import struct
import zlib
from datetime import UTC, datetime

from kektrade.control.history import TradeRow
from kektrade.engine.snapshot import EngineSnapshot, Progress
from kektrade.telegram.chart import equity_png, nice_step
from kektrade.telegram.formatting import split_html
from kektrade.telegram.reports import (
    balance_html,
    live_html,
    performance_html,
    period_pnl,
    periodic_html,
    pre,
    profit_html,
    trades_html,
)

from .test_formatting import row

DAY = 86_400_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a Monday


def trade(pnl: float, exit_day: int, direction: str = "long") -> TradeRow:
    """A closed trade ending on day ``exit_day``."""
    return TradeRow(direction, T0 + (exit_day - 1) * DAY, T0 + exit_day * DAY, 100.0, 101.0, 1.0, pnl, 0.1, 0.0, False)


def snap_with_equity() -> EngineSnapshot:
    """Account = a (quote) + b: a goes 1000 → 1100 → 990 → 1045.5 over days 0..3 (sampled at noon), b flat 500."""
    times = tuple(T0 + d * DAY + DAY // 2 for d in range(4))
    a, b = (1000.0, 1100.0, 990.0, 1045.5), (500.0, 500.0, 500.0, 500.0)
    return EngineSnapshot(
        "r", "backtest", False, "running", times[-1], Progress(1, 2, 1.0, 1.0, 1.0),
        subaccounts=(row("a", equity=1045.5, equity_quote=1045.5), row("b", equity=500.0, equity_quote=500.0)),
        equity_times_ms=times, equity_total=tuple(x + y for x, y in zip(a, b, strict=True)),
        equity_by_subaccount={"a": a, "b": b},
    )  # fmt: skip


def test_pre_aligns_columns_and_escapes() -> None:
    assert pre([["a", "1"], ["<b>", "22"]], frozenset({1})) == "<pre>a     1\n&lt;b&gt;  22</pre>"


def test_balance_lists_subaccounts_and_account() -> None:
    text = balance_html(snap_with_equity())
    lines = text.split("<pre>")[1].splitlines()
    assert lines[1].split() == ["a", "1,045.50", "USDT", "1,045.50", "0.00"]
    assert "ACCOUNT" in text and "1,545.50" in text


def test_profit_return_and_drawdowns() -> None:
    trades = {"a": [trade(10.0, 1), trade(-4.0, 2), trade(6.0, 3)], "b": []}
    text = profit_html(snap_with_equity(), trades)
    a_line = next(line for line in text.splitlines() if line.startswith("a "))
    # a: PnL 45.5, return 4.55 %, drawdown now 1045.5/1100-1 = -4.95 %, worst 990/1100-1 = -10 %, 2 of 3 won
    assert a_line.split() == ["a", "45.50", "+4.55%", "-4.95%", "-10.00%", "3", "67%"]
    acct = next(line for line in text.splitlines() if line.startswith("ACCOUNT"))
    # account 1500 → 1600 → 1490 → 1545.5: +3.03 %, now 1545.5/1600-1 = -3.41 %, worst 1490/1600-1 = -6.88 %
    assert acct.split()[:5] == ["ACCOUNT", "45.50", "+3.03%", "-3.41%", f"{100 * (1490 / 1600 - 1):+.2f}%"]


def test_daily_and_weekly_pnl() -> None:
    snap = snap_with_equity()
    days = period_pnl(snap.equity_times_ms, snap.equity_total, "daily")
    assert [(d.day, round(p, 2)) for d, p, _ in days] == [(1, 0.0), (2, 100.0), (3, -110.0), (4, 55.5)]
    assert round(days[2][2], 4) == round(100 * (1490 / 1600 - 1), 4)
    text = periodic_html(snap, "daily", 2)
    lines = text.split("<pre>")[1].splitlines()
    assert lines[1].split() == ["2024-01-04", "55.50", "+3.72%"] and lines[2].split()[0] == "2024-01-03"
    assert len(lines) == 3  # header + the 2 asked for
    weekly = period_pnl(snap.equity_times_ms, snap.equity_total, "weekly")
    assert weekly == [(datetime(2024, 1, 1, tzinfo=UTC), 45.5, 100 * (1545.5 / 1500 - 1))]
    assert "no equity yet" in periodic_html(
        dataclasses.replace(snap, equity_times_ms=(), equity_total=()), "monthly", 3
    )


def test_performance_and_trades() -> None:
    snap = snap_with_equity()
    text = performance_html(snap, {"a": [trade(10.0, 1), trade(-4.0, 2)], "b": [trade(-1.0, 1)]})
    body = text.split("<pre>")[1].splitlines()
    assert body[1].split()[:3] == ["a", "BTC/USDT:USDT", "6.00"] and body[2].split()[0] == "b"
    listing = trades_html("a", [trade(6.0, 3), trade(-4.0, 2), trade(10.0, 1)], 2)
    assert "latest 2 of 3 closed trades" in listing and listing.count("\n2024-01-0") == 2


def test_live_shows_parameters_and_leaderboard() -> None:
    snap = dataclasses.replace(snap_with_equity(), leaderboards={"a": [({"sma": 50}, 1.5), ({"sma": 20}, 0.7)]})
    text = live_html(snap, None)
    assert "<b>a</b>" in text and "1  1.5000  sma=50" in text and "2  0.7000  sma=20" in text
    assert "<b>b</b>" not in text  # not optimized
    assert "no leaderboard" in live_html(snap, "b")


def test_split_html_keeps_pre_blocks_closed() -> None:
    text = "<b>x</b>\n<pre>" + "\n".join(f"line {i:05d}" for i in range(1000)) + "</pre>"
    pieces = split_html(text, 2000)
    assert len(pieces) > 1 and all(len(p) <= 2000 for p in pieces)
    assert all(p.count("<pre>") == p.count("</pre>") for p in pieces)
    assert "".join(p.replace("<pre>", "").replace("</pre>", "") for p in pieces).replace("\n", "") == text.replace(
        "<pre>", ""
    ).replace("</pre>", "").replace("\n", "")


def test_equity_png_is_a_valid_image() -> None:
    png = equity_png([T0, T0 + DAY, T0 + 2 * DAY], [("a", [0.0, 5.0, -2.5], (0, 0, 255))], 200, 100)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (200, 100)
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    assert len(raw) == 100 * (1 + 3 * 200)
    assert b"\x00\x00\xff" in raw  # the series is drawn in its colour
    assert nice_step(7.5) == 2.0 and nice_step(0.03) == 0.01
