"""Bybit's perpetual contract formulas, linear (USDT) and inverse (coin-margined).

Notation as in Bybit's help pages: q = |contracts|, E = entry price, P = a price, L = leverage,
c = taker fee rate, m = maintenance margin rate of the risk tier, D = its MM deduction, A = margin added
to an isolated position. Linear values are in the quote coin (q x P); inverse values in the base coin
(q / P). Every function is pure and standard-library only; rounding happens where the venue rounds, in
the simulator, not here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from kektrade.domain.types import RiskTier

FEE_DECIMALS = 8


def round_money(value: float) -> float:
    """Fees and PnL are rounded to 8 decimals, half away from zero, as Bybit reports them."""
    scaled = abs(value) * 1e8
    # the tolerance grows with the value: a product of exact decimals (18.822278475) can come out of float
    # multiplication a few ulps below its half (...847.4999998 when scaled) and must still round up
    rounded = math.floor(scaled + 0.5 + 1e-7 + scaled * 2e-15) / 1e8
    return rounded if value >= 0 else -rounded


def round_money_up(value: float) -> float:
    """Round the magnitude up to 8 decimals (away from zero): how Bybit rounds funding fees.

    Real funding executions (ccxt's recorded Bybit responses, tests/domain/test_funding_rounding.py) show
    execFee = ceil(|execValue x rate|) at 8 decimals for paid and received fees alike. The tolerance keeps
    an exact product that float multiplication pushes a hair above a multiple (86.7 x 0.0001) on it.
    """
    scaled = abs(value) * 1e8
    rounded = math.ceil(scaled - 1e-6 - scaled * 1e-12) / 1e8
    return rounded if value >= 0 else -rounded


def position_value(qty: float, price: float, inverse: bool) -> float:
    """Value of ``qty`` contracts at ``price``: q x P (linear), q / P (inverse); qty taken unsigned."""
    qty = abs(qty)
    return qty / price if inverse else qty * price


def unrealized_pnl(contracts: float, entry: float, price: float, inverse: bool) -> float:
    """PnL of a signed position marked at ``price``: q(P - E) linear; q(1/E - 1/P) inverse (q signed)."""
    if contracts == 0.0:
        return 0.0
    if inverse:
        return contracts * (1.0 / entry - 1.0 / price)
    return contracts * (price - entry)


def average_entry(qty: float, entry: float, add_qty: float, add_price: float, inverse: bool) -> float:
    """Entry after adding to a position: value-weighted (linear) or harmonic (inverse); unsigned qtys."""
    total = qty + add_qty
    if qty == 0.0:
        return add_price
    if inverse:
        return total / (qty / entry + add_qty / add_price)
    return (qty * entry + add_qty * add_price) / total


def initial_margin(qty: float, entry: float, leverage: float, inverse: bool) -> float:
    """Initial margin: position value at entry / leverage."""
    return position_value(qty, entry, inverse) / leverage


def bankruptcy_price(entry: float, leverage: float, is_long: bool, inverse: bool) -> float:
    """The zero-margin price of an isolated position without extra margin.

    Linear: long E(1 - 1/L), short E(1 + 1/L). Inverse: long E L/(L + 1), short E L/(L - 1) (infinite
    for a short at leverage 1 or below: such a short can never go bankrupt by price).
    """
    if inverse:
        if is_long:
            return entry * leverage / (leverage + 1.0)
        return entry * leverage / (leverage - 1.0) if leverage > 1.0 else math.inf
    return entry * (1.0 - 1.0 / leverage) if is_long else entry * (1.0 + 1.0 / leverage)


def fee_to_close(qty: float, entry: float, leverage: float, is_long: bool, taker: float, inverse: bool) -> float:
    """Bybit's estimated fee to close: the taker fee at the bankruptcy price (part of IM and MM shown)."""
    bust = bankruptcy_price(entry, leverage, is_long, inverse)
    if math.isinf(bust) or bust <= 0.0:
        return 0.0
    return position_value(qty, bust, inverse) * taker


def order_cost(qty: float, price: float, leverage: float, is_buy: bool, taker: float, inverse: bool) -> float:
    """What an opening order reserves: IM + fee to open + fee to close (at the bankruptcy price)."""
    im = initial_margin(qty, price, leverage, inverse)
    fee_open = position_value(qty, price, inverse) * taker
    return im + fee_open + fee_to_close(qty, price, leverage, is_buy, taker, inverse)


def tier_for_value(tiers: tuple[RiskTier, ...], value: float) -> RiskTier:
    """The risk tier holding a position value (inclusive upper bounds; the last tier caps)."""
    for tier in tiers:
        if value <= tier.limit_value:
            return tier
    return tiers[-1]


def tier_for_position(tiers: tuple[RiskTier, ...], qty: float, price: float, inverse: bool, by_size: bool) -> RiskTier:
    """The tier of a position: by its size |qty| (OKX's tiers count contracts) or by its value at ``price``
    (Bybit's risk limits, Binance's notional brackets)."""
    if by_size:
        return tier_for_value(tiers, abs(qty))
    return tier_for_value(tiers, position_value(qty, price, inverse))


def okx_liquidation_tier(tier: RiskTier, taker: float) -> RiskTier:
    """OKX liquidates when margin + UPL = position value x (MMR + taker fee): its tier with the taker fee added
    to the MMR (OKX has no deduction), so the MM-based liquidation formulas give OKX's price."""
    return RiskTier(tier.limit_value, tier.mmr + taker, tier.imr, tier.max_leverage, 0.0)


def maintenance_margin(qty: float, price: float, tier: RiskTier, inverse: bool) -> float:
    """MM at a price: position value x MMR - deduction of the tier (never below zero)."""
    return max(position_value(qty, price, inverse) * tier.mmr - tier.deduction, 0.0)


def liquidation_price_isolated(
    qty: float,
    entry: float,
    leverage: float,
    is_long: bool,
    tier: RiskTier,
    extra_margin: float,
    taker: float,
    inverse: bool,
) -> float:
    """Isolated liquidation price, UTA formula: margin - loss at P equals MM evaluated at P.

    Linear long  [qE - qE/L - A/(1-c) - D] / [q - qm];  short [qE + qE/L + A/(1+c) + D] / [q + qm].
    Inverse long q(1+m) / [q/E + q/(EL) + A/(1+c) + D]; short q(1-m) / [q/E - q/(EL) - A/(1-c) - D].
    Returns 0.0 for a long that cannot be liquidated and inf for such a short.
    """
    q, e, lev, m, d, a, c = qty, entry, leverage, tier.mmr, tier.deduction, extra_margin, taker
    if inverse:
        if is_long:
            den = q / e + q / (e * lev) + a / (1.0 + c) + d
            return q * (1.0 + m) / den if den > 0.0 else 0.0
        den = q / e - q / (e * lev) - a / (1.0 - c) - d
        return q * (1.0 - m) / den if den > 0.0 else math.inf
    if is_long:
        price = (q * e - q * e / lev - a / (1.0 - c) - d) / (q - q * m)
        return max(price, 0.0)
    return (q * e + q * e / lev + a / (1.0 + c) + d) / (q + q * m)


def liquidation_price_cross(
    qty: float,
    entry: float,
    is_long: bool,
    tier: RiskTier,
    wallet: float,
    close_fee: float,
    inverse: bool,
) -> float:
    """Cross liquidation estimate for one position backed by the whole wallet W.

    Solves W + UPNL(P) = MM(P) + f (f = estimated fee to close). Linear long (qE - W - D + f)/(q(1-m)),
    short (qE + W + D - f)/(q(1+m)); inverse long q(1+m)/(W + q/E + D - f), short q(1-m)/(q/E - W - D + f).
    """
    q, e, m, d, w, f = qty, entry, tier.mmr, tier.deduction, wallet, close_fee
    if inverse:
        if is_long:
            den = w + q / e + d - f
            return q * (1.0 + m) / den if den > 0.0 else math.inf
        den = q / e - w - d + f
        return q * (1.0 - m) / den if den > 0.0 else math.inf
    if is_long:
        return max((q * e - w - d + f) / (q * (1.0 - m)), 0.0)
    return (q * e + w + d - f) / (q * (1.0 + m))


def tier_consistent_price(
    candidates: Sequence[tuple[RiskTier, float]],
    qty: float,
    inverse: bool,
) -> float:
    """Pick the liquidation price whose position value at that price lies inside its own tier.

    ``candidates`` pairs each tier (in ladder order) with the price the formula gives for it. The MMR
    depends on the value at the liquidation price itself, so the right answer is the tier that contains
    it; if none does (the ladder's last tier is exceeded) the last candidate is used.
    """
    lower = 0.0
    for tier, price in candidates:
        if 0.0 < price < math.inf:
            value = position_value(qty, price, inverse)
            if lower < value <= tier.limit_value:
                return price
        lower = tier.limit_value
    return candidates[-1][1] if candidates else 0.0


def funding_fee(contracts: float, mark: float, rate: float, inverse: bool) -> float:
    """Funding paid by a signed position at settlement (> 0 paid, < 0 received): value at mark x rate.

    Longs pay when the rate is positive, shorts receive; the magnitude is rounded up to 8 decimals, as
    Bybit's funding executions show (``round_money_up``).
    """
    raw = position_value(contracts, mark, inverse) * rate
    scaled = abs(raw) * 1e8
    near = scaled - math.floor(scaled + 0.5)  # distance to the nearest multiple of 1e-8
    if abs(near) < 1e-6 + scaled * 1e-13:  # on or a float error away from one: decide exactly
        exact = _exact_scaled(contracts, mark, rate, inverse)
        fee = math.ceil(abs(exact)) / 1e8
        return fee if (exact > 0) == (contracts > 0) else -fee
    fee = math.ceil(scaled) / 1e8
    return fee if (raw > 0) == (contracts > 0) else -fee


def trade_fee(qty: float, price: float, rate: float, inverse: bool) -> float:
    """Trading fee of a fill: executed value x fee rate, rounded to 8 decimals half up (negative = rebate).

    The half-up rule applies to the exact value: a product on a half (2,535 BTCUSD contracts at 22,000 x
    0.055 % = 0.000063375 BTC exactly -> 0.00006338) is a tie however float multiplication or a 28-digit
    Decimal division lands beside it, so a product within float error of a half is decided exactly.
    """
    raw = position_value(qty, price, inverse) * rate
    scaled = abs(raw) * 1e8
    half = scaled - math.floor(scaled) - 0.5
    if abs(half) < 1e-6 + scaled * 1e-13:  # on or a float error away from a half: decide exactly
        exact = _exact_scaled(qty, price, rate, inverse)
        fee = math.floor(abs(exact) + Fraction(1, 2)) / 1e8
        return fee if exact >= 0 else -fee
    fee = math.floor(scaled + 0.5) / 1e8
    return fee if raw >= 0 else -fee


def _exact_scaled(qty: float, price: float, rate: float, inverse: bool) -> Fraction:
    """|qty| x price x rate (linear) or |qty| / price x rate (inverse) x 1e8, exactly, from the decimal
    digits the inputs print as (the numbers the exchange has)."""
    q, p, r = Fraction(repr(abs(qty))), Fraction(repr(price)), Fraction(repr(rate))
    return (q / p if inverse else q * p) * r * 100_000_000


def round_to_step(value: float, step: float) -> float:
    """Round to the nearest multiple of ``step`` (prices to tick, quantities to lot)."""
    steps = round(value / step)
    decimals = max(0, -math.floor(math.log10(step)) + 2) if step < 1 else 0
    return round(steps * step, decimals)


def floor_to_step(value: float, step: float) -> float:
    """Round toward zero to a multiple of ``step`` (order sizes never round up)."""
    steps = math.floor(abs(value) / step + 1e-9)
    decimals = max(0, -math.floor(math.log10(step)) + 2) if step < 1 else 0
    out = round(steps * step, decimals)
    return out if value >= 0 else -out


def is_multiple(value: float, step: float) -> bool:
    """True when ``value`` is a whole multiple of ``step`` (up to float noise)."""
    return not is_off_step(value, step)


def is_off_step(value: float, step: float) -> bool:
    """True when ``value`` lies more than float noise (1e-6 steps) away from every multiple of ``step``.

    Truncation rather than ``round`` or ``%``: it compiles to native operations (this runs for every order).
    """
    ratio = abs(value / step)
    frac = ratio - float(int(ratio))
    return 1e-6 < frac < 1.0 - 1e-6


def exact_inverse(step: float) -> float:
    """``1 / step`` when that is a whole number (0.001 -> 1000.0), else 0.0: see ``snap``."""
    inv = float(int(1.0 / step + 0.5))
    return inv if inv > 0.0 and abs(inv * step - 1.0) < 1e-12 else 0.0


def snap(value: float, step: float, inv_step: float) -> float:
    """``value`` on the nearest multiple of ``step``, without float dust (3 x 0.1 -> 0.3, not 0.30000000000000004).

    With ``inv_step = exact_inverse(step)`` the result is the correctly rounded n / inv_step; otherwise the
    slower ``round_to_step``.
    """
    if inv_step == 0.0:
        return round_to_step(value, step)
    scaled = value * inv_step
    n = int(scaled + 0.5) if scaled >= 0.0 else -int(-scaled + 0.5)
    return n / inv_step


def liquidation_price_isolated_classic(
    qty: float,
    entry: float,
    leverage: float,
    is_long: bool,
    tier: RiskTier,
    extra_margin: float,
    inverse: bool,
) -> float:
    """The formula of the rules before 2 Sep 2025 (classic account, older UTA page), IM and MM both on entry:
    linear E -/+ (IM - MM)/q -/+ A/q; inverse long q / (q/E + IM - MM + A), short q / (q/E - IM + MM - A).

    Returns 0.0 for a long that cannot be liquidated and inf for such a short (``rules`` "before_2025_09").
    """
    im = initial_margin(qty, entry, leverage, inverse)
    mm = maintenance_margin(qty, entry, tier, inverse)
    if inverse:
        value = position_value(qty, entry, True)
        if is_long:
            return qty / (value + (im - mm) + extra_margin)
        den = value - (im - mm) - extra_margin
        return qty / den if den > 0.0 else math.inf
    shift = (im - mm) / qty + extra_margin / qty
    return max(entry - shift, 0.0) if is_long else entry + shift


def liquidation_price_cross_entry(
    qty: float, entry: float, is_long: bool, tier: RiskTier, wallet: float, close_fee: float, inverse: bool
) -> float:
    """Cross liquidation with MM on the entry price (rules before 2 Sep 2025): the loss at P equals
    X = W - MM(entry) - f. Linear long E - X/q, short E + X/q; inverse long q / (q/E + X), short q / (q/E - X)
    (inf when no price gets there: a short that cannot be liquidated, or a long already past it)."""
    x = wallet - maintenance_margin(qty, entry, tier, inverse) - close_fee
    if inverse:
        den = qty / entry + x if is_long else qty / entry - x
        return qty / den if den > 0.0 else math.inf
    return max(entry - x / qty, 0.0) if is_long else entry + x / qty


def bankruptcy_price_cross_classic(
    qty: float, entry: float, is_long: bool, free: float, taker: float, inverse: bool
) -> float:
    """The classic contract account's cross bankruptcy price (E33): where the loss plus the taker fee to close
    there uses up ``free`` = wallet - order margin. Inverse long (1 + c) q / (q/E + free), short (1 - c) q /
    (q/E - free); linear long (qE - free) / (q(1 - c)), short (qE + free) / (q(1 + c)). A long no price can
    bankrupt: 0; a short: inf (an inverse long already bankrupt: inf)."""
    if inverse:
        den = qty / entry + free if is_long else qty / entry - free
        if den <= 0.0:
            return math.inf
        return (1.0 + taker) * qty / den if is_long else (1.0 - taker) * qty / den
    if is_long:
        return max((qty * entry - free) / (qty * (1.0 - taker)), 0.0)
    return (qty * entry + free) / (qty * (1.0 + taker))


def liquidation_price_cross_classic(
    qty: float,
    entry: float,
    is_long: bool,
    tier: RiskTier,
    wallet: float,
    order_margin: float,
    taker: float,
    inverse: bool,
) -> float:
    """Cross liquidation of the classic contract account (research notes 1.4, E33): the position may lose
    X = (W - order margin) - MM(entry) - the taker fee to close at the bankruptcy price
    (``bankruptcy_price_cross_classic``). Inverse long q / (q/E + X), short q / (q/E - X) (E33); linear, by
    the same reading (derived): long E - X/q, short E + X/q. 0 / inf as ``liquidation_price_cross_entry``.
    """
    free = wallet - order_margin
    bust = bankruptcy_price_cross_classic(qty, entry, is_long, free, taker, inverse)
    if bust == math.inf:
        return math.inf  # inverse: a long already bankrupt, or a short no price can bankrupt
    if bust <= 0.0:
        return 0.0  # a linear long no price can bankrupt
    fee = position_value(qty, bust, inverse) * taker
    return liquidation_price_cross_entry(qty, entry, is_long, tier, free, fee, inverse)


def funding_interest(quote_rate: float, base_rate: float, fundings_per_day: int) -> float:
    """Interest component per funding interval: (quote rate - base rate) / fundings per day."""
    return (quote_rate - base_rate) / fundings_per_day


def funding_rate(premium: float, interest: float = 0.0001, clamp: float = 0.0005) -> float:
    """Bybit's funding rate: F = P + clamp(I - P, -0.05 %, +0.05 %)."""
    return premium + min(max(interest - premium, -clamp), clamp)


def insurance_fund_flow(qty: float, bankruptcy: float, exit_price: float, is_long: bool) -> float:
    """What a liquidation gives to (> 0) or takes from (< 0) the insurance fund (linear)."""
    return qty * (exit_price - bankruptcy) if is_long else qty * (bankruptcy - exit_price)
