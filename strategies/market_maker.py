"""A market maker: post-only quotes on both sides of an EMA fair price, skewed against inventory.

Every candle: fair = EMA(ema) of the close; the bid sits ``half_spread_bps`` below it and the ask as far
above, and both move down by ``skew x inventory x half-spread`` (inventory = position / cap, in -1..1),
so a long book quotes lower to sell down its position and a short one quotes higher. Quotes are rounded
to the tick on the passive side (bid down, ask up) and never cross the last close (a post-only order
that would take liquidity is refused). The cap is ``cap_pct`` of the balance (in contracts, at the
leverage): a quote never takes the position past it, so there is no bid at +cap and no ask at -cap.
Live quotes are amended in place (``edit_order``); a refused amendment falls back to cancel + place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pandas_ta as ta

from kektrade.domain.contract_math import floor_to_step, round_to_step
from kektrade.domain.types import Order, OrderType
from kektrade.exchange.subaccount import OrderNotOpenError, Subaccount
from kektrade.strategy.base import OptimizeableStrategy

BID, ASK = "bid", "ask"


def floor_tick(price: float, tick: float) -> float:
    """The highest multiple of ``tick`` at or below ``price`` (a bid never rounds up)."""
    return round_to_step(math.floor(price / tick + 1e-9) * tick, tick)


def ceil_tick(price: float, tick: float) -> float:
    """The lowest multiple of ``tick`` at or above ``price`` (an ask never rounds down)."""
    return round_to_step(math.ceil(price / tick - 1e-9) * tick, tick)


def quote_prices(
    fair: float, last: float, half_spread_bps: float, skew: float, inventory: float, tick: float
) -> tuple[float, float]:
    """(bid, ask): fair -/+ half-spread, shifted by ``-skew x inventory x half-spread``, passive to ``last``.

    ``inventory`` is position / cap clipped to -1..1; the bid is at most one tick below ``last`` and the
    ask at least one tick above it, so both stay post-only.
    """
    half = half_spread_bps / 10_000.0
    centre = fair * (1.0 - skew * inventory * half)
    bid = floor_tick(min(centre - fair * half, last - tick), tick)
    ask = ceil_tick(max(centre + fair * half, last + tick), tick)
    return bid, ask


class MarketMakerStrategy(OptimizeableStrategy):
    """Two post-only quotes around an EMA, skewed against inventory, with a position cap."""

    startup_candle_count = 60

    def get_search_space(self) -> dict[str, list[Any]]:
        """Half-spread and skew to try; fair-price EMA, cap and quote size fixed by default."""
        return {
            "half_spread_bps": [5, 10, 20],
            "skew": [0.0, 0.5, 1.0],
            "cap_pct": [0.2],
            "quote_pct": [0.02],
            "ema": [20],
        }

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: Mapping[str, Any], parameters: Mapping[str, list[Any]]
    ) -> pd.DataFrame:
        """One fair-price column per EMA length (``ema<n>``)."""
        close = dataframe["close"]
        for n in parameters["ema"]:
            dataframe[f"ema{n}"] = ta.ema(close, length=int(n))
        return dataframe

    def tick(
        self,
        dataframe: pd.DataFrame,
        index: int,
        metadata: Mapping[str, Any],
        parameter: Mapping[str, Any],
        variables: dict[str, Any],
        account: Subaccount,
    ) -> None:
        """Re-quote both sides: amend the live quotes, place missing ones, pull a side at the cap."""
        cols = variables.get("cols")
        if cols is None:
            cols = variables["cols"] = (self.c.close, self.c[f"ema{parameter['ema']}"])
        close, ema = cols
        fair, last = ema[index], close[index]
        if math.isnan(fair):  # the EMA is still warming up
            return
        spec = account.spec
        pos = account.contracts
        cap = account.get_contracts_pct_of_balance(parameter["cap_pct"], fair)
        size = account.get_contracts_pct_of_balance(parameter["quote_pct"], fair)
        inventory = max(-1.0, min(1.0, pos / cap)) if cap > 0.0 else 0.0
        bid, ask = quote_prices(fair, last, parameter["half_spread_bps"], parameter["skew"], inventory, spec.tick_size)
        bid_qty = _room(size, cap - pos, spec.lot_step, spec.min_qty)
        ask_qty = _room(size, cap + pos, spec.lot_step, spec.min_qty)
        live = {order.id: order for order in account.get_open_orders()}
        _requote(account, live, variables, BID, bid_qty, bid)
        _requote(account, live, variables, ASK, -ask_qty, ask)

    def get_plot_indicators(self, dataframe: pd.DataFrame) -> list[dict[str, Any]]:
        """The fair-price EMAs on the price chart."""
        return [
            {"name": c, "overlay": True, "scatter": False, "color": "orange"}
            for c in dataframe.columns
            if c.startswith("ema")
        ]


def _room(size: float, room: float, lot_step: float, min_qty: float) -> float:
    """The quote size: ``size`` cut to the room left under the cap, 0 when below the minimum quantity."""
    qty = min(size, floor_to_step(room, lot_step)) if room > 0.0 else 0.0
    return qty if qty >= min_qty else 0.0


def _requote(
    account: Subaccount, live: dict[str, Order], variables: dict[str, Any], key: str, qty: float, price: float
) -> None:
    """Keep one post-only quote ``key`` at (qty, price): amend it, or cancel and place when refused."""
    order = live.get(variables.get(key) or "")
    if qty == 0.0:
        if order is not None:
            account.cancel_order(order.id)
        variables[key] = None
        return
    if order is not None:
        if order.price == price and order.contracts == qty:
            return
        try:
            amended: Order | None = account.edit_order(order.id, price=price, contracts=qty)
        except OrderNotOpenError:  # filled or cancelled at the venue since the last tick
            amended = None
        if amended is not None and amended.reject_reason is None:
            return
        account.cancel_order(order.id)
    placed = account.open_order(OrderType.LIMIT, qty, price, post_only=True)
    variables[key] = placed.id if placed.is_open else None
