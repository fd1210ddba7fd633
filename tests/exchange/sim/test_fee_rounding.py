"""Issue 12: fees are rounded half up (trading) or up (funding) at 8 decimals from their EXACT value.

The reference model once reported an inverse BTCUSD taker fee of 0.00006337 where the simulator had
0.00006338: 2,535 contracts at 22,000 x 0.055 % is 0.000063375 BTC exactly, a tie, which half-up rounds to
0.00006338 (research notes 1.6/1.9: work in decimals, half up). The reference's 28-digit ``Decimal``
division left it at 0.0000633749...9 and rounded down; it now divides exactly. Every check here states the
expected number from integer arithmetic, independently of both implementations.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from kektrade.domain import contract_math as cm
from kektrade.domain.types import OrderType
from tests.exchange.sim.reference_model import exact_value_times, money
from tests.exchange.sim.simkit import make_sim, run

TAKER = 0.00055


def test_the_inverse_tie_the_property_test_found() -> None:
    assert Fraction(2535, 22000) * Fraction(55, 100_000) == Fraction(63375, 10**9)  # a tie at 8 decimals
    assert cm.trade_fee(2535, 22000.0, TAKER, True) == 6.338e-05
    assert money(exact_value_times(2535, 22000.0, TAKER, True)) == 6.338e-05


def test_the_tie_through_the_simulator_fill() -> None:
    sim = make_sim([(22_000, 22_000, 22_000, 22_000)] * 3, symbol="BTCUSD", balance=1.0, leverage=1.0)
    run(sim, {0: lambda s: s.open_order(OrderType.MARKET, 2535)})
    assert [f.fee for f in sim.fills] == [6.338e-05]
    assert sim.wallet_balance == 1.0 - 6.338e-05


@pytest.mark.parametrize(
    ("qty", "price", "rate", "inverse", "units"),
    [
        (2535, 22000.0, TAKER, True, 6338),  # tie: up
        (2533, 22000.0, TAKER, True, 6333),  # 6332.5 exactly: up
        (3042, 26400.0, TAKER, True, 6338),
        (1, 3.0, 0.0003, True, 10000),  # 1/3 x 0.0003 = 0.0001 exactly (float: 9.999999999999999e-05)
        (122.5299, 1.0, TAKER, False, 6739145),  # research notes 1.6: 0.067391445 -> 0.06739145
        (10_000, 8000.0, TAKER, True, 68750),  # E22: 0.0006875 BTC
        (10, 8000.0, TAKER, False, 4_400_000_000),  # E19: 44 USDT
        (2535, 22000.0, -0.00025, True, -2881),  # a maker rebate: -0.000028806818... -> -0.00002881
    ],
)
def test_trade_fee_half_up_of_the_exact_value(qty: float, price: float, rate: float, inverse: bool, units: int) -> None:
    assert cm.trade_fee(qty, price, rate, inverse) == units / 1e8


def test_funding_is_rounded_up_from_the_exact_value() -> None:
    assert cm.funding_fee(1.0, 86.7, 0.0001, False) == 0.00867  # exact: no rounding up by float error
    assert cm.funding_fee(2535, 22000.0, 0.00055, True) == 6.338e-05
    assert cm.funding_fee(-2535, 22000.0, 0.00055, True) == -6.338e-05  # shorts receive, magnitude up
    assert cm.funding_fee(1, 3.0, 0.0003, True) == 0.0001


def test_simulator_equals_the_exact_reference_over_a_grid_of_ties_and_near_ties() -> None:
    """Around every price of a grid, the quantities whose fee lands nearest a half: all agree."""
    checked = 0
    for rate in (TAKER, 0.0002, -0.00025, 0.0001):
        for twice_price in range(40_000, 120_001, 997):
            price = twice_price / 2
            q0 = round(6.3375e-5 * price / abs(rate))
            for qty in range(q0 - 2, q0 + 3):
                want = money(exact_value_times(qty, price, rate, True))
                assert cm.trade_fee(qty, price, rate, True) == want, (qty, price, rate)
                up = money(exact_value_times(qty, price, rate, True), "ROUND_UP")
                assert cm.funding_fee(qty, price, rate, True) == up, (qty, price, rate)
                checked += 1
    assert checked > 1500
