"""Candle matching of the "Backtest Perpetual" venue.

Within one candle the price is assumed to travel open -> low -> high -> close when the candle closes at
or above its open, and open -> high -> low -> close otherwise (the documented OHLC path rule). Every
event on that path — a limit price traded through (or touched), a trigger crossed, the liquidation price
reached by the mark price — happens in the order the path meets it; on an exact tie the liquidation comes
first (worst case for the account), then orders in the order they were placed. Mark-price events follow
the mark candle's own path, segment by segment alongside the trade path.
"""

from __future__ import annotations

import math

from mypy_extensions import mypyc_attr

from kektrade.domain import contract_math as cm
from kektrade.domain.timeframes import align_up
from kektrade.domain.types import (
    Order,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TriggerBy,
    is_conditional,
    is_limit_priced,
    is_listed,
)
from kektrade.exchange.sim.orders import SimOrders
from kektrade.exchange.sim.settings import MarketArrays

FIRST_FUNDING = -1.0  # "not started": any market time, epoch 0 included, is at or after it


@mypyc_attr(allow_interpreted_subclasses=True)
class SimMatching(SimOrders):
    """Steps candles: funding, liquidation and order matching along the intrabar path."""

    _liq: float
    _touch: bool
    _through: float  # how far beyond a limit price the price must go to fill it (the realistic venue's ticks)
    _slip: float
    _next_funding_ms: float
    _const_rate: float | None
    _fund_idx: int
    market: MarketArrays

    def step(self, i: int) -> None:
        """Simulate candle ``i``: funding if due, then liquidation and fills along the candle's path.

        A candle with no open orders and no position costs a few comparisons and the clock update.
        """
        k = self._window_index(i)
        t = self._wt[k]
        if t >= self._next_funding_ms:
            self._funding_due(i, t)
        if self._orders or (
            self.contracts and ((self._wml[k] <= self._liq) if self.contracts > 0.0 else (self._wmh[k] >= self._liq))
        ):
            self._match(i, t)  # a liquidation is timed where the mark path meets it, orders or not
        self._close_candle(i, k)

    # -- funding (settled at the open of the candle after the settlement time) ------------------------

    def _funding_due(self, i: int, t: int) -> None:
        """Settle every funding time up to the open of candle ``i`` with the mark at that open."""
        m = self.market
        interval = self.spec.funding_interval_ms
        while self._next_funding_ms <= t:
            settle_ms = int(self._next_funding_ms) if self._next_funding_ms >= 0 else 0
            if m.funding_time_ms:
                if self._fund_idx >= len(m.funding_time_ms):
                    # the series ends here; paper runs append the exchange's settlements as they are published
                    # (issue 11): look again at the next candle
                    self._next_funding_ms = float(t + 1)
                    break
                if m.funding_time_ms[self._fund_idx] > t:  # looked again and found one that is not due yet
                    self._next_funding_ms = float(m.funding_time_ms[self._fund_idx])
                    break
                settle_ms = m.funding_time_ms[self._fund_idx]
                rate = m.funding_rate[self._fund_idx]
                self._fund_idx += 1
                self._next_funding_ms = (
                    float(m.funding_time_ms[self._fund_idx]) if self._fund_idx < len(m.funding_time_ms) else t + 1.0
                )
            else:
                if self._next_funding_ms == FIRST_FUNDING:  # the first settlement at or after this candle
                    self._next_funding_ms = float(align_up(t, interval))
                    continue
                rate = self._const_rate or 0.0
                self._next_funding_ms = float(settle_ms + interval)
            if self.contracts:
                self._settle_funding(settle_ms, self._mo[i], rate)
                mark = self._mo[i]
                if self.contracts and ((mark <= self._liq) if self.contracts > 0 else (mark >= self._liq)):
                    self._liquidation_event(t)

    # -- per candle --------------------------------------------------------------------------------

    def _match(self, i: int, t: int) -> None:
        k = i - self._w0  # step() loaded the window
        o, h, lo, c = self._wo[k], self._wh[k], self._wl[k], self._wc[k]
        mo, mh, ml, mc = self._wmo[k], self._wmh[k], self._wml[k], self._wmc[k]
        if not self._anything_happens(t, h, lo, mh, ml):
            return
        prev_open = self._now - self._tf if self._i >= 0 else -1
        self._at_open(t, prev_open, o, mo)
        if not self._orders and not (
            self.contracts and ((ml <= self._liq) if self.contracts > 0.0 else (mh >= self._liq))
        ):
            return  # only a position is left and this candle cannot reach its liquidation price
        # the three path segments, unrolled: a tuple indexed in a loop would box every price (compiled)
        p1, p2 = (lo, h) if c >= o else (h, lo)
        m1, m2 = (ml, mh) if mc >= mo else (mh, ml)
        third = self._tf // 3
        self._walk(t, third, o, p1, mo, m1)
        if self._orders or self.contracts:
            self._walk(t + third, third, p1, p2, m1, m2)
        if self._orders or self.contracts:
            self._walk(t + 2 * third, third, p2, c, m2, mc)

    def _anything_happens(self, t: int, h: float, lo: float, mh: float, ml: float) -> bool:
        """Cheap pre-check: can any order or the liquidation price be reached in this candle?"""
        if self.contracts and ((ml <= self._liq) if self.contracts > 0.0 else (mh >= self._liq)):
            return True
        for order in self._orders:
            if order.active_from_ms > t:
                continue
            if order.status is OrderStatus.UNTRIGGERED:
                hi_, lo_ = (mh, ml) if order.trigger_by is TriggerBy.MARK else (h, lo)
                trig = order.trigger_price or 0.0
                if (hi_ >= trig) if order.trigger_direction == 1 else (lo_ <= trig):
                    return True
            elif order.type is OrderType.MARKET or order.time_in_force is not TimeInForce.GTC:
                return True  # market orders fill and IOC/FOK limits fill or expire at this open
            else:
                price = order.price or 0.0
                if (lo <= price) if order.contracts > 0 else (h >= price):
                    return True
        return False

    def _at_open(self, t: int, prev_open: int, o: float, mo: float) -> None:
        """Events at the candle's open: gap liquidation, market orders, arrivals and gapped orders."""
        if self.contracts and ((mo <= self._liq) if self.contracts > 0.0 else (mo >= self._liq)):
            self._liquidation_event(t)
        for order in list(self._orders):
            if order.active_from_ms > t or not is_listed(order, self._orders):
                continue
            arriving = order.active_from_ms > prev_open
            if order.status is OrderStatus.UNTRIGGERED:
                ref = mo if order.trigger_by is TriggerBy.MARK else o
                trig = order.trigger_price or 0.0
                if (ref >= trig) if order.trigger_direction == 1 else (ref <= trig):
                    self._trigger(order, t, o, mo)
            elif order.type is OrderType.MARKET:
                self._take(order, o, t)
            else:
                self._limit_at_open(order, t, o, arriving)

    def _limit_at_open(self, order: Order, t: int, o: float, arriving: bool) -> None:
        """A limit at a price ``o`` it may have passed: arriving and marketable, it takes (post-only:
        cancelled; IOC/FOK that cannot fill expire); resting and passed (by ``_through``), it fills at ``o``
        as maker. Shared by both venues (the realistic one calls it at each path point an order arrives)."""
        price = order.price or 0.0
        buy = order.contracts > 0
        crossed = (o <= price) if buy else (o >= price)
        if arriving and crossed:
            if order.post_only:
                self._finish(order, OrderStatus.CANCELLED, "cancelled", RejectReason.POST_ONLY_WOULD_TAKE.value)
            else:
                self._take(order, o, t)
            return
        gap = self._through
        if self._touch:
            through = (o <= price - gap) if buy else (o >= price + gap)
        else:
            through = (o < price - gap) if buy else (o > price + gap)
        if through:
            self._fill(order, o, True, t)
        elif arriving and order.time_in_force is not TimeInForce.GTC:
            reason = (
                RejectReason.IOC_NOT_FILLED if order.time_in_force is TimeInForce.IOC else RejectReason.FOK_NOT_FILLABLE
            )
            self._finish(order, OrderStatus.CANCELLED, "cancelled", reason.value)

    def _walk(self, t0: int, span: int, a: float, b: float, ma: float, mb: float) -> None:
        """Process the events of one path segment in the order the price meets them.

        The resting-limit case is inlined (it is the market maker's hot path); triggers go through
        ``_event_fraction``. A limit buy is met on a falling segment, a limit sell on a rising one.
        """
        if a == b and ma == mb:
            return
        touch, through, down, up = self._touch, self._through, b < a, b > a
        f0 = 0.0
        while True:
            best: Order | None = None
            best_f = 2.0
            liq_first = False
            if self.contracts:
                f = self._liq_fraction(ma, mb, f0)
                if f is not None:
                    liq_first, best_f = True, f
            for order in self._orders:
                if order.active_from_ms > t0:
                    continue
                if order.status is OrderStatus.UNTRIGGERED or not is_limit_priced(order.type):
                    g = self._event_fraction(order, a, b, ma, mb)
                    if g is None:
                        continue
                elif order.contracts > 0:  # a limit is met where the price gets ``_through`` beyond it
                    price = (order.price or 0.0) - through
                    if not down or price > a or (price < b if touch else price <= b):
                        continue
                    g = (a - price) / (a - b)
                else:
                    price = (order.price or 0.0) + through
                    if not up or price < a or (price > b if touch else price >= b):
                        continue
                    g = (price - a) / (b - a)
                if f0 <= g < best_f:  # ties keep the earlier candidate: liquidation, then placement order
                    best, best_f, liq_first = order, g, False
            if liq_first:
                self._liquidation_event(t0 + int(best_f * span))
            elif best is None:
                return
            else:
                when = t0 + int(best_f * span)
                if best.status is OrderStatus.UNTRIGGERED:
                    self._trigger(best, when, a + best_f * (b - a), ma + best_f * (mb - ma))
                else:
                    self._fill(best, best.price or a + best_f * (b - a), True, when)
            f0 = best_f

    def _liq_fraction(self, ma: float, mb: float, f0: float) -> float | None:
        """Where the mark path meets the liquidation price at or after ``f0`` (f0 if already past)."""
        liq = self._liq
        m0 = ma + f0 * (mb - ma)
        if (m0 <= liq) if self.contracts > 0.0 else (m0 >= liq):
            return f0
        if self.contracts > 0.0:
            return (ma - liq) / (ma - mb) if mb < ma and mb <= liq else None
        return (liq - ma) / (mb - ma) if mb > ma and liq <= mb else None

    def _event_fraction(self, order: Order, a: float, b: float, ma: float, mb: float) -> float | None:
        """Where along the segment the order's trigger or limit price is met (0..1), or None."""
        if order.status is OrderStatus.UNTRIGGERED:
            x0, x1 = (ma, mb) if order.trigger_by is TriggerBy.MARK else (a, b)
            trig = order.trigger_price or 0.0
            if order.trigger_direction == 1:
                return (trig - x0) / (x1 - x0) if x1 > x0 and x0 <= trig <= x1 else None
            return (x0 - trig) / (x0 - x1) if x1 < x0 and x1 <= trig <= x0 else None
        if not is_limit_priced(order.type):
            return None
        touch = self._touch
        if order.contracts > 0:  # buy: the price must come down to it (``_through`` beyond it)
            price = (order.price or 0.0) - self._through
            if b < a and price <= a and (price >= b if touch else price > b):
                return (a - price) / (a - b)
            return None
        price = (order.price or 0.0) + self._through
        if b > a and price >= a and (price <= b if touch else price < b):
            return (price - a) / (b - a)
        return None

    # -- events ------------------------------------------------------------------------------------

    def _slipped(self, price: float, buy: bool) -> float:
        if not self._slip:
            return price
        raw = price * (1.0 + self._slip) if buy else price * (1.0 - self._slip)
        tick = self._tick
        steps = math.ceil(raw / tick - 1e-9) if buy else math.floor(raw / tick + 1e-9)
        return cm.round_to_step(steps * tick, tick)

    def _trigger(self, order: Order, t: int, price: float, mark: float) -> None:
        """A conditional order fires: market types fill now, limit types start resting (or fill)."""
        order.status = OrderStatus.NEW
        order.updated_ms = t
        self._record_order(order, "triggered")
        if is_conditional(order.type) and not order.reduce_only:
            ref = order.price if order.price is not None else price
            reason, cost = self._margin_check(order, ref, mark, order)
            if reason is not None:
                self._finish(order, OrderStatus.CANCELLED, "cancelled", reason.value)
                return
            if is_limit_priced(order.type):
                self._reserve(order, cost)
        if is_limit_priced(order.type):
            limit = order.price or 0.0
            if (limit >= price) if order.contracts > 0 else (limit <= price):
                self._take(order, price, t)
            return
        self._take(order, price, t)

    def _take(self, order: Order, x: float, t: int) -> None:
        """The taker-price hook: fill as taker where the price is ``x`` (market types slipped by
        ``slippage_bps``, limit types at ``x``). The realistic venue adds size-dependent impact here."""
        price = x if is_limit_priced(order.type) else self._slipped(x, order.contracts > 0)
        self._fill(order, price, False, t)

    def _fill(self, order: Order, price: float, is_maker: bool, t: int) -> None:
        """Fill an order completely at ``price`` (reduce-only orders are cut to the position)."""
        qty = order.remaining
        if order.reduce_only:
            pos = self.contracts
            if pos == 0.0 or (pos > 0) == (qty > 0):
                self._finish(order, OrderStatus.CANCELLED, "cancelled", RejectReason.REDUCE_ONLY_WOULD_INCREASE.value)
                return
            qty = math.copysign(min(abs(qty), abs(pos)), qty)
        self._release(order)
        before = self.contracts
        fill = self._apply_trade(qty, price, self._maker if is_maker else self._taker, t, order.id, is_maker)
        done = order.filled + qty
        order.avg_fill_price = (order.avg_fill_price * order.filled + price * qty) / done if done else price
        order.filled = done
        order.fee_paid += fill.fee
        self._finish(order, OrderStatus.FILLED, "filled")
        if self.contracts == 0.0:
            self._drop_reduce_only(t)
        if self._orders:
            self._reprice_orders(True, before)

    def _drop_reduce_only(self, t: int) -> None:
        """Once flat, reduce-only orders that are live on the book have nothing left to reduce."""
        for other in list(self._orders):
            if other.reduce_only and other.status is not OrderStatus.UNTRIGGERED:
                self._finish(other, OrderStatus.CANCELLED, "cancelled", RejectReason.REDUCE_ONLY_NO_POSITION.value)

    def _liquidation_event(self, t: int) -> None:
        """Liquidation: cancel orders that would increase the position, then close it at bankruptcy."""
        pos = self.contracts
        for order in list(self._orders):
            if not order.reduce_only and (order.contracts > 0) == (pos > 0):
                self._finish(order, OrderStatus.CANCELLED, "cancelled", RejectReason.LIQUIDATED.value)
        self._liquidate(t)
        self._drop_reduce_only(t)
        self._reprice_orders(True, pos)
