"""BreakoutStrategy on hand-made candles: stop entries at the channel, ATR brackets after the fill."""

from __future__ import annotations

from typing import Any

import pytest

from kektrade.domain.types import FillKind
from tests.strategies.kit import Run, make_run, module_of

R = (40_000, 40_100, 39_900, 40_000)  # channel 39,900 .. 40,100, true range 200
PARAM = {"channel": 3, "atr": 3, "atr_mult_tp": 2, "atr_mult_sl": 1, "stake": 0.5}
STOP, TP, MKT = "stop_market", "take_profit_market", "market"


def breakout_run(rows: list[tuple[float, ...]], **kw: Any) -> Run:
    params = {**PARAM, **kw.pop("params", {})}
    return make_run("BreakoutStrategy", rows, params, **kw)


def trades(run: Run) -> list[tuple[float, float]]:
    return [(f.price, f.contracts) for f in run.venue.fills if f.kind is FillKind.TRADE]


def test_long_breakout_stop_entry_then_reduce_only_brackets_then_take_profit() -> None:
    rows = [R, R, R, R, (40_000, 40_300, 39_990, 40_250), (40_250, 40_600, 40_200, 40_550)]
    run = breakout_run([*rows, (40_550, 40_560, 40_400, 40_500)])
    run.until(7)
    # candle 2: the channel is warm; entries one tick outside it, each for half the balance at its trigger
    assert run.log[2] == [
        ("placed", STOP, 1.246, None, 40_100.1, False),  # 50,000 / 40,100.1
        ("placed", STOP, -1.253, None, 39_899.9, False),
    ]
    assert run.log[3] == []  # the channel did not move: nothing amended
    assert run.frame["atr3"].iloc[4] == pytest.approx(710 / 3)  # Wilder: (2 x 200 + 310) / 3
    # candle 4 triggers the buy stop; the tick cancels the short entry and brackets the long:
    # TP 40,100.1 + 2 x 236.67 = 40,573.43 -> 40,573.5 (away from entry), SL 40,100.1 - 236.67 -> 39,863.4
    assert run.log[4] == [
        ("triggered", STOP, 1.246, None, 40_100.1, False),
        ("filled", STOP, 1.246, None, 40_100.1, False),
        ("cancelled", STOP, -1.253, None, 39_899.9, False),
        ("placed", TP, -1.246, None, 40_573.5, True),
        ("placed", STOP, -1.246, None, 39_863.4, True),
    ]
    # candle 5 reaches the take-profit; flat again, the tick cancels the leftover stop-loss (untriggered
    # reduce-only orders outlive the position) and puts the entries back at the new channel
    assert run.log[5][:3] == [
        ("triggered", TP, -1.246, None, 40_573.5, True),
        ("filled", TP, -1.246, None, 40_573.5, True),
        ("cancelled", STOP, -1.246, None, 39_863.4, True),
    ]
    assert [e[4] for e in run.log[5][3:]] == [40_600.1, 39_899.9]
    assert trades(run) == [(40_100.1, 1.246), (40_573.5, -1.246)]
    # candle 6: the low of the channel rose to 39,990: the short entry is amended in place
    assert [(e[0], e[4]) for e in run.log[6]] == [("amended", 39_989.9)]
    assert len(run.venue.get_open_orders()) == 2


def test_short_breakout_on_an_inverse_pair_sized_in_usd_contracts_hits_its_stop_loss() -> None:
    rows = [R, R, R, R, (40_000, 40_010, 39_700, 39_750), (39_750, 40_200, 39_740, 40_150)]
    run = breakout_run(rows, symbol="BTC/USD:BTC", balance=0.25)
    run.until(6)
    # 0.125 BTC at the trigger, in USD contracts: 0.125 x 40,100.5 = 5,012 and 0.125 x 39,899.5 = 4,987
    assert run.log[2] == [
        ("placed", STOP, 5_012.0, None, 40_100.5, False),
        ("placed", STOP, -4_987.0, None, 39_899.5, False),
    ]
    # TP 39,899.5 - 473.33 -> 39,426.0 and SL 39,899.5 + 236.67 -> 40,136.5 on the 0.5 tick
    assert run.log[4][-2:] == [
        ("placed", TP, 4_987.0, None, 39_426.0, True),
        ("placed", STOP, 4_987.0, None, 40_136.5, True),
    ]
    assert trades(run) == [(39_899.5, -4_987.0), (40_136.5, 4_987.0)]
    assert run.venue.wallet_balance < 0.25
    assert ("cancelled", TP, 4_987.0, None, 39_426.0, True) in run.log[5]


def test_an_entry_candle_that_already_passed_the_take_profit_exits_at_market() -> None:
    rows = [R, R, R, R, (40_000, 40_700, 39_990, 40_650), (40_650, 40_700, 40_600, 40_680)]
    run = breakout_run(rows, params={"atr_mult_tp": 1})
    run.until(6)
    # ATR (400 + 710) / 3 = 370: TP 40,470.1 is below the close 40,650, so no bracket, a market exit
    assert run.log[4][2:] == [
        ("cancelled", STOP, -1.253, None, 39_899.9, False),
        ("placed", MKT, -1.246, None, None, True),
    ]
    assert trades(run) == [(40_100.1, 1.246), (40_650.0, -1.246)]


def test_both_entries_in_one_candle_bracket_the_net_position() -> None:
    rows = [R, R, R, R, (40_000, 40_300, 39_700, 39_800)]  # closes down: high first, then the low
    run = breakout_run(rows)
    run.until(5)
    assert run.venue.contracts == pytest.approx(-0.007)  # +1.246 at 40,100.1, then -1.253 at 39,899.9
    exits = [e for e in run.log[4] if e[0] == "placed"]
    assert [(e[1], e[2], e[5]) for e in exits] == [(TP, 0.007, True), (STOP, 0.007, True)]


def test_bracket_levels_round_away_from_the_entry() -> None:
    mod = module_of(breakout_run([R]).strategy)
    assert mod.bracket(100.0, True, 0.33, 2, 1, 0.5) == (101.0, 99.5)
    assert mod.bracket(100.0, False, 0.33, 2, 1, 0.5) == (99.0, 100.5)
