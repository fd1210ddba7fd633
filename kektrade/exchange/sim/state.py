"""Export and restore the resumable state of a ``SimExchange`` (paper runs continue after a restart).

The state is a JSON-serialisable dict: wallet, position, entry, added margin, liquidation and bankruptcy
prices, cumulative fees/funding/realized PnL, leverage and margin mode, open orders with their margin
reservations, the order id counter and the funding clock. Fills are history, not state: they live in the
run database and are handed back separately. ``restore_state`` sets the simulator's attributes so that
``export_state`` afterwards returns the same dict.
"""

from __future__ import annotations

import math
from typing import Any

from kektrade.domain.types import ORDER_FIELDS, MarginMode, Order, OrderStatus, OrderType, TimeInForce, TriggerBy
from kektrade.exchange.sim.exchange import SimExchange

STATE_VERSION = 1

#: Simulator attributes stored as plain numbers, by state key.
_NUMBERS = {
    "wallet": "_wallet",
    "contracts": "contracts",
    "entry": "_entry",
    "extra_margin": "_extra",
    "liquidation_price": "_liq",
    "bankruptcy_price": "_bust",
    "current_realized": "_cur_realized",
    "cumulative_fees": "_cum_fees",
    "cumulative_funding": "_cum_funding",
    "cumulative_realized": "_cum_realized",
    "order_margin": "_order_margin",
    "isolated_margin": "_iso_margin",
    "leverage": "_leverage",
    "initial_balance": "initial_balance",
}


class StateError(ValueError):
    """A saved state that cannot be restored (names the key)."""


def _number(value: float) -> float | str:
    """A float for JSON: infinities as the strings "inf"/"-inf" (strict JSON has no Infinity)."""
    return str(value) if math.isinf(value) else float(value)


def _float(state: dict[str, Any], key: str) -> float:
    try:
        return float(state[key])
    except KeyError:
        raise StateError(f"simulator state: missing {key!r}") from None
    except (TypeError, ValueError):
        raise StateError(f"simulator state: {key!r} is not a number (got {state[key]!r})") from None


def order_to_dict(order: Order) -> dict[str, Any]:
    """An order as plain JSON values (enums as their strings)."""
    out: dict[str, Any] = {}
    for name in ORDER_FIELDS:
        value = getattr(order, name)
        out[name] = value.value if hasattr(value, "value") else value
    return out


def order_from_dict(data: dict[str, Any]) -> Order:
    """The inverse of ``order_to_dict``; StateError naming the field on bad input."""
    try:
        values = {name: data[name] for name in ORDER_FIELDS}
        values["type"] = OrderType(values["type"])
        values["trigger_by"] = TriggerBy(values["trigger_by"])
        values["time_in_force"] = TimeInForce(values["time_in_force"])
        values["status"] = OrderStatus(values["status"])
    except KeyError as exc:
        raise StateError(f"simulator state: order lacks {exc.args[0]!r}") from None
    except ValueError as exc:
        raise StateError(f"simulator state: order {data.get('id')!r}: {exc}") from None
    return Order(**values)


def export_state(sim: SimExchange) -> dict[str, Any]:
    """The simulator's resumable state as a JSON-serialisable dict."""
    state: dict[str, Any] = {"version": STATE_VERSION}
    for key, attr in _NUMBERS.items():
        state[key] = _number(getattr(sim, attr))
    state["margin_mode"] = sim._margin_mode.value
    state["next_order_id"] = sim._next_id
    state["orders"] = [order_to_dict(o) for o in sim._orders]
    state["reserved"] = {o.id: float(o._reservation) for o in sim._orders if o._reservation}
    state["next_funding_ms"] = _number(sim._next_funding_ms)
    state["last_candle_ms"] = sim.market.time_ms[sim._i] if sim._i >= 0 else None
    return state


def restore_state(sim: SimExchange, state: dict[str, Any]) -> None:
    """Set the simulator's attributes from ``export_state`` output (the candle clock is left to the caller)."""
    if state.get("version") != STATE_VERSION:
        raise StateError(f"simulator state: version {state.get('version')!r} (this kektrade reads {STATE_VERSION})")
    numbers = {attr: _float(state, key) for key, attr in _NUMBERS.items()}
    try:
        mode = MarginMode(state["margin_mode"])
        next_id = int(state["next_order_id"])
        reserved = {str(k): float(v) for k, v in dict(state["reserved"]).items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"simulator state: bad or missing margin_mode/next_order_id/reserved ({exc})") from None
    orders = [order_from_dict(o) for o in state.get("orders") or []]
    for attr, value in numbers.items():
        setattr(sim, attr, value)
    sim._margin_mode = mode
    sim._next_id = next_id
    for order in orders:
        order._reservation = reserved.get(order.id, 0.0)
    sim._orders = orders
    sim._reserved = sum(1 for order in orders if order._reservation)
    sim._next_funding_ms = _float(state, "next_funding_ms")
