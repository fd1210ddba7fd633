"""Order entry of the simulated venue: validation with a reason for every refusal, margin reservation."""

from __future__ import annotations

from mypy_extensions import mypyc_attr

from kektrade.domain import contract_math as cm
from kektrade.domain.journal import OrderRecorded
from kektrade.domain.order_checks import order_input_problem
from kektrade.domain.order_events import OrderEventLog
from kektrade.domain.types import (
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TriggerBy,
    is_conditional,
    is_limit_priced,
    unlist,
)
from kektrade.exchange.sim.accounting import SimAccounting


def trigger_direction(order_type: OrderType, is_buy: bool) -> int:
    """1 = fires when the price rises to the trigger, 2 = when it falls (Bybit's triggerDirection)."""
    if order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
        return 1 if is_buy else 2
    return 2 if is_buy else 1


@mypyc_attr(allow_interpreted_subclasses=True)
class SimOrders(SimAccounting):
    """Place, amend and cancel orders; keeps the open-order list and the order margin."""

    _orders: list[Order]
    _reserved: int  # orders holding a reservation (``Order._reservation``): at none, the order margin is 0.0
    _next_id: int
    _latency_ms: int
    _landing_ms: int  # while a landed amendment is applied: the time it lands (else -1)
    #: a backtest's order-event log (set beside ``journal`` by whoever owns the run database): events of
    #: plain orders are appended there; those of conditional orders still go through ``journal``
    order_events: OrderEventLog | None
    #: order events and liquidations so far (the kernel asks ``step_to`` whether a candle brought any)
    _changes: int = 0

    # -- recording ---------------------------------------------------------------------------------

    def _recording(self) -> bool:
        """Does anything record this venue's order events (a journal or the order-event log)? Callers skip
        the per-order ``_record_order`` call when nothing does (optimizer trials)."""
        return self.journal is not None or self.order_events is not None

    def _record_order(self, order: Order, event: str) -> None:
        self._changes += 1
        events = self.order_events
        if events is not None and not is_conditional(order.type):
            events.add(self.subaccount_id, self._now_ms, event, order)
        elif self.journal is not None:
            self.journal.record(OrderRecorded(self.subaccount_id, self._now_ms, event, order.copy()))

    def _reject(self, order: Order, reason: RejectReason) -> Order:
        order.status = OrderStatus.REJECTED
        order.reject_reason = reason.value
        self._record_order(order, "rejected")
        return order

    # -- placing -----------------------------------------------------------------------------------

    def _new_order(
        self,
        order_type: OrderType,
        contracts: float,
        price: float | None,
        trigger_price: float | None,
        reduce_only: bool,
        post_only: bool,
        tif: TimeInForce,
        client_id: str | None,
        trigger_by: TriggerBy,
    ) -> Order:
        self._next_id += 1
        now = self._now_ms
        conditional = is_conditional(order_type)
        return Order(
            str(self._next_id),
            self._symbol,
            order_type,
            contracts,
            price,
            trigger_price,
            trigger_by,
            trigger_direction(order_type, contracts > 0) if conditional else 0,
            reduce_only,
            post_only,
            tif,
            client_id,
            OrderStatus.UNTRIGGERED if conditional else OrderStatus.NEW,
            0.0,
            0.0,
            0.0,
            now,
            now,
            None,
            now + self._latency_ms,
        )

    def _check_order(self, order: Order, last: float, mark: float) -> RejectReason | None:
        """Input checks (``order_input_problem``, shared with the live venue), then the market's: trigger
        side, post-only and reduce-only rules."""
        contracts, otype, price = order.contracts, order.type, order.price
        reason = order_input_problem(
            otype, contracts, price, order.trigger_price, self._lot, self._tick, self._min_qty, self._max_qty
        )
        if reason is not None:
            return reason
        if self._min_notional > 0.0 and not order.reduce_only:  # Binance: value at the order's own price
            at = price if is_limit_priced(otype) and price is not None else (order.trigger_price or last)
            if abs(contracts) * at < self._min_notional - 1e-9:
                return RejectReason.BELOW_MIN_NOTIONAL
        conditional = is_conditional(otype)
        if conditional:
            reason = self._check_trigger(order, mark if order.trigger_by is TriggerBy.MARK else last)
            if reason is not None:
                return reason
        elif (
            order.post_only
            and price is not None
            and otype is OrderType.LIMIT
            and ((price >= last) if contracts > 0 else (price <= last))
        ):
            return RejectReason.POST_ONLY_WOULD_TAKE
        if order.reduce_only and not conditional:
            if self.contracts == 0.0:
                return RejectReason.REDUCE_ONLY_NO_POSITION
            if (self.contracts > 0) == (contracts > 0):
                return RejectReason.REDUCE_ONLY_WOULD_INCREASE
        return None

    def _check_trigger(self, order: Order, reference: float) -> RejectReason | None:
        trig = order.trigger_price or 0.0
        if reference > 0.0 and (
            (order.trigger_direction == 1 and trig <= reference) or (order.trigger_direction == 2 and trig >= reference)
        ):
            return RejectReason.INVALID_TRIGGER
        return None

    def _opening_qty(self, contracts: float, slot: Order | None) -> float:
        """The part of an order of ``contracts`` that would open exposure and so needs margin.

        Bybit nets an order against the opposite position: a sell while long needs margin only for what
        the long cannot absorb. The position is shared out among the live opposite orders in placement
        order, so stacked orders cannot each claim the whole position: the orders before ``slot`` (all
        live orders when ``slot`` is None: a new order) take their part of it first.
        """
        pos = self.contracts
        qty = abs(contracts)
        if pos == 0.0 or (pos > 0) == (contracts > 0):
            return qty
        room = abs(pos)
        buy = contracts > 0
        for other in self._orders:
            if other is slot:
                break
            rem = other.contracts - other.filled
            if rem != 0.0 and (rem > 0) == buy and other.status is not OrderStatus.UNTRIGGERED:
                room -= abs(rem)
                if room <= 0.0:
                    return qty
        return qty - room if qty > room else 0.0

    def _order_cost(self, order: Order, ref_price: float, slot: Order | None) -> tuple[RejectReason | None, float]:
        """Risk-tier check and cost (IM + fee to open + fee to close) of the order's opening part."""
        if order.reduce_only:
            return None, 0.0
        opening = self._opening_qty(order.contracts - order.filled, slot)
        if opening == 0.0:
            return None, 0.0
        lev, buy = self._leverage, order.contracts > 0
        if self._inverse:
            value = opening / ref_price
            total = value + abs(self.contracts) / ref_price
            close_factor = 1.0 + 1.0 / lev if buy else max(1.0 - 1.0 / lev, 0.0)
        else:
            value = opening * ref_price
            total = value + abs(self.contracts) * ref_price
            close_factor = 1.0 - 1.0 / lev if buy else 1.0 + 1.0 / lev
        tier = cm.tier_for_value(self._tiers, opening + abs(self.contracts) if self._by_size else total)
        if lev > tier.max_leverage + 1e-9:
            return RejectReason.LEVERAGE_ABOVE_TIER, 0.0
        if not self._fee_buffer:  # Binance and OKX reserve the initial margin and the fee to open (issue 11)
            return None, value * (1.0 / lev + self._taker)
        # == contract_math.order_cost: IM + fee to open + fee to close at the bankruptcy price
        return None, value * (1.0 / lev + self._taker * (1.0 + close_factor))

    def _margin_check(
        self, order: Order, ref_price: float, mark: float, slot: Order | None = None
    ) -> tuple[RejectReason | None, float]:
        """Tier and cost checks for the opening part; returns the cost to reserve."""
        reason, cost = self._order_cost(order, ref_price, slot)
        if reason is None and cost > 0.0 and cost > self._available(mark) + 1e-9:
            return RejectReason.INSUFFICIENT_BALANCE, 0.0
        return reason, cost

    def _reprice_orders(self, cancel: bool, before: float, every: bool = False) -> None:
        """Re-derive the open orders' reservations after the position (was ``before``) or the earlier orders
        changed; ``every``: something else changed too (the leverage, a partial fill): every order.

        An order on the side of the position both before and after (or with no position) opens its whole
        size either way: it is skipped. With ``cancel``, an order whose cost grew beyond the available
        balance is cancelled, as Bybit does (CancelByCannotAffordOrderCost); one whose cost did not grow
        is kept.
        """
        orders, pos = self._orders, self.contracts
        k = 0
        while k < len(orders):
            order = orders[k]
            k += 1
            if order.reduce_only or order.status is OrderStatus.UNTRIGGERED:
                continue
            buy = order.contracts > 0
            if not every and (before == 0.0 or (before > 0) == buy) and (pos == 0.0 or (pos > 0) == buy):
                continue
            old = order._reservation
            if old == 0.0 and self._opening_qty(order.contracts - order.filled, order) == 0.0:
                continue  # nets against the position before and after: nothing to reserve
            last, mark = self._current_prices()
            _, cost = self._order_cost(order, self._reference_price(order, last), order)
            if cost == old:
                continue
            self._release(order)
            if cancel and cost > old + 1e-9 and cost > self._available(mark) + 1e-9:
                self._finish(order, OrderStatus.CANCELLED, "cancelled", RejectReason.CANNOT_AFFORD_ORDER_COST.value)
                k -= 1  # it left the list at k - 1
            else:
                self._reserve(order, cost)

    def _reference_price(self, order: Order, last: float) -> float:
        if order.type is OrderType.LIMIT and order.price is not None:
            return order.price
        if is_conditional(order.type):
            return order.price if order.price is not None else (order.trigger_price or last)
        return last

    def _reserve(self, order: Order, cost: float) -> None:
        """Hold ``cost`` of order margin for ``order`` (kept on the order: no lookup by id)."""
        if cost:
            if not order._reservation:
                self._reserved += 1
            order._reservation = cost
            self._order_margin += cost
            if self._classic_cross and self.contracts:
                self._order_margin_moved()

    def _order_margin_moved(self) -> None:
        """The classic account's cross liquidation price counts the order margin: keep it current."""
        if self._margin_mode is MarginMode.CROSS:
            self._refresh_risk_prices()

    def _release(self, order: Order) -> None:
        cost = order._reservation
        if not cost:
            return
        order._reservation = 0.0
        self._reserved -= 1
        self._order_margin = self._order_margin - cost if self._reserved else 0.0
        if self._classic_cross and self.contracts:
            self._order_margin_moved()

    def _submit(self, order: Order) -> Order:
        """Validate and accept an order (conditional orders reserve margin only when they trigger)."""
        last, mark = self._current_prices()
        if last <= 0.0:
            return self._reject(order, RejectReason.NO_PRICE)
        reason = self._check_order(order, last, mark)
        if reason is not None:
            return self._reject(order, reason)
        if not is_conditional(order.type):
            reason, cost = self._margin_check(order, self._reference_price(order, last), mark)
            if reason is not None:
                return self._reject(order, reason)
            self._reserve(order, cost)
        self._orders.append(order)
        if self._recording():
            self._record_order(order, "placed")
        return order

    # -- amending and cancelling ---------------------------------------------------------------------

    def _find_open(self, order_id: str) -> Order | None:
        for order in self._orders:
            if order.id == order_id or (order.client_id is not None and order.client_id == order_id):
                return order
        return None

    def _amend(self, order: Order, price: float | None, contracts: float | None, trigger_price: float | None) -> Order:
        """Amend in place; a refused amendment leaves the order as it was, with ``reject_reason`` set."""
        candidate = order.copy()
        if price is not None:
            candidate.price = price
        if contracts is not None:
            candidate.contracts = contracts
        if trigger_price is not None:
            candidate.trigger_price = trigger_price
        last, mark = self._current_prices()
        reason = self._check_order(candidate, last, mark)
        if reason is None and (candidate.contracts > 0) != (order.contracts > 0):
            reason = RejectReason.INVALID_PRICE if contracts is None else RejectReason.ZERO_QTY
        if reason is None and abs(candidate.contracts) < abs(order.filled) - 1e-12:
            reason = RejectReason.BELOW_MIN_QTY
        cost = 0.0
        if reason is None and not is_conditional(order.type):
            self._release(order)
            reason, cost = self._margin_check(candidate, self._reference_price(candidate, last), mark, order)
            if reason is not None:
                _, old_cost = self._order_cost(order, self._reference_price(order, last), order)
                self._reserve(order, old_cost)
        if reason is not None:
            order.reject_reason = f"amend refused: {reason.value}"
            self._record_order(order, "amend_rejected")
            return order
        if self.order_events is not None:  # a placement row rendered from the order keeps its values
            self.order_events.settle_placement(order)
        if (candidate.price, candidate.contracts, candidate.trigger_price) != (
            order.price,
            order.contracts,
            order.trigger_price,
        ):  # a changed order reaches the book again, as a new one would: marketable now, it takes
            order.active_from_ms = max(order.active_from_ms, self._now_ms, self._landing_ms)
        order.price, order.contracts, order.trigger_price = (
            candidate.price,
            candidate.contracts,
            candidate.trigger_price,
        )
        order.reject_reason = None
        order.updated_ms = self._now_ms
        self._reserve(order, cost)
        self._record_order(order, "amended")
        if abs(order.remaining) < 1e-12:  # cut down to what a partial fill already filled
            self._finish(order, OrderStatus.FILLED, "filled")
        self._reprice_orders(True, self.contracts)  # its new size changes what it leaves to later orders
        return order

    def _finish(self, order: Order, status: OrderStatus, event: str, reason: str | None = None) -> None:
        """Take an order off the book with a final status."""
        unlist(order, self._orders)
        self._release(order)
        order.status = status
        order.updated_ms = self._now_ms
        if reason is not None:
            order.reject_reason = reason
        self._record_order(order, event)
