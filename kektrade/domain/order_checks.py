"""Order-input validation shared by every venue: the simulator and the live ccxt adapter refuse the same
inputs with the same reasons.

Only what the order itself says is checked here (finite numbers, sizes, lot and tick multiples, a price
or trigger where the type needs one). Checks that need the market or the account (post-only would take,
reduce-only direction, trigger side, margin) stay with the venue. Nothing raises: a bad input is a
``RejectReason``. Compiled with mypyc (every simulated order passes through it).
"""

from __future__ import annotations

from kektrade.domain.contract_math import is_off_step
from kektrade.domain.types import OrderType, RejectReason, is_conditional, is_limit_priced


def order_input_problem(
    order_type: OrderType,
    contracts: float,
    price: float | None,
    trigger_price: float | None,
    lot_step: float,
    tick_size: float,
    min_qty: float,
    max_qty: float,
) -> RejectReason | None:
    """Why an order with these inputs must be refused, or None when its inputs are acceptable.

    Quantities must be finite, non-zero, within [min_qty, max_qty] and whole multiples of the lot step
    (never truncated: 1000.5 with a lot of 1 is refused, not sent as 1000). Limit-priced types need a
    finite positive price on the tick; conditional types a finite positive trigger on the tick.
    """
    if contracts - contracts != 0.0:  # NaN or infinite (arithmetic: native in the compiled build)
        return RejectReason.QTY_NOT_FINITE
    qty = abs(contracts)
    if qty == 0.0:
        return RejectReason.ZERO_QTY
    if qty < min_qty - 1e-12:
        return RejectReason.BELOW_MIN_QTY
    if qty > max_qty + 1e-12:
        return RejectReason.ABOVE_MAX_QTY
    if is_off_step(qty, lot_step):
        return RejectReason.NOT_LOT_MULTIPLE
    if is_limit_priced(order_type):
        if price is None or not (price > 0.0 and price - price == 0.0):  # NaN fails both
            return RejectReason.INVALID_PRICE
        if is_off_step(price, tick_size):
            return RejectReason.NOT_TICK_MULTIPLE
    if not is_conditional(order_type):
        return None
    trigger = trigger_price
    if trigger is None or not (trigger > 0.0 and trigger - trigger == 0.0) or is_off_step(trigger, tick_size):
        return RejectReason.INVALID_TRIGGER
    return None
