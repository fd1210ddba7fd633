"""Candle matching of both simulated venues: one routine (``SimMatching._match``) with small hooks.

The "Backtest Perpetual" venue uses the hooks as defined here. Within one candle the price is assumed to
travel open -> low -> high -> close when the candle closes at or above its open, and open -> high -> low
-> close otherwise (the documented OHLC path rule). Every event on that path — a limit price traded
through (or touched), a trigger crossed, the liquidation price reached by the mark price — happens in the
order the path meets it; on an exact tie the liquidation comes first (worst case for the account), then
orders in the order they were placed. Mark-price events follow the mark candle's own path, segment by
segment alongside the trade path. The "Backtest Perpetual Realistic" venue (``realistic.py``) overrides
only the hooks: a seeded path of more points, a taker price with size impact, a maker fill quantity
capped by volume, and requests that land with latency.
"""

from __future__ import annotations

import bisect
import math
from array import array
from typing import Final

import numpy as np
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

QUIET_SPAN: Final = 4096  # candles looked ahead at once for quiet ones at most (SimMatching._quiet_from)
QUIET_MIN_SPAN: Final = 64  # ... and after an order
QUIET_AFTER: Final = 8  # ... after this many candles in a row without orders
FIRST_FUNDING: Final = -1.0  # "not started": any market time, epoch 0 included, is at or after it

#: A request on its way to the venue: (reaches it at, order, amendment (price, contracts, trigger) | None:
#: a cancel).
Pending = tuple[int, Order, tuple[float | None, float | None, float | None] | None]


@mypyc_attr(allow_interpreted_subclasses=True)
class SimMatching(SimOrders):
    """Steps candles: funding, liquidation and order matching along the intrabar path."""

    _liq: float
    _touch: bool
    _through: float  # how far beyond a limit price the price must go to fill it (the realistic venue's ticks)
    _slip: float
    _points: int  # path points per candle (basic venue: 4, the OHLC path)
    _pending: list[Pending]  # cancels and amendments on their way (the basic venue applies them at once)
    _exhausted: set[str]  # resting limits that have used this candle's fill quantity
    # the basic venue's path: four points as fields (times: _t0 + p * timeframe / 3)
    _t0: int
    _x0: float
    _x1: float
    _x2: float
    _x3: float
    _m0: float
    _m1: float
    _m2: float
    _m3: float
    _next_funding_ms: float
    _const_rate: float | None
    _fund_idx: int
    # what the quiet stretch was found for (step compares them: a change ends it)
    _q_contracts: float = 0.0
    _q_liq: float = 0.0
    _q_fund: float = 0.0
    _idle: int = 0  # candles in a row simulated in full that ended without orders
    _q_span: int = QUIET_MIN_SPAN  # how far the next look-ahead goes
    market: MarketArrays

    def step(self, i: int) -> None:
        """Simulate candle ``i``: funding if due, then liquidation and fills along the candle's path.

        A quiet candle (``_quiet``) only moves the clock: nothing else would happen on it.
        """
        if self._quiet(i):
            self._i = i
            return
        k = self._window_index(i)
        t: int = self._wt[k]
        busy = bool(self._orders)  # a market order filled below still makes this a candle with orders
        if t >= self._next_funding_ms:
            self._funding_due(i, t)
        if self._orders or (
            self.contracts and ((self._wml[k] <= self._liq) if self.contracts > 0.0 else (self._wmh[k] >= self._liq))
        ):
            self._match(i, t)  # a liquidation is timed where the mark path meets it, orders or not
        self._close_candle(i, k)
        if self._pending:  # requests (realistic venue: sent with latency) that land by the next open
            self._apply_pending(t + self._tf)
        if busy or self._orders or self._pending:
            self._idle = 0
            self._q_span = QUIET_MIN_SPAN
        else:
            self._idle += 1
            if self._idle >= QUIET_AFTER:  # the look-ahead pays only when orders are rare (it costs a few µs)
                self._quiet_from(i + 1)

    def _quiet(self, i: int) -> bool:
        """Candle i is quiet: no orders or requests, and inside the stretch ``_quiet_from`` found where neither
        funding nor the liquidation price can come (for the same position, liquidation price and funding
        clock): stepping it only moves the clock."""
        return (
            i < self._quiet_until
            and not self._orders
            and not self._pending
            and self.contracts == self._q_contracts
            and self._liq == self._q_liq
            and self._next_funding_ms == self._q_fund
        )

    def step_to(self, i: int, end: int) -> int:
        """Step candles from ``i`` on, up to ``end`` (exclusive), and stop after the first candle on which the
        venue changed the account (``_changes``: an order event or a liquidation); returns that candle, or
        ``end`` when none did. The kernel's way through the candles a strategy's tick schedule skips.

        Candles on which ``step`` would only move the clock are crossed at once: a quiet stretch (``step``'s
        first test), and with no order on the book the candles before the next funding settlement and before
        the mark path reaches the liquidation price (``_calm_until``). If a step raises, the candles before
        it are done (``candle_index``), as with ``step``.
        """
        while i < end:
            if self._quiet(i):
                i = min(self._quiet_until, end)
                self._i = i - 1
                continue
            if not self._orders and not self._pending:
                calm = self._calm_until(i, end)
                if calm > i:
                    self._i = calm - 1
                    i = calm
                    continue
            before = self._changes
            self.step(i)
            if self._changes != before:
                return i
            i += 1
        return end

    def _calm_until(self, i: int, end: int) -> int:
        """With no order or request on the book: the first candle in [i, end) on which ``step`` would do more
        than move the clock (a funding settlement due, the mark path reaching the liquidation price).

        Inside the column window it reads the window's vectors (compiled, a few ns a candle); beyond it, the
        columns in bulk as ``_quiet_from`` does (``_calm_in_bulk``): loading windows just to look would copy
        every column.
        """
        k = k0 = i - self._w0
        due, pos, liq = self._next_funding_ms, self.contracts, self._liq
        if 0 <= k < self._w1 - self._w0:
            stop = min(k + end - i, len(self._wt))
            wt = self._wt
            if pos > 0.0:
                wml = self._wml
                while k < stop and float(wt[k]) < due and wml[k] > liq:
                    k += 1
            elif pos < 0.0:
                wmh = self._wmh
                while k < stop and float(wt[k]) < due and wmh[k] < liq:
                    k += 1
            else:
                while k < stop and float(wt[k]) < due:
                    k += 1
            if k < stop or k == k0 + end - i:
                return i + (k - k0)
            i += k - k0  # the window ended before ``end``: the rest in bulk
        return self._calm_in_bulk(i, end)

    def _calm_in_bulk(self, start: int, end: int) -> int:
        """The first candle in [start, end) with a funding settlement due or whose mark path reaches the
        liquidation price (``end``: none), looked up on the whole columns: a bisection of the open times, a
        scan of the mark lows or highs (``_first_liquidation_candle``)."""
        if start < end and self._t[end - 1] >= self._next_funding_ms:  # one read rules a settlement out
            end = bisect.bisect_left(self._t, self._next_funding_ms, start, end)
        if self.contracts and start < end:
            end = self._first_liquidation_candle(start, end)
        return end

    def _quiet_from(self, start: int) -> None:
        """Mark the candles from ``start`` on that are quiet while no order rests: those before the next
        funding settlement and before the first whose mark price path reaches the liquidation price (the
        checks ``step`` makes), looked up in bulk rather than candle by candle."""
        # look as far ahead as the last stretch lasted, doubled (orders end stretches early: no use looking
        # thousands of candles ahead of a strategy that trades every hundred)
        span = self._q_span
        self._q_span = min(2 * span, QUIET_SPAN)
        self._quiet_until = self._calm_in_bulk(start, min(len(self._t), start + span))
        self._q_contracts, self._q_liq, self._q_fund = self.contracts, self._liq, self._next_funding_ms

    def _first_liquidation_candle(self, start: int, end: int) -> int:
        """The first candle in [start, end) whose mark path reaches the liquidation price (``end``: none).

        A list column is scanned here, compiled (a read is a few instructions); an ``array.array`` (the
        engine's columns) in NumPy over its buffer, without a copy (a compiled read would box every value).
        """
        long = self.contracts > 0.0
        liq = self._liq
        if (liq <= 0.0) if long else (liq == math.inf):  # a position no price can liquidate (a 1x long)
            return end
        column = self._ml if long else self._mh
        if isinstance(column, list):
            values: list[float] = column
            k = start
            if long:
                while k < end and values[k] > liq:
                    k += 1
            else:
                while k < end and values[k] < liq:
                    k += 1
            return k  # a NaN stops the scan early: safe, that candle is simulated in full
        if isinstance(column, array) and column.typecode == "d":
            window = np.frombuffer(column, dtype=np.float64, count=end - start, offset=start * 8)
        else:
            window = np.asarray(column[start:end], dtype=np.float64)
        reached = window <= liq if long else window >= liq
        first = int(reached.argmax())
        return start + first if reached[first] else end

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

    # -- per candle: the one matching routine of both venues -------------------------------------------
    #
    # Both venues run this routine; the realistic venue only overrides the hooks marked [hook]:
    #   _may_happen   the cheap pre-check (the realistic venue adds amendments that land in the candle)
    #   _make_path    the intrabar path points (basic: the 4-point OHLC rule; realistic: a seeded path)
    #   _at_point     requests and orders reaching the venue at a path point (latency / arrival)
    #   _taker_price  the price of a taker fill (basic: slippage; realistic: slippage + size impact)
    #   _maker_qty    how much of a resting limit fills (basic: all; realistic: a share of the volume)
    # so a rule fixed here (arrival, gaps, path order, ties, reduce-only cuts) is fixed for both venues.

    def _match(self, i: int, t: int) -> None:
        """Match candle ``i`` (open time ``t``) along its intrabar path.

        1. Pre-check: nothing can fill, fire or liquidate in this candle -> done (most quiet candles).
        2. The path: ``_points`` points of (time, last price, mark price), open first, close last.
        3. At the open, the mark may have gapped through the liquidation price: liquidate first.
        4. At each point but the last: requests and orders that reach the venue by then (arrivals meet the
           price there: marketable ones take, post-only ones that would take are cancelled; at the open,
           resting orders the gap went through fill at the open as maker), then the segment to the next
           point, where liquidation, triggers and resting limits happen in the order the price meets them.
        """
        k = i - self._w0  # step() loaded the window
        n, tf = self._points, self._tf
        last_start = t + ((n - 2) * tf) // (n - 1)  # the last point that starts a segment
        if not self._may_happen(k, last_start):
            return
        self._make_path(i, k, t)
        if self.contracts and ((self._wmo[k] <= self._liq) if self.contracts > 0.0 else (self._wmo[k] >= self._liq)):
            self._liquidation_event(t)
        mh, ml = self._wmh[k], self._wml[k]
        prev = last_start - tf  # orders active after the previous candle's last point arrive at this open
        tp, x, m = t, self._last_at(0), self._mark_at(0)
        for p in range(n - 1):
            if not self._orders and not (
                self.contracts and ((ml <= self._liq) if self.contracts > 0.0 else (mh >= self._liq))
            ):
                return  # nothing on the book, and the position (if any) cannot be liquidated in this candle
            self._at_point(p, tp, prev, x, m)
            t1, x1, m1 = self._time_at(p + 1), self._last_at(p + 1), self._mark_at(p + 1)
            if self._orders or self.contracts:
                self._walk(tp, t1 - tp, x, x1, m, m1)
            prev, tp, x, m = tp, t1, x1, m1

    def _may_happen(self, k: int, last_start: int) -> bool:
        """[hook] Cheap pre-check of the candle at window place ``k``: can anything happen by ``last_start``?"""
        return self._anything_happens(last_start, self._wh[k], self._wl[k], self._wmh[k], self._wml[k])

    def _make_path(self, i: int, k: int, t: int) -> None:
        """[hook] The intrabar path of candle ``i``: the OHLC rule (open, low, high, close when the candle
        closes at or above its open, else open, high, low, close); the mark candle follows its own."""
        o, h, lo, c = self._wo[k], self._wh[k], self._wl[k], self._wc[k]
        mo, mh, ml, mc = self._wmo[k], self._wmh[k], self._wml[k], self._wmc[k]
        # four fields, not a list: a list would box every price (compiled)
        self._x0, self._x3 = o, c
        self._x1, self._x2 = (lo, h) if c >= o else (h, lo)
        self._m0, self._m3 = mo, mc
        self._m1, self._m2 = (ml, mh) if mc >= mo else (mh, ml)
        self._t0 = t

    def _time_at(self, p: int) -> int:
        """[hook] Time of path point ``p``: points evenly spread from the open to the close."""
        return self._t0 + (p * self._tf) // 3

    def _last_at(self, p: int) -> float:
        """[hook] Trade price at path point ``p``."""
        return self._x0 if p == 0 else (self._x1 if p == 1 else (self._x2 if p == 2 else self._x3))

    def _mark_at(self, p: int) -> float:
        """[hook] Mark price at path point ``p``."""
        return self._m0 if p == 0 else (self._m1 if p == 1 else (self._m2 if p == 2 else self._m3))

    def _anything_happens(self, t: int, h: float, lo: float, mh: float, ml: float) -> bool:
        """Can any order active by ``t``, or the liquidation price, be reached in this candle?"""
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
                return True  # market orders fill and IOC/FOK limits fill or expire where they arrive
            else:
                price = order.price or 0.0
                if (lo <= price) if order.contracts > 0 else (h >= price):
                    return True
        return False

    def _at_point(self, p: int, t: int, prev: int, x: float, m: float) -> None:
        """[hook] Path point ``p`` at time ``t``: requests that landed by ``t`` (latency), then orders that
        arrived in (``prev``, ``t``] meet the price ``x`` (mark ``m``); at the open also the resting
        orders the gap went through."""
        if self._pending:
            self._apply_pending(t)
        orders = self._orders
        if p:  # mid-candle, only arrivals count: most points have none
            arrivals = False
            for order in orders:
                if prev < order.active_from_ms <= t:
                    arrivals = True
                    break
            if not arrivals:
                return
        for order in list(orders):
            active = order.active_from_ms
            if active > t or (p and active <= prev) or not is_listed(order, orders):
                continue
            if order.status is OrderStatus.UNTRIGGERED:
                ref = m if order.trigger_by is TriggerBy.MARK else x
                trig = order.trigger_price or 0.0
                if (ref >= trig) if order.trigger_direction == 1 else (ref <= trig):
                    self._trigger(order, t, x, m)
            elif order.type is OrderType.MARKET:
                self._take(order, x, t)
            else:
                self._limit_at_open(order, t, x, active > prev)

    def _limit_at_open(self, order: Order, t: int, o: float, arriving: bool) -> None:
        """A limit at a price ``o`` it may have passed: arriving and marketable, it takes (post-only:
        cancelled; IOC/FOK that cannot fill expire); resting and passed (by ``_through``), it fills at ``o``
        as maker."""
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
        ``_event_fraction``. A limit buy is met on a falling segment, a limit sell on a rising one. Orders
        not yet active, and resting limits that used up this candle's fill quantity, sit out.
        """
        if a == b and ma == mb:
            return
        touch, through, down, up = self._touch, self._through, b < a, b > a
        exhausted = self._exhausted
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
                if order.active_from_ms > t0 or (exhausted and order.id in exhausted):
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

    # -- requests that travel to the venue (latency) -------------------------------------------------

    def _apply_pending(self, until_ms: int) -> None:
        """Apply, in the order they were sent, the cancels and amendments that reached the venue by
        ``until_ms`` (the basic venue applies them at once and never queues any)."""
        keep: list[Pending] = []
        for item in self._pending:
            when, order, args = item
            if when > until_ms:
                keep.append(item)
            elif is_listed(order, self._orders):
                if args is None:
                    self._finish(order, OrderStatus.CANCELLED, "cancelled")
                else:
                    self._landing_ms = until_ms  # an accepted amendment arrives again from here
                    self._amend(order, args[0], args[1], args[2])
                    self._landing_ms = -1
        self._pending = keep

    # -- events ------------------------------------------------------------------------------------

    def _slipped(self, price: float, buy: bool, rate: float) -> float:
        """``price`` worsened by ``rate`` (a share), rounded away from the taker to the tick."""
        if not rate:
            return price
        raw = price * (1.0 + rate) if buy else price * (1.0 - rate)
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
        """Fill completely as taker where the price is ``x``, at the ``_taker_price`` hook's price."""
        self._fill(order, self._taker_price(order, x), False, t)

    def _taker_price(self, order: Order, x: float) -> float:
        """[hook] Taker price where the price is ``x``: market types slipped by ``slippage_bps``, limit
        types at ``x``."""
        return x if is_limit_priced(order.type) else self._slipped(x, order.contracts > 0, self._slip)

    def _maker_qty(self, order: Order, qty: float, price: float) -> float:
        """[hook] How much of ``qty`` a resting limit fills as maker at ``price`` (basic venue: all)."""
        return qty

    def _fill(self, order: Order, price: float, is_maker: bool, t: int) -> None:
        """Fill an order at ``price``: all of it, or as maker what ``_maker_qty`` allows (the rest stays
        open, partially filled); a reduce-only order is cut to the position and then done."""
        qty = order.remaining
        if is_maker:
            qty = self._maker_qty(order, qty, price)
            if qty == 0.0:
                return
        cut = False
        if order.reduce_only:
            pos = self.contracts
            if pos == 0.0 or (pos > 0) == (qty > 0):
                self._finish(order, OrderStatus.CANCELLED, "cancelled", RejectReason.REDUCE_ONLY_WOULD_INCREASE.value)
                return
            if abs(qty) > abs(pos):
                qty, cut = math.copysign(abs(pos), qty), True
        done = order.filled + qty
        if order.filled:
            done = cm.round_to_step(done, self._lot)  # partial fills add up on the lot grid
        whole = cut or abs(order.contracts - done) < 1e-12
        if whole:
            self._release(order)
        before = self.contracts
        fill = self._apply_trade(qty, price, self._maker if is_maker else self._taker, t, order.id, is_maker)
        order.avg_fill_price = (order.avg_fill_price * order.filled + price * qty) / done if done else price
        order.filled = done
        order.fee_paid += fill.fee
        if whole:
            self._finish(order, OrderStatus.FILLED, "filled")
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
            order.updated_ms = t
            self._record_order(order, "partially_filled")
        if self.contracts == 0.0:
            self._drop_reduce_only(t)
        if self._orders:  # after a partial fill the order's own reservation shrinks too: every order
            self._reprice_orders(True, before, not whole)

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
        self._changes += 1  # the position's end is news even without an order to cancel
        self._liquidate(t)
        self._drop_reduce_only(t)
        self._reprice_orders(True, pos)
