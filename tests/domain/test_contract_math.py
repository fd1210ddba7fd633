"""Every worked example of ../shared/research/bybit-math.md (section 1.10) as a test."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kektrade.domain import contract_math as cm
from kektrade.domain.specs import builtin_spec, deductions_from_ladder
from kektrade.domain.types import RiskTier

TIER_05 = RiskTier(limit_value=2_000_000, mmr=0.005, imr=0.01, max_leverage=100, deduction=0.0)
BTCUSDT = builtin_spec("BTCUSDT")
assert BTCUSDT is not None


def test_e1_classic_isolated_liquidation_long() -> None:
    # 1 BTC @ 20,000, 50x, MMR 0.5 %: IM 400, MM 100, LP 19,700 (classic formula, MM on entry)
    assert cm.initial_margin(1, 20_000, 50, False) == pytest.approx(400)
    assert cm.maintenance_margin(1, 20_000, TIER_05, False) == pytest.approx(100)
    assert cm.liquidation_price_isolated_classic(1, 20_000, 50, True, TIER_05, 0.0, False) == pytest.approx(19_700)


def test_e4_uta_isolated_liquidation_with_extra_margin() -> None:
    fee = cm.fee_to_close(1, 40_000, 50, True, 0.00055, False)
    assert fee == pytest.approx(21.56)
    assert cm.initial_margin(1, 40_000, 50, False) + fee == pytest.approx(821.56)
    assert cm.maintenance_margin(1, 40_000, TIER_05, False) + fee == pytest.approx(221.56)
    lp = cm.liquidation_price_isolated(1, 40_000, 50, True, TIER_05, 3_000, 0.00055, False)
    assert lp == pytest.approx(36_380.2503, abs=1e-4)
    assert cm.round_to_step(lp, 0.01) == 36_380.25


@pytest.mark.parametrize(
    ("entry", "lev", "long_", "expected"),
    [(60_000, 50, True, 58_800), (60_000, 50, False, 61_200), (10_000, 50, True, 9_800)],
    ids=["E5", "E6", "E7"],
)
def test_e5_e6_e7_bankruptcy_price(entry: float, lev: float, long_: bool, expected: float) -> None:
    assert cm.bankruptcy_price(entry, lev, long_, False) == pytest.approx(expected)


def test_e8_order_cost_long() -> None:
    assert cm.initial_margin(1, 50_000, 10, False) == pytest.approx(5_000)
    assert cm.position_value(1, 50_000, False) * 0.00055 == pytest.approx(27.5)
    assert cm.fee_to_close(1, 50_000, 10, True, 0.00055, False) == pytest.approx(24.75)
    assert cm.order_cost(1, 50_000, 10, True, 0.00055, False) == pytest.approx(5_052.25)


def test_e9_e10_order_cost_old_fee_and_initial_margin() -> None:
    assert cm.initial_margin(1, 10_000, 50, False) == pytest.approx(200)
    assert cm.bankruptcy_price(10_000, 50, True, False) == pytest.approx(9_800)
    assert cm.fee_to_close(1, 10_000, 50, True, 0.00075, False) == pytest.approx(7.35)
    assert cm.order_cost(1, 10_000, 50, True, 0.00075, False) == pytest.approx(214.85)


def test_e13_tier_selection_inclusive_bounds() -> None:
    assert BTCUSDT.tier_for_value(2_000_000).mmr == 0.005
    assert BTCUSDT.tier_for_value(2_000_000.01).mmr == 0.0056
    assert BTCUSDT.tier_for_value(2_600_000).mmr == 0.0056


def test_e14_e15_e16_average_entry_and_upnl() -> None:
    assert cm.average_entry(0.5, 5_000, 0.3, 6_000, False) == pytest.approx(5_375)
    assert cm.unrealized_pnl(0.2, 7_000, 7_500, False) == pytest.approx(100)
    assert cm.unrealized_pnl(-0.4, 6_000, 5_000, False) == pytest.approx(400)


def test_e17_roi_with_fee_to_close() -> None:
    im = cm.initial_margin(0.2, 7_000, 10, False)
    fee = cm.fee_to_close(0.2, 7_000, 10, True, 0.00055, False)
    assert im == pytest.approx(140)
    assert fee == pytest.approx(0.693)
    assert cm.unrealized_pnl(0.2, 7_000, 7_500, False) / (im + fee) == pytest.approx(0.7107, abs=1e-4)


@pytest.mark.parametrize(
    ("qty", "price", "rate", "inverse", "expected"),
    [
        (10, 8_000, 0.00055, False, 44),  # E19 taker
        (10, 8_000, 0.0002, False, 16),  # E19 maker
        (10, 8_000, 0.0006, False, 48),  # E20 taker (2022)
        (10, 8_000, 0.0001, False, 8),  # E20 maker (2022)
        (10_000, 8_000, 0.0006, True, 0.00075),  # E21 inverse taker (2022)
        (10_000, 8_000, 0.0001, True, 0.000125),  # E21 inverse maker (2022)
        (10_000, 8_000, 0.00055, True, 0.0006875),  # E22 inverse taker
        (10_000, 8_000, 0.0002, True, 0.00025),  # E22 inverse maker
    ],
    ids=["E19t", "E19m", "E20t", "E20m", "E21t", "E21m", "E22t", "E22m"],
)
def test_e19_to_e22_trading_fees(qty: float, price: float, rate: float, inverse: bool, expected: float) -> None:
    assert cm.trade_fee(qty, price, rate, inverse) == pytest.approx(expected, abs=1e-9)


def test_e23_inverse_round_trip_fees_old_regime() -> None:
    taker = cm.trade_fee(100_000, 9_500, 0.00075, True) + cm.trade_fee(100_000, 9_600, 0.00075, True)
    maker = cm.trade_fee(100_000, 9_500, -0.00025, True) + cm.trade_fee(100_000, 9_600, -0.00025, True)
    assert taker == pytest.approx(0.0157, abs=5e-5)
    assert maker == pytest.approx(-0.00523, abs=1e-5)  # published figure is truncated (0.0052358)


def test_e24_e30_inverse_pnl() -> None:
    assert cm.unrealized_pnl(10_000, 23_000, 25_000, True) == pytest.approx(0.0347826, abs=1e-7)
    assert cm.unrealized_pnl(10_000, 8_000, 12_500, True) == pytest.approx(0.45)


def test_e27_inverse_initial_margin() -> None:
    assert cm.initial_margin(12_000, 8_000, 50, True) == pytest.approx(0.03)


def test_e34_position_margin_is_im_plus_fee_to_close() -> None:
    im = cm.initial_margin(1, 40_000, 50, False)
    assert im + cm.fee_to_close(1, 40_000, 50, True, 0.00055, False) == pytest.approx(821.56)


def test_e35_funding_interest_component() -> None:
    assert cm.funding_interest(0.0006, 0.0003, 3) == pytest.approx(0.0001)
    # F = P + clamp(I - P, -0.05 %, +0.05 %)
    assert cm.funding_rate(0.0, 0.0001) == pytest.approx(0.0001)
    assert cm.funding_rate(0.003, 0.0001) == pytest.approx(0.003 - 0.0005)


def test_e37_mm_deduction_recurrence() -> None:
    assert [t.deduction for t in BTCUSDT.risk_tiers[:5]] == [0, 1_200, 3_020, 4_300, 5_820]


def test_e12_flat_rate_with_deduction_equals_bracket_sum() -> None:
    tiers = deductions_from_ladder([(1_000, 0.01, 0.02, 50), (3_000, 0.035, 0.05, 20), (10_000, 0.05, 0.1, 10)])
    assert tiers[1].deduction == pytest.approx(25)
    # 3,500 in the third tier: 3,500 x 5 % - D equals 1,000 x 1 % + 2,000 x 3.5 % + 500 x 5 %
    flat = 3_500 * tiers[2].mmr - tiers[2].deduction
    assert flat == pytest.approx(1_000 * 0.01 + 2_000 * 0.035 + 500 * 0.05)


@given(st.floats(min_value=1, max_value=14_000_000))
def test_flat_rate_equals_bracket_sum_on_the_btcusdt_ladder(value: float) -> None:
    tiers = BTCUSDT.risk_tiers
    tier = BTCUSDT.tier_for_value(value)
    bracket, lower = 0.0, 0.0
    for t in tiers:
        part = min(value, t.limit_value) - lower
        if part <= 0:
            break
        bracket += part * t.mmr
        lower = t.limit_value
    assert value * tier.mmr - tier.deduction == pytest.approx(bracket, rel=1e-9, abs=1e-6)


def test_e38_insurance_fund_flows() -> None:
    assert cm.insurance_fund_flow(1, 64_000, 64_980, True) == pytest.approx(980)
    assert cm.insurance_fund_flow(1, 64_000, 63_950, True) == pytest.approx(-50)


def test_fee_rounding_to_8_decimals_like_bybit() -> None:
    # real fill R: 122.5299 x 0.00055 = 0.067391445 reported as 0.06739145
    assert cm.trade_fee(1, 122.5299, 0.00055, False) == 0.06739145


def test_inverse_liquidation_price_solves_margin_equals_mm() -> None:
    q, e, lev, c = 10_000, 8_000, 20, 0.00055
    lp = cm.liquidation_price_isolated(q, e, lev, True, TIER_05, 0.0, c, True)
    margin = cm.initial_margin(q, e, lev, True)
    loss = -cm.unrealized_pnl(q, e, lp, True)
    assert margin - loss == pytest.approx(cm.maintenance_margin(q, lp, TIER_05, True), rel=1e-9)
    short = cm.liquidation_price_isolated(q, e, lev, False, TIER_05, 0.0, c, True)
    loss_s = -cm.unrealized_pnl(-q, e, short, True)
    assert margin - loss_s == pytest.approx(cm.maintenance_margin(q, short, TIER_05, True), rel=1e-9)


def test_inverse_bankruptcy_prices() -> None:
    assert cm.bankruptcy_price(8_000, 4, True, True) == pytest.approx(6_400)
    assert cm.bankruptcy_price(8_000, 4, False, True) == pytest.approx(8_000 * 4 / 3)
    assert math.isinf(cm.bankruptcy_price(8_000, 1, False, True))


def test_cross_liquidation_solves_wallet_plus_upnl_equals_mm() -> None:
    q, e, w, f = 1.0, 40_000, 2_000, 21.56
    lp = cm.liquidation_price_cross(q, e, True, TIER_05, w, f, False)
    assert w + cm.unrealized_pnl(q, e, lp, False) == pytest.approx(cm.maintenance_margin(q, lp, TIER_05, False) + f)


def test_funding_fee_sign_and_value() -> None:
    assert cm.funding_fee(2, 50_000, 0.0001, False) == pytest.approx(10)
    assert cm.funding_fee(-2, 50_000, 0.0001, False) == pytest.approx(-10)
    assert cm.funding_fee(2, 50_000, -0.0001, False) == pytest.approx(-10)
    assert cm.funding_fee(10_000, 50_000, 0.0001, True) == pytest.approx(0.00002)


def test_step_rounding_helpers() -> None:
    assert cm.round_to_step(36_380.2503, 0.1) == 36_380.3
    assert cm.floor_to_step(0.12345, 0.001) == 0.123
    assert cm.floor_to_step(-0.12345, 0.001) == -0.123
    assert cm.is_multiple(0.3, 0.1)
    assert not cm.is_multiple(0.35, 0.1)
