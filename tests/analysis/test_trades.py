"""Round trips rebuilt from signed fills: a truth table worked out by hand."""

from __future__ import annotations

import pytest

from kektrade.analysis.trades import TripBuilder, round_trips
from kektrade.domain.types import Fill, FillKind

SYM = "BTC/USDT:USDT"


def trade(t: int, qty: float, price: float, fee: float, pnl: float, after: float) -> Fill:
    """A trade fill."""
    return Fill(t, SYM, FillKind.TRADE, qty, price, fee, pnl, position_after=after)


def funding(t: int, position: float, payment: float) -> Fill:
    """A funding settlement (payment > 0 paid)."""
    return Fill(t, SYM, FillKind.FUNDING, position, 100.0, payment, 0.0, position_after=position)


def test_open_and_close_is_one_trade() -> None:
    # buy 2 @100 (fee 0.2), sell 2 @110 (fee 0.22, gross +20)
    [t] = round_trips([trade(1, 2, 100, 0.2, 0, 2), trade(2, -2, 110, 0.22, 20, 0)])
    assert (t.direction, t.entry_time_ms, t.exit_time_ms) == (1, 1, 2)
    assert (t.entry_price, t.exit_price, t.max_contracts) == (100, 110, 2)
    assert t.gross_pnl == 20 and t.fees == pytest.approx(0.42) and t.funding == 0
    assert t.pnl == pytest.approx(19.58)
    assert t.fills == 2 and not t.liquidated and t.duration_ms == 1


def test_scaling_in_and_partial_closes_accumulate() -> None:
    # short 1 @200, add 1 @220 (avg 210), cover 0.5 @190 (+10), cover 1.5 @180 (+45)
    fills = [
        trade(1, -1, 200, 0.1, 0, -1),
        trade(2, -1, 220, 0.1, 0, -2),
        trade(3, 0.5, 190, 0.05, 10, -1.5),
        trade(4, 1.5, 180, 0.15, 45, 0),
    ]
    [t] = round_trips(fills)
    assert t.direction == -1 and t.max_contracts == 2
    assert t.entry_price == pytest.approx(210)
    assert t.exit_price == pytest.approx((0.5 * 190 + 1.5 * 180) / 2)  # 182.5
    assert t.gross_pnl == 55 and t.fees == pytest.approx(0.4)
    assert t.pnl == pytest.approx(54.6) and t.fills == 4


def test_flip_through_zero_closes_one_trade_and_opens_another() -> None:
    # long 1 @100; sell 3 @90: closes 1 (gross -10) and opens short 2; fee 0.3 split 1/3 : 2/3
    # then buy 2 @80 closes the short (gross +20, fee 0.2)
    fills = [trade(1, 1, 100, 0.1, 0, 1), trade(2, -3, 90, 0.3, -10, -2), trade(3, 2, 80, 0.2, 20, 0)]
    first, second = round_trips(fills)
    assert (first.direction, first.exit_time_ms, first.exit_price) == (1, 2, 90)
    assert first.fees == pytest.approx(0.1 + 0.1) and first.pnl == pytest.approx(-10.2)
    assert (second.direction, second.entry_time_ms, second.entry_price) == (-1, 2, 90)
    assert second.fees == pytest.approx(0.2 + 0.2) and second.pnl == pytest.approx(19.6)
    assert first.fills == 2 and second.fills == 2  # the flip fill belongs to both


def test_funding_is_charged_to_the_open_trade_only() -> None:
    fills = [
        funding(0, 0, 5.0),  # flat: belongs to no trade
        trade(1, 1, 100, 0, 0, 1),
        funding(2, 1, 0.3),  # paid
        funding(3, 1, -0.1),  # received
        trade(4, -1, 101, 0, 1, 0),
    ]
    [t] = round_trips(fills)
    assert t.funding == pytest.approx(0.2) and t.pnl == pytest.approx(0.8)


def test_liquidation_closes_and_marks_the_trade() -> None:
    fills = [
        trade(1, 1, 100, 0.06, 0, 1),
        Fill(2, SYM, FillKind.LIQUIDATION, -1, 50.5, 0.03, -49.5, position_after=0),
    ]
    [t] = round_trips(fills)
    assert t.liquidated and t.pnl == pytest.approx(-49.5 - 0.09)


def test_open_trade_only_when_asked() -> None:
    fills = [trade(1, 1, 100, 0, 0, 1), trade(2, -1, 110, 0, 10, 0), trade(3, -1, 105, 0, 0, -1)]
    assert len(round_trips(fills)) == 1
    closed, still_open = round_trips(fills, include_open=True)
    assert closed.exit_time_ms == 2
    assert still_open.is_open and still_open.duration_ms is None and still_open.direction == -1


def test_no_fills_no_trades() -> None:
    assert round_trips([]) == []
    assert round_trips([funding(1, 0, 1.0)]) == []


def test_the_books_pairs_are_the_trades_exit_times_and_pnls() -> None:
    """``feed_closes`` (the optimizer's books) gives each closed trade's (exit time, pnl), fed in pieces."""
    fills = [
        trade(1, -1, 200, 0.1, 0, -1),
        funding(2, -1, -0.03),
        trade(3, 0.5, 190, 0.05, 10, -0.5),
        trade(4, 1.5, 180, 0.15, 10, 1),  # flips: closes the short, opens a long
        funding(5, 1, 0.02),
        Fill(6, SYM, FillKind.LIQUIDATION, -1, 150, 0.0, -30, position_after=0),
        trade(7, 2, 100, 0.2, 0, 2),
        trade(8, -2, 110, 0.22, 20, 0),
    ]
    want = [(t.exit_time_ms, t.pnl) for t in round_trips(fills)]
    assert len(want) == 3
    builder = TripBuilder()
    assert builder.feed_closes(fills[:3]) + builder.feed_closes(fills[3:]) == want
