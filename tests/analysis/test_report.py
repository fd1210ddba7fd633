"""The results document and its console table."""

from __future__ import annotations

import json
import math

import pytest

from kektrade.analysis.report import (
    SCHEMA,
    SubaccountResult,
    fill_entries,
    format_results_table,
    iso_ms,
    json_safe,
    results_document,
)
from kektrade.domain.types import Fill, FillKind, MarginMode, PositionView, WalletView

H = 3_600_000


def position(symbol: str, currency: str) -> PositionView:
    """A flat position."""
    return PositionView(
        symbol, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, MarginMode.CROSS, 0.0, currency
    )


def linear() -> SubaccountResult:
    """Linear BTC: one winning trade (+11 gross, 1 fee) -> +10."""
    fills = [
        Fill(0, "BTC/USDT:USDT", FillKind.TRADE, 1, 100, 0.5, 0, "o1", False, 0.005, 1),
        Fill(H, "BTC/USDT:USDT", FillKind.TRADE, -1, 111, 0.5, 11, "o2", True, 0.0045, 0),
    ]
    return SubaccountResult(
        id="lin",
        venue="backtest_perpetual",
        pair="BTC/USDT:USDT",
        strategy="Sma",
        settle_currency="USDT",
        initial_balance=1000.0,
        times_ms=[0, H, 2 * H],
        equity=[1000.0, 1005.0, 1010.0],
        equity_quote=[1000.0, 1005.0, 1010.0],
        fills=fills,
        position=position("BTC/USDT:USDT", "USDT"),
        wallet=WalletView("USDT", 1010.0, 1010.0, 1010.0, 0.0, 0.0, 1.0, 0.0, 11.0),
        first_price=100.0,
        last_price=111.0,
        is_inverse=False,
        parameters={"fast": 5},
        status="finished",
    )


def inverse() -> SubaccountResult:
    """Inverse BTC: one losing short (-0.0002 BTC gross, 0.00002 BTC fees) plus 0.000002 BTC funding."""
    sym = "BTC/USD:BTC"
    fills = [
        Fill(H // 2, sym, FillKind.TRADE, -1000, 102_000, 0.00001, 0, "o3", False, 0.00055, -1000),
        Fill(H, sym, FillKind.FUNDING, -1000, 101_000, 0.000002, 0, "", False, 0.0001, -1000),
        Fill(3 * H // 2, sym, FillKind.TRADE, 1000, 100_000, 0.00001, -0.0002, "o4", False, 0.00055, 0),
    ]
    return SubaccountResult(
        id="inv",
        venue="backtest_perpetual",
        pair=sym,
        strategy="Rsi",
        settle_currency="BTC",
        initial_balance=0.01,
        times_ms=[0, H, 2 * H],
        equity=[0.01, 0.0101, 0.0099],
        equity_quote=[1000.0, 1030.0, 1000.0],
        fills=fills,
        position=position(sym, "BTC"),
        wallet=WalletView("BTC", 0.0099, 0.0099, 0.0099, 0.0, 0.0, 0.00002, 0.000002, -0.0002),
        first_price=100_000.0,
        last_price=101_000.0,
        is_inverse=True,
        parameters=None,
        status="finished",
    )


def test_document_is_strict_json_with_the_documented_shape() -> None:
    doc = results_document("20240101-m1", "m1", [linear(), inverse()], 2000.0, extra={"elapsed_s": 1.5})
    text = json.dumps(doc, allow_nan=False)  # no NaN/inf left
    assert json.loads(text) == doc
    assert doc["schema"] == SCHEMA
    assert doc["run"] == {
        "run_id": "20240101-m1",
        "metastrategy_id": "m1",
        "start": "1970-01-01T00:00:00.000+00:00",
        "end": "1970-01-01T02:00:00.000+00:00",
    }
    assert [s["id"] for s in doc["subaccounts"]] == ["lin", "inv"]
    assert doc["extra"] == {"elapsed_s": 1.5}
    lin = doc["subaccounts"][0]
    assert lin["parameters"] == {"fast": 5} and lin["final_quote_equity"] == 1010.0
    assert lin["final_position"]["margin_mode"] == "cross" and lin["final_wallet"]["wallet_balance"] == 1010.0
    assert lin["metrics"]["profit_factor"] == "inf"  # winners and no losers
    assert lin["metrics"]["total_return"] == pytest.approx(0.01)
    assert lin["fills"][1] == {
        "time": "1970-01-01T01:00:00.000+00:00",
        "subaccount": "lin",
        "side": "sell",
        "qty": 1,
        "price": 111,
        "fee": 0.5,
        "realized_pnl": 11,
        "kind": "trade",
        "order_id": "o2",
        "position_after": 0,
    }
    inv = doc["subaccounts"][1]
    assert inv["metrics"]["final_equity"] == 0.0099 and inv["metrics"]["win_rate"] == 0.0
    assert inv["fills"][1]["kind"] == "funding"
    # quote returns: lin +0.5 %, +0.4975 %; inv +3 %, -2.91 %: both fall from period 1 to 2 -> +1
    assert doc["correlations"] == [{"a": "lin", "b": "inv", "correlation": pytest.approx(1.0)}]


def test_fill_entries_times_are_iso_texts_and_non_finite_numbers_json_safe() -> None:
    from datetime import UTC, datetime

    times = [0, 1, -5, 1_704_067_200_123, 4_102_444_800_999, 1_717_171_717_171]
    fills = [Fill(t, "X", FillKind.TRADE, 1.0 - n, 100.0 + n, 0.1, 0.0, f"o{n}") for n, t in enumerate(times)]
    got = fill_entries("s", fills)
    expected = [datetime(1970, 1, 1, tzinfo=UTC).timestamp() * 1000 + t for t in times]
    assert [datetime.fromisoformat(e["time"]).timestamp() * 1000 for e in got] == pytest.approx(expected, abs=0.01)
    assert [e["time"][-6:] for e in got] == ["+00:00"] * len(times) and got[1]["time"][19:23] == ".001"
    assert [(e["side"], e["qty"], e["order_id"]) for e in got[:3]] == [("buy", 1.0, "o0"), ("sell", 0.0, "o1"),
                                                                        ("sell", 1.0, "o2")]  # fmt: skip
    odd = fill_entries("s", [Fill(7, "X", FillKind.FUNDING, 1.0, math.nan, math.inf, -math.inf, "o")])[0]
    assert (odd["price"], odd["fee"], odd["realized_pnl"], odd["kind"]) == (None, "inf", "-inf", "funding")
    json.dumps([*got, odd], allow_nan=False)  # strict JSON
    assert fill_entries("s", []) == []


def test_account_metrics_pool_subaccounts_in_quote() -> None:
    doc = results_document("r", "m", [linear(), inverse()], 2000.0)
    acc = doc["account"]
    assert acc["initial"] == 2000.0 and acc["final"] == 2010.0
    m = acc["metrics"]
    assert m["total_return"] == pytest.approx(0.005)  # 2000 -> 2010
    assert m["max_drawdown"] == pytest.approx(1 - 2010 / 2035)  # combined 2000, 2035, 2010
    # lin +10 USDT; inv (-0.0002 - 0.00002 fees - 0.000002 funding) BTC at the 100000 exit = -22.2 USD
    assert m["trades"] == 2 and m["win_rate"] == 0.5
    assert m["profit_factor"] == pytest.approx(10 / 22.2)
    assert m["expectancy"] == pytest.approx((10 - 22.2) / 2)
    assert m["fees_paid"] == pytest.approx(1.0 + 1.02 + 1.0)  # inverse fees at their fill prices
    assert m["funding_paid"] == pytest.approx(0.202)
    assert m["exposure"] == pytest.approx(0.75)  # some position open from 0 h to 1.5 h of 2 h
    assert m["buy_and_hold_return"] == pytest.approx((0.11 + 0.01) / 2)  # equal initial quote weights


def test_table_has_a_row_per_subaccount_and_an_account_row() -> None:
    doc = results_document("r", "m", [linear(), inverse()], 2000.0)
    table = format_results_table(doc)
    lines = table.splitlines()
    header = lines[0].split()
    assert header[:4] == ["subaccount", "return", "%", "CAGR"]
    for column in (
        "maxDD",
        "Sharpe",
        "Sortino",
        "Calmar",
        "win",
        "PF",
        "trades",
        "fees",
        "funding",
        "liqs",
        "B&H",
    ):
        assert column in header
    assert len({len(line) for line in lines}) == 1  # fixed width
    rows = {line.split()[0]: line.split()[1:] for line in lines if line[0] not in "s-"}
    assert list(rows) == ["lin", "inv", "ACCOUNT"]
    assert rows["lin"][0] == "1.00"  # return %
    assert rows["lin"][7] == "inf"  # PF
    assert rows["inv"][7] == "0.00" and rows["ACCOUNT"][8] == "2"
    assert rows["ACCOUNT"][0] == "0.50" and rows["ACCOUNT"][-1] == "6.00"


def test_table_shows_undefined_as_dash_and_keeps_width_for_huge_numbers() -> None:
    doc = results_document("r", "m", [linear()], 1000.0)
    doc["subaccounts"][0]["metrics"]["sharpe"] = None
    doc["subaccounts"][0]["metrics"]["cagr"] = 8.4e20
    lines = format_results_table(doc).splitlines()
    assert len({len(line) for line in lines}) == 1
    cells = lines[2].split()
    assert cells[2] == "8.4e+22" and cells[4] == "-"


def test_json_safe_conversions() -> None:
    value = {"a": math.nan, "b": (math.inf, -math.inf), 3: [1, "x", None, True], "e": FillKind.TRADE}
    assert json_safe(value) == {"a": None, "b": ["inf", "-inf"], "3": [1, "x", None, True], "e": "trade"}
    assert type(json_safe(FillKind.TRADE)) is str
    with pytest.raises(TypeError, match="cannot convert object"):
        json_safe(object())


def test_iso_ms_keeps_milliseconds() -> None:
    assert iso_ms(1_704_067_200_123) == "2024-01-01T00:00:00.123+00:00"


def test_json_safe_fast_paths_agree_with_the_general_rules() -> None:
    import numpy as np

    from kektrade.domain.types import OrderType

    value = {
        OrderType.LIMIT: [np.float64("nan"), np.float64(1.5), np.int64(7), 2.5, -0.0, False, 0],
        "t": ((1, 2), [math.nan, -math.inf]),
        "s": "plain",
    }
    got = json_safe(value)
    assert got == {"limit": [None, 1.5, 7, 2.5, -0.0, False, 0], "t": [[1, 2], [None, "-inf"]], "s": "plain"}
    assert [type(k) for k in got] == [str, str, str] and type(got["limit"][2]) is int
    assert type(got["limit"][5]) is bool and type(got["limit"][1]) is float
