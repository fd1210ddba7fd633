"""``LiveVenue``: a live account (``CcxtSubaccount``) as the engine sees a venue.

The strategy's calls go to the exchange; the engine reads cached views (position, wallet, open orders)
refreshed once per closed candle in ``step``, so snapshots never wait on the network. Orders placed,
amended and cancelled through this object, orders that leave the book and new executions are journaled
like the simulator's.

Safety (docs/live-safety.md): every order carries a deterministic client order id (``live_intents``),
journaled before it is sent; a re-sent intent adopts the order already on the exchange. Nothing here
raises because the exchange misbehaves: a failing read keeps the last view, an order whose outcome the
exchange could not tell comes back open ("in doubt") and is resolved by its client id at the next
refresh, and faults are counted in ``faults`` for front ends. ``reconcile`` (before the first tick) and
``final_sync`` (on a clean stop) live in ``live_reconcile``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from kektrade.domain.journal import FillRecorded, IntentRecorded, Journal, OrderRecorded
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
from kektrade.engine.live_faults import FaultLog
from kektrade.engine.live_intents import IntentBook
from kektrade.exchange.live.ccxt_subaccount import OrderInDoubt
from kektrade.exchange.live.errors import VenueError
from kektrade.exchange.live.retry import TransientVenueError
from kektrade.exchange.sim.settings import MarketArrays
from kektrade.exchange.subaccount import OrderNotOpenError, Subaccount

log = logging.getLogger("kektrade.engine")

FOUND_ORDER_POLICIES = ("adopt", "cancel")


class LiveVenue(Subaccount):
    """A live account plus the closed candles of its pair; the engine's view is cached per candle."""

    def __init__(
        self,
        account: Subaccount,
        market: MarketArrays,
        journal: Journal | None,
        subaccount_id: str,
        run_id: str = "",
        found_orders: str = "adopt",
    ) -> None:
        if found_orders not in FOUND_ORDER_POLICIES:
            raise ValueError(f"live.orders_found_on_start: {found_orders!r} is not one of {FOUND_ORDER_POLICIES}")
        self.account = account
        self.spec = account.spec
        self.market = market
        self.journal = journal
        self.subaccount_id = subaccount_id
        self.run_id = run_id
        self.found_orders = found_orders
        self.fills: list[Fill] = []
        self.faults = FaultLog(subaccount_id)
        self.intents = IntentBook(run_id, subaccount_id, journal)
        self.baseline: dict[str, Any] | None = None  # position and wallet when the run first started
        self.initial_balance = 0.0
        self._i = -1
        self._known: Counter[tuple[int, str, float, float, str]] = Counter()  # fills without an exec id
        self._exec_ids: set[str] = set()
        self._plain: set[tuple[int, str, float, float, str]] = set()
        self._orders: list[Order] = []
        self._in_doubt: dict[str, Order] = {}  # client id -> placeholder returned to the strategy
        self._aliases: dict[str, str] = {}  # placeholder id (client id) -> exchange order id
        self._pending_cancels: set[str] = set()
        self._position: PositionView | None = None
        self._wallet: WalletView | None = None
        #: journaled order events, new executions and position changes so far (``step_to`` compares them)
        self._changes = 0
        if not run_id:
            log.warning(
                "subaccount %s: live venue without a run id: client order ids are not unique per run", subaccount_id
            )
        retrier = getattr(account, "retrier", None)
        if retrier is not None:
            retrier.on_fault = self.faults
            retrier.on_success = self.faults.recovered

    # -- engine-facing ---------------------------------------------------------------------------------

    def step(self, i: int) -> None:
        """Candle ``i`` closed: refresh the cached views and journal what changed on the exchange."""
        self._i = i
        self.refresh()

    def step_to(self, i: int, end: int) -> int:
        """Step candles from ``i`` up to ``end`` (exclusive); stop after the first on which the account
        changed (an order left or joined the book, an execution, the position moved) and return it, else
        ``end``. The simulator's ``step_to`` for the candles a strategy's tick schedule skips."""
        for j in range(i, end):
            before = self._changes
            self.step(j)
            if self._changes != before:
                return j
        return end

    def set_clock(self, i: int) -> None:
        """Re-index the latest candle (the live loop trims old candles) without asking the exchange."""
        self._i = i

    def refresh(self) -> None:
        """Re-read executions, position, orders and wallet; a failing read keeps the last view (never raises)."""
        self._guard("executions", self._pull_fills)
        self._guard("in-doubt orders", self._resolve_in_doubt)
        self._guard("pending cancels", self._retry_cancels)
        self._read_position()
        orders = self._guard("open orders", self.account.get_open_orders)
        if orders is not None:
            self._sync_orders(orders)
        self._read_wallet()
        if not self.initial_balance and self._wallet is not None:
            self.initial_balance = self._wallet.wallet_balance

    def restore(
        self,
        fills: Sequence[Fill],
        open_orders: Sequence[Order],
        initial_balance: float,
        intents: Sequence[IntentRecorded] = (),
        exec_ids: Sequence[str] = (),
    ) -> None:
        """Continue a resumed run: executions, orders and intents already journaled are not journaled again.

        No network: ``reconcile`` (which the live loop calls before the first tick) compares with the
        exchange. Without it, a replayed intent is still recognised by the exchange (duplicate client id).
        """
        self.remember_fills(fills, exec_ids)
        self.intents.load(intents)
        self._orders = list(open_orders)
        self.initial_balance = initial_balance

    def remember_fills(self, fills: Sequence[Fill], exec_ids: Sequence[str]) -> None:
        """Fills already journaled, with their execution ids (aligned; "" or missing: recorded without one)."""
        self.fills = list(fills)
        ids = list(exec_ids) + [""] * (len(fills) - len(exec_ids))
        self._exec_ids = {e for e in ids if e}
        self._known = Counter(_fill_key(f) for f, e in zip(fills, ids, strict=False) if not e)
        seed = getattr(self.account, "seed_executions", None)
        if seed is not None and self._exec_ids:
            seed(sorted(self._exec_ids))

    def manual(self) -> AbstractContextManager[None]:
        """Wrap orders sent outside a candle's tick (front-end commands): their ids are not candle-bound."""
        return self.intents.manual()

    def reconcile(self, records: Any = None) -> list[str]:
        """Compare with the exchange before the first tick (see ``live_reconcile.reconcile``)."""
        from kektrade.engine.live_reconcile import reconcile

        return reconcile(self, records)

    def final_sync(self) -> list[str]:
        """Re-read the account on a clean stop so the database agrees with the exchange; the differences."""
        from kektrade.engine.live_reconcile import final_sync

        return final_sync(self)

    def _guard[T](self, what: str, read: Any) -> T | None:
        """Run one exchange call; any failure is counted as a fault and None returned (the last view stays).

        Transient faults were counted (and logged once) by the account's retrier already; a refusal or an
        unexpected reply (a malformed payload) is counted here, so nothing the exchange does raises.
        """
        try:
            result: T = read()
        except TransientVenueError:
            return None
        except Exception as exc:
            self.faults.add(what, "error" if isinstance(exc, VenueError) else type(exc).__name__, str(exc))
            return None
        self.faults.recovered(what)
        return result

    def _pull_fills(self) -> None:
        fetch = getattr(self.account, "fetch_executions", None)
        if fetch is None:
            for fill in getattr(self.account, "fetch_fills", list)():
                self._add_fill("", fill)
            return
        for exec_id, fill in fetch():
            self._add_fill(exec_id, fill)

    def _add_fill(self, exec_id: str, fill: Fill) -> bool:
        """Journal one execution unless it is known (by execution id, else by its fields)."""
        key = _fill_key(fill)
        if not exec_id:  # an account that reports no execution ids (the whole list each time)
            if key in self._plain or self._known[key] > 0:
                return False
            self._plain.add(key)
        elif exec_id in self._exec_ids:
            return False
        elif self._known[key] > 0:  # the same execution, recorded before execution ids were kept
            self._known[key] -= 1
            self._exec_ids.add(exec_id)
            return False
        else:
            self._exec_ids.add(exec_id)
        self.fills.append(fill)
        self._changes += 1
        if self.journal is not None:
            self.journal.record(FillRecorded(self.subaccount_id, fill, exec_id))
        return True

    def _sync_orders(self, current: list[Order]) -> None:
        """Journal orders that left the book since the last look (filled or cancelled) and new ones."""
        raw = {o.id: o.client_id for o in current}
        for order in current:
            self._present(order)
        still = {o.id for o in current}
        for order in self._orders:
            if order.id not in still:
                self._record_gone(order)
        known = {o.id for o in self._orders}
        for order in current:
            if order.id not in known:
                self._adopt(order, raw.get(order.id), "found on the exchange")
        self._orders = list(current)

    def _record_gone(self, order: Order) -> None:
        """An order left the book: journal its final state (read from the exchange, else inferred)."""
        final = self._guard("order status", lambda: _get_order(self.account, order.id))
        if isinstance(final, Order) and not final.is_open:
            gone = self._present(final)
        else:
            done = sum(f.contracts for f in self.fills if f.order_id == order.id and f.kind is FillKind.TRADE)
            gone = order.copy()
            gone.filled = done
            full = abs(done) >= abs(order.contracts) - 1e-12
            gone.status = OrderStatus.FILLED if full else OrderStatus.CANCELLED
        self._record(gone, str(gone.status))

    def _adopt(self, order: Order, link: str | None, why: str) -> None:
        """An open order kektrade did not place in this session: journal it as placed, and its intent."""
        self._record(order, "placed")
        if link and self.intents.is_own(link):
            self._in_doubt.pop(link, None)
            self._aliases[link] = order.id
            latest = self.intents.latest.get(link)
            if latest is None or latest.state != "accepted":
                self.intents.record(self.now_ms, link, "accepted", order.id)
        log.info("subaccount %s: order %s (%s) %s: now managed", self.subaccount_id, order.id, link, why)

    def _present(self, order: Order) -> Order:
        """Show the strategy its own client id (the exchange sees the namespaced one)."""
        if order.client_id in self.intents.strategy_ids:
            order.client_id = self.intents.strategy_ids[order.client_id]
        return order

    def _record(self, order: Order, event: str) -> None:
        self._changes += 1
        if self.journal is not None:
            self.journal.record(OrderRecorded(self.subaccount_id, self.now_ms, event, order.copy()))

    def _read_position(self) -> None:
        found = self._guard("position", self.account.get_position)
        if isinstance(found, PositionView):
            if self._position is None or found.contracts != self._position.contracts:
                self._changes += 1
            self._position = found

    def _read_wallet(self) -> None:
        found = self._guard("wallet", self.account.get_wallet)
        if isinstance(found, WalletView):
            self._wallet = found

    @property
    def candle_index(self) -> int:
        """Index of the latest closed candle (-1 before the first)."""
        return self._i

    @property
    def candle_open_ms(self) -> int:
        """Open time of the latest closed candle (0 before the first): the candle part of client ids."""
        return self.market.time_ms[self._i] if self._i >= 0 else 0

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
        """Open orders as of the last refresh or order call, in-doubt ones included (no network)."""
        return list(self._orders) + list(self._in_doubt.values())

    # -- orders (live_orders) ----------------------------------------------------------------------------

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
        """Place an order (idempotent by client id); refusals come back rejected with a reason, never raised."""
        from kektrade.engine.live_orders import place

        request = {
            "type": str(order_type), "contracts": float(contracts), "price": price, "trigger_price": trigger_price,
            "reduce_only": reduce_only, "post_only": post_only, "time_in_force": str(time_in_force),
            "trigger_by": str(trigger_by), "strategy_id": client_id,
        }  # fmt: skip
        return place(self, request)

    def edit_order(
        self,
        order_id: str,
        price: float | None = None,
        contracts: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """Amend an open order; when the exchange cannot be reached the order comes back with a reason."""
        order_id = self._aliases.get(order_id, order_id)
        if order_id in self._in_doubt:
            raise OrderNotOpenError(f"order {order_id!r} is not confirmed by the exchange yet")
        try:
            order = self.account.edit_order(order_id, price, contracts, trigger_price)
        except VenueError as exc:  # transient (not confirmed) or a refusal that is not about the order
            if not isinstance(exc, TransientVenueError):
                self.faults.add("amend", "error", str(exc))
            cached = next((o.copy() for o in self._orders if o.id == order_id), None)
            if cached is None:
                raise OrderNotOpenError(f"no open order {order_id!r}") from None
            cached.reject_reason = f"amend not confirmed: {exc}"
            return cached
        self._present(order)
        self._record(order, "amend_rejected" if order.reject_reason else "amended")
        self._orders = [order if o.id == order.id else o for o in self._orders]
        return order

    def cancel_order(self, order_id: str) -> Order | None:
        """Cancel one open order; retried at each refresh while the exchange cannot be reached."""
        order_id = self._aliases.get(order_id, order_id)
        if order_id in self._in_doubt:
            self._guard("in-doubt orders", self._resolve_in_doubt)
            order_id = self._aliases.get(order_id, order_id)
            if order_id in self._in_doubt:
                self._pending_cancels.add(order_id)
                return None
        try:
            order = self.account.cancel_order(order_id)
        except TransientVenueError:
            self._pending_cancels.add(order_id)
            return None
        except VenueError as exc:  # a refusal that is not "not found": logged, the order stays
            self.faults.add("cancel", "error", str(exc))
            return None
        self._pending_cancels.discard(order_id)
        if order is not None:
            self._present(order)
            self._orders = [o for o in self._orders if o.id != order.id]
            self._record(order, "cancelled")
        return order

    def cancel_all_orders(self) -> int:
        """Cancel every open order of the symbol (0 and retried at the next refresh when unreachable)."""
        if self._in_doubt:  # settle them first, so that an order the exchange did take is cancelled too
            self._guard("in-doubt orders", self._resolve_in_doubt)
        try:
            count = self.account.cancel_all_orders()
        except TransientVenueError:
            self._pending_cancels.add("*")
            return 0
        except VenueError as exc:
            self.faults.add("cancel all", "error", str(exc))
            return 0
        self._pending_cancels.discard("*")
        for order in self._orders:
            gone = order.copy()
            gone.status = OrderStatus.CANCELLED
            self._record(gone, "cancelled")
        self._orders = []
        return count

    def _retry_cancels(self) -> None:
        for order_id in sorted(self._pending_cancels):
            if order_id == "*":
                self.cancel_all_orders()
            elif order_id not in self._in_doubt:
                self.cancel_order(order_id)

    def _resolve_in_doubt(self) -> None:
        from kektrade.engine.live_orders import resolve_in_doubt

        resolve_in_doubt(self)

    def close_position(self) -> Order | None:
        """Flatten with a reduce-only market order (None when flat)."""
        contracts = self.get_position().contracts
        if contracts == 0.0:
            return None
        return self.open_order(OrderType.MARKET, -contracts, reduce_only=True)

    # -- reads: from the exchange, the last view when it cannot answer ---------------------------------

    def get_open_orders(self) -> list[Order]:
        """Open orders, read from the exchange (the last known ones when it cannot answer), in-doubt ones too."""
        found = self._guard("open orders", self.account.get_open_orders)
        if found is None:
            return self.cached_orders
        return [self._present(o) for o in found] + [o.copy() for o in self._in_doubt.values()]

    def get_position(self) -> PositionView:
        """The position, read from the exchange (the last known one when it cannot answer)."""
        self._read_position()
        if self._position is None:
            return _flat(self.spec.symbol, self.spec.settle)
        return self._position

    def get_wallet(self) -> WalletView:
        """The wallet, read from the exchange (the last known one when it cannot answer)."""
        self._read_wallet()
        if self._wallet is None:
            return WalletView(self.spec.settle, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return self._wallet

    def get_contracts_pct_of_balance(self, pct: float, price: float | None = None) -> float:
        """Contracts worth ``pct`` of the wallet at the leverage (0 while the exchange cannot answer)."""
        found = self._guard("balance", lambda: self.account.get_contracts_pct_of_balance(pct, price))
        return float(found) if found is not None else 0.0

    def set_leverage(self, leverage: float) -> None:
        """Set the leverage on the exchange (a transient fault is logged, not raised)."""
        self._guard("set leverage", lambda: self.account.set_leverage(leverage))

    def set_margin_mode(self, mode: MarginMode | str) -> None:
        """Switch the margin mode on the exchange (a transient fault is logged, not raised)."""
        self._guard("set margin mode", lambda: self.account.set_margin_mode(mode))

    def add_margin(self, amount: float) -> None:
        """Add margin to the isolated position on the exchange (a transient fault is logged, not raised)."""
        self._guard("add margin", lambda: self.account.add_margin(amount))

    @property
    def contracts(self) -> float:
        """Signed position size as of the last refresh or position read."""
        return self._position.contracts if self._position is not None else self.account.contracts

    @property
    def last_price(self) -> float:
        """The last closed candle's close (the exchange's ticker when no candle closed yet)."""
        return self.market.close[self._i] if self._i >= 0 else self.account.last_price


def _get_order(account: Subaccount, order_id: str) -> Order | None:
    getter = getattr(account, "get_order", None)
    return getter(order_id) if getter is not None else None


def _flat(symbol: str, settle: str) -> PositionView:
    """A flat position (before the exchange answered once)."""
    return PositionView(symbol, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, MarginMode.CROSS, 0.0, settle)


def _fill_key(fill: Fill) -> tuple[int, str, float, float, str]:
    """Identity of an execution without an execution id (fills recorded before schema 2)."""
    return (fill.time_ms, fill.order_id, fill.contracts, fill.price, str(fill.kind))


__all__ = ["FOUND_ORDER_POLICIES", "LiveVenue", "OrderInDoubt"]
