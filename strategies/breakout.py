"""A Donchian channel breakout with ATR brackets, for linear and inverse perpetuals.

Flat: a stop-market buy one tick above the highest high of the last ``channel`` candles and a
stop-market sell one tick below the lowest low, both for ``stake`` of the balance; they are amended as
the channel moves. In a position (seen at the tick after the entry filled): the other entry is
cancelled and two reduce-only exits are placed from the entry price: a take-profit-market
``atr_mult_tp`` x ATR away and a stop-market ``atr_mult_sl`` x ATR away (conditional reduce-only orders
are accepted by the venue whatever the position). If the close already passed either level, the
position is closed at market instead. Back to flat: the leftover exit is cancelled (untriggered
reduce-only orders stay on the book after the position is gone) and the entry stops come back.

Sizes come from ``account.get_contracts_pct_of_balance`` at the trigger price: coin for linear pairs,
USD contracts for inverse pairs, so the same code trades both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pandas_ta as ta

from kektrade.domain.contract_math import round_to_step
from kektrade.domain.types import Order, OrderType
from kektrade.exchange.subaccount import OrderNotOpenError, Subaccount
from kektrade.strategy.base import OptimizeableStrategy

ENTRY_KEYS = ("long", "short")
EXIT_KEYS = ("tp", "sl")


def floor_tick(price: float, tick: float) -> float:
    """The highest multiple of ``tick`` at or below ``price``."""
    return round_to_step(math.floor(price / tick + 1e-9) * tick, tick)


def ceil_tick(price: float, tick: float) -> float:
    """The lowest multiple of ``tick`` at or above ``price``."""
    return round_to_step(math.ceil(price / tick - 1e-9) * tick, tick)


def bracket(entry: float, long: bool, atr: float, tp_mult: float, sl_mult: float, tick: float) -> tuple[float, float]:
    """(take-profit, stop-loss) triggers of a position entered at ``entry``, rounded away from the entry."""
    if long:
        return ceil_tick(entry + tp_mult * atr, tick), floor_tick(entry - sl_mult * atr, tick)
    return floor_tick(entry - tp_mult * atr, tick), ceil_tick(entry + sl_mult * atr, tick)


class BreakoutStrategy(OptimizeableStrategy):
    """Stop entries outside the Donchian channel; ATR take-profit and stop-loss once in a position."""

    startup_candle_count = 120  # ATR(14), Wilder-smoothed, settles to 1e-4 after ~101 candles (kektrade check)

    def get_search_space(self) -> dict[str, list[Any]]:
        """Channel length and bracket multiples to try; stake and ATR length fixed by default."""
        return {
            "channel": [20, 55],
            "atr_mult_tp": [2, 3],
            "atr_mult_sl": [1, 1.5],
            "stake": [0.5],
            "atr": [14],
        }

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: Mapping[str, Any], parameters: Mapping[str, list[Any]]
    ) -> pd.DataFrame:
        """Channel bounds per length (``dc_high<n>``, ``dc_low<n>``, candles up to and including i)
        and ATR per length (``atr<n>``)."""
        high, low, close = dataframe["high"], dataframe["low"], dataframe["close"]
        for n in parameters["channel"]:
            dataframe[f"dc_high{n}"] = high.rolling(int(n)).max()
            dataframe[f"dc_low{n}"] = low.rolling(int(n)).min()
        for n in parameters["atr"]:
            dataframe[f"atr{n}"] = ta.atr(high, low, close, length=int(n))
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
        """Flat: keep the two entry stops at the channel. In a position: keep the two exits."""
        cols = variables.get("cols")
        if cols is None:
            c, n = self.c, parameter["channel"]
            cols = variables["cols"] = (
                c.close,
                c[f"dc_high{n}"],
                c[f"dc_low{n}"],
                c[f"atr{parameter['atr']}"],
            )
        close, upper, lower, atr = cols
        live = {order.id: order for order in account.get_open_orders()}
        if account.contracts == 0.0:
            _cancel(account, live, variables, EXIT_KEYS)
            hi, lo = upper[index], lower[index]
            if not (math.isnan(hi) or math.isnan(lo)):  # the channel is warm
                tick = account.spec.tick_size
                _keep_entry(account, live, variables, "long", ceil_tick(hi + tick, tick), parameter["stake"])
                _keep_entry(account, live, variables, "short", floor_tick(lo - tick, tick), parameter["stake"])
        else:
            _cancel(account, live, variables, ENTRY_KEYS)
            missing = [k for k in EXIT_KEYS if variables.get(k) not in live]
            if missing:
                _place_exits(account, variables, parameter, close[index], atr[index], missing)

    def get_plot_indicators(self, dataframe: pd.DataFrame) -> list[dict[str, Any]]:
        """The channel bounds on the price chart, the ATR below it."""
        return [
            {
                "name": c,
                "overlay": c.startswith("dc_"),
                "scatter": False,
                "color": "green" if c.startswith("dc_high") else "red" if c.startswith("dc_low") else "grey",
            }
            for c in dataframe.columns
            if c.startswith(("dc_high", "dc_low", "atr"))
        ]


def _cancel(account: Subaccount, live: dict[str, Order], variables: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Cancel the orders remembered under ``keys`` that are still open, and forget them."""
    for key in keys:
        order_id = variables.get(key)
        if order_id is not None and order_id in live:
            account.cancel_order(order_id)
        variables[key] = None


def _keep_entry(
    account: Subaccount,
    live: dict[str, Order],
    variables: dict[str, Any],
    key: str,
    trigger: float,
    stake: float,
) -> None:
    """Keep the entry stop ``key`` at ``trigger``: amend it when the channel moved, else place it."""
    qty = account.get_contracts_pct_of_balance(stake, trigger)
    if qty <= 0.0:
        return
    qty = qty if key == "long" else -qty
    order = live.get(variables.get(key) or "")
    if order is not None:
        if order.trigger_price == trigger and order.contracts == qty:
            return
        try:
            amended: Order | None = account.edit_order(order.id, contracts=qty, trigger_price=trigger)
        except OrderNotOpenError:  # filled or cancelled at the venue since the last tick
            amended = None
        if amended is not None and amended.reject_reason is None:
            return
        account.cancel_order(order.id)
    placed = account.open_order(OrderType.STOP_MARKET, qty, trigger_price=trigger)
    variables[key] = placed.id if placed.is_open else None


def _place_exits(
    account: Subaccount,
    variables: dict[str, Any],
    parameter: Mapping[str, Any],
    last: float,
    atr: float,
    missing: list[str],
) -> None:
    """Place the missing reduce-only exits (``tp``, ``sl``) of the position, or close it at market."""
    position = account.get_position()
    long = position.contracts > 0.0
    if math.isnan(atr) or atr <= 0.0:  # no ATR yet: nothing sensible to bracket with
        account.close_position()
        return
    tp, sl = bracket(
        position.entry_price,
        long,
        atr,
        parameter["atr_mult_tp"],
        parameter["atr_mult_sl"],
        account.spec.tick_size,
    )
    passed = (last >= tp or last <= sl) if long else (last <= tp or last >= sl)
    if passed:  # the entry candle already ran through a bracket level: take the exit now
        account.close_position()
        return
    qty = round_to_step(-position.contracts, account.spec.lot_step)  # no float dust in the order size
    for key in missing:
        kind, trigger = (OrderType.TAKE_PROFIT_MARKET, tp) if key == "tp" else (OrderType.STOP_MARKET, sl)
        placed = account.open_order(kind, qty, trigger_price=trigger, reduce_only=True)
        variables[key] = placed.id if placed.is_open else None
