"""A slow, plain reference model of one Bybit perpetual subaccount, for checking the simulator.

It shares no code with ``kektrade.exchange.sim`` or ``kektrade.domain.contract_math``: every formula is
written again here from ../shared/research/bybit-math.md and README's "simulated exchange" rules, in the
most direct form, with exact (``Fraction``) rounding. It covers what the property test drives: market and GTC limit
orders, reduce-only closes, cancels, leverage and margin-mode changes, added margin, constant-rate funding
and liquidation, linear and inverse, isolated and cross, one risk tier (MMR ``mmr``, no deduction), no
separate mark series (the mark is the trade price).

Rules mirrored (README): per candle, funding due at its open (mark = open), then liquidation and fills
along open -> low -> high -> close (green candle) or open -> high -> low -> close; each third of the candle
is one path segment; ties: liquidation first, then orders in placement order. Orders placed after candle
i closes take part from candle i + 1. Market orders fill at the open (taker); a limit arriving crossed
takes at the open; a resting limit gapped through fills at the open as maker; otherwise a limit fills at
its price when the path trades strictly through it (maker). An opening order reserves IM + fee to open +
fee to close at the bankruptcy price for the part the position (shared by earlier opposite orders) cannot
absorb; when the position changes, orders whose cost grew beyond the available balance are cancelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from fractions import Fraction


def exact_value_times(qty: float, price: float, rate: float, inverse: bool) -> Fraction:
    """|qty| x price x rate (linear) or |qty| / price x rate (inverse), exactly, from the inputs' digits.

    A fraction, not a 28-digit ``Decimal``: an inverse value such as 2,535 / 22,000 x 0.00055 is exactly
    0.000063375, a tie, but the rounded division leaves it at 0.0000633749...9 (issue 12).
    """
    q, p, r = Fraction(repr(abs(qty))), Fraction(repr(price)), Fraction(repr(rate))
    return (q / p if inverse else q * p) * r


def money(x: Fraction | float, mode: str = ROUND_HALF_UP) -> float:
    """Round the exact value to 8 decimals (half up, or up in magnitude: ``ROUND_UP``), sign kept."""
    d = x if isinstance(x, Fraction) else Fraction(repr(x))
    scaled = abs(d) * 100_000_000
    units = math.ceil(scaled) if mode == ROUND_UP else math.floor(scaled + Fraction(1, 2))
    rounded = units / 1e8
    return rounded if d >= 0 else -rounded


@dataclass
class RefOrder:
    """An open order of the reference."""

    id: int
    qty: float  # signed, remaining
    price: float | None  # None: market
    reduce_only: bool
    placed_after: int  # candle index after whose close it was placed
    cost: float = 0.0


@dataclass
class RefFill:
    """One execution: time, signed qty, price, kind ("trade", "funding", "liquidation"), fee."""

    time_ms: int
    qty: float
    price: float
    kind: str
    fee: float


@dataclass
class ReferenceAccount:
    """The account; drive it with ``step(i, o, h, l, c, t)`` and the actions after each close."""

    inverse: bool
    wallet: float
    leverage: float
    cross: bool
    taker: float
    maker: float
    mmr: float
    lot: float
    funding_rate: float
    funding_interval_ms: int
    tf_ms: int
    q: float = 0.0
    entry: float = 0.0
    extra: float = 0.0
    orders: list[RefOrder] = field(default_factory=list)
    fills: list[RefFill] = field(default_factory=list)
    last: float = 0.0
    next_id: int = 0
    next_funding: float = -1.0
    candle: int = -1

    # -- formulas ---------------------------------------------------------------------------------

    def value(self, qty: float, price: float) -> float:
        return abs(qty) / price if self.inverse else abs(qty) * price

    def pnl(self, signed_qty: float, entry: float, price: float) -> float:
        if self.inverse:
            return signed_qty * (1 / entry - 1 / price)
        return signed_qty * (price - entry)

    def bust_at_leverage(self, price: float, long: bool) -> float:
        lev = self.leverage
        if self.inverse:
            if long:
                return price * lev / (lev + 1)
            return price * lev / (lev - 1) if lev > 1 else math.inf
        return price * (1 - 1 / lev) if long else price * (1 + 1 / lev)

    def close_fee(self) -> float:
        if not self.q:
            return 0.0
        bust = self.bust_at_leverage(self.entry, self.q > 0)
        return 0.0 if bust == math.inf or bust <= 0 else self.value(self.q, bust) * self.taker

    def im(self, mark: float) -> float:
        return self.value(self.q, mark if self.cross else self.entry) / self.leverage if self.q else 0.0

    def position_margin(self, mark: float) -> float:
        if not self.q:
            return 0.0
        return self.im(mark) + self.close_fee() + (0.0 if self.cross else self.extra)

    def order_margin(self) -> float:
        return sum(o.cost for o in self.orders)

    def available(self, mark: float) -> float:
        upnl = self.pnl(self.q, self.entry, mark) if self.q and self.cross else 0.0
        return self.wallet + upnl - self.position_margin(mark if self.cross else self.entry) - self.order_margin()

    def liq_price(self) -> float:
        """Isolated: UTA formula; cross: wallet + UPNL(P) = MM(P) + fee to close. 0 / inf: never."""
        if not self.q:
            return 0.0
        q, e, m, c, long = abs(self.q), self.entry, self.mmr, self.taker, self.q > 0
        if not self.cross:
            a, lev = self.extra, self.leverage
            if self.inverse:
                if long:
                    den = q / e + q / (e * lev) + a / (1 + c)
                    return q * (1 + m) / den if den > 0 else 0.0
                den = q / e - q / (e * lev) - a / (1 - c)
                return q * (1 - m) / den if den > 0 else math.inf
            if long:
                return max((q * e - q * e / lev - a / (1 - c)) / (q - q * m), 0.0)
            return (q * e + q * e / lev + a / (1 + c)) / (q + q * m)
        w, f = self.wallet, self.close_fee()
        if self.inverse:
            if long:
                den = w + q / e - f
                return q * (1 + m) / den if den > 0 else math.inf
            den = q / e - w + f
            return q * (1 - m) / den if den > 0 else math.inf
        if long:
            return max((q * e - w + f) / (q * (1 - m)), 0.0)
        return (q * e + w - f) / (q * (1 + m))

    def bust_price(self) -> float:
        """Where the loss equals the margin: IM + added (isolated) or wallet - fee to close (cross)."""
        q, e = abs(self.q), self.entry
        margin = self.wallet - self.close_fee() if self.cross else self.value(q, e) / self.leverage + self.extra
        if self.inverse:
            den = q / e + margin if self.q > 0 else q / e - margin
            return q / den if den > 0 else math.inf
        return max(e - margin / q, 0.0) if self.q > 0 else e + margin / q

    def liquidated_at(self, mark: float) -> bool:
        if not self.q:
            return False
        liq = self.liq_price()
        return mark <= liq if self.q > 0 else mark >= liq

    # -- orders ----------------------------------------------------------------------------------

    def opening_qty(self, order: RefOrder) -> float:
        """What the position, minus what earlier opposite orders claim, cannot absorb."""
        if order.reduce_only:
            return 0.0
        if not self.q or (self.q > 0) == (order.qty > 0):
            return abs(order.qty)
        room = abs(self.q)
        for other in self.orders:
            if other is order:
                break
            if (other.qty > 0) == (order.qty > 0):
                room -= abs(other.qty)
        return max(abs(order.qty) - max(room, 0.0), 0.0)

    def cost_of(self, order: RefOrder) -> float:
        qty = self.opening_qty(order)
        if not qty:
            return 0.0
        price = order.price if order.price is not None else self.last
        value = self.value(qty, price)
        bust = self.bust_at_leverage(price, order.qty > 0)  # the fee to close is the taker fee there
        close_fee = 0.0 if bust == math.inf or bust <= 0 else self.value(qty, bust) * self.taker
        return value / self.leverage + value * self.taker + close_fee

    def place(self, qty: float, price: float | None, reduce_only: bool = False) -> bool:
        """Accept (True) or refuse an order (reduce-only refused without an opposite position)."""
        if reduce_only and (not self.q or (self.q > 0) == (qty > 0)):
            return False
        self.next_id += 1
        order = RefOrder(self.next_id, qty, price, reduce_only, self.candle)
        order.cost = self.cost_of(order)
        if order.cost > 0 and order.cost > self.available(self.last) + 1e-9:
            return False
        self.orders.append(order)
        return True

    def reprice(self, cancel: bool) -> None:
        for order in list(self.orders):
            if order not in self.orders or order.reduce_only:
                continue
            new = self.cost_of(order)
            old, order.cost = order.cost, 0.0
            if cancel and new > old + 1e-9 and new > self.available(self.last) + 1e-9:
                self.orders.remove(order)
            else:
                order.cost = new

    def cancel_first(self) -> None:
        if self.orders:
            self.orders.pop(0)
            self.reprice(True)

    def set_leverage(self, lev: float) -> bool:
        if lev == self.leverage:
            return True
        mark = self.last or self.entry
        before, old = self.available(mark), self.leverage
        self.leverage = lev
        self.reprice(False)
        after = self.available(mark)
        if after < -1e-9 and after < before - 1e-12:
            self.leverage = old
            self.reprice(False)
            return False
        return True

    def set_cross(self, cross: bool) -> bool:
        if self.q or self.orders:
            return False
        self.cross = cross
        return True

    def add_margin(self, amount: float) -> bool:
        if self.cross or not self.q or amount > self.available(self.last) + 1e-12:
            return False
        self.extra += amount
        return True

    # -- executions ------------------------------------------------------------------------------

    def trade(self, order: RefOrder, price: float, maker: bool, t: int) -> None:
        qty = order.qty
        self.orders.remove(order)
        if order.reduce_only:
            if not self.q or (self.q > 0) == (qty > 0):
                return
            qty = math.copysign(min(abs(qty), abs(self.q)), qty)
        fee = money(exact_value_times(qty, price, self.maker if maker else self.taker, self.inverse))
        if not self.q or (self.q > 0) == (qty > 0):
            total = abs(self.q) + abs(qty)
            if self.inverse:
                self.entry = total / ((abs(self.q) / self.entry if self.q else 0.0) + abs(qty) / price)
            else:
                self.entry = (abs(self.q) * self.entry + abs(qty) * price) / total
            new = self.q + qty
        else:
            closed = min(abs(qty), abs(self.q))
            self.wallet += money(self.pnl(math.copysign(closed, self.q), self.entry, price))
            new = self.q + qty
            if abs(new) < 1e-9 or (new > 0) != (self.q > 0):
                self.extra = 0.0
                self.entry = price
            else:
                self.extra *= abs(new) / abs(self.q)
        lot = Decimal(repr(self.lot))
        self.q = float((Decimal(repr(new)) / lot).to_integral_value() * lot) if abs(new) >= 1e-9 else 0.0
        if not self.q:
            self.entry = 0.0
        self.wallet -= fee
        self.fills.append(RefFill(t, qty, price, "trade", fee))
        if not self.q:
            self.orders = [o for o in self.orders if not o.reduce_only]
        self.reprice(True)

    def liquidate(self, t: int) -> None:
        self.orders = [o for o in self.orders if o.reduce_only or (o.qty > 0) != (self.q > 0)]
        price = self.bust_price()
        lost = self.wallet if self.cross else self.position_margin(self.entry)
        self.fills.append(RefFill(t, -self.q, price, "liquidation", 0.0))
        self.wallet -= lost
        self.q, self.entry, self.extra = 0.0, 0.0, 0.0
        self.orders = [o for o in self.orders if not o.reduce_only]
        self.reprice(True)

    def fund(self, t: int, settle_ms: int, mark: float) -> None:
        if not self.q or not self.funding_rate:
            return
        raw = exact_value_times(self.q, mark, self.funding_rate, self.inverse)
        fee = money(raw if self.q > 0 else -raw, ROUND_UP)
        if fee > 0 and not self.cross:
            shortfall = fee - max(self.available(mark), 0.0)
            if shortfall > 0:
                self.extra -= shortfall
        self.wallet -= fee
        self.fills.append(RefFill(settle_ms, self.q, mark, "funding", fee))
        if self.liquidated_at(mark):
            self.liquidate(t)

    # -- candles ---------------------------------------------------------------------------------

    def step(self, i: int, o: float, h: float, lo: float, c: float, t: int) -> None:
        """Candle i: funding at its open, events at the open, then the three path segments."""
        interval = self.funding_interval_ms
        if self.next_funding < 0:
            self.next_funding = -(-t // interval) * interval
        while self.next_funding <= t:
            self.fund(t, int(self.next_funding), o)
            self.next_funding += interval
        if self.liquidated_at(o):
            self.liquidate(t)
        for order in list(self.orders):
            if order not in self.orders or order.placed_after >= i:
                continue
            arriving = order.placed_after == i - 1
            if order.price is None:
                self.trade(order, o, False, t)
                continue
            buy = order.qty > 0
            crossed = o <= order.price if buy else o >= order.price
            if arriving and crossed:
                self.trade(order, o, False, t)
            elif (o < order.price if buy else o > order.price) and not arriving:
                self.trade(order, o, True, t)
        p1, p2 = (lo, h) if c >= o else (h, lo)
        third = self.tf_ms // 3
        for k, (a, b) in enumerate(((o, p1), (p1, p2), (p2, c))):
            self.segment(i, t + k * third, third, a, b)
        self.last = c
        self.candle = i

    def segment(self, i: int, t0: int, span: int, a: float, b: float) -> None:
        """Events of one straight segment a -> b in the order the price meets them."""
        f0 = 0.0
        while a != b:
            best: RefOrder | None = None
            best_f = 2.0
            liq = False
            if self.q:
                level = self.liq_price()
                x0 = a + f0 * (b - a)
                if (x0 <= level) if self.q > 0 else (x0 >= level):
                    liq, best_f = True, f0
                elif self.q > 0 and b < a and b <= level:
                    liq, best_f = True, (a - level) / (a - b)
                elif self.q < 0 and b > a and level <= b:
                    liq, best_f = True, (level - a) / (b - a)
            for order in self.orders:
                if order.price is None or order.placed_after >= i:
                    continue
                p = order.price
                if order.qty > 0 and b < a and b < p <= a:
                    g = (a - p) / (a - b)
                elif order.qty < 0 and b > a and a <= p < b:
                    g = (p - a) / (b - a)
                else:
                    continue
                if f0 <= g < best_f:
                    best, best_f, liq = order, g, False
            if liq:
                self.liquidate(t0 + int(best_f * span))
            elif best is None:
                return
            else:
                self.trade(best, best.price or 0.0, True, t0 + int(best_f * span))
            f0 = best_f
