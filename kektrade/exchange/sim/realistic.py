"""``RealisticSimExchange``: the "Backtest Perpetual Realistic" venue.

The accounting (margin, fees, funding, liquidation at the bankruptcy price) is the base venue's; what
changes is how and when orders fill (docs/venues.md has the full rules):

- each candle's price travels a seeded path of ``path_points`` points (``path.candle_path``) instead of
  the 4-point OHLC path; events (limit fills, triggers, liquidation on the mark path) happen in path order;
- a resting limit fills only once the price trades ``trade_through_ticks`` ticks beyond it, at its limit
  price as maker, and at most ``partial_fill_volume_share`` x the candle's volume per candle (the rest
  stays open, ``partially_filled``); market, stop-market and marketable orders take liquidity: they fill
  completely, with slippage ``slippage_bps + impact_bps x qty / volume``;
- orders, cancels and amendments reach the venue ``latency_ms`` after they are sent, possibly mid-candle.

Everything is a function of ``seed``, the candle index and the order flow: no clock, no unseeded draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from kektrade.domain import contract_math as cm
from kektrade.domain.journal import Journal
from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import (
    LIMIT_PRICED_TYPES,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    RejectReason,
    TriggerBy,
    is_listed,
)
from kektrade.exchange.sim.exchange import SimError, SimExchange
from kektrade.exchange.sim.path import candle_path, candle_rng, point_times
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from kektrade.exchange.subaccount import OrderNotOpenError

_UNTRIGGERED, _FILLED, _CANCELLED = OrderStatus.UNTRIGGERED, OrderStatus.FILLED, OrderStatus.CANCELLED
_Pending = tuple[int, Order, tuple[float | None, float | None, float | None] | None]


@dataclass(frozen=True, slots=True)
class RealisticSettings:
    """Options of the realistic venue (the config's ``backtest.realistic`` plus two model constants).

    ``impact_bps``: extra slippage, in basis points, of a taker fill as large as the candle's volume
    (scaled linearly with qty / volume). ``rule_weight``: probability that a candle's path follows the
    OHLC rule (low first when it closes up, high first when it closes down).
    """

    latency_ms: int = 250
    partial_fill_volume_share: float = 0.1
    trade_through_ticks: int = 1
    path_points: int = 12
    seed: int = 0
    impact_bps: float = 10.0
    rule_weight: float = 0.75

    def __post_init__(self) -> None:
        checks = (
            ("latency_ms", self.latency_ms >= 0, ">= 0"),
            ("partial_fill_volume_share", 0.0 < self.partial_fill_volume_share <= 1.0, "in (0, 1]"),
            ("trade_through_ticks", self.trade_through_ticks >= 0, ">= 0"),
            ("path_points", self.path_points >= 4, ">= 4"),
            ("impact_bps", self.impact_bps >= 0.0, ">= 0"),
            ("rule_weight", 0.0 <= self.rule_weight <= 1.0, "in [0, 1]"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"realistic.{name}: must be {rule} (got {getattr(self, name)!r})")

    @classmethod
    def from_dict(cls, options: Mapping[str, Any] | None) -> RealisticSettings:
        """Build from a dict such as ``config.backtest.realistic.model_dump()``; unknown keys are errors."""
        options = dict(options or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"realistic.{unknown[0]}: unknown option; use {', '.join(sorted(known))}")
        return cls(**options)


class RealisticSimExchange(SimExchange):
    """A simulated Bybit perpetual subaccount with intrabar paths, partial fills, impact and latency."""

    def __init__(
        self,
        spec: ContractSpec,
        market: MarketArrays,
        *,
        volume: Sequence[float] | None = None,
        realistic: RealisticSettings | None = None,
        settings: SimSettings | None = None,
        initial_balance: float,
        leverage: float = 1.0,
        margin_mode: MarginMode | str = MarginMode.ISOLATED,
        taker_fee: float | None = None,
        maker_fee: float | None = None,
        journal: Journal | None = None,
        subaccount_id: str = "sim",
        funding_rate: float | None = None,
    ) -> None:
        r = realistic or RealisticSettings()
        # SimExchange's keywords spelled out: the compiled build cannot forward **kwargs to a native __init__
        super().__init__(
            spec,
            market,
            initial_balance=initial_balance,
            leverage=leverage,
            margin_mode=margin_mode,
            taker_fee=taker_fee,
            maker_fee=maker_fee,
            settings=replace(settings or SimSettings(), latency_ms=r.latency_ms),
            journal=journal,
            subaccount_id=subaccount_id,
            funding_rate=funding_rate,
        )
        vol = volume if volume is not None else (getattr(market, "volume", None) or None)
        if vol is None:
            raise SimError("volume: the realistic venue needs the candle volume (one value per candle)")
        if len(vol) < len(market):
            raise SimError(f"volume: {len(vol)} values for {len(market)} candles")
        self._vol = vol
        self.realistic = r
        self._points = r.path_points
        self._share = r.partial_fill_volume_share
        # the base matching's trade-through hook: a limit fills once the price reaches N ticks beyond it
        self._through = r.trade_through_ticks * spec.tick_size
        self._touch = True
        self._impact = r.impact_bps / 10_000.0
        self._arrived: set[str] = set()  # ids of orders the venue has seen (live on its book)
        self._exhausted: set[str] = set()  # resting limits that used this candle's volume share
        self._pending: list[_Pending] = []  # (reaches the venue at, order, amend args | None = cancel)
        self._px: tuple[float, float] | None = None  # (last, mark) at the path point being processed
        self._cur = -1  # candle being matched

    # -- requests that travel to the venue -----------------------------------------------------------

    def cancel_order(self, order_id: str) -> Order | None:
        """Send a cancel: it reaches the venue ``latency_ms`` later; the order may fill until then."""
        if not self._latency_ms:
            return super().cancel_order(order_id)
        order = self._find_open(order_id)
        if order is None:
            return None
        self._request_cancel(order)
        return order

    def cancel_all_orders(self) -> int:
        """Send a cancel for every open order (each arrives ``latency_ms`` later); returns the count."""
        if not self._latency_ms:
            self._arrived.clear()
            return super().cancel_all_orders()
        for order in self._orders:
            self._request_cancel(order)
        return len(self._orders)

    def edit_order(
        self,
        order_id: str,
        price: float | None = None,
        contracts: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """Send an amendment: checked and applied when it reaches the venue ``latency_ms`` later."""
        if not self._latency_ms:
            return super().edit_order(order_id, price, contracts, trigger_price)
        order = self._find_open(order_id)
        if order is None:
            raise OrderNotOpenError(f"no open order {order_id!r}")
        self._pending.append((self._now_ms + self._latency_ms, order, (price, contracts, trigger_price)))
        return order

    def _request_cancel(self, order: Order) -> None:
        for _, other, args in self._pending:
            if other is order and args is None:
                return  # already on its way
        self._pending.append((self._now_ms + self._latency_ms, order, None))

    def _apply_pending(self, until_ms: int) -> None:
        """Apply, in the order they were sent, the requests that reached the venue by ``until_ms``."""
        keep: list[_Pending] = []
        for item in self._pending:
            when, order, args = item
            if when > until_ms:
                keep.append(item)
            elif is_listed(order, self._orders):
                if args is None:
                    self._finish(order, _CANCELLED, "cancelled")
                else:
                    self._amend(order, *args)
        self._pending = keep

    def _amend(self, order: Order, price: float | None, contracts: float | None, trigger_price: float | None) -> Order:
        """Base amendment; an accepted one re-enters the book (marketable now: it takes liquidity)."""
        before = (order.price, order.contracts, order.trigger_price)
        super()._amend(order, price, contracts, trigger_price)
        if is_listed(order, self._orders) and (order.price, order.contracts, order.trigger_price) != before:
            self._arrived.discard(order.id)
            if abs(order.remaining) < 1e-12:
                self._finish(order, _FILLED, "filled")
        return order

    def _finish(self, order: Order, status: OrderStatus, event: str, reason: str | None = None) -> None:
        super()._finish(order, status, event, reason)
        self._arrived.discard(order.id)

    def _current_prices(self) -> tuple[float, float]:
        return self._px if self._px is not None else super()._current_prices()

    # -- per candle ----------------------------------------------------------------------------------

    def step(self, i: int) -> None:
        """Simulate candle ``i``: funding, then arrivals, requests and events along the seeded path."""
        t = self._t[i]
        if t >= self._next_funding_ms:
            self._funding_due(i, t)
        if self._orders or (
            self.contracts and ((self._ml[i] <= self._liq) if self.contracts > 0.0 else (self._mh[i] >= self._liq))
        ):
            self._match(i, t)
        self._close_candle(i, self._window_index(i))
        if self._pending:
            self._apply_pending(t + self._tf)

    def _match(self, i: int, t: int) -> None:
        n = self._points
        last_start = t + ((n - 2) * self._tf) // (n - 1)  # the last point that starts a segment
        if not self._may_happen(i, last_start):
            for order in self._orders:  # nothing can fill: orders arriving now simply join the book
                if order.active_from_ms <= last_start:
                    self._arrived.add(order.id)
            return
        self._cur = i
        self._exhausted.clear()
        r = self.realistic
        path = candle_path(self._o[i], self._h[i], self._lo[i], self._c[i], n, candle_rng(r.seed, i), r.rule_weight)
        mpath = path
        if self.market.has_mark:  # the same draws shaped by the mark candle: both paths move together
            mpath = candle_path(
                self._mo[i], self._mh[i], self._ml[i], self._mc[i], n, candle_rng(r.seed, i), r.rule_weight
            )
        times = point_times(t, self._tf, n)
        if self.contracts and ((mpath[0] <= self._liq) if self.contracts > 0.0 else (mpath[0] >= self._liq)):
            self._liquidation_event(t)
        try:
            for p in range(n - 1):
                if not self._orders and not self.contracts:
                    break
                tp = times[p]
                self._px = (path[p], mpath[p])
                if self._pending:
                    self._apply_pending(tp)
                self._arrive(p, tp, path[p], mpath[p])
                self._walk(tp, times[p + 1] - tp, path[p], path[p + 1], mpath[p], mpath[p + 1])
        finally:
            self._px = None

    def _may_happen(self, i: int, last_start: int) -> bool:
        """Cheap pre-check: can anything fill, trigger or liquidate in candle ``i``? (An order takes part
        when it reaches the venue by the last path point, an amendment when it lands by then.)"""
        if any(args is not None and when <= last_start for when, _, args in self._pending):
            return True
        return self._anything_happens(last_start, self._h[i], self._lo[i], self._mh[i], self._ml[i])

    def _arrive(self, p: int, t: int, x: float, m: float) -> None:
        """Point ``p``: orders reaching the venue now; at the open, gaps through resting orders."""
        for order in list(self._orders):
            if not is_listed(order, self._orders):
                continue  # finished by an earlier event at this point
            if order.id in self._arrived:
                if p == 0:
                    self._gap(order, t, x, m)
                continue
            if order.active_from_ms > t:
                continue
            self._arrived.add(order.id)
            if order.status is _UNTRIGGERED:
                if self._trigger_crossed(order, x, m):
                    self._trigger(order, t, x, m)
            elif order.type is OrderType.MARKET:
                self._take(order, x, t)
            else:
                self._limit_at_open(order, t, x, True)  # the base rule for an arriving limit

    def _trigger_crossed(self, order: Order, x: float, m: float) -> bool:
        ref = m if order.trigger_by is TriggerBy.MARK else x
        trig = order.trigger_price or 0.0
        return (ref >= trig) if order.trigger_direction == 1 else (ref <= trig)

    def _gap(self, order: Order, t: int, o: float, mo: float) -> None:
        """A resting order the open has already passed: triggers fire, limits fill at the open as maker."""
        if order.status is _UNTRIGGERED:
            if self._trigger_crossed(order, o, mo):
                self._trigger(order, t, o, mo)
        elif order.type in LIMIT_PRICED_TYPES:
            self._limit_at_open(order, t, o, False)

    def _walk(self, t0: int, span: int, a: float, b: float, ma: float, mb: float) -> None:
        """Process the events of one path segment in the order the price meets them."""
        f0 = 0.0
        arrived, exhausted = self._arrived, self._exhausted
        while True:
            best: Order | None = None
            liq = False
            best_f = 2.0
            if self.contracts:
                f = self._liq_fraction(ma, mb, f0)
                if f is not None:
                    liq, best_f = True, f
            for order in self._orders:
                if order.id not in arrived or order.id in exhausted:
                    continue
                f = self._event_fraction(order, a, b, ma, mb)
                if f is not None and f0 <= f < best_f:
                    best, best_f, liq = order, f, False
            when = t0 + int(best_f * span)
            if liq:
                self._liquidation_event(when)
            elif best is None:
                return
            elif best.status is _UNTRIGGERED:
                self._trigger(best, when, a + best_f * (b - a), ma + best_f * (mb - ma))
            else:
                self._fill(best, best.price or 0.0, True, when)
            f0 = best_f

    # -- executions ----------------------------------------------------------------------------------

    def _trigger(self, order: Order, t: int, price: float, mark: float) -> None:
        """A conditional order fires by the base rule (its taker fill goes through ``_take``); the venue
        has now seen it."""
        self._arrived.add(order.id)
        super()._trigger(order, t, price, mark)

    def _volume_contracts(self, price: float) -> float:
        """The matched candle's volume in contracts (linear: base coin; inverse: volume x price USD)."""
        vol = self._vol[self._cur]
        if not vol > 0.0 or math.isinf(vol):
            return 0.0
        return vol * price if self._inverse else vol

    def _take(self, order: Order, x: float, t: int) -> None:
        """The taker-price hook: fill completely at ``x`` worsened by slippage + impact (never past a limit
        price)."""
        buy = order.contracts > 0
        vol = self._volume_contracts(x)
        ratio = abs(order.remaining) / vol if vol > 0.0 else 1.0
        rate = self._slip + self._impact * ratio
        price = x
        if rate:
            tick = self.spec.tick_size
            raw = x * (1.0 + rate) if buy else x * (1.0 - rate)
            steps = math.ceil(raw / tick - 1e-9) if buy else math.floor(raw / tick + 1e-9)
            price = cm.round_to_step(steps * tick, tick)
        if order.type in LIMIT_PRICED_TYPES and order.price is not None:
            price = min(price, order.price) if buy else max(price, order.price)
        self._fill(order, price, False, t)

    def _fill(self, order: Order, price: float, is_maker: bool, t: int) -> None:
        """Fill at ``price``: makers up to this candle's volume share, reduce-only cut to the position."""
        rem = order.remaining
        qty = rem
        if is_maker:
            self._exhausted.add(order.id)
            cap = cm.floor_to_step(self._share * self._volume_contracts(price), self.spec.lot_step)
            if cap < abs(rem) - 1e-12:
                qty = math.copysign(cap, rem)
            if qty == 0.0:
                return
        cut = False
        if order.reduce_only:
            pos = self.contracts
            if pos == 0.0 or (pos > 0) == (qty > 0):
                self._finish(order, _CANCELLED, "cancelled", RejectReason.REDUCE_ONLY_WOULD_INCREASE.value)
                return
            if abs(qty) > abs(pos):
                qty, cut = math.copysign(abs(pos), qty), True
        before = self.contracts
        fill = self._apply_trade(qty, price, self._maker if is_maker else self._taker, t, order.id, is_maker)
        done = cm.round_to_step(order.filled + qty, self.spec.lot_step)
        order.avg_fill_price = (order.avg_fill_price * order.filled + price * qty) / done if done else price
        order.filled = done
        order.fee_paid += fill.fee
        if cut or abs(order.remaining) < 1e-12:
            self._finish(order, _FILLED, "filled")
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
            order.updated_ms = t
            self._record_order(order, "partially_filled")
        if self.contracts == 0.0:
            self._drop_reduce_only(t)
        # after a partial fill the order's own reservation shrinks too: every order is worked out again
        self._reprice_orders(True, before, is_listed(order, self._orders))
