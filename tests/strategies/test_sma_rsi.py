"""SmaRsiStrategy on hand-made candles: entry on the cross above with RSI below the max, exit below."""

from __future__ import annotations

import pytest

from tests.strategies.kit import Run, make_run

# a slide, a rebound that crosses above SMA(5) at candle 9 (RSI(3) 60), then a fall that crosses below
CLOSES = [
    40_000,
    39_900,
    39_800,
    39_700,
    39_600,
    39_500,
    39_400,
    39_300,
    39_200,
    39_500,
    39_700,
    39_800,
    39_600,
    39_300,
    39_200,
]
ROWS = [(c, c + 50, c - 50, c) for c in CLOSES]
PARAM = {"sma": 5, "rsi": 3, "rsi_max": 70, "stake": 0.5}


def sma_run(rsi_max: float = 70) -> Run:
    run = make_run("SmaRsiStrategy", ROWS, {**PARAM, "rsi_max": rsi_max})
    run.until(len(ROWS))
    return run


def test_indicator_columns_per_search_space_value() -> None:
    run = make_run("SmaRsiStrategy", ROWS, PARAM)
    close, sma, rsi = run.frame["close"], run.frame["sma5"], run.frame["rsi3"]
    assert sma.iloc[9] == pytest.approx(39_380.0)
    assert rsi.iloc[9] == pytest.approx(60.0)
    assert close.iloc[8] <= sma.iloc[8] and close.iloc[9] > sma.iloc[9]  # the cross above at 9
    assert close.iloc[12] >= sma.iloc[12] and close.iloc[13] < sma.iloc[13]  # the cross below at 13


def test_enters_on_the_cross_above_and_exits_on_the_cross_below() -> None:
    run = sma_run()
    placed = {i: [e for e in log if e[0] == "placed"] for i, log in run.log.items() if log}
    # 50,000 / 39,500 = 1.2658 -> 1.265 BTC; the flatten is a reduce-only market order
    assert placed == {
        9: [("placed", "market", 1.265, None, None, False)],
        10: [],
        13: [("placed", "market", -1.265, None, None, True)],
        14: [],
    }
    assert [(f.price, f.contracts) for f in run.venue.fills] == [(39_700.0, 1.265), (39_200.0, -1.265)]
    assert run.venue.contracts == 0.0


def test_no_entry_when_rsi_is_above_the_maximum() -> None:
    run = sma_run(rsi_max=55)  # RSI(3) is 60 at the cross
    assert run.venue.fills == [] and run.venue.get_open_orders() == []


def test_search_space_is_the_seeds() -> None:
    space = make_run("SmaRsiStrategy", ROWS, PARAM).strategy.get_search_space()
    assert space["rsi"] == [4, 5, 6, 7, 8, 10] and space["sma"] == [50, 100, 150, 200, 250, 300, 350]
