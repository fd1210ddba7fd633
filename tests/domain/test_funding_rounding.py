"""Issue 12, finding 5: the funding fee's rounding, checked against real Bybit funding executions.

The samples are LTCUSDT ``execType=Funding`` rows of ``GET /v5/execution/list`` recorded in ccxt's static
test responses (ccxt/ccxt, ts/src/test/static/response/bybit.json: fetchFundingHistory and fetchMyTrades):
(execQty, execPrice = the settlement mark, feeRate as displayed, execFee). Every row is a long ("Buy"), so
a positive fee is paid and a negative one received. The API displays the rate with 6 decimals while the
settled rate has 8 (research notes, section 1.7): the fee must be reproduced by one of the 100 8-decimal
rates that display as the row's rate.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from kektrade.domain import contract_math as cm

SAMPLES = [
    (0.1, 79.53, "0.0001", "0.0007953"),
    (0.1, 86.37, "-0.001472", "-0.01272213"),
    (0.1, 82.98, "0.0001", "0.0008298"),
    (0.1, 89.82, "0.0001", "0.0008982"),
    (0.1, 89.54, "-0.000076", "-0.00068346"),
    (0.1, 87.79, "-0.004926", "-0.04325071"),
    (0.1, 89.67, "0.000138", "0.0012422"),
    (0.1, 93.83, "-0.000422", "-0.00396789"),
    (0.1, 93.58, "0.000115", "0.00108123"),
    (0.1, 95.44, "0.000503", "0.00480131"),
    (0.1, 97.17, "0.0001", "0.0009717"),
    (1.2, 72.25, "0.0001", "0.00867"),
]


def rates_displayed_as(shown: str) -> list[float]:
    """The 8-decimal rates that Bybit's 6-decimal display (truncated) shows as ``shown``."""
    base = Decimal(shown)
    step = Decimal("0.00000001") if base >= 0 else Decimal("-0.00000001")
    return [float(base + k * step) for k in range(100)]


def reproducible(qty: float, price: float, shown: str, fee: str, rounding: object) -> bool:
    """True when some settled rate that displays as ``shown`` gives exactly ``fee`` under ``rounding``."""
    target = float(fee)
    for rate in rates_displayed_as(shown):
        raw = cm.position_value(qty, price, False) * rate
        if rounding(raw) == target:  # type: ignore[operator]
            return True
    return False


@pytest.mark.parametrize(("qty", "price", "shown", "fee"), SAMPLES)
def test_funding_fee_matches_real_bybit_executions(qty: float, price: float, shown: str, fee: str) -> None:
    target = float(fee)
    hits = [r for r in rates_displayed_as(shown) if cm.funding_fee(qty, price, r, False) == target]
    assert hits, f"no settled rate displayed as {shown} gives {fee}"


def test_half_up_rounding_does_not_explain_the_executions() -> None:
    """Why the simulator rounds the magnitude up: half-up (its trade-fee rounding) misses real rows."""
    misses = [s for s in SAMPLES if not reproducible(*s, rounding=cm.round_money)]
    assert [s[3] for s in misses] == ["-0.00396789", "0.00108123", "0.00480131"]
    assert all(reproducible(*s, rounding=cm.round_money_up) for s in SAMPLES)


def test_round_money_up_keeps_exact_products_and_rounds_both_signs_away_from_zero() -> None:
    assert cm.round_money_up(86.7 * 0.0001) == 0.00867  # 8.670000000000001e-3 in float: still exact
    assert cm.round_money_up(9.544 * 0.00050307) == 0.00480131
    assert cm.round_money_up(-9.383 * 0.00042288) == -0.00396789
    assert cm.round_money_up(0.0) == 0.0
    # a short receives when the rate is positive: the same magnitude, negative
    assert cm.funding_fee(-0.1, 95.44, 0.00050307, False) == -0.00480131
