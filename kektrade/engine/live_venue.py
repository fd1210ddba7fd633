"""``LiveVenue``: a live account (``CcxtSubaccount``) as the engine sees a venue.

The strategy's calls go straight to the exchange; the engine reads cached views (position, wallet, open
orders) refreshed once per closed candle in ``step``, so snapshots never wait on the network. Orders
placed, amended and cancelled through this object, orders that leave the book and new executions are
journaled like the simulator's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kektrade.domain.journal import FillRecorded, Journal, OrderRecorded
from kektrade.domain.types import (
    Fill,
    FillKind,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    PositionView,
    TimeInForce,
    TriggerBy,
    WalletView,
)
from kektrade.exchange.sim.settings import MarketArrays
from kektrade.exchange.subaccount import Subaccount

log = logging.getLogger("kektrade.engine")


class LiveVenue(Subaccount):
    """A live account plus the closed candles of its pair; the engine's view is cached per candle."""

    def __init__(self, account: Subaccount, market: MarketArrays, journal: Journal | None, subaccount_id: str) -> None:
        self.account = account
        self.spec = account.spec
        self.market = market
        self.journal = journal
        self.subaccount_id = subaccount_id
        self.fills: list[Fill] = []
        self._i = -1
        self._known: set[tuple[int, str, float, float, str]] = set()
        self._orders: list[Order] = []
        self._position: PositionView | None = None
        self._wallet: WalletView | None = None
        self.initial_balance = 0.0

    # -- engine-facing ---------------------------------------------------------------------------------

    def step(self, i: int) -> None:
        """Candle ``i`` closed: refresh the cached views and journal what changed on the exchange."""
        self._i = i
        self.refresh()

    def set_clock(self, i: int) -> None:
        """Re-index the latest candle (the live loop trims old candles) without asking the exchange."""
        self._i = i

    def refresh(self) -> None:
        """Re-read position, orders, executions and wallet from the exchange (network calls)."""
        for fill in self._fetch_fills():
            key = _fill_key(fill)
            if key in self._known:
                continue
            self._known.add(key)
            self.fills.append(fill)
            if self.journal is not None:
                self.journal.record(FillRecorded(self.subaccount_id, fill))
        self.get_position()
        self._sync_orders(self.account.get_open_orders())
        self.get_wallet()
        if not self.initial_balance and self._wallet is not None:
            self.initial_balance = self._wallet.wallet_balance

    def restore(self, fills: Sequence[Fill], open_orders: Sequence[Order], initial_balance: float) -> None:
        """Continue a resumed run: executions and open orders already journaled are not journaled again."""
        self.fills = list(fills)
        self._known = {_fill_key(f) for f in fills}
        self._orders = list(open_orders)
        self.initial_balance = initial_balance

    def _fetch_fills(self) -> list[Fill]:
        fetch = getattr(self.account, "fetch_fills", None)
        return list(fetch()) if fetch is not None else []

    def _sync_orders(self, current: list[Order]) -> None:
        """Journal orders that left the book since the last look (filled or cancelled)."""
        still = {o.id for o in current}
        for order in self._orders:
            if order.id in still:
                continue
            done = sum(f.contracts for f in self.fills if f.order_id == order.id and f.kind is FillKind.TRADE)
            gone = order.copy()
            gone.filled = done
            full = abs(done) >= abs(order.contracts) - 1e-12
            gone.status = OrderStatus.FILLED if full else OrderStatus.CANCELLED
            self._record(gone, "filled" if full else "cancelled")
        known = {o.id for o in self._orders}
        for order in current:
            if order.id not in known:
                self._record(order, "placed")
        self._orders = list(current)

    def _record(self, order: Order, event: str) -> None:
        if self.journal is not None:
            self.journal.record(OrderRecorded(self.subaccount_id, self.now_ms, event, order.copy()))

    @property
    def candle_index(self) -> int:
        """Index of the latest closed candle (-1 before the first)."""
        return self._i

    @property
    def now_ms(self) -> int:
        """Close time of the latest closed candle."""
        return self.market.time_ms[self._i] + self.market.timeframe_ms if self._i >= 0 else 0

    def equity(self) -> float:
        """Margin balance as of the last refresh."""
        return self._wallet.margin_balance if self._wallet is not None else 0.0

    @property
    def wallet_balance(self) -> float:
        """Wallet balance as of the last refresh."""
        return self._wallet.wallet_balance if self._wallet is not None else 0.0

    @property
    def cached_position(self) -> PositionView | None:
        """The position as of the last refresh (no network)."""
        return self._position

    @property
    def cached_orders(self) -> list[Order]:
        """Open orders as of the last refresh or order call (no network)."""
        return list(self._orders)

    # -- the Subaccount interface: straight to the exchange ------------------------------------------

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
        """Place an order on the exchange; journaled as placed or rejected."""
        order = self.account.open_order(
            order_type, contracts, price, trigger_price, reduce_only, post_only, time_in_force, client_id,
            trigger_by,
        )  # fmt: skip
        if order.status is OrderStatus.REJECTED:
            self._record(order, "rejected")
        elif order.is_open:
            self._orders.append(order)
            self._record(order, "placed")
        return order

    def edit_order(
        self,
        order_id: str,
        price: float | None = None,
        contracts: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """Amend an open order on the exchange."""
        order = self.account.edit_order(order_id, price, contracts, trigger_price)
        self._record(order, "amend_rejected" if order.reject_reason else "amended")
        self._orders = [order if o.id == order.id else o for o in self._orders]
        return order

    def cancel_order(self, order_id: str) -> Order | None:
        """Cancel one open order on the exchange."""
        order = self.account.cancel_order(order_id)
        if order is not None:
            self._orders = [o for o in self._orders if o.id != order.id]
            self._record(order, "cancelled")
        return order

    def cancel_all_orders(self) -> int:
        """Cancel every open order of the symbol on the exchange."""
        count = self.account.cancel_all_orders()
        for order in self._orders:
            gone = order.copy()
            gone.status = OrderStatus.CANCELLED
            self._record(gone, "cancelled")
        self._orders = []
        return count

    def close_position(self) -> Order | None:
        """Flatten with a reduce-only market order (None when flat)."""
        contracts = self.get_position().contracts
        if contracts == 0.0:
            return None
        return self.open_order(OrderType.MARKET, -contracts, reduce_only=True)

    def get_open_orders(self) -> list[Order]:
        """Open orders, read from the exchange."""
        return self.account.get_open_orders()

    def get_position(self) -> PositionView:
        """The position, read from the exchange."""
        self._position = self.account.get_position()
        return self._position

    def get_wallet(self) -> WalletView:
        """The wallet, read from the exchange."""
        self._wallet = self.account.get_wallet()
        return self._wallet

    def get_contracts_pct_of_balance(self, pct: float, price: float | None = None) -> float:
        """Contracts worth ``pct`` of the wallet at the leverage."""
        return self.account.get_contracts_pct_of_balance(pct, price)

    def set_leverage(self, leverage: float) -> None:
        """Set the leverage on the exchange."""
        self.account.set_leverage(leverage)

    def set_margin_mode(self, mode: MarginMode | str) -> None:
        """Switch the margin mode on the exchange."""
        self.account.set_margin_mode(mode)

    def add_margin(self, amount: float) -> None:
        """Add margin to the isolated position on the exchange."""
        self.account.add_margin(amount)

    @property
    def contracts(self) -> float:
        """Signed position size as of the last refresh or position read."""
        return self._position.contracts if self._position is not None else self.account.contracts

    @property
    def last_price(self) -> float:
        """The last closed candle's close (the exchange's ticker when no candle closed yet)."""
        return self.market.close[self._i] if self._i >= 0 else self.account.last_price


def _fill_key(fill: Fill) -> tuple[int, str, float, float, str]:
    """Identity of an execution across restarts (the exchange's list is re-read from the start)."""
    return (fill.time_ms, fill.order_id, fill.contracts, fill.price, str(fill.kind))
