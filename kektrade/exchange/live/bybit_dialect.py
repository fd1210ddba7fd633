"""Bybit v5 (unified trading account): the dialect the live adapter was first written for.

Bybit's own payloads (``info``) are read rather than ccxt's unified fields, because they keep what the
unified structures drop (trigger direction and source, reject reasons, bankruptcy price, trade mode).
Client ids travel as ``orderLinkId`` (36 of ``[A-Za-z0-9_-]``: kektrade's ids fit unchanged).
"""

from __future__ import annotations

import logging
from typing import Any

from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import LIMIT_PRICED_TYPES, MarginMode, Order, TriggerBy
from kektrade.exchange.live.bybit_parse import _f, exec_id_of, fill_from_execution, order_from_info, order_params
from kektrade.exchange.live.dialect import (
    ClientIdRule,
    Dialect,
    ErrorCodes,
    ExecutionPage,
    OrderDraft,
    PositionRead,
    WalletRead,
)
from kektrade.exchange.live.errors import (
    INSUFFICIENT_CODES,
    LEVERAGE_NOT_MODIFIED,
    MARGIN_MODE_NOT_MODIFIED,
    ORDER_NOT_FOUND_CODES,
    REDUCE_ONLY_CODE,
    RISK_LIMIT_CODES,
    TRIGGER_CODES,
    VenueError,
    order_reject_reason,
)
from kektrade.exchange.live.markets import spec_from_market
from kektrade.exchange.live.retry import BUSY_CODES, DUPLICATE_CLIENT_ID, RATE_LIMIT_CODES

log = logging.getLogger(__name__)
PAGE = 100


class BybitDialect(Dialect):
    """Bybit v5: linear (USDT) and inverse (coin-margined) perpetuals of a unified account."""

    exchange_id = "bybit"
    needs = ("createOrder", "editOrder", "cancelOrder", "fetchOpenOrders", "fetchPositions", "fetchBalance")
    client_ids = ClientIdRule("orderLinkId", 36, r"[A-Za-z0-9_-]+")
    ohlcv_page_limit = 1000
    funding_page_limit = 200
    codes = ErrorCodes(
        duplicate_client_id=frozenset({DUPLICATE_CLIENT_ID}),
        order_not_found=ORDER_NOT_FOUND_CODES,
        leverage_not_modified=frozenset({LEVERAGE_NOT_MODIFIED}),
        margin_mode_not_modified=frozenset({MARGIN_MODE_NOT_MODIFIED}),
        rate_limit=RATE_LIMIT_CODES,
        busy=BUSY_CODES,
        insufficient=INSUFFICIENT_CODES,
        reduce_only=frozenset({REDUCE_ONLY_CODE}),
        trigger=TRIGGER_CODES,
        risk_limit=RISK_LIMIT_CODES,
    )

    def __init__(self, exchange: Any, market: dict[str, Any], call: Any) -> None:
        super().__init__(exchange, market, call)
        self.category = "inverse" if market.get("inverse") else "linear"

    @classmethod
    def client_options(cls) -> dict[str, Any]:
        """Linear and inverse markets of a unified trading account."""
        return {
            "fetchMarkets": {"types": ["linear", "inverse"]},
            "enableUnifiedMargin": False,
            "enableUnifiedAccount": True,
        }

    def load_spec(self) -> ContractSpec:
        """Market, leverage tiers (risk-limit) and the account's fee rate."""
        tiers: list[dict[str, Any]] | None = None
        fees: dict[str, Any] | None = None
        try:
            tiers = self.call(self.ex.fetch_leverage_tiers, [self.symbol]).get(self.symbol)
        except VenueError as exc:
            log.warning("leverage tiers of %s unavailable (%s); using built-in tiers", self.symbol, exc)
        try:
            fees = self.call(self.ex.fetch_trading_fee, self.symbol)
        except VenueError as exc:
            log.warning("trading fee of %s unavailable (%s); using default fees", self.symbol, exc)
        return spec_from_market(self.market, tiers, fees)

    def _price(self, price: float) -> str:
        return str(self.ex.price_to_precision(self.symbol, price))

    def _amount(self, contracts: float) -> str:
        return str(self.ex.amount_to_precision(self.symbol, abs(contracts)))

    def create(self, draft: OrderDraft, client_id: str) -> str:
        """``/v5/order/create`` through ccxt (trigger direction and source in Bybit's fields)."""
        kind = draft.kind
        params = order_params(
            self._price, kind, draft.contracts, draft.trigger_price, draft.reduce_only, draft.post_only,
            draft.time_in_force, client_id, draft.trigger_by,
        )  # fmt: skip
        bybit_type = "limit" if kind in LIMIT_PRICED_TYPES else "market"
        limit = self._price(draft.price) if kind in LIMIT_PRICED_TYPES and draft.price is not None else None
        side = "buy" if draft.contracts > 0 else "sell"
        placed = self.ex.create_order(self.symbol, bybit_type, side, self._amount(draft.contracts), limit, params)
        return str(placed["id"])

    def find(self, order_id: str | None = None, client_id: str | None = None) -> Order | None:
        """order/realtime by orderId or orderLinkId, then order/history (finished orders)."""
        key = {"orderId": order_id} if order_id is not None else {"orderLinkId": client_id or ""}
        params = {"category": self.category, "symbol": self.market_id, **key}
        for method in (self.ex.privateGetV5OrderRealtime, self.ex.privateGetV5OrderHistory):
            rows = (self.call(method, dict(params)).get("result") or {}).get("list") or []
            if rows:
                return order_from_info(rows[0], self.symbol)
        return None

    def fetch_open_orders(self) -> list[Order]:
        """Open regular and conditional orders (Bybit lists them newest first)."""
        rows = self.call(self.ex.fetch_open_orders, self.symbol, None, None, {"orderFilter": "Order"})
        rows += self.call(self.ex.fetch_open_orders, self.symbol, None, None, {"trigger": True})
        return [order_from_info(row["info"], self.symbol) for row in reversed(rows)]

    def amend(self, order: Order, price: float | None, contracts: float | None, trigger_price: float | None) -> None:
        """``/v5/order/amend`` through ccxt's edit_order."""
        params: dict[str, Any] = {}
        if trigger_price is not None:
            params["triggerPrice"] = self._price(trigger_price)
            params["triggerBy"] = "MarkPrice" if order.trigger_by is TriggerBy.MARK else "LastPrice"
        bybit_type = "limit" if order.type in LIMIT_PRICED_TYPES else "market"
        amount = self._amount(contracts) if contracts is not None else None
        limit = self._price(price) if price is not None else None
        self.call(self.ex.edit_order, order.id, self.symbol, bybit_type, order.side, amount, limit, params)

    def cancel(self, order_id: str) -> None:
        """``/v5/order/cancel`` (regular and conditional orders alike)."""
        self.ex.cancel_order(order_id, self.symbol)

    def cancel_all(self) -> int:
        """``/v5/order/cancel-all`` for regular, then conditional orders."""
        cancelled = self.call(self.ex.cancel_all_orders, self.symbol)
        cancelled += self.call(self.ex.cancel_all_orders, self.symbol, {"trigger": True})
        return len({str(o["id"]) for o in cancelled})

    def fetch_position(self) -> PositionRead:
        """``/v5/position/list``: side + size, prices, margins, leverage and trade mode."""
        rows = self.call(self.ex.fetch_positions, [self.symbol])
        info = rows[0]["info"] if rows else {}
        size = _f(info.get("size"))
        contracts = size if info.get("side") == "Buy" else -size if info.get("side") == "Sell" else 0.0
        mode = None
        if info.get("tradeMode") not in (None, ""):
            mode = MarginMode.ISOLATED if int(_f(info["tradeMode"])) == 1 else MarginMode.CROSS
        return PositionRead(
            contracts=contracts,
            entry_price=_f(info.get("avgPrice")) if contracts else 0.0,
            mark_price=_f(info.get("markPrice")),
            liquidation_price=_f(info.get("liqPrice")),
            bankruptcy_price=_f(info.get("bustPrice")),
            unrealized_pnl=_f(info.get("unrealisedPnl")),
            realized_pnl=_f(info.get("curRealisedPnl")),
            initial_margin=_f(info.get("positionIM")),
            maintenance_margin=_f(info.get("positionMM")),
            leverage=_f(info.get("leverage")) if info.get("leverage") else None,
            margin_mode=mode,
        )

    def fetch_wallet(self, settle: str) -> WalletRead:
        """The settle coin of the unified wallet (``/v5/account/wallet-balance``)."""
        balance = self.call(self.ex.fetch_balance)
        accounts = ((balance.get("info") or {}).get("result") or {}).get("list") or []
        coins = [c for a in accounts for c in a.get("coin") or [] if c.get("coin") == settle]
        if not coins:
            raise VenueError(f"wallet has no {settle} balance")
        coin = coins[0]
        available = coin.get("availableToWithdraw")
        return WalletRead(
            wallet_balance=_f(coin.get("walletBalance")),
            margin_balance=_f(coin.get("equity")),
            position_margin=_f(coin.get("totalPositionIM")),
            order_margin=_f(coin.get("totalOrderIM")),
            available=None if available in (None, "") else _f(available),
        )

    def executions_page(self, cursor: str) -> ExecutionPage:
        """``/v5/execution/list``, newest first, paged by ``nextPageCursor``."""
        params: dict[str, Any] = {"category": self.category, "symbol": self.market_id, "limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        result = self.call(self.ex.privateGetV5ExecutionList, params).get("result") or {}
        rows = result.get("list") or []
        found = [(exec_id_of(r), fill_from_execution(r, self.symbol)) for r in rows]
        return ExecutionPage(found, str(result.get("nextPageCursor") or ""))

    def set_leverage(self, leverage: float, margin_mode: MarginMode) -> None:
        """``/v5/position/set-leverage`` (buy and sell)."""
        self.call(self.ex.set_leverage, leverage, self.symbol)

    def set_margin_mode(self, mode: MarginMode, leverage: float) -> None:
        """isolated/cross (on a unified account this is account-wide, as Bybit does it)."""
        self.call(self.ex.set_margin_mode, mode.value, self.symbol, {"leverage": leverage or 1})

    def add_margin(self, amount: float) -> None:
        """``/v5/position/add-margin``."""
        params = {"category": self.category, "symbol": self.market_id, "margin": repr(float(amount))}
        self.call(self.ex.privatePostV5PositionAddMargin, params)

    def reject_reason(self, error: VenueError, position_contracts: float) -> str | None:
        """Bybit's order refusals (110xxx and 10001 carry their message as the reason)."""
        return order_reject_reason(error, position_contracts)
