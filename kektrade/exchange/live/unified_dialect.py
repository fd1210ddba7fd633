"""The generic dialect: any ccxt exchange with swap markets, through ccxt's unified structures only.

Used for exchanges without a dialect of their own (not covered by tests: a warning says so at start).
Quantities are converted with the market's ``contractSize``; unified structures drop what some
exchanges report (trigger direction, bankruptcy price, per-fill realized PnL), so those read as 0 or
are inferred from how the order was placed.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any, ClassVar

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
    TimeInForce,
    TriggerBy,
)
from kektrade.exchange.live.client_ids import shown_client_id
from kektrade.exchange.live.dialect import ClientIdRule, Dialect, ExecutionPage, OrderDraft, PositionRead, WalletRead
from kektrade.exchange.live.errors import VenueError
from kektrade.exchange.live.markets import spec_from_market

log = logging.getLogger(__name__)
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")

_STATUSES = {"closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED, "expired": OrderStatus.CANCELLED}
_TIF = {"IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
STOPS = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})


def num(value: Any) -> float:
    """A number from a ccxt or exchange field ('' and None are 0)."""
    try:
        return float(value) if value not in (None, "") else 0.0
    except (TypeError, ValueError):
        return 0.0


class UnifiedDialect(Dialect):
    """Any ccxt swap exchange through ``create_order``, ``fetch_order``, ``fetch_my_trades`` and friends."""

    tested = False
    client_ids = ClientIdRule("clientOrderId", 32, r"[A-Za-z][A-Za-z0-9]*")  # fits the strictest exchanges
    needs: ClassVar[tuple[str, ...]] = (
        "swap",
        "createOrder",
        "cancelOrder",
        "fetchOrder",
        "fetchOpenOrders",
        "fetchMyTrades",
        "fetchPositions",
        "fetchBalance",
        "setLeverage",
    )

    def __init__(self, exchange: Any, market: dict[str, Any], call: Any) -> None:
        super().__init__(exchange, market, call)
        self._kinds: dict[str, OrderType] = {}  # order id -> type, for triggers whose direction is not reported
        self._sent: dict[str, str] = {}  # wire client id -> kektrade client id

    @classmethod
    def amount_unit(cls, market: dict[str, Any]) -> float:
        """Base coins (linear) or USD (inverse) per exchange amount: the market's ``contractSize``."""
        return num(market.get("contractSize")) or 1.0

    def wire_client_id(self, client_id: str) -> str:
        """The strictest common form (OKX clOrdId): at most 32 letters and digits, long ids shortened by a hash."""
        clean = _NOT_ALNUM.sub("", client_id)
        if len(clean) > 32:
            digest = hashlib.blake2b(client_id.encode(), digest_size=8).hexdigest()[:10]
            clean = clean[:22] + digest
        return clean if clean[:1].isalpha() else ("k" + clean)[:32]

    def remember_client_id(self, client_id: str) -> str:
        """The wire form of ``client_id``, remembered so ids read back show as kektrade's."""
        wire = self.wire_client_id(client_id)
        self._sent[wire] = client_id
        return wire

    def shown_client_id(self, wire_id: str) -> str:
        """kektrade's id of a wire id sent by this process; other ids as they are."""
        return self._sent.get(wire_id, wire_id)

    def _shown(self, wire_id: Any) -> str | None:
        return shown_client_id(self.shown_client_id(str(wire_id or "")) if wire_id else None)

    # -- market data -----------------------------------------------------------------------------------

    def _scaled(self, spec: ContractSpec) -> ContractSpec:
        """The spec in kektrade units (amount fields times ``unit``)."""
        return scaled_spec(spec, self.unit)

    def load_spec(self) -> ContractSpec:
        """Market data, leverage tiers when the exchange has them, the account's fees."""
        tiers: list[dict[str, Any]] | None = None
        fees: dict[str, Any] | None = None
        try:
            tiers = self.call(self.ex.fetch_market_leverage_tiers, self.symbol)
        except (VenueError, AttributeError) as exc:
            log.warning("leverage tiers of %s unavailable (%s); using built-in tiers", self.symbol, exc)
        try:
            fees = self.call(self.ex.fetch_trading_fee, self.symbol)
        except (VenueError, AttributeError) as exc:
            log.warning("trading fee of %s unavailable (%s); using default fees", self.symbol, exc)
        return self._scaled(spec_from_market(self.market, tiers or None, fees))  # unknown exchange: Bybit formulas

    # -- orders ----------------------------------------------------------------------------------------

    def amount(self, contracts: float) -> str:
        """``contracts`` (kektrade units) as the exchange's amount, to its precision.

        Rounded to 9 decimals first: 26.3451 BTC / 0.01 is 2634.5099999999998 in floats, which ccxt would
        truncate to 2634.50 contracts; the input checks already made the size a multiple of the lot.
        """
        return str(self.ex.amount_to_precision(self.symbol, round(abs(contracts) / self.unit, 9)))

    def price(self, price: float) -> str:
        """A price to the market's tick."""
        return str(self.ex.price_to_precision(self.symbol, price))

    def order_params(self, draft: OrderDraft, client_id: str) -> dict[str, Any]:
        """Unified ``create_order`` params: client id, flags, time in force, trigger."""
        params: dict[str, Any] = {"clientOrderId": client_id}
        if draft.reduce_only:
            params["reduceOnly"] = True
        if draft.post_only:
            params["postOnly"] = True
        elif draft.time_in_force is not TimeInForce.GTC:
            params["timeInForce"] = draft.time_in_force.value
        if draft.kind in CONDITIONAL_TYPES:
            key = "stopLossPrice" if draft.kind in STOPS else "takeProfitPrice"
            params[key] = self.price(draft.trigger_price or 0.0)
        return params

    def create(self, draft: OrderDraft, client_id: str) -> str:
        """One ``create_order``."""
        kind = draft.kind
        limit = self.price(draft.price) if kind in LIMIT_PRICED_TYPES and draft.price is not None else None
        side = "buy" if draft.contracts > 0 else "sell"
        order_type = "limit" if kind in LIMIT_PRICED_TYPES else "market"
        params = self.order_params(draft, self.remember_client_id(client_id))
        placed = self.ex.create_order(self.symbol, order_type, side, self.amount(draft.contracts), limit, params)
        order_id = str(placed["id"])
        self._kinds[order_id] = kind
        return order_id

    def order_from_unified(self, row: dict[str, Any]) -> Order:
        """An ``Order`` from a ccxt unified order."""
        sign = 1.0 if row.get("side") == "buy" else -1.0
        trigger = num(row.get("triggerPrice") or row.get("stopLossPrice") or row.get("takeProfitPrice"))
        limit = row.get("type") == "limit"
        order_id = str(row.get("id"))
        kind = self._kinds.get(order_id) or _kind_of(limit, trigger, row)
        filled = num(row.get("filled"))
        status = _STATUSES.get(str(row.get("status")), OrderStatus.NEW)
        if row.get("status") == "open":
            status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
            if kind in CONDITIONAL_TYPES and not filled:
                status = OrderStatus.UNTRIGGERED
        fee = row.get("fee") or {}
        return Order(
            id=order_id, symbol=self.symbol, type=kind, contracts=sign * num(row.get("amount")) * self.unit,
            price=num(row.get("price")) if kind in LIMIT_PRICED_TYPES else None, trigger_price=trigger or None,
            trigger_by=TriggerBy.LAST, trigger_direction=_direction(kind, sign) if kind in CONDITIONAL_TYPES else 0,
            reduce_only=bool(row.get("reduceOnly")), post_only=bool(row.get("postOnly")),
            time_in_force=_TIF.get(str(row.get("timeInForce")), TimeInForce.GTC) if limit else TimeInForce.GTC,
            client_id=self._shown(row.get("clientOrderId")), status=status,
            filled=sign * filled * self.unit or 0.0, avg_fill_price=num(row.get("average")),
            fee_paid=num(fee.get("cost")), created_ms=int(num(row.get("timestamp"))),
            updated_ms=int(num(row.get("lastUpdateTimestamp") or row.get("timestamp"))),
        )  # fmt: skip

    def find(self, order_id: str | None = None, client_id: str | None = None) -> Order | None:
        """``fetch_order`` by id, or by client id through ``params.clientOrderId``."""
        try:
            if order_id is not None:
                row = self.call(self.ex.fetch_order, order_id, self.symbol)
            else:
                wire = self.wire_client_id(client_id or "")
                row = self.call(self.ex.fetch_order, None, self.symbol, {"clientOrderId": wire})
        except VenueError as exc:
            if exc.code in self.codes.order_not_found or "OrderNotFound" in str(exc):
                return None
            raise
        return self.order_from_unified(row) if row else None

    def fetch_open_orders(self) -> list[Order]:
        """``fetch_open_orders`` of the symbol."""
        return [self.order_from_unified(r) for r in self.call(self.ex.fetch_open_orders, self.symbol)]

    def amend(self, order: Order, price: float | None, contracts: float | None, trigger_price: float | None) -> None:
        """``edit_order`` (refused with a clear error where ccxt has none for the exchange)."""
        if not self.ex.has.get("editOrder"):
            raise VenueError(f"{self.ex.id} cannot amend orders through ccxt (no editOrder): cancel and re-place")
        params: dict[str, Any] = {}
        if trigger_price is not None:
            params["triggerPrice"] = self.price(trigger_price)
        order_type = "limit" if order.type in LIMIT_PRICED_TYPES else "market"
        amount = self.amount(contracts) if contracts is not None else self.amount(order.contracts)
        limit = self.price(price) if price is not None else order.price
        self.call(self.ex.edit_order, order.id, self.symbol, order_type, order.side, amount, limit, params)

    def cancel(self, order_id: str) -> None:
        """One ``cancel_order``."""
        self.ex.cancel_order(order_id, self.symbol)

    def cancel_all(self) -> int:
        """Each open order cancelled in turn (not every exchange has a cancel-all)."""
        count = 0
        for order in self.fetch_open_orders():
            self.call(self.cancel, order.id)
            count += 1
        return count

    # -- account ---------------------------------------------------------------------------------------

    def fetch_position(self) -> PositionRead:
        """``fetch_positions`` for the symbol (one-way mode)."""
        rows = [r for r in self.call(self.ex.fetch_positions, [self.symbol]) if num(r.get("contracts"))]
        if not rows:
            return PositionRead()
        row = rows[0]
        sign = -1.0 if row.get("side") == "short" else 1.0
        mode = row.get("marginMode")
        return PositionRead(
            contracts=sign * num(row.get("contracts")) * self.unit, entry_price=num(row.get("entryPrice")),
            mark_price=num(row.get("markPrice")), liquidation_price=num(row.get("liquidationPrice")),
            unrealized_pnl=num(row.get("unrealizedPnl")), realized_pnl=num(row.get("realizedPnl")),
            initial_margin=num(row.get("initialMargin")), maintenance_margin=num(row.get("maintenanceMargin")),
            leverage=num(row.get("leverage")) or None,
            margin_mode=MarginMode(mode) if mode in ("isolated", "cross") else None,
        )  # fmt: skip

    def fetch_wallet(self, settle: str) -> WalletRead:
        """``fetch_balance`` of the settle coin (total, free, used)."""
        balance = self.call(self.ex.fetch_balance)
        coin = balance.get(settle)
        if not coin:
            raise VenueError(f"wallet has no {settle} balance")
        total = num(coin.get("total"))
        return WalletRead(total, total, num(coin.get("used")), 0.0, num(coin.get("free")))

    def executions_page(self, cursor: str) -> ExecutionPage:
        """The latest ``fetch_my_trades`` page (one page: unified trades have no common cursor)."""
        trades = self.call(self.ex.fetch_my_trades, self.symbol, None, 100)
        return ExecutionPage([(str(t.get("id")), self.fill_from_trade(t)) for t in reversed(trades)])

    def fill_from_trade(self, trade: dict[str, Any]) -> Fill:
        """A ``Fill`` from a ccxt unified trade (realized PnL is not in the unified structure: 0)."""
        sign = 1.0 if trade.get("side") == "buy" else -1.0
        fee = trade.get("fee") or {}
        return Fill(
            time_ms=int(num(trade.get("timestamp"))), symbol=self.symbol, kind=FillKind.TRADE,
            contracts=sign * num(trade.get("amount")) * self.unit, price=num(trade.get("price")),
            fee=num(fee.get("cost")), realized_pnl=0.0, order_id=str(trade.get("order") or ""),
            is_maker=trade.get("takerOrMaker") == "maker", fee_rate=num(fee.get("rate")),
        )  # fmt: skip

    def set_leverage(self, leverage: float, margin_mode: MarginMode) -> None:
        """``set_leverage``."""
        self.call(self.ex.set_leverage, leverage, self.symbol)

    def set_margin_mode(self, mode: MarginMode, leverage: float) -> None:
        """``set_margin_mode`` when ccxt has it for the exchange (a warning otherwise)."""
        if not self.ex.has.get("setMarginMode"):
            log.warning("%s: ccxt cannot set the margin mode; trading with the account's", self.ex.id)
            return
        self.call(self.ex.set_margin_mode, mode.value, self.symbol, {"leverage": leverage})

    def add_margin(self, amount: float) -> None:
        """``add_margin`` when ccxt has it for the exchange."""
        if not self.ex.has.get("addMargin"):
            raise VenueError(f"{self.ex.id} cannot add margin through ccxt (no addMargin)")
        self.call(self.ex.add_margin, self.symbol, amount)


def scaled_spec(spec: ContractSpec, unit: float) -> ContractSpec:
    """A spec whose amounts are exchange units (e.g. OKX contracts) in kektrade units: lot, min and max x ``unit``."""
    if unit == 1.0:
        return spec
    return spec.with_overrides(
        lot_step=round(spec.lot_step * unit, 12), min_qty=round(spec.min_qty * unit, 12),
        max_qty=round(spec.max_qty * unit, 12), contract_size=1.0,
    )  # fmt: skip


def _kind_of(limit: bool, trigger: float, row: dict[str, Any]) -> OrderType:
    """kektrade's type from a unified order placed by someone else (stop unless a take-profit price is set)."""
    if not trigger:
        return OrderType.LIMIT if limit else OrderType.MARKET
    if row.get("takeProfitPrice"):
        return OrderType.TAKE_PROFIT_LIMIT if limit else OrderType.TAKE_PROFIT_MARKET
    return OrderType.STOP_LIMIT if limit else OrderType.STOP_MARKET


def _direction(kind: OrderType, sign: float) -> int:
    """Bybit's triggerDirection: 1 rises to the trigger, 2 falls (a stop buys rising, sells falling)."""
    rising = (kind in STOPS) == (sign > 0)
    return 1 if rising else 2
