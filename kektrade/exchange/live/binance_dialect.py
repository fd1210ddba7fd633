"""Binance USDⓈ-M perpetuals (ccxt ``binanceusdm``): the live adapter's Binance dialect.

Regular orders live at ``/fapi/v1/order``; conditional ones (stops and take-profits) in Binance's algo
service (``/fapi/v1/algoOrder``, ids ``algoId``/``clientAlgoId``), so every order operation picks the
endpoint by what the order is. Client ids travel as ``newClientOrderId`` / ``clientAlgoId``
(``^[.A-Z:/a-z0-9_-]{1,36}$``: kektrade's ids fit unchanged). Binance modifies only the price and quantity
of LIMIT orders: amending a conditional order or a trigger price is refused with a clear reason. Executions
are user trades (execution id ``T<id>``) and funding income (``F<tranId>``); a funding row is completed
with the settlement's rate and mark price from the public funding history.
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt

from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import (
    CONDITIONAL_TYPES,
    LIMIT_PRICED_TYPES,
    Fill,
    FillKind,
    MarginMode,
    Order,
    OrderType,
    RejectReason,
)
from kektrade.exchange.live.binance_parse import (
    KINDS,
    f,
    fill_from_income,
    fill_from_trade,
    order_from_algo,
    order_from_row,
    order_params,
)
from kektrade.exchange.live.dialect import (
    ClientIdRule,
    Dialect,
    ErrorCodes,
    ExecutionPage,
    OrderDraft,
    PositionRead,
    WalletRead,
)
from kektrade.exchange.live.errors import VenueError
from kektrade.exchange.live.markets import spec_from_market

log = logging.getLogger(__name__)
PAGE = 1000  # userTrades and income rows per request (Binance's maximum)
WEEK_MS = 7 * 86_400_000  # the longest time window userTrades and income accept
ORDER_MISSING = frozenset({-2011, -2013})
POST_ONLY_TAKES = -5022
FOK_UNFILLABLE = -5021
AMEND_REFUSED = "Binance modifies only the price and quantity of LIMIT orders; cancel and place a new order"


class BinanceDialect(Dialect):
    """Binance USDⓈ-M (USDT-margined) perpetuals of a one-way-mode futures account."""

    exchange_id = "binanceusdm"
    needs = ("createOrder", "editOrder", "cancelOrder", "fetchOpenOrders", "fetchPositions", "fetchBalance")
    client_ids = ClientIdRule("newClientOrderId", 36, r"[.A-Z:/a-z0-9_-]+")
    ohlcv_page_limit = 1000
    funding_page_limit = 1000
    codes = ErrorCodes(
        duplicate_client_id=frozenset({-4116}),
        order_not_found=ORDER_MISSING,
        margin_mode_not_modified=frozenset({-4046}),
        rate_limit=frozenset({-1003, -1015}),
        busy=frozenset({-1001, -1007, -1008}),
        insufficient=frozenset({-2018, -2019}),
        reduce_only=frozenset({-2022}),
        trigger=frozenset({-2021}),
        risk_limit=frozenset({-2027, -2028}),
        min_notional=frozenset({-4164}),
        order_refused=frozenset({-1013, -1111, -1116, -1117, -4001, -4003, -4004, -4005, -4014, -4015, -4023,
                                 -4024, -4061, -4120, -4131, -5025}),
    )  # fmt: skip

    def __init__(self, exchange: Any, market: dict[str, Any], call: Any) -> None:
        super().__init__(exchange, market, call)
        self._algo: set[str] = set()  # ids of conditional orders (the algo service's algoIds)
        self._actual: dict[str, str] = {}  # order placed by a triggered algo order -> the algoId
        self._plain: set[str] = set()  # order ids known not to come from an algo order or a liquidation
        self._liquidations: set[str] = set()  # ids of Binance's liquidation ("autoclose-") orders
        self._funding: dict[int, tuple[float, float]] = {}  # settlement time -> (rate, mark)
        self._config: tuple[float, MarginMode] | None = None  # (leverage, margin mode) of the symbol

    @classmethod
    def client_options(cls) -> dict[str, Any]:
        """No spot currency or margin-pair calls when markets load (``binanceusdm`` loads USDⓈ-M markets only)."""
        return {"fetchCurrencies": False, "fetchMargins": False}

    @classmethod
    def use_testnet(cls, exchange: Any) -> None:
        """Binance's demo trading (``demo-fapi.binance.com``): ccxt refuses to sign for the retired futures
        testnet that its sandbox mode would choose."""
        exchange.enable_demo_trading(True)

    @classmethod
    def point_at(cls, exchange: Any, base: str) -> None:
        """Replace scheme and host of every API URL, keeping its path: Binance serves the same path name
        under ``/fapi/v1``, ``/fapi/v2`` and ``/fapi/v3`` (``account``, ``positionRisk``)."""
        from urllib.parse import urlsplit

        api = exchange.urls["api"]
        for key, url in list(api.items()):
            api[key] = base.rstrip("/") + urlsplit(str(url)).path

    def load_spec(self) -> ContractSpec:
        """Market filters, leverage brackets (maintenance amount ``cum`` as the deduction) and commission;
        refuses an account in hedge mode (kektrade nets one position per symbol)."""
        if self.ex.apiKey:
            mode = self.call(self.ex.fapiPrivateGetPositionSideDual) or {}
            if mode.get("dualSidePosition") in (True, "true"):
                raise VenueError(
                    "the Binance futures account is in hedge mode (dualSidePosition); kektrade trades one-way "
                    "mode: switch 'Position Mode' to One-way in the futures preferences"
                )
        tiers: list[dict[str, Any]] | None = None
        fees: dict[str, Any] | None = None
        try:
            tiers = self.call(self.ex.fetch_leverage_tiers, [self.symbol]).get(self.symbol)
        except VenueError as exc:
            log.warning("leverage brackets of %s unavailable (%s); using built-in tiers", self.symbol, exc)
        try:
            fees = self.call(self.ex.fetch_trading_fee, self.symbol)
        except VenueError as exc:
            log.warning("commission rate of %s unavailable (%s); using default fees", self.symbol, exc)
        rows = [_with_deduction(t) for t in tiers] if tiers else None
        spec = spec_from_market(self.market, rows, fees, "binanceusdm")
        return spec.with_overrides(funding_interval_ms=self._funding_interval_ms())

    def _funding_interval_ms(self) -> int | None:
        """The symbol's funding interval from ``/fapi/v1/fundingInfo`` (it lists only symbols off 8 hours)."""
        try:
            rows = self.call(self.ex.fapiPublicGetFundingInfo) or []
        except VenueError as exc:
            log.warning("funding intervals unavailable (%s); assuming 8 hours for %s", exc, self.symbol)
            return None
        hours = next((f(r.get("fundingIntervalHours")) for r in rows if r.get("symbol") == self.market_id), 0.0)
        return int(hours * 3_600_000) if hours else None

    # -- orders ----------------------------------------------------------------------------------------

    def _price(self, price: float) -> str:
        return str(self.ex.price_to_precision(self.symbol, price))

    def _amount(self, contracts: float) -> str:
        return str(self.ex.amount_to_precision(self.symbol, abs(contracts)))

    def create(self, draft: OrderDraft, client_id: str) -> str:
        """``/fapi/v1/order`` (LIMIT, MARKET) or ``/fapi/v1/algoOrder`` (stops, take-profits)."""
        kind = draft.kind
        trigger = self._price(draft.trigger_price) if draft.trigger_price is not None else None
        params = order_params(kind, draft.post_only, draft.time_in_force, draft.reduce_only, client_id, trigger,
                              draft.trigger_by)  # fmt: skip
        limit = self._price(draft.price) if kind in LIMIT_PRICED_TYPES and draft.price is not None else None
        side = "buy" if draft.contracts > 0 else "sell"
        ccxt_type = "limit" if kind in LIMIT_PRICED_TYPES else "market"
        placed = self.ex.create_order(self.symbol, ccxt_type, side, self._amount(draft.contracts), limit, params)
        order_id = str(placed["id"])
        (self._algo if kind in CONDITIONAL_TYPES else self._plain).add(order_id)
        return order_id

    def _algo_order(self, row: dict[str, Any]) -> Order:
        order = order_from_algo(row, self.symbol)
        self._algo.add(order.id)
        if row.get("actualOrderId") not in (None, "", "0"):
            self._actual[str(row["actualOrderId"])] = order.id
        return order

    def _regular(self, row: dict[str, Any]) -> Order:
        order_id = str(row.get("orderId"))
        if KINDS.get(str(row.get("origType"))) in CONDITIONAL_TYPES:  # placed by a triggered algo order
            self._resolve_actual({order_id})
        return order_from_row(row, self.symbol, self._actual.get(order_id, order_id))

    def _resolve_actual(self, order_ids: set[str]) -> None:
        """Learn where orders kektrade did not place come from: a triggered algo order (``allAlgoOrders``'
        actualOrderId) or a liquidation (``forceOrders``); the rest are plain orders. Each id is looked up once."""
        unknown = order_ids - self._plain - set(self._actual) - self._liquidations
        if not unknown:
            return
        for row in self.call(self.ex.fapiPrivateGetAllAlgoOrders, {"symbol": self.market_id}) or []:
            self._algo_order(row)
        if unknown - set(self._actual):
            forced = self.call(self.ex.fapiPrivateGetForceOrders, {"symbol": self.market_id}) or []
            self._liquidations |= {str(r.get("orderId")) for r in forced}
        self._plain |= unknown - set(self._actual) - self._liquidations

    def find(self, order_id: str | None = None, client_id: str | None = None) -> Order | None:
        """``GET /fapi/v1/order`` by orderId or origClientOrderId, else ``GET /fapi/v1/algoOrder``."""
        regular: dict[str, Any] = {"symbol": self.market_id}
        algo: dict[str, Any] = {"symbol": self.market_id}
        if order_id is not None:
            regular["orderId"], algo["algoId"] = order_id, order_id
        else:
            regular["origClientOrderId"], algo["clientAlgoId"] = client_id or "", client_id or ""
        lookups = [(self.ex.fapiPrivateGetOrder, regular, self._regular),
                   (self.ex.fapiPrivateGetAlgoOrder, algo, self._algo_order)]  # fmt: skip
        if order_id is not None and order_id in self._algo:
            lookups.reverse()
        for method, params, parse in lookups:
            try:
                return parse(self.call(method, params))
            except VenueError as exc:
                if exc.code not in ORDER_MISSING:
                    raise
        return None

    def fetch_open_orders(self) -> list[Order]:
        """``openOrders`` and ``openAlgoOrders`` (a triggered order working in the book keeps its algo id)."""
        rows = self.call(self.ex.fapiPrivateGetOpenOrders, {"symbol": self.market_id})
        algos = self.call(self.ex.fapiPrivateGetOpenAlgoOrders, {"symbol": self.market_id})
        return [self._algo_order(r) for r in algos or []] + [self._regular(r) for r in rows or []]

    def amend(self, order: Order, price: float | None, contracts: float | None, trigger_price: float | None) -> None:
        """``PUT /fapi/v1/order`` with both price and quantity (Binance needs both); LIMIT orders only."""
        if order.type is not OrderType.LIMIT or trigger_price is not None:
            raise VenueError(AMEND_REFUSED, -5025)
        amount = self._amount(contracts if contracts is not None else order.contracts)
        limit = price if price is not None else order.price
        self.call(self.ex.edit_order, order.id, self.symbol, "limit", order.side, amount, limit)

    def cancel(self, order_id: str) -> None:
        """``DELETE /fapi/v1/order``, or ``/fapi/v1/algoOrder`` for a conditional order; one that has fired
        is cancelled as the order it placed. An id unknown to one endpoint is tried on the other (a restart)."""
        if order_id not in self._algo:
            try:
                self.ex.cancel_order(order_id, self.symbol)
                return
            except ccxt.OrderNotFound:
                pass  # perhaps an algo order this process has not seen yet
        try:
            self.ex.cancel_order(order_id, self.symbol, {"trigger": True})
        except ccxt.OrderNotFound:
            self.find(order_id=order_id)  # a fired algo order: learn the id of the order it placed
            placed = next((placed for placed, algo in self._actual.items() if algo == order_id), None)
            if placed is None:
                raise
            self.ex.cancel_order(placed, self.symbol)

    def cancel_all(self) -> int:
        """Cancel the open regular and conditional orders (two requests: Binance keeps them apart)."""
        count = len(self.fetch_open_orders())
        self.call(self.ex.cancel_all_orders, self.symbol)
        self.call(self.ex.cancel_all_orders, self.symbol, {"trigger": True})
        return count

    def reject_reason(self, error: VenueError, position_contracts: float) -> str | None:
        """Binance's order refusals in kektrade's words (post-only and fill-or-kill have their own codes)."""
        if error.code == POST_ONLY_TAKES:
            return RejectReason.POST_ONLY_WOULD_TAKE.value
        if error.code == FOK_UNFILLABLE:
            return RejectReason.FOK_NOT_FILLABLE.value
        return super().reject_reason(error, position_contracts)

    # -- account ---------------------------------------------------------------------------------------

    def fetch_position(self) -> PositionRead:
        """``/fapi/v3/positionRisk`` (one-way ``BOTH`` row); leverage and margin type from the symbol config."""
        rows = self.call(self.ex.fapiPrivateV3GetPositionRisk, {"symbol": self.market_id}) or []
        row: dict[str, Any] = next((r for r in rows if r.get("positionSide", "BOTH") == "BOTH"), {})
        contracts = f(row.get("positionAmt"))
        isolated = f(row.get("isolatedWallet")) > 0
        return PositionRead(
            contracts=contracts,
            entry_price=f(row.get("entryPrice")) if contracts else 0.0,
            mark_price=f(row.get("markPrice")),
            liquidation_price=f(row.get("liquidationPrice")),
            unrealized_pnl=f(row.get("unRealizedProfit")),
            initial_margin=f(row.get("positionInitialMargin")),
            maintenance_margin=f(row.get("maintMargin")),
            leverage=self._symbol_config()[0],
            margin_mode=MarginMode.ISOLATED if isolated else self._symbol_config()[1],
        )

    def _symbol_config(self) -> tuple[float, MarginMode]:
        """Leverage and margin type (``/fapi/v1/symbolConfig``, read once, then kept by the setters)."""
        if self._config is None:
            rows = self.call(self.ex.fapiPrivateGetSymbolConfig, {"symbol": self.market_id}) or [{}]
            mode = MarginMode.ISOLATED if rows[0].get("marginType") == "ISOLATED" else MarginMode.CROSS
            self._config = (f(rows[0].get("leverage")), mode)
        return self._config

    def fetch_wallet(self, settle: str) -> WalletRead:
        """The settle asset of ``/fapi/v3/account``."""
        balance = self.call(self.ex.fetch_balance)
        assets = [a for a in (balance.get("info") or {}).get("assets") or [] if a.get("asset") == settle]
        if not assets:
            raise VenueError(f"futures wallet has no {settle} balance")
        asset = assets[0]
        return WalletRead(
            wallet_balance=f(asset.get("walletBalance")),
            margin_balance=f(asset.get("marginBalance")),
            position_margin=f(asset.get("positionInitialMargin")),
            order_margin=f(asset.get("openOrderInitialMargin")),
            available=f(asset.get("availableBalance")),
        )

    def executions_page(self, cursor: str) -> ExecutionPage:
        """User trades and funding income, newest first; the cursor holds the oldest trade id and funding time."""
        trade_params: dict[str, Any] = {"symbol": self.market_id, "limit": PAGE}
        income_params: dict[str, Any] = {"symbol": self.market_id, "incomeType": "FUNDING_FEE", "limit": PAGE}
        before_id, before_ms = (int(x) for x in cursor.split(":")) if cursor else (0, 0)
        if before_id:
            trade_params["fromId"] = max(0, before_id - PAGE)
        if before_ms:
            income_params.update(startTime=before_ms - WEEK_MS, endTime=before_ms - 1)
        trades = [t for t in self.call(self.ex.fapiPrivateGetUserTrades, trade_params) or []
                  if not before_id or int(t["id"]) < before_id]  # fmt: skip
        self._resolve_actual({str(t.get("orderId")) for t in trades})
        incomes = self.call(self.ex.fapiPrivateGetIncome, income_params) or []
        rows = [(f"T{t['id']}", self._trade(t)) for t in trades]
        rows += [(f"F{r['tranId']}", self._income(r)) for r in incomes]
        rows.sort(key=lambda r: r[1].time_ms, reverse=True)
        more = len(trades) >= PAGE or len(incomes) >= PAGE
        oldest_id = min((int(t["id"]) for t in trades), default=before_id)
        oldest_ms = min((int(r["time"]) for r in incomes), default=before_ms)
        return ExecutionPage(rows, f"{oldest_id}:{oldest_ms}" if more else "")

    def _trade(self, row: dict[str, Any]) -> Fill:
        order_id = str(row.get("orderId") or "")
        if order_id in self._liquidations:
            return fill_from_trade(row, self.symbol, "", FillKind.LIQUIDATION)
        return fill_from_trade(row, self.symbol, self._actual.get(order_id, order_id))

    def _income(self, row: dict[str, Any]) -> Fill:
        time_ms = int(f(row.get("time")))
        if time_ms not in self._funding:
            history = self.call(self.ex.fapiPublicGetFundingRate,
                                {"symbol": self.market_id, "startTime": time_ms - 60_000, "endTime": time_ms + 60_000})
            for item in history or []:
                self._funding[int(item["fundingTime"])] = (f(item.get("fundingRate")), f(item.get("markPrice")))
        rate, mark = self._funding.get(time_ms, (0.0, 0.0))
        return fill_from_income(row, self.symbol, rate, mark, float(self.market["precision"]["amount"] or 0.0))

    def set_leverage(self, leverage: float, margin_mode: MarginMode) -> None:
        """``POST /fapi/v1/leverage`` (Binance takes whole numbers)."""
        self.call(self.ex.set_leverage, int(leverage) if float(leverage).is_integer() else leverage, self.symbol)
        self._config = (float(leverage), self._config[1] if self._config else MarginMode.CROSS)

    def set_margin_mode(self, mode: MarginMode, leverage: float) -> None:
        """``POST /fapi/v1/marginType`` (per symbol; -4046 "no need to change" is not an error)."""
        try:
            self.call(self.ex.set_margin_mode, mode.value, self.symbol)
        finally:  # also when Binance answers "no need to change": the mode is the one asked for
            self._config = None

    def add_margin(self, amount: float) -> None:
        """``POST /fapi/v1/positionMargin`` (type 1: add)."""
        self.call(self.ex.add_margin, self.symbol, float(amount))


def _with_deduction(tier: dict[str, Any]) -> dict[str, Any]:
    """A ccxt leverage tier with Binance's maintenance amount (``cum``) where the tier parser reads Bybit's."""
    info = dict(tier.get("info") or {})
    info.setdefault("mmDeduction", info.get("cum"))
    return {**tier, "info": info}
