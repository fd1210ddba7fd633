"""``RealisticSimExchange``: the "Backtest Perpetual Realistic" venue.

The accounting (margin, fees, funding, liquidation at the bankruptcy price) and the matching routine
(``matching.SimMatching._match``: arrivals, gaps, path order, ties, reduce-only cuts) are the basic venue's;
this class only overrides the matching's hooks (docs/venues.md has the full rules):

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
from kektrade.domain.types import MarginMode, Order, is_limit_priced
from kektrade.exchange.sim.exchange import SimError, SimExchange
from kektrade.exchange.sim.path import candle_path, candle_rng, point_times
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from kektrade.exchange.subaccount import OrderNotOpenError


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
        self._points = r.path_points  # the matching's path has this many points
        self._share = r.partial_fill_volume_share
        # the matching's trade-through: a limit fills once the price reaches N ticks beyond it
        self._through = r.trade_through_ticks * spec.tick_size
        self._touch = True
        self._impact = r.impact_bps / 10_000.0
        self._rt: list[int] = []  # the matched candle's path: times, trade prices, mark prices
        self._rx: list[float] = []
        self._rm: list[float] = []
        self._px: tuple[float, float] | None = None  # (last, mark) at the path point being processed
        self._cur = -1  # candle being matched

    # -- requests that travel to the venue (the matching applies them where they land) ------------------

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

    def _current_prices(self) -> tuple[float, float]:
        return self._px if self._px is not None else super()._current_prices()

    # -- the matching's hooks ------------------------------------------------------------------------

    def _match(self, i: int, t: int) -> None:
        try:
            super()._match(i, t)
        finally:
            self._px = None

    def _may_happen(self, k: int, last_start: int) -> bool:
        """Also true when an amendment lands in the candle (it may make an order marketable)."""
        if any(args is not None and when <= last_start for when, _, args in self._pending):
            return True
        return super()._may_happen(k, last_start)

    def _make_path(self, i: int, k: int, t: int) -> None:
        """The seeded path of ``path_points`` points (``path.candle_path``); the mark path is drawn from the
        same stream shaped by the mark candle, so both move together."""
        self._cur = i
        self._exhausted.clear()
        r, n = self.realistic, self._points
        o, h, lo, c = self._wo[k], self._wh[k], self._wl[k], self._wc[k]
        self._rx = candle_path(o, h, lo, c, n, candle_rng(r.seed, i), r.rule_weight)
        self._rm = self._rx
        if self._has_mark:
            mo, mh, ml, mc = self._wmo[k], self._wmh[k], self._wml[k], self._wmc[k]
            self._rm = candle_path(mo, mh, ml, mc, n, candle_rng(r.seed, i), r.rule_weight)
        self._rt = point_times(t, self._tf, n)

    def _time_at(self, p: int) -> int:
        return self._rt[p]

    def _last_at(self, p: int) -> float:
        return self._rx[p]

    def _mark_at(self, p: int) -> float:
        return self._rm[p]

    def _at_point(self, p: int, t: int, prev: int, x: float, m: float) -> None:
        """Margin checks at a path point use its prices (the basic venue: the previous close's)."""
        self._px = (x, m)
        super()._at_point(p, t, prev, x, m)

    def _volume_contracts(self, price: float) -> float:
        """The matched candle's volume in contracts (linear: base coin; inverse: volume x price USD)."""
        vol = self._vol[self._cur]
        if not vol > 0.0 or math.isinf(vol):
            return 0.0
        return vol * price if self._inverse else vol

    def _taker_price(self, order: Order, x: float) -> float:
        """``x`` worsened by slippage + impact (``impact_bps`` x qty / volume), never past a limit price."""
        buy = order.contracts > 0
        vol = self._volume_contracts(x)
        ratio = abs(order.remaining) / vol if vol > 0.0 else 1.0
        price = self._slipped(x, buy, self._slip + self._impact * ratio)
        if is_limit_priced(order.type) and order.price is not None:
            price = min(price, order.price) if buy else max(price, order.price)
        return price

    def _maker_qty(self, order: Order, qty: float, price: float) -> float:
        """At most ``partial_fill_volume_share`` x the candle's volume, once per candle (the rest stays
        open, partially filled)."""
        self._exhausted.add(order.id)
        cap = cm.floor_to_step(self._share * self._volume_contracts(price), self._lot)
        return math.copysign(cap, qty) if cap < abs(qty) - 1e-12 else qty
