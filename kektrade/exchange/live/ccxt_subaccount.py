"""``CcxtSubaccount``: the live venue, one symbol of an exchange account through the sync ccxt client.

The exchange-neutral flow lives here; what differs between exchanges (request parameters, raw payloads,
units, error codes, client-id rules) is the exchange's ``Dialect`` (dialect.py, registry in dialects.py).
Refused orders come back ``rejected`` with a reason, like the simulator's; other refusals raise
``VenueError``. API secrets are never logged: errors carry only the exchange's code and message.

Transient faults (timeouts, 5xx, 429, dropped connections, the exchange's rate-limit and busy codes) are
retried with bounded backoff (``retry.RetryPolicy``). Every order carries a client order id; an order
call whose outcome is unknown is resolved by looking that id up, and a re-send with the same id that the
exchange refuses as a duplicate adopts the order already there: never a second order.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import ccxt

from kektrade.domain import contract_math as cm
from kektrade.domain.order_checks import order_input_problem
from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import (
    Fill,
    FillKind,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    PositionView,
    RejectReason,
    TimeInForce,
    TriggerBy,
    WalletView,
)
from kektrade.exchange.live.bybit_parse import amended, fill_from_execution, order_from_info
from kektrade.exchange.live.client_ids import auto_client_id
from kektrade.exchange.live.dialect import Dialect, OrderDraft
from kektrade.exchange.live.dialects import dialect_for
from kektrade.exchange.live.errors import OrderNotOpenVenueError, VenueError
from kektrade.exchange.live.executions import ExecutionReader
from kektrade.exchange.live.retry import (
    Fault,
    FaultKind,
    FaultSink,
    OrderInDoubt,
    Retrier,
    RetryPolicy,
    TransientVenueError,
    lost_order,
)
from kektrade.exchange.subaccount import Subaccount

__all__ = ["CcxtSubaccount", "OrderInDoubt", "fill_from_execution", "order_from_info"]

log = logging.getLogger(__name__)


class CcxtSubaccount(Subaccount):
    """One symbol of a live (or fake) exchange account, behind the ``Subaccount`` interface."""

    def __init__(
        self,
        exchange: ccxt.Exchange,
        symbol: str,
        spec: ContractSpec | None = None,
        retry: RetryPolicy | None = None,
        on_fault: FaultSink | None = None,
        dialect: type[Dialect] | None = None,
    ) -> None:
        self._ex = exchange
        kind = dialect or dialect_for(str(exchange.id))
        self._retrier = Retrier(retry or RetryPolicy(), exchange, on_fault, kind.codes)
        self._retrier.before_retry = self._before_retry
        self._call(exchange.load_markets)
        self.market: dict[str, Any] = exchange.market(symbol)
        self.symbol = str(self.market["symbol"])
        self.dialect = kind(exchange, self.market, self._call)
        self.spec = spec or self.dialect.load_spec()
        self._contracts = 0.0
        self._last = 0.0
        self._leverage = 0.0
        self._margin_mode = MarginMode.CROSS
        self._orders: list[Order] = []
        self._execs = ExecutionReader(self.dialect.executions_page)

    # -- plumbing --------------------------------------------------------------------------------------

    @property
    def on_fault(self) -> FaultSink | None:
        """Where transient faults are reported (each failed attempt)."""
        return self._retrier.on_fault

    @on_fault.setter
    def on_fault(self, sink: FaultSink | None) -> None:
        self._retrier.on_fault = sink

    @property
    def retrier(self) -> Retrier:
        """The retry machinery (its ``on_fault`` / ``on_success`` callbacks report fault episodes)."""
        return self._retrier

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one idempotent ccxt call with retries; definite errors become ``VenueError``."""
        return self._retrier.call(getattr(method, "__name__", "call"), method, *args, **kwargs)

    def _before_retry(self, fault: Fault) -> None:
        if fault.kind is FaultKind.CLOCK:  # timestamp outside the receive window: re-measure the clock
            try:
                self._ex.load_time_difference()
            except ccxt.BaseError as exc:
                log.warning("re-measuring the exchange clock failed: %s", exc)

    def _fetch_order(self, order_id: str) -> Order | None:
        """One order by exchange id, open or recently finished."""
        return self.dialect.find(order_id=order_id)

    def get_order(self, order_id: str) -> Order | None:
        """One order by exchange id, open or finished (None when the exchange does not know it)."""
        return self._fetch_order(order_id)

    def find_by_client_id(self, client_id: str) -> Order | None:
        """The order carrying ``client_id`` (open or finished), None when the exchange has none."""
        return self.dialect.find(client_id=client_id)

    # -- orders ----------------------------------------------------------------------------------------

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
        """Place an order; refusals come back ``rejected`` with a reason, like the simulator's."""
        kind, tif, by = OrderType(order_type), TimeInForce(time_in_force), TriggerBy(trigger_by)
        draft = Order(
            "",
            self.symbol,
            kind,
            float(contracts),
            price,
            trigger_price,
            by,
            0,
            reduce_only,
            post_only,
            tif,
            client_id,
        )
        # the simulator's input checks, with the same reasons (issue 12): never let ccxt truncate a size
        spec = self.spec
        problem = order_input_problem(
            kind, float(contracts), price, trigger_price, spec.lot_step, spec.tick_size, spec.min_qty, spec.max_qty
        )
        if problem is not None:
            return self._rejected(draft, problem.value)
        link = client_id or auto_client_id()
        intent = OrderDraft(kind, float(contracts), price, trigger_price, reduce_only, post_only, tif, by)
        try:
            placed_id = self._place(link, intent)
        except VenueError as exc:
            reason = self.dialect.reject_reason(exc, self._contracts)
            if reason is None:
                raise
            return self._rejected(draft, reason)
        try:
            order = self._fetch_order(placed_id)
        except TransientVenueError:
            order = None  # accepted; the next refresh reads it
        if order is None:
            draft.id = placed_id
            return draft
        if order.status is OrderStatus.CANCELLED and order.reject_reason == RejectReason.POST_ONLY_WOULD_TAKE:
            order.status = OrderStatus.REJECTED  # the simulator refuses it at placement
        return order

    def _place(self, link: str, intent: OrderDraft) -> str:
        """Send the create until it is answered; the order id. Unknown outcomes are looked up by ``link``.

        Every re-send carries the same client id, so it can never make a second order: the exchange
        refuses it as a duplicate (Bybit 110072, OKX 51016), and then the order already there is adopted.
        """
        policy = self._retrier.policy
        for attempt in range(1, policy.attempts + 1):
            try:
                return str(self._retrier.once("create_order", self.dialect.create, intent, link))
            except TransientVenueError as exc:
                error = exc
            except VenueError as exc:
                if exc.code not in self.dialect.codes.duplicate_client_id:
                    raise
                log.info("order %s was already accepted (duplicate client id): adopting it", link)
                error = None
            found = self._resolve(link, error)
            if found is not None:
                return found.id
            if error is not None and attempt < policy.attempts:
                policy.sleep(policy.delay(attempt, error.fault))
        raise OrderInDoubt(error or TransientVenueError(lost_order(link), policy.attempts), link)

    def _resolve(self, link: str, error: TransientVenueError | None) -> Order | None:
        """Look the order up by its client id after an unknown outcome; None when it is not there."""
        if error is not None and not error.fault.maybe_processed:
            return None  # refused before processing (rate limit, clock): nothing to look up
        try:
            found = self.find_by_client_id(link)
        except TransientVenueError as exc:
            raise OrderInDoubt(exc, link) from None
        if found is None and error is None:  # a duplicate the exchange cannot show us
            raise OrderInDoubt(TransientVenueError(lost_order(link), 1), link)
        return found

    @staticmethod
    def _rejected(order: Order, reason: str) -> Order:
        order.status = OrderStatus.REJECTED
        order.reject_reason = reason
        return order

    def edit_order(
        self,
        order_id: str,
        price: float | None = None,
        contracts: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """Amend an open order; a refused amendment keeps the order, with a reason."""
        order = self._fetch_order(order_id)
        if order is None or not order.is_open:
            raise OrderNotOpenVenueError(f"no open order {order_id!r}")
        if contracts is not None and (contracts > 0) != (order.contracts > 0):
            order.reject_reason = f"amend refused: {RejectReason.ZERO_QTY.value}"
            return order
        wanted = (price, contracts, trigger_price)
        try:
            self.dialect.amend(order, price, contracts, trigger_price)
        except VenueError as exc:
            after = self._fetch_order(order.id)
            if after is not None and amended(after, wanted):  # a retried amend whose first try went through
                return after
            reason = self.dialect.reject_reason(exc, self._contracts)
            if reason is None:
                raise
            order.reject_reason = f"amend refused: {reason}"
            return order
        return self._fetch_order(order.id) or order

    def cancel_order(self, order_id: str) -> Order | None:
        """Cancel one open order; None when it is not open (a retried cancel whose first reply was lost counts)."""
        policy, retried = self._retrier.policy, False
        for attempt in range(1, policy.attempts + 1):
            try:
                self._retrier.once("cancel_order", self.dialect.cancel, order_id)
                return self._fetch_order(order_id)
            except TransientVenueError as exc:
                if attempt >= policy.attempts:
                    raise
                retried = retried or exc.fault.maybe_processed
                policy.sleep(policy.delay(attempt, exc.fault))
            except VenueError as exc:
                if exc.code not in self.dialect.codes.order_not_found:
                    raise
                if not retried:
                    return None
                gone = self._fetch_order(order_id)
                return gone if gone is not None and gone.status is OrderStatus.CANCELLED else None
        return None

    def cancel_all_orders(self) -> int:
        """Cancel every open order of the symbol, regular and conditional."""
        return self.dialect.cancel_all()

    def close_position(self) -> Order | None:
        """Flatten with a reduce-only market order for the whole position (None when flat)."""
        contracts = self.get_position().contracts
        if contracts == 0.0:
            return None
        return self.open_order(OrderType.MARKET, -contracts, reduce_only=True)

    def get_open_orders(self) -> list[Order]:
        """Open regular and conditional orders, oldest first."""
        by_id: dict[str, Order] = {}
        for order in self.dialect.fetch_open_orders():
            if order.is_open:
                by_id.setdefault(order.id, order)
        self._orders = sorted(by_id.values(), key=lambda o: o.created_ms)
        return list(self._orders)

    # -- position and wallet ---------------------------------------------------------------------------

    def get_position(self) -> PositionView:
        """The position as the exchange reports it."""
        read = self.dialect.fetch_position()
        if read.leverage:
            self._leverage = read.leverage
        if read.margin_mode is not None:
            self._margin_mode = read.margin_mode
        contracts = read.contracts
        self._contracts = contracts
        size, mark = abs(contracts), read.mark_price
        return PositionView(
            symbol=self.symbol,
            contracts=contracts,
            entry_price=read.entry_price if contracts else 0.0,
            mark_price=mark,
            liquidation_price=read.liquidation_price,
            bankruptcy_price=read.bankruptcy_price,
            unrealized_pnl=read.unrealized_pnl,
            realized_pnl=read.realized_pnl,
            initial_margin=read.initial_margin,
            maintenance_margin=read.maintenance_margin,
            leverage=self._leverage,
            margin_mode=self._margin_mode,
            position_value=cm.position_value(size, mark, self.spec.is_inverse) if size and mark else 0.0,
            settle_currency=self.spec.settle,
        )

    def seed_executions(self, exec_ids: set[str] | list[str]) -> None:
        """Mark executions as already known (resume): ``fetch_executions`` stops at them."""
        self._execs.seed(exec_ids)

    def fetch_executions(self) -> list[tuple[str, Fill]]:
        """Executions not handed out by an earlier call, oldest first, with the exchange's execution id."""
        return self._execs.take_new()

    def fetch_fills(self) -> list[Fill]:
        """Every execution of the symbol seen so far (trades, funding, liquidations), oldest first."""
        self._execs.pull()
        return self._execs.fills

    def get_wallet(self) -> WalletView:
        """The settle-coin wallet; cumulative sums over the executions seen."""
        read = self.dialect.fetch_wallet(self.spec.settle)
        wallet, equity = read.wallet_balance, read.margin_balance
        pm, om = read.position_margin, read.order_margin
        if read.available is not None:
            available = read.available
        else:
            available = (equity if self._margin_mode is MarginMode.CROSS else wallet) - pm - om
        fills = self.fetch_fills()
        return WalletView(
            currency=self.spec.settle,
            wallet_balance=wallet,
            margin_balance=equity,
            available_balance=available,
            position_margin=pm,
            order_margin=om,
            cumulative_fees=sum((f.fee for f in fills if f.kind is not FillKind.FUNDING), 0.0),
            cumulative_funding=sum((f.fee for f in fills if f.kind is FillKind.FUNDING), 0.0),
            cumulative_realized_pnl=sum((f.realized_pnl for f in fills), 0.0),
        )

    def get_contracts_pct_of_balance(self, pct: float, price: float | None = None) -> float:
        """Contracts worth ``pct`` of the wallet balance at the leverage, down to the lot step."""
        wallet = self.get_wallet().wallet_balance
        self.get_position()
        price = price or self._ticker_last()
        if not price or price <= 0.0:
            return 0.0
        budget = wallet * pct * self._leverage
        raw = budget * price if self.spec.is_inverse else budget / price
        qty = cm.floor_to_step(raw, self.spec.lot_step)
        return qty if qty >= self.spec.min_qty else 0.0

    # -- settings --------------------------------------------------------------------------------------

    def set_leverage(self, leverage: float) -> None:
        """Set buy and sell leverage; the exchange's "leverage not modified" counts as success."""
        if not leverage > 0 or math.isinf(leverage):
            raise ValueError(f"leverage must be > 0 (got {leverage})")
        try:
            self.dialect.set_leverage(float(leverage), self._margin_mode)
        except VenueError as exc:
            if exc.code not in self.dialect.codes.leverage_not_modified:
                raise
        self._leverage = float(leverage)

    def set_margin_mode(self, mode: MarginMode | str) -> None:
        """Switch isolated/cross (Bybit: account-wide on a unified account; OKX: travels with each order)."""
        wanted = MarginMode(mode)
        try:
            self.dialect.set_margin_mode(wanted, self._leverage or 1)
        except VenueError as exc:
            if exc.code not in self.dialect.codes.margin_mode_not_modified:
                raise
        self._margin_mode = wanted

    def add_margin(self, amount: float) -> None:
        """Move ``amount`` of the settle coin into the isolated position."""
        if not amount > 0:
            raise ValueError(f"add_margin: amount must be > 0 (got {amount})")
        self.dialect.add_margin(float(amount))

    # -- cached reads ----------------------------------------------------------------------------------

    def _ticker_last(self) -> float:
        last = self.dialect.fetch_last_price()
        self._last = float(last) if last is not None else self._last
        return self._last

    def refresh(self) -> None:
        """Re-read position, open orders and the ticker (what ``contracts`` and ``last_price`` return)."""
        self.get_position()
        self.get_open_orders()
        self._ticker_last()

    @property
    def contracts(self) -> float:
        """Signed position size as of the last refresh."""
        return self._contracts

    @property
    def last_price(self) -> float:
        """Last traded price as of the last refresh."""
        return self._last
