"""The trade analysis blocks: currencies labelled, inverse PnL valued in quote, the account pooled in quote."""

from __future__ import annotations

import pytest

from kektrade.analysis.study import account_analysis, subaccount_analysis, subaccount_trades
from kektrade.analysis.tradebook import ExitContext

from .test_report import H, inverse, linear


def test_inverse_subaccount_is_labelled_and_compared_in_both_currencies() -> None:
    sub = inverse()
    rows = subaccount_trades(sub, ExitContext())
    (trade,) = rows
    # short 1000 USD contracts: gross -0.0002 BTC, fees 2 x 0.00001 BTC, funding 0.000002 BTC paid
    assert trade["side"] == "short" and trade["pnl"] == pytest.approx(-0.0002 - 0.00002 - 0.000002)
    assert trade["pnl_quote"] == pytest.approx(trade["pnl"] * 100_000)  # valued at the exit price
    block = subaccount_analysis(sub, rows)
    assert block["currency"] == "BTC" and block["is_inverse"] is True
    assert block["returns"]["BTC"] == {"strategy": pytest.approx(0.0099 / 0.01 - 1), "buy_and_hold": 0.0}
    assert block["returns"]["quote"] == {"strategy": pytest.approx(0.0), "buy_and_hold": pytest.approx(0.01)}
    assert block["exposure"]["share"] == pytest.approx(0.5) and block["exposure"]["time_in_market_ms"] == H
    assert block["summary"]["closed"] == 1 and block["exit_reasons"][0]["reason"] == "strategy"


def test_account_pools_trades_in_quote() -> None:
    lin, inv = linear(), inverse()
    rows = {"lin": subaccount_trades(lin, ExitContext()), "inv": subaccount_trades(inv, ExitContext())}
    block = account_analysis([lin, inv], rows)
    assert block["currency"] == "quote"
    expected = rows["lin"][0]["pnl_quote"] + rows["inv"][0]["pnl_quote"]
    assert block["summary"]["pnl"] == pytest.approx(expected) and block["summary"]["closed"] == 2
    assert [r["subaccount"] for r in block["best"]] == ["lin", "inv"]
    (day,) = block["periods"]["day"]
    assert day["start_equity"] == 2000.0 and day["end_equity"] == 2010.0 and day["trades"] == 2
    assert block["equity"]["equity"] == [2000.0, 2035.0, 2010.0]
    assert block["equity"]["drawdown"] == pytest.approx([0.0, 0.0, 1 - 2010.0 / 2035.0])
