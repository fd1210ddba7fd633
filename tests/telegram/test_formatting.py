"""Unit tests of the bot's message texts."""

from __future__ import annotations

import dataclasses

from kektrade.engine.snapshot import EngineSnapshot, FillRow, OrderRow, Progress, SubaccountRow
from kektrade.telegram.commands import COMMANDS, help_text
from kektrade.telegram.formatting import (
    fill_line,
    fills_text,
    fmt_time,
    orders_text,
    split_message,
    status_text,
)

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def row(sub_id: str = "sma_btc", **changes: object) -> SubaccountRow:
    """A flat running subaccount with 10,000 USDT."""
    base = SubaccountRow(
        sub_id, "backtest_perpetual", "BTC/USDT:USDT", "SmaRsiStrategy", {"rsi": 7, "sma": 50}, "running",
        0.0, 0.0, 0.0, 0.0, 0.0, 10_000.0, 10_000.0, "USDT",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def snapshot(*rows: SubaccountRow, **changes: object) -> EngineSnapshot:
    """A running backtest half done."""
    snap = EngineSnapshot("run1", "backtest", False, "running", T0 + 3_600_000, Progress(50, 100, 1e4, 1.0, 2.0))
    return dataclasses.replace(snap, subaccounts=rows, **changes)  # type: ignore[arg-type]


def fill(minutes: int, kind: str = "trade", side: str = "buy") -> FillRow:
    """A fill ``minutes`` after T0."""
    return FillRow(T0 + minutes * 60_000, kind, side, 0.5, 42_000.0, 12.6, -3.25, 0.5)


def test_time_format() -> None:
    assert fmt_time(T0) == "2024-01-01 00:00 UTC"
    assert fmt_time(0) == "-"


def test_status_has_mode_state_progress_equity_and_rows() -> None:
    long = row("mm_eth", contracts=1.5, entry_price=2_000.0, unrealized_pnl=12.5, error="boom")
    text = status_text(snapshot(row(), long, equity_total=(19_990.0, 20_012.5), testnet=True))
    lines = text.splitlines()
    assert lines[0] == "BACKTEST (testnet) run run1: running"
    assert lines[1] == "progress 50.0% (50/100 candles) at 2024-01-01 01:00 UTC"
    assert lines[2] == "account equity 20,012.50"
    assert lines[3] == "sma_btc [running] BTC/USDT:USDT flat eq 10,000.0000 USDT"
    assert lines[4] == ("mm_eth [running] BTC/USDT:USDT pos 1.5 @ 2,000.00 uPnL 12.50 eq 10,000.0000 USDT ERROR boom")


def test_status_names_the_run_when_the_snapshot_does_not() -> None:
    snap = dataclasses.replace(snapshot(row()), run_id="")
    assert status_text(snap, "later-id").startswith("BACKTEST run later-id: running")
    assert "account equity 10,000.00" in status_text(snap)  # no equity series: the sum of the rows


def test_orders_filter_by_subaccount() -> None:
    order = OrderRow("mm_eth", "o-1", "sell", "limit", 2_010.5, None, 0.2, 0.05, False, True, T0, "open")
    stop = OrderRow("sma_btc", "o-2", "sell", "stop", None, 41_000.0, 0.5, 0.0, True, False, T0, "open")
    snap = snapshot(row(), orders=(order, stop))
    assert orders_text(snap, "mm_eth") == (
        "1 open order(s) on mm_eth:\nmm_eth sell limit 0.2 @ 2,010.50 filled 0.05 post-only (open, o-1)"
    )
    assert "sma_btc sell stop 0.5 @ market trigger 41,000.00 filled 0 reduce-only" in orders_text(snap)
    assert orders_text(snapshot(row()), "sma_btc") == "no open orders on sma_btc"


def test_fills_latest_first_limited() -> None:
    fills = tuple(fill(m) for m in range(15))
    snap = snapshot(row(), recent_fills={"sma_btc": fills, "mm_eth": ()})
    text = fills_text(snap, "sma_btc", count=3)
    assert text.splitlines() == [
        "latest 3 fill(s) on sma_btc:",
        fill_line("sma_btc", fills[12]),
        fill_line("sma_btc", fills[13]),
        fill_line("sma_btc", fills[14]),
    ]
    assert fills_text(snap, "mm_eth") == "no fills on mm_eth yet"
    assert fill_line("x", fill(0, "liquidation", "sell")) == (
        "2024-01-01 00:00 UTC x LIQUIDATION sell 0.5 @ 42,000.00 fee 12.600000 pnl -3.250000 pos 0.5"
    )


def test_split_message_respects_the_limit_and_keeps_text() -> None:
    text = "\n".join(f"line {i} " + "x" * 30 for i in range(100))
    pieces = split_message(text, limit=200)
    assert all(len(p) <= 200 for p in pieces)
    assert "\n".join(pieces) == text
    assert split_message("y" * 450, limit=200) == ["y" * 200, "y" * 200, "y" * 50]
    assert split_message("") == [""]


def test_help_lists_every_command() -> None:
    text = help_text()
    assert all(f"/{name} - " in text for name, _ in COMMANDS)
