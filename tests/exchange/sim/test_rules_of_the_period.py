"""Bybit's rules of each period (``backtest.rules``), each held to the worked examples of its own period
(../shared/research/bybit-math.md, section 1.10), through the simulator."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kektrade.domain.rules import RULES, margin_rules
from kektrade.domain.types import FillKind, OrderType
from kektrade.exchange.sim.exchange import SimError, SimExchange
from tests.exchange.sim.simkit import make_sim

CURRENT, BEFORE, CLASSIC = "current", "before_2025_09", "classic"


def opened(price: float, qty: float, leverage: float, rules: str, symbol: str = "BTCUSDT", **kw: object) -> SimExchange:
    """A position of ``qty`` opened at ``price`` (flat candles), with the given rules."""
    rows = [(price, price, price, price)] * 4
    sim = make_sim(rows, symbol=symbol, leverage=leverage, rules=rules, **kw)
    sim.step(0)
    sim.open_order(OrderType.MARKET, qty)
    sim.step(1)
    assert sim.contracts == qty
    return sim


# -- before 2 Sep 2025: IM and MM on entry, classic liquidation formula ---------------------------------


def test_e1_classic_isolated_liquidation_price() -> None:
    """E1: 1 BTC @ 20,000, 50x, MMR 0.5 %: IM 400, MM 100, liquidation 19,700 (classic formula)."""
    sim = opened(20_000, 1.0, 50, BEFORE)
    assert sim.get_position().liquidation_price == pytest.approx(19_700.0, abs=1e-9)
    # the same position under today's rules: MM at the liquidation price itself (UTA formula)
    today = opened(20_000, 1.0, 50, CURRENT)
    assert today.get_position().liquidation_price == pytest.approx(19_600 / 0.995, abs=1e-6)


def test_e1_liquidation_happens_at_19700_not_before() -> None:
    rows = [(20_000, 20_000, 20_000, 20_000)] * 2 + [(20_000, 20_000, 19_701, 19_701),
                                                    (19_701, 19_701, 19_700, 19_700)]
    sim = make_sim(rows, leverage=50, rules=BEFORE)
    sim.step(0)
    sim.open_order(OrderType.MARKET, 1.0)
    for i in range(1, 3):
        sim.step(i)
    assert sim.contracts == 1.0
    sim.step(3)
    assert sim.contracts == 0.0
    assert [f.kind for f in sim.fills][-1] is FillKind.LIQUIDATION


def test_e9_order_cost_at_the_2019_2021_fee() -> None:
    """E9: 1 BTC @ 10,000, 50x, 0.075 %: IM 200, fee to open 7.5, fee to close at 9,800: 7.35; 214.85."""
    sim = make_sim([(10_100, 10_100, 10_100, 10_100)] * 2, leverage=50, rules=BEFORE, taker_fee=0.00075)
    sim.step(0)
    sim.open_order(OrderType.LIMIT, 1.0, price=10_000.0)
    assert sim.get_wallet().order_margin == pytest.approx(214.85, abs=1e-9)


def test_e20_e21_trading_fees_at_the_2022_rates() -> None:
    """E20: 10 BTC @ 8,000 at 0.06 % / 0.01 %: taker 48, maker 8. E21 (inverse): 10,000 contracts @ 8,000:
    taker 0.00075 BTC, maker 0.000125 BTC. A market buy at the 8,000 open, then a sell resting at 8,000."""
    rows = [(8_000, 8_000, 8_000, 8_000), (8_000, 8_000, 7_900, 7_900), (7_900, 8_100, 7_900, 8_050)]
    for symbol, qty, taker_fee, maker_fee in (("BTCUSDT", 10.0, 48.0, 8.0), ("BTCUSD", 10_000.0, 0.00075, 0.000125)):
        sim = make_sim(rows, symbol=symbol, balance=1e6 if symbol == "BTCUSDT" else 100.0, leverage=10,
                       rules=BEFORE, taker_fee=0.0006, maker_fee=0.0001)
        sim.step(0)
        sim.open_order(OrderType.MARKET, qty)
        sim.step(1)
        sim.open_order(OrderType.LIMIT, -qty, price=8_000.0)
        sim.step(2)
        fills = [f for f in sim.fills if f.kind is FillKind.TRADE]
        assert [(f.price, f.is_maker) for f in fills] == [(8_000.0, False), (8_000.0, True)]
        assert fills[0].fee == pytest.approx(taker_fee, abs=1e-12)
        assert fills[1].fee == pytest.approx(maker_fee, abs=1e-12)


def test_e23_round_trip_in_the_rebate_era() -> None:
    """E23: 100,000 contracts BTCUSD, open 9,500, close 9,600 at 0.075 % / -0.025 %: both taker 0.0157 BTC
    paid; both maker 0.00523 BTC rebate (Bybit's figures, cut to 3 significant digits)."""
    rows = [(9_500, 9_500, 9_500, 9_500)] * 2 + [(9_600, 9_600, 9_600, 9_600)] * 2
    sim = make_sim(rows, symbol="BTCUSD", balance=100.0, leverage=10, rules=BEFORE,
                   taker_fee=0.00075, maker_fee=-0.00025)
    sim.step(0)
    sim.open_order(OrderType.MARKET, 100_000.0)
    sim.step(1)
    sim.open_order(OrderType.MARKET, -100_000.0)
    sim.step(2)
    assert sum(f.fee for f in sim.fills) == pytest.approx(0.0157, abs=5e-5)
    rows = [(9_600, 9_600, 9_600, 9_600), (9_600, 9_600, 9_400, 9_450), (9_450, 9_700, 9_450, 9_650)]
    sim = make_sim(rows, symbol="BTCUSD", balance=100.0, leverage=10, rules=BEFORE,
                   taker_fee=0.00075, maker_fee=-0.00025)
    sim.step(0)
    sim.open_order(OrderType.LIMIT, 100_000.0, price=9_500.0)
    sim.step(1)
    sim.open_order(OrderType.LIMIT, -100_000.0, price=9_600.0)
    sim.step(2)
    assert [f.is_maker for f in sim.fills] == [True, True]
    assert sum(f.fee for f in sim.fills) == pytest.approx(-0.00523, abs=1e-5)


def test_cross_margin_on_entry_before_and_on_mark_now() -> None:
    """Cross 1 BTC @ 20,000 at 10x, the mark rises to 22,000: today IM is 2,200 (on mark), before 2,000."""
    rows = [(20_000, 20_000, 20_000, 20_000)] * 2 + [(22_000, 22_000, 22_000, 22_000)] * 2
    ims = {}
    for rules in (CURRENT, BEFORE):
        sim = make_sim(rows, leverage=10, margin_mode="cross", rules=rules)
        sim.step(0)
        sim.open_order(OrderType.MARKET, 1.0)
        sim.step(1)
        sim.step(2)
        fee_to_close = 18_000 * 0.00055
        ims[rules] = sim.get_position().initial_margin - fee_to_close
    assert ims[CURRENT] == pytest.approx(2_200.0, abs=1e-9)
    assert ims[BEFORE] == pytest.approx(2_000.0, abs=1e-9)


def test_classic_inverse_liquidation_price() -> None:
    """Inverse, entry-based: long q / (q/E + IM - MM), here 10,000 contracts @ 8,000 at 50x, MMR 0.5 %."""
    sim = opened(8_000, 10_000.0, 50, BEFORE, symbol="BTCUSD", balance=1.0)
    q, e = 10_000.0, 8_000.0
    im, mm = q / e / 50, q / e * 0.005
    assert sim.get_position().liquidation_price == pytest.approx(q / (q / e + im - mm), rel=1e-12)


# -- current rules: the UTA worked examples ---------------------------------------------------------


def test_e4_e34_uta_isolated_liquidation_with_added_margin() -> None:
    """E4: 1 BTC @ 40,000, 50x, +3,000 added, MMR 0.5 %: position margin 821.56 before, LP 36,380.25."""
    sim = opened(40_000, 1.0, 50, CURRENT, balance=10_000.0)
    assert sim.get_wallet().position_margin == pytest.approx(821.56, abs=1e-9)  # E34: IM 800 + 21.56
    sim.add_margin(3_000.0)
    assert sim.get_position().liquidation_price == pytest.approx(36_380.2503, abs=1e-4)


def test_e8_order_cost_at_todays_fee() -> None:
    """E8: 1 BTC @ 50,000, 10x, 0.055 %: IM 5,000 + open 27.5 + close 24.75 = 5,052.25."""
    sim = make_sim([(51_000, 51_000, 51_000, 51_000)] * 2, leverage=10, rules=CURRENT)
    sim.step(0)
    sim.open_order(OrderType.LIMIT, 1.0, price=50_000.0)
    assert sim.get_wallet().order_margin == pytest.approx(5_052.25, abs=1e-9)


def test_rule_sets_are_named_with_their_periods() -> None:
    assert set(RULES) == {CURRENT, BEFORE, CLASSIC}
    assert margin_rules(CURRENT).period == "from 2025-09-02"
    assert margin_rules(CLASSIC).classic_cross and not margin_rules(BEFORE).classic_cross
    with pytest.raises(ValueError, match="'2019' is not a known rule set; use current, before_2025_09, classic"):
        margin_rules("2019")
    with pytest.raises(SimError, match="not a known rule set"):
        make_sim([(1, 1, 1, 1)], rules="2019")


# -- the classic contract account: cross liquidation (research notes 1.4, E33) ----------------------------


def e33_long(q: Fraction, e: Fraction, wallet: Fraction, order_margin: Fraction, c: Fraction, m: Fraction) -> Fraction:
    """E33 solved for LP by hand: q(1/E - 1/LP) = -(W - OM - (q/E) m - q c / BP), BP = (1 + c) q / (q/E + W - OM)."""
    bp = (1 + c) * q / (q / e + wallet - order_margin)
    x = wallet - order_margin - q / e * m - q * c / bp
    return q / (q / e + x)


def test_e33_classic_cross_inverse_long_liquidation_price() -> None:
    """BTCUSD cross long 10,000 contracts @ 8,000, 0.5 BTC, the 2019-2021 taker fee 0.075 %, MMR 0.5 %:
    BP = 1.00075 x 10,000 / (1.25 + W) with W = 0.5 - the opening fee 0.0009375, LP = q / (q/E + X)."""
    sim = opened(8_000, 10_000.0, 5, CLASSIC, symbol="BTCUSD", balance=0.5, margin_mode="cross", taker_fee=0.00075)
    wallet = Fraction("0.5") - Fraction("0.0009375")
    assert sim.wallet_balance == pytest.approx(float(wallet), abs=1e-12)
    want = e33_long(Fraction(10_000), Fraction(8_000), wallet, Fraction(0), Fraction("0.00075"), Fraction("0.005"))
    assert float(want) == pytest.approx(5_742.17, abs=0.01)  # the figure, for the reader
    assert sim.get_position().liquidation_price == pytest.approx(float(want), rel=1e-12)
    bust = Fraction("1.00075") * 10_000 / (Fraction(10_000, 8_000) + wallet)
    assert sim._bust == pytest.approx(float(bust), rel=1e-12)
    # the unified account before Sep 2025 takes the fee to close on the entry price and ignores order margin
    uta = opened(8_000, 10_000.0, 5, BEFORE, symbol="BTCUSD", balance=0.5, margin_mode="cross", taker_fee=0.00075)
    assert uta.get_position().liquidation_price != pytest.approx(float(want), rel=1e-6)


def test_e33_order_margin_moves_the_classic_cross_liquidation_price() -> None:
    """An open buy order's margin is not available to the position: LP rises; cancelling it restores LP."""
    sim = opened(8_000, 10_000.0, 5, CLASSIC, symbol="BTCUSD", balance=0.5, margin_mode="cross", taker_fee=0.00075)
    before = sim.get_position().liquidation_price
    order = sim.open_order(OrderType.LIMIT, 1_000.0, price=7_000.0)
    om = Fraction(sim.get_wallet().order_margin)
    assert om > 0
    wallet = Fraction(sim.wallet_balance)
    want = e33_long(Fraction(10_000), Fraction(8_000), wallet, om, Fraction("0.00075"), Fraction("0.005"))
    assert sim.get_position().liquidation_price == pytest.approx(float(want), rel=1e-12)
    assert sim.get_position().liquidation_price > before
    sim.cancel_order(order.id)
    assert sim.get_position().liquidation_price == pytest.approx(before, rel=1e-12)


def test_e33_classic_cross_liquidation_happens_at_that_price() -> None:
    """The mark falls to 5,745 (above LP): nothing; to 5,740 (below): liquidated at the bankruptcy price."""
    q, e = 10_000.0, 8_000.0
    rows = [(e, e, e, e)] * 2 + [(e, e, 5_745.0, 5_745.0), (5_745.0, 5_745.0, 5_740.0, 5_740.0)]
    sim = make_sim(
        rows, symbol="BTCUSD", balance=0.5, leverage=5, margin_mode="cross", rules=CLASSIC, taker_fee=0.00075
    )
    sim.step(0)
    sim.open_order(OrderType.MARKET, q)
    sim.step(1)
    sim.step(2)
    assert sim.contracts == q
    bust = sim._bust
    sim.step(3)
    assert sim.contracts == 0.0
    liq = [f for f in sim.fills if f.kind is FillKind.LIQUIDATION]
    assert len(liq) == 1 and liq[0].price == pytest.approx(bust, rel=1e-12)
    assert sim.wallet_balance == pytest.approx(0.0, abs=1e-8)


def test_classic_cross_linear_short_by_the_same_reading() -> None:
    """Linear (derived): short BP = (qE + W - OM) / (q(1 + c)), LP = E + X/q with X = W - OM - MM - q BP c."""
    sim = opened(20_000, -1.0, 10, CLASSIC, balance=5_000.0, margin_mode="cross", taker_fee=0.00075)
    q, e, c = Fraction(1), Fraction(20_000), Fraction("0.00075")
    wallet = Fraction(5_000) - q * e * c
    bp = (q * e + wallet) / (q * (1 + c))
    x = wallet - q * e * Fraction("0.005") - q * bp * c
    assert sim.get_position().liquidation_price == pytest.approx(float(e + x / q), rel=1e-12)
