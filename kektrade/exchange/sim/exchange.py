"""``SimExchange``: the "Backtest Perpetual" venue, one subaccount trading one perpetual.

Per candle (``step(i)``): funding settlement if due, then liquidation and order matching along the
candle's path (see ``matching``). Orders placed while candle ``i`` is the latest closed candle take part
from candle ``i + 1`` on: no look-ahead by construction. A candle with no open orders and no position
costs one comparison for funding and nothing else.
"""

from __future__ import annotations

import bisect
import math

from mypy_extensions import mypyc_attr

from kektrade.domain import contract_math as cm
from kektrade.domain.journal import Journal
from kektrade.domain.rules import MarginRules, margin_rules
from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import (
    Fill,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    PositionView,
    TimeInForce,
    TriggerBy,
    WalletView,
    as_member,
)
from kektrade.exchange.sim.matching import FIRST_FUNDING, SimMatching
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from kektrade.exchange.subaccount import OrderNotOpenError


class SimError(ValueError):
    """A request the simulated venue refuses outright (bad leverage, mode switch with a position...)."""


@mypyc_attr(allow_interpreted_subclasses=True)
class SimExchange(SimMatching):
    """A simulated Bybit perpetual subaccount, linear or inverse, isolated or cross margin.

    It implements the ``Subaccount`` protocol structurally (a compiled class cannot subclass the
    interpreted protocol); ``tests/exchange/sim/test_interface.py`` holds it to every method.
    """

    rules: MarginRules

    def __init__(
        self,
        spec: ContractSpec,
        market: MarketArrays,
        *,
        initial_balance: float,
        leverage: float = 1.0,
        margin_mode: MarginMode | str = MarginMode.ISOLATED,
        taker_fee: float | None = None,
        maker_fee: float | None = None,
        settings: SimSettings | None = None,
        journal: Journal | None = None,
        subaccount_id: str = "sim",
        funding_rate: float | None = None,
    ) -> None:
        if initial_balance <= 0:
            raise SimError(f"initial_balance must be > 0 (got {initial_balance})")
        settings = settings or SimSettings()
        self.spec = spec
        self.subaccount_id = subaccount_id
        self.journal = journal
        self.order_events = None
        self.fill_records = None
        self.fills: list[Fill] = []
        self._orders: list[Order] = []
        self._reserved = 0
        self._next_id = 0
        self._latency_ms = settings.latency_ms
        self._touch = settings.limit_fill == "touch"
        self._through = 0.0
        self._slip = settings.slippage_bps / 10_000.0
        self._points = 4
        self._pending = []
        self._landing_ms = -1
        self._exhausted = set()
        try:
            self.rules = margin_rules(settings.rules)
        except ValueError as exc:
            raise SimError(str(exc)) from None
        self._on_mark = self.rules.on_mark or spec.formulas != "bybit"  # the periods are Bybit's (issue 11)
        self._classic_cross = self.rules.classic_cross and spec.formulas == "bybit"
        self._init_accounting(
            initial_balance,
            leverage,
            MarginMode(margin_mode),
            spec.taker_fee if taker_fee is None else taker_fee,
            spec.maker_fee if maker_fee is None else maker_fee,
        )
        self._check_leverage(leverage)
        self.initial_balance = float(initial_balance)
        self._bind(market, funding_rate)

    def _bind(self, market: MarketArrays, funding_rate: float | None) -> None:
        self.market = market
        self._t, self._o, self._h, self._lo, self._c = (
            market.time_ms,
            market.open,
            market.high,
            market.low,
            market.close,
        )
        self._mo, self._mh, self._ml, self._mc = (
            market.mark_open,
            market.mark_high,
            market.mark_low,
            market.mark_close,
        )
        self._tf = market.timeframe_ms
        self._has_mark = market.has_mark
        self.set_clock(-1)
        self._const_rate = funding_rate
        self._fund_idx = 0
        self._next_funding_ms = math.inf
        if market.funding_time_ms:
            self._next_funding_ms = float(market.funding_time_ms[0])
        elif funding_rate:
            self._next_funding_ms = FIRST_FUNDING  # the first step finds the first settlement

    def sync_funding(self, restored: bool = False) -> None:
        """Line the funding clock up with the market's funding series after it grew (paper runs append the
        exchange's settlements as they are published, issue 11) or, ``restored``, after a restored state: then
        the settlements before the restored clock count as settled."""
        times = self.market.funding_time_ms
        if not times or self._next_funding_ms == FIRST_FUNDING:
            return
        if restored and self._next_funding_ms != math.inf:
            self._fund_idx = bisect.bisect_left(times, self._next_funding_ms)
        elif restored:  # saved when its series had ended: what lies up to the clock's candle was settled
            self._fund_idx = bisect.bisect_right(times, self._now - self._tf) if self._i >= 0 else 0
        if self._next_funding_ms == math.inf and self._fund_idx < len(times):
            self._next_funding_ms = float(times[self._fund_idx])

    # -- the Subaccount interface ----------------------------------------------------------------------

    def open_order(
        self,
        order_type: OrderType | str,
        contracts: float,
        price: float | None = None,
        trigger_price: float | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        client_id: str | None = None,
        trigger_by: TriggerBy | str = TriggerBy.LAST,
    ) -> Order:
        """Place an order; refused orders come back ``rejected`` with a reason (and are journaled)."""
        # members pass straight through (a static type check, inline), values are looked up: an Enum call
        # costs ~0.3 us, and this is a market maker's hot path
        otype = order_type if isinstance(order_type, OrderType) else as_member(OrderType, order_type)
        tif = time_in_force if isinstance(time_in_force, TimeInForce) else as_member(TimeInForce, time_in_force)
        tby = trigger_by if isinstance(trigger_by, TriggerBy) else as_member(TriggerBy, trigger_by)
        order = self._new_order(
            otype, float(contracts), price, trigger_price, reduce_only, post_only, tif, client_id, tby
        )
        return self._submit(order)

    def edit_order(
        self,
        order_id: str,
        price: float | None = None,
        contracts: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """Amend an open order; ``OrderNotOpenError`` for an order that is not open."""
        order = self._find_open(order_id)
        if order is None:
            raise OrderNotOpenError(f"no open order {order_id!r}")
        return self._amend(order, price, contracts, trigger_price)

    def cancel_order(self, order_id: str) -> Order | None:
        """Cancel one open order (by id or client id)."""
        order = self._find_open(order_id)
        if order is None:
            return None
        self._finish(order, OrderStatus.CANCELLED, "cancelled")
        self._reprice_orders(True, self.contracts)  # the position it claimed is free for the orders after it
        return order

    def cancel_all_orders(self) -> int:
        """Cancel every open order."""
        orders = self._orders
        count = len(orders)
        if not count:
            return 0
        self._reserved = 0
        self._order_margin = 0.0
        if self._classic_cross and self.contracts:
            self._order_margin_moved()
        now, recording = self._now, self._recording()
        for order in orders:
            order._reservation = 0.0
            order.status = OrderStatus.CANCELLED
            order.updated_ms = now
            if recording:
                self._record_order(order, "cancelled")
        orders.clear()
        return count

    def close_position(self) -> Order | None:
        """Flatten with a reduce-only market order."""
        if self.contracts == 0.0:
            return None
        return self.open_order(OrderType.MARKET, -self.contracts, reduce_only=True)

    def get_open_orders(self) -> list[Order]:
        """Open orders, oldest first."""
        return list(self._orders)

    def get_position(self) -> PositionView:
        """The position marked at the latest mark price."""
        return self._position_view(self._current_prices()[1])

    def get_wallet(self) -> WalletView:
        """The wallet marked at the latest mark price."""
        return self._wallet_view(self._current_prices()[1])

    def get_contracts_pct_of_balance(self, pct: float, price: float | None = None) -> float:
        """Contracts worth ``pct`` of the wallet balance at the current leverage, down to the lot step."""
        price = price or self._current_prices()[0]
        if price <= 0.0:
            return 0.0
        budget = self._wallet * pct * self._leverage
        raw = budget * price if self._inverse else budget / price
        qty = cm.floor_to_step(raw, self.spec.lot_step)
        return qty if qty >= self.spec.min_qty else 0.0

    def set_leverage(self, leverage: float) -> None:
        """Change leverage; ``SimError`` with the reason when above the risk tier's maximum or when the
        margin the new leverage needs (position and order margin) is not available."""
        self._check_leverage(leverage)
        old = self._leverage
        if float(leverage) == old:
            return
        mark = self._current_prices()[1] or self._entry
        before = self._available(mark)
        self._apply_leverage(float(leverage))
        after = self._available(mark)
        if after < -1e-9 and after < before - 1e-12:
            self._apply_leverage(old)
            raise SimError(
                f"set_leverage {leverage:g}: needs {before - after:.8f} {self.spec.settle} more margin, "
                f"the available balance is {before:.8f}"
            )

    def _apply_leverage(self, leverage: float) -> None:
        """Set leverage and re-derive what depends on it: position margin, risk prices, order margin."""
        self._leverage = leverage
        self._refresh_risk_prices()
        self._reprice_orders(False, self.contracts, True)

    def _check_leverage(self, leverage: float) -> None:
        if not leverage > 0 or not math.isfinite(leverage):
            raise SimError(f"leverage must be a finite number > 0 (got {leverage})")
        tier = self.spec.risk_tiers[0]
        if self.contracts:  # the tier of the position's value at the mark price, as Bybit picks it
            tier = self._tier_at(self._current_prices()[1] or self._entry)
        if leverage > min(tier.max_leverage, self.spec.max_leverage) + 1e-9:
            raise SimError(f"leverage {leverage:g} above the maximum {tier.max_leverage:g} of the risk tier")

    def set_margin_mode(self, mode: MarginMode | str) -> None:
        """Switch margin mode; only while flat with no open orders."""
        if self.contracts or self._orders:
            raise SimError("margin mode can only change with no position and no open orders")
        self._margin_mode = MarginMode(mode)

    def add_margin(self, amount: float) -> None:
        """Add margin to an isolated position (moves its liquidation price away)."""
        if self._margin_mode is not MarginMode.ISOLATED or not self.contracts:
            raise SimError("margin can only be added to an open isolated position")
        if amount > self._available(self._current_prices()[1]) + 1e-12:
            raise SimError(f"add_margin {amount}: exceeds the available balance")
        self._extra += amount
        self._refresh_risk_prices()

    @property
    def last_price(self) -> float:
        """Close of the latest simulated candle."""
        return self._c[self._i] if self._i >= 0 else 0.0

    # -- engine-facing -------------------------------------------------------------------------------

    def equity(self) -> float:
        """Margin balance (wallet + UPNL at the latest mark close), in the settle currency."""
        i = self._i
        if not self.contracts or i < 0:
            return self._wallet
        return self._wallet + cm.unrealized_pnl(self.contracts, self._entry, self._mc[i], self._inverse)

    @property
    def wallet_balance(self) -> float:
        """Wallet balance in the settle currency."""
        return self._wallet

    @property
    def now_ms(self) -> int:
        """Close time of the latest simulated candle (when the strategy's tick happens)."""
        return self._now_ms

    @property
    def candle_index(self) -> int:
        """Index of the latest simulated candle (-1 before the first)."""
        return self._i
