"""``CcxtSubaccount``: the live venue, one symbol of a Bybit v5 (UTA) account through the sync ccxt client.

Bybit's own payloads (``info``) are read rather than ccxt's unified fields, because they keep what the
unified structures drop (trigger direction and source, reject reasons, bankruptcy price, trade mode).
Refused orders come back ``rejected`` with a reason, like the simulator's; other refusals raise
``VenueError``. API secrets are never logged: errors carry only Bybit's retCode and retMsg.
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
    CONDITIONAL_TYPES,
    LIMIT_PRICED_TYPES,
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
from kektrade.exchange.live.errors import (
    LEVERAGE_NOT_MODIFIED,
    MARGIN_MODE_NOT_MODIFIED,
    ORDER_NOT_FOUND_CODES,
    OrderNotOpenVenueError,
    VenueError,
    cancel_reason,
    order_reject_reason,
    venue_error,
)
from kektrade.exchange.live.markets import spec_from_market
from kektrade.exchange.subaccount import Subaccount

log = logging.getLogger(__name__)

_STATUSES = {
    "Untriggered": OrderStatus.UNTRIGGERED,
    "New": OrderStatus.NEW,
    "Created": OrderStatus.NEW,
    "Triggered": OrderStatus.NEW,
    "Active": OrderStatus.NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Deactivated": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
}
_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "PostOnly": TimeInForce.GTC}
_EXEC_KINDS = {"Trade": FillKind.TRADE, "Funding": FillKind.FUNDING, "BustTrade": FillKind.LIQUIDATION}


def _f(value: Any) -> float:
    """A Bybit number string as float ('' and None are 0)."""
    try:
        return float(value) if value not in (None, "") else 0.0
    except (TypeError, ValueError):
        return 0.0


def _order_type(bybit_type: str, trigger: float, direction: int, buy: bool) -> OrderType:
    """kektrade's order type from Bybit's orderType, triggerPrice and triggerDirection."""
    limit = bybit_type == "Limit"
    if not trigger:
        return OrderType.LIMIT if limit else OrderType.MARKET
    stop = (direction == 1) == buy  # a stop buys on the way up, sells on the way down
    if stop:
        return OrderType.STOP_LIMIT if limit else OrderType.STOP_MARKET
    return OrderType.TAKE_PROFIT_LIMIT if limit else OrderType.TAKE_PROFIT_MARKET


def order_from_info(info: dict[str, Any], symbol: str) -> Order:
    """An ``Order`` from one Bybit v5 order object (order/realtime or order/history)."""
    buy = info.get("side") == "Buy"
    sign = 1.0 if buy else -1.0
    trigger = _f(info.get("triggerPrice"))
    direction = int(_f(info.get("triggerDirection")))
    kind = _order_type(str(info.get("orderType")), trigger, direction, buy)
    raw_tif = str(info.get("timeInForce") or "GTC")
    tif = _TIF.get(raw_tif, TimeInForce.GTC)
    status = _STATUSES.get(str(info.get("orderStatus")), OrderStatus.NEW)
    reason = (
        cancel_reason(info.get("rejectReason"), tif)
        if status
        in (
            OrderStatus.CANCELLED,
            OrderStatus.REJECTED,
        )
        else None
    )
    return Order(
        id=str(info.get("orderId")),
        symbol=symbol,
        type=kind,
        contracts=sign * _f(info.get("qty")),
        price=_f(info.get("price")) if kind in LIMIT_PRICED_TYPES else None,
        trigger_price=trigger or None,
        trigger_by=TriggerBy.MARK if info.get("triggerBy") == "MarkPrice" else TriggerBy.LAST,
        trigger_direction=direction if kind in CONDITIONAL_TYPES else 0,
        reduce_only=bool(info.get("reduceOnly")),
        post_only=raw_tif == "PostOnly",
        time_in_force=tif,
        client_id=str(info.get("orderLinkId")) or None,
        status=status,
        filled=sign * _f(info.get("cumExecQty")) or 0.0,
        avg_fill_price=_f(info.get("avgPrice")),
        fee_paid=_f(info.get("cumExecFee")),
        created_ms=int(_f(info.get("createdTime"))),
        updated_ms=int(_f(info.get("updatedTime"))),
        reject_reason=reason,
    )


def fill_from_execution(row: dict[str, Any], symbol: str) -> Fill:
    """A ``Fill`` from one Bybit v5 execution (``execution/list``); position_after is not reported."""
    kind = _EXEC_KINDS.get(str(row.get("execType")), FillKind.TRADE)
    sign = 1.0 if row.get("side") == "Buy" else -1.0
    return Fill(
        time_ms=int(_f(row.get("execTime"))),
        symbol=symbol,
        kind=kind,
        contracts=sign * _f(row.get("execQty")),
        price=_f(row.get("execPrice")),
        fee=_f(row.get("execFee")),
        realized_pnl=_f(row.get("execPnl")),
        order_id=str(row.get("orderId") or ""),
        is_maker=bool(row.get("isMaker")),
        fee_rate=_f(row.get("feeRate")),
    )


class CcxtSubaccount(Subaccount):
    """One symbol of a live (or fake) Bybit account, behind the ``Subaccount`` interface."""

    def __init__(self, exchange: ccxt.Exchange, symbol: str, spec: ContractSpec | None = None) -> None:
        self._ex = exchange
        self._call(exchange.load_markets)
        self.market: dict[str, Any] = exchange.market(symbol)
        self.symbol = str(self.market["symbol"])
        self._category = "inverse" if self.market.get("inverse") else "linear"
        self.spec = spec or self._load_spec()
        self._contracts = 0.0
        self._last = 0.0
        self._leverage = 0.0
        self._margin_mode = MarginMode.CROSS
        self._orders: list[Order] = []
        self._fills: list[Fill] = []
        self._seen_exec: set[str] = set()

    # -- plumbing --------------------------------------------------------------------------------------

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one ccxt call; exchange errors become ``VenueError`` (network errors propagate as is)."""
        try:
            return method(*args, **kwargs)
        except ccxt.ExchangeError as exc:
            raise venue_error(exc) from None

    def _load_spec(self) -> ContractSpec:
        tiers: list[dict[str, Any]] | None = None
        fees: dict[str, Any] | None = None
        try:
            tiers = self._call(self._ex.fetch_leverage_tiers, [self.symbol]).get(self.symbol)
        except VenueError as exc:
            log.warning("leverage tiers of %s unavailable (%s); using built-in tiers", self.symbol, exc)
        try:
            fees = self._call(self._ex.fetch_trading_fee, self.symbol)
        except VenueError as exc:
            log.warning("trading fee of %s unavailable (%s); using default fees", self.symbol, exc)
        return spec_from_market(self.market, tiers, fees)

    def _amount(self, contracts: float) -> str:
        return str(self._ex.amount_to_precision(self.symbol, abs(contracts)))

    def _price(self, price: float) -> str:
        return str(self._ex.price_to_precision(self.symbol, price))

    def _fetch_order(self, order_id: str) -> Order | None:
        """One order by id from order/realtime (Bybit keeps recent closed orders there too)."""
        found = self._call(self._ex.fetch_open_orders, self.symbol, None, None, {"orderId": order_id})
        return order_from_info(found[0]["info"], self.symbol) if found else None

    # -- orders ----------------------------------------------------------------------------------------

    def _order_params(
        self,
        kind: OrderType,
        contracts: float,
        trigger_price: float | None,
        reduce_only: bool,
        post_only: bool,
        tif: TimeInForce,
        client_id: str | None,
        trigger_by: TriggerBy,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if reduce_only:
            params["reduceOnly"] = True
        if post_only:
            params["postOnly"] = True
        elif tif is not TimeInForce.GTC:
            params["timeInForce"] = tif.value
        if client_id:
            params["clientOrderId"] = client_id
        if kind in CONDITIONAL_TYPES:
            if trigger_price is None:
                raise ValueError(f"open_order: {kind.value} needs trigger_price")
            stop = kind in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
            rising = stop == (contracts > 0)
            params["triggerPrice"] = self._price(trigger_price)
            params["triggerDirection"] = "ascending" if rising else "descending"
            params["triggerBy"] = "MarkPrice" if trigger_by is TriggerBy.MARK else "LastPrice"
        return params

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
        params = self._order_params(
            kind, contracts, trigger_price, reduce_only, post_only, tif, client_id, by
        )
        bybit_type = "limit" if kind in LIMIT_PRICED_TYPES else "market"
        limit = self._price(price) if kind in LIMIT_PRICED_TYPES and price is not None else None
        side = "buy" if contracts > 0 else "sell"
        try:
            placed = self._call(
                self._ex.create_order, self.symbol, bybit_type, side, self._amount(contracts), limit, params
            )
        except VenueError as exc:
            reason = order_reject_reason(exc, self._contracts)
            if reason is None:
                raise
            return self._rejected(draft, reason)
        order = self._fetch_order(str(placed["id"]))
        if order is None:
            draft.id = str(placed["id"])
            return draft
        if order.status is OrderStatus.CANCELLED and order.reject_reason == RejectReason.POST_ONLY_WOULD_TAKE:
            order.status = OrderStatus.REJECTED  # the simulator refuses it at placement
        return order

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
        """Amend an open order (``/v5/order/amend``); a refused amendment keeps the order, with a reason."""
        order = self._fetch_order(order_id)
        if order is None or not order.is_open:
            raise OrderNotOpenVenueError(f"no open order {order_id!r} (110001)")
        if contracts is not None and (contracts > 0) != (order.contracts > 0):
            order.reject_reason = f"amend refused: {RejectReason.ZERO_QTY.value}"
            return order
        params: dict[str, Any] = {}
        if trigger_price is not None:
            params["triggerPrice"] = self._price(trigger_price)
            params["triggerBy"] = "MarkPrice" if order.trigger_by is TriggerBy.MARK else "LastPrice"
        bybit_type = "limit" if order.type in LIMIT_PRICED_TYPES else "market"
        amount = self._amount(contracts) if contracts is not None else None
        limit = self._price(price) if price is not None else None
        try:
            self._call(
                self._ex.edit_order, order.id, self.symbol, bybit_type, order.side, amount, limit, params
            )
        except VenueError as exc:
            reason = order_reject_reason(exc, self._contracts)
            if reason is None:
                raise
            order.reject_reason = f"amend refused: {reason}"
            return order
        return self._fetch_order(order.id) or order

    def cancel_order(self, order_id: str) -> Order | None:
        """Cancel one open order; None when it is not open."""
        try:
            self._call(self._ex.cancel_order, order_id, self.symbol)
        except VenueError as exc:
            if exc.code in ORDER_NOT_FOUND_CODES:
                return None
            raise
        return self._fetch_order(order_id)

    def cancel_all_orders(self) -> int:
        """Cancel every open order of the symbol, regular and conditional."""
        cancelled = self._call(self._ex.cancel_all_orders, self.symbol)
        cancelled += self._call(self._ex.cancel_all_orders, self.symbol, {"trigger": True})
        return len({str(o["id"]) for o in cancelled})

    def close_position(self) -> Order | None:
        """Flatten with a reduce-only market order for the whole position (None when flat)."""
        contracts = self.get_position().contracts
        if contracts == 0.0:
            return None
        return self.open_order(OrderType.MARKET, -contracts, reduce_only=True)

    def get_open_orders(self) -> list[Order]:
        """Open regular and conditional orders, oldest first."""
        rows = self._call(self._ex.fetch_open_orders, self.symbol, None, None, {"orderFilter": "Order"})
        rows += self._call(self._ex.fetch_open_orders, self.symbol, None, None, {"trigger": True})
        by_id: dict[str, Order] = {}
        for row in reversed(rows):  # Bybit lists newest first
            order = order_from_info(row["info"], self.symbol)
            if order.is_open:
                by_id.setdefault(order.id, order)
        self._orders = sorted(by_id.values(), key=lambda o: o.created_ms)
        return list(self._orders)

    # -- position and wallet ---------------------------------------------------------------------------

    def get_position(self) -> PositionView:
        """The position as Bybit reports it (``/v5/position/list``)."""
        rows = self._call(self._ex.fetch_positions, [self.symbol])
        info = rows[0]["info"] if rows else {}
        size = _f(info.get("size"))
        contracts = size if info.get("side") == "Buy" else -size if info.get("side") == "Sell" else 0.0
        mark = _f(info.get("markPrice"))
        if info.get("leverage"):
            self._leverage = _f(info.get("leverage"))
        if info.get("tradeMode") not in (None, ""):
            self._margin_mode = MarginMode.ISOLATED if int(_f(info["tradeMode"])) == 1 else MarginMode.CROSS
        self._contracts = contracts
        inverse = self.spec.is_inverse
        return PositionView(
            symbol=self.symbol,
            contracts=contracts,
            entry_price=_f(info.get("avgPrice")) if contracts else 0.0,
            mark_price=mark,
            liquidation_price=_f(info.get("liqPrice")),
            bankruptcy_price=_f(info.get("bustPrice")),
            unrealized_pnl=_f(info.get("unrealisedPnl")),
            realized_pnl=_f(info.get("curRealisedPnl")),
            initial_margin=_f(info.get("positionIM")),
            maintenance_margin=_f(info.get("positionMM")),
            leverage=self._leverage,
            margin_mode=self._margin_mode,
            position_value=cm.position_value(size, mark, inverse) if size and mark else 0.0,
            settle_currency=self.spec.settle,
        )

    def fetch_fills(self) -> list[Fill]:
        """Every execution of the symbol seen so far (trades, funding, liquidations), oldest first."""
        new: list[dict[str, Any]] = []
        cursor = ""
        while True:
            params: dict[str, Any] = {"category": self._category, "symbol": self.market["id"], "limit": 100}
            if cursor:
                params["cursor"] = cursor
            result = self._call(self._ex.privateGetV5ExecutionList, params).get("result") or {}
            rows = result.get("list") or []
            fresh = [r for r in rows if str(r.get("execId")) not in self._seen_exec]
            new += fresh
            cursor = str(result.get("nextPageCursor") or "")
            if len(fresh) < len(rows) or not rows or not cursor:
                break
        for row in reversed(new):
            self._seen_exec.add(str(row.get("execId")))
            self._fills.append(fill_from_execution(row, self.symbol))
        return list(self._fills)

    def get_wallet(self) -> WalletView:
        """The settle-coin wallet of the unified account; cumulative sums over the executions seen."""
        balance = self._call(self._ex.fetch_balance)
        accounts = ((balance.get("info") or {}).get("result") or {}).get("list") or []
        coins = [c for a in accounts for c in a.get("coin") or [] if c.get("coin") == self.spec.settle]
        if not coins:
            raise VenueError(f"wallet has no {self.spec.settle} balance")
        coin = coins[0]
        wallet, equity = _f(coin.get("walletBalance")), _f(coin.get("equity"))
        pm, om = _f(coin.get("totalPositionIM")), _f(coin.get("totalOrderIM"))
        if coin.get("availableToWithdraw") not in (None, ""):
            available = _f(coin["availableToWithdraw"])
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
        """Set buy and sell leverage; Bybit's "leverage not modified" (110043) counts as success."""
        if not leverage > 0 or math.isinf(leverage):
            raise ValueError(f"leverage must be > 0 (got {leverage})")
        try:
            self._call(self._ex.set_leverage, leverage, self.symbol)
        except VenueError as exc:
            if exc.code != LEVERAGE_NOT_MODIFIED:
                raise
        self._leverage = float(leverage)

    def set_margin_mode(self, mode: MarginMode | str) -> None:
        """Switch isolated/cross (on a unified account this is account-wide, as Bybit does it)."""
        wanted = MarginMode(mode)
        try:
            self._call(self._ex.set_margin_mode, wanted.value, self.symbol, {"leverage": self._leverage or 1})
        except VenueError as exc:
            if exc.code != MARGIN_MODE_NOT_MODIFIED:
                raise
        self._margin_mode = wanted

    def add_margin(self, amount: float) -> None:
        """Move ``amount`` of the settle coin into the isolated position (``/v5/position/add-margin``)."""
        if not amount > 0:
            raise ValueError(f"add_margin: amount must be > 0 (got {amount})")
        params = {"category": self._category, "symbol": self.market["id"], "margin": repr(float(amount))}
        self._call(self._ex.privatePostV5PositionAddMargin, params)

    # -- cached reads ----------------------------------------------------------------------------------

    def _ticker_last(self) -> float:
        ticker = self._call(self._ex.fetch_ticker, self.symbol)
        last = ticker.get("last")
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
