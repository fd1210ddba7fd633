"""Round-trip rows: exit reasons from a real simulated venue, parameters in force, tables checked by hand."""

from __future__ import annotations

import math

import pytest

from kektrade.analysis.tradebook import (
    ExitContext,
    best_and_worst,
    exit_reason,
    exit_reason_table,
    trade_rows,
    trade_summary,
)
from kektrade.analysis.trades import Trade, round_trips
from kektrade.domain.journal import MemoryJournal, SelectionRecorded
from kektrade.engine.tagging import TradeTags
from kektrade.exchange.sim.exchange import SimExchange
from tests.exchange.sim.simkit import make_sim

FLAT = (100.0, 100.5, 99.5, 100.0)
ROWS = [
    FLAT,  # 0: buy 1 at the next open, stop below at 95
    FLAT,  # 1: long
    (100.0, 100.0, 94.0, 96.0),  # 2: stop triggers -> trade 1 ends by "stop"
    (96.0, 96.5, 95.5, 96.0),  # 3: sell 1 (short), take-profit at 90
    (96.0, 96.5, 95.5, 96.0),  # 4: short
    (96.0, 96.0, 89.0, 90.0),  # 5: take-profit triggers -> trade 2 ends by "take_profit"
    (90.0, 90.5, 89.5, 90.0),  # 6: buy 1
    (90.0, 90.5, 89.5, 90.0),  # 7: flatten (tagged) -> trade 3 ends by "flatten"
    (90.0, 90.5, 89.5, 90.0),  # 8: buy 1, closed by a plain market order at 9 -> "strategy"
    (91.0, 91.5, 90.5, 91.0),  # 9
    (91.0, 91.5, 90.5, 91.0),  # 10: buy 1 again, still open at the end -> "open"
    (92.0, 92.5, 91.5, 92.0),  # 11
]


def _run() -> tuple[SimExchange, TradeTags, dict[str, str]]:
    tags = TradeTags(MemoryJournal())
    sim = make_sim(ROWS, journal=tags, subaccount_id="a")
    flattened: dict[str, str] = {}
    for i in range(len(ROWS)):
        sim.step(i)
        if i == 0:
            sim.open_order("market", 1.0)
            sim.open_order("stop_market", -1.0, trigger_price=95.0, reduce_only=True)
        elif i == 3:
            sim.open_order("market", -1.0)
            sim.open_order("take_profit_market", 1.0, trigger_price=91.0, reduce_only=True)
        elif i in (6, 8, 10):
            sim.open_order("market", 1.0)
        elif i == 7:
            order = sim.close_position()
            assert order is not None
            flattened[order.id] = "flatten"
        elif i == 9:
            sim.open_order("market", -1.0, reduce_only=True)
    return sim, tags, flattened


def test_exit_reasons_from_a_real_venue() -> None:
    sim, tags, flattened = _run()
    context = ExitContext(conditional=tags.conditional["a"], tagged=flattened, parameters={"n": 3})
    rows = trade_rows(round_trips(sim.fills, include_open=True), context, is_inverse=False, last_price=92.0)
    assert [(r["side"], r["exit_reason"]) for r in rows] == [
        ("long", "stop"),
        ("short", "take_profit"),
        ("long", "flatten"),
        ("long", "strategy"),
        ("long", "open"),
    ]
    assert all(r["parameters"] == {"n": 3} for r in rows)
    trades = [f for f in sim.fills if f.kind == "trade"]
    # independent PnL: the fills of the four closed trades are the first eight trade fills
    closed_pnl = sum(f.realized_pnl - f.fee for f in trades[:8])
    assert sum(r["pnl"] for r in rows[:4]) == pytest.approx(closed_pnl, abs=1e-9)
    assert rows[0]["exit_price"] == pytest.approx(trades[1].price) and rows[0]["qty"] == 1.0
    assert rows[0]["duration_ms"] == trades[1].time_ms - trades[0].time_ms
    assert rows[-1]["exit_time_ms"] is None and rows[-1]["exit_price"] == 92.0 and rows[-1]["duration_ms"] is None
    for r in rows:
        assert r["pnl_quote"] == r["pnl"]  # linear: the settle currency is the quote
        assert r["pnl_pct"] == pytest.approx(r["pnl"] / (r["qty"] * r["entry_price"]))


def _trade(**changes: object) -> Trade:
    base: dict[str, object] = dict(
        symbol="BTCUSD",
        direction=1,
        entry_time_ms=1_000,
        exit_time_ms=2_000,
        entry_price=100.0,
        exit_price=110.0,
        max_contracts=1000.0,
        gross_pnl=0.5,
        fees=0.01,
        funding=0.0,
        pnl=0.49,
        liquidated=False,
        fills=2,
        entry_qty=1000.0,
        exit_order_id="x",
    )
    base.update(changes)
    return Trade(**base)  # type: ignore[arg-type]


def test_liquidation_wins_over_tags_and_inverse_pnl_is_valued_at_the_exit() -> None:
    context = ExitContext(tagged={"x": "flatten"})
    assert exit_reason(_trade(liquidated=True), context) == "liquidation"
    assert exit_reason(_trade(), context) == "flatten"
    assert exit_reason(_trade(), ExitContext(conditional={"x": "stop_limit"})) == "stop"
    assert exit_reason(_trade(), ExitContext(conditional={"x": "take_profit_limit"})) == "take_profit"
    (row,) = trade_rows([_trade()], ExitContext(), is_inverse=True)
    assert row["pnl"] == 0.49 and row["pnl_quote"] == pytest.approx(0.49 * 110.0)
    assert row["pnl_pct"] == pytest.approx(0.49 / (1000.0 / 100.0))  # coin PnL / coin notional (USD contracts)


def test_parameters_in_force_follow_the_selections() -> None:
    context = ExitContext(selections=[(1_000, {"n": 1}), (5_000, None), (9_000, {"n": 2})], parameters=None)
    assert context.parameters_at(999) is None  # before the first pick
    assert context.parameters_at(1_000) == {"n": 1} and context.parameters_at(4_999) == {"n": 1}
    assert context.parameters_at(5_000) is None  # standing aside
    assert context.parameters_at(10_000) == {"n": 2}
    tags = TradeTags(None)
    tags.record(SelectionRecorded("a", 1_000, {"n": 1}, 0.5))
    assert tags.selections == {"a": [(1_000, {"n": 1})]}


def test_tables() -> None:
    rows = [
        {
            "n": 1,
            "side": "long",
            "pnl": 5.0,
            "pnl_quote": 5.0,
            "fees": 1.0,
            "funding": 0.0,
            "duration_ms": 60_000,
            "exit_reason": "stop",
            "exit_time_ms": 1,
        },
        {
            "n": 2,
            "side": "short",
            "pnl": -2.0,
            "pnl_quote": -2.0,
            "fees": 1.0,
            "funding": 0.5,
            "duration_ms": 180_000,
            "exit_reason": "stop",
            "exit_time_ms": 2,
        },
        {
            "n": 3,
            "side": "long",
            "pnl": 7.0,
            "pnl_quote": 7.0,
            "fees": 1.0,
            "funding": -0.5,
            "duration_ms": 120_000,
            "exit_reason": "strategy",
            "exit_time_ms": 3,
        },
        {
            "n": 4,
            "side": "long",
            "pnl": -1.0,
            "pnl_quote": -1.0,
            "fees": 1.0,
            "funding": 0.0,
            "duration_ms": None,
            "exit_reason": "open",
            "exit_time_ms": None,
        },
    ]
    table = exit_reason_table(rows)
    assert [(t["reason"], t["trades"], t["wins"], t["pnl"]) for t in table] == [
        ("strategy", 1, 1, 7.0),
        ("stop", 2, 1, 3.0),
        ("open", 1, 0, -1.0),
    ]
    assert table[1]["avg_duration_ms"] == 120_000 and table[2]["avg_duration_ms"] is None
    picks = best_and_worst(rows, count=2)
    assert [r["n"] for r in picks["best"]] == [3, 1] and [r["n"] for r in picks["worst"]] == [2, 1]
    summary = trade_summary(rows)
    assert summary["closed"] == 3 and summary["open"] == 1 and summary["wins"] == 2 and summary["losses"] == 1
    assert summary["pnl"] == 10.0 and summary["fees"] == 3.0 and summary["funding"] == 0.0
    assert summary["avg_duration_ms"] == 120_000 and summary["max_duration_ms"] == 180_000
    assert trade_summary([])["avg_duration_ms"] is None and math.isclose(summary["pnl_quote"], 10.0)
