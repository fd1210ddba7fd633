"""The trading half of the fake Bybit v5: orders, positions, wallet, executions, account settings.

``FakeBybitExchange`` extends ``FakeBybit`` (the market-data half) with private endpoints whose state is
a ``SimExchange`` per symbol, so fills, positions, margins and liquidations are the simulator's. Requests
are authenticated like Bybit does (HMAC-SHA256 over timestamp + key + recvWindow + query or body;
retCode 10004 when wrong). Tests move the market with ``push_candle``, which appends one closed candle
and steps the simulator, so they decide exactly when orders fill. Each symbol has its own wallet (one
kektrade subaccount per symbol); the UNIFIED wallet sums them per coin.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from typing import Any

from kektrade.domain.specs import ContractSpec, builtin_spec
from kektrade.domain.types import (
    CONDITIONAL_TYPES,
    LIMIT_PRICED_TYPES,
    FillKind,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TriggerBy,
)
from kektrade.exchange.sim.exchange import SimError, SimExchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from tests.fakes.bybit_v5 import BybitError, FakeBybit, FakeBybitState, RecordedRequest

T0_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC: the first pushed candle opens here
MINUTE_MS = 60_000
API_KEY = "fake-key"
API_SECRET = "fake-secret"

_STATUS = {
    OrderStatus.UNTRIGGERED: "Untriggered",
    OrderStatus.NEW: "New",
    OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REJECTED: "Rejected",
}
_REASON_CODES = {
    RejectReason.POST_ONLY_WOULD_TAKE.value: "EC_PostOnlyWillTakeLiquidity",
    RejectReason.REDUCE_ONLY_WOULD_INCREASE.value: "EC_ReduceOnlySetButNotReduce",
    RejectReason.REDUCE_ONLY_NO_POSITION.value: "EC_ReduceOnlyNoPosition",
    RejectReason.LIQUIDATED.value: "EC_CancelByLiquidation",
    RejectReason.INSUFFICIENT_BALANCE.value: "EC_InsufficientBalance",
    RejectReason.LEVERAGE_ABOVE_TIER.value: "EC_RiskLimitExceeded",
    RejectReason.IOC_NOT_FILLED.value: "EC_CancelForNoFullFill",
    RejectReason.FOK_NOT_FILLABLE.value: "EC_CancelForNoFullFill",
}
# Placement refusals of the simulator as Bybit retCodes.
_REFUSALS = {
    RejectReason.INSUFFICIENT_BALANCE: (110007, "ab not enough for new order"),
    RejectReason.REDUCE_ONLY_WOULD_INCREASE: (110017, "Reduce-only rule not satisfied"),
    RejectReason.REDUCE_ONLY_NO_POSITION: (110017, "Reduce-only rule not satisfied"),
    RejectReason.LEVERAGE_ABOVE_TIER: (110016, "Requested quantity of contracts exceeds risk limit"),
}
_EXEC_TYPES = {FillKind.TRADE: "Trade", FillKind.FUNDING: "Funding", FillKind.LIQUIDATION: "BustTrade"}


def num(value: float | None) -> str:
    """A float as an exact decimal string ('' for None, 0-as-none and non-finite values)."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return ""
    return repr(float(value))


class FakeBybitExchange(FakeBybit):
    """The fake Bybit with trading: ``fake.open_account("BTCUSDT", 10_000)``, then ``push_candle``."""

    def __init__(
        self, state: FakeBybitState | None = None, api_key: str = API_KEY, api_secret: str = API_SECRET
    ) -> None:
        super().__init__(state)
        self.api_key, self.api_secret = api_key, api_secret
        self.sims: dict[str, SimExchange] = {}
        self.orders: dict[str, list[Order]] = {}  # every accepted order per symbol (history)
        self._trade_lock = threading.RLock()
        self.margin_mode = MarginMode.ISOLATED
        for (method, path), handler in PRIVATE_ROUTES.items():
            self.route(method, path, self._signed(handler))
        self.route("GET", "/v5/market/risk-limit", lambda s, r: self._risk_limit(r))

    # -- test controls -----------------------------------------------------------------------------

    def open_account(
        self,
        symbol: str,
        balance: float,
        leverage: float = 10.0,
        spec: ContractSpec | None = None,
        settings: SimSettings | None = None,
    ) -> SimExchange:
        """Give ``symbol`` (Bybit id) a fresh simulated subaccount with ``balance`` in its settle coin."""
        spec = spec or builtin_spec(symbol)
        if spec is None:
            raise ValueError(f"open_account: no built-in spec for {symbol!r}; pass spec=")
        arrays = MarketArrays([], [], [], [], [], timeframe_ms=MINUTE_MS)
        sim = SimExchange(
            spec,
            arrays,
            initial_balance=balance,
            leverage=leverage,
            margin_mode=self.margin_mode,
            settings=settings,
        )
        with self._trade_lock:
            self.sims[symbol] = sim
            self.orders[symbol] = []
        return sim

    def push_candle(self, symbol: str, o: float, h: float, lo: float, c: float, volume: float = 1.0) -> None:
        """Append one closed 1m candle for ``symbol`` and step its simulator (orders may fill now)."""
        with self._trade_lock:
            sim = self._sim(symbol)
            n = len(sim.market)
            t = T0_MS + n * MINUTE_MS
            sim.market.append(t, o, h, lo, c)
            sim.step(n)
            self.state.now_ms = t + MINUTE_MS
            self.state.add_klines(symbol, [[t, o, h, lo, c, volume]], category=self._category(symbol))

    def reset_trading(self) -> None:
        """Forget every account, order and recorded request (between tests)."""
        with self._trade_lock:
            self.sims.clear()
            self.orders.clear()
            self.margin_mode = MarginMode.ISOLATED
            self.state.klines.clear()
            self.state.now_ms = None
        self.clear_requests()

    # -- helpers -----------------------------------------------------------------------------------

    def _category(self, symbol: str) -> str:
        return "inverse" if symbol in self.state.instruments.get("inverse", {}) else "linear"

    def _sim(self, symbol: str) -> SimExchange:
        sim = self.sims.get(symbol)
        if sim is None:
            raise BybitError(10001, f"params error: symbol {symbol!r} has no account")
        return sim

    def _signed(self, handler: Route) -> Callable[[FakeBybitState, RecordedRequest], Any]:
        def checked(state: FakeBybitState, request: RecordedRequest) -> Any:
            self._verify(request)
            with self._trade_lock:
                return handler(self, request)

        return checked

    def _verify(self, request: RecordedRequest) -> None:
        """Bybit v5 HMAC check: timestamp + key + recvWindow + (query string | JSON body)."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("x-bapi-api-key") != self.api_key:
            raise BybitError(10003, "API key is invalid.")
        if request.method == "GET":
            payload = "&".join(f"{k}={v}" for k, v in request.query.items())
        else:
            payload = json.dumps(request.body, separators=(",", ":")) if request.body is not None else ""
        plain = headers.get("x-bapi-timestamp", "") + self.api_key + headers.get("x-bapi-recv-window", "")
        expected = hmac.new(self.api_secret.encode(), (plain + payload).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-bapi-sign", "")):
            raise BybitError(10004, "error sign! origin_string[" + plain + "]")

    def _risk_limit(self, request: RecordedRequest) -> dict[str, Any]:
        category = request.query.get("category", "linear")
        rows = []
        for symbol in self.state.instruments.get(category, {}):
            spec = self.sims[symbol].spec if symbol in self.sims else builtin_spec(symbol)
            for n, tier in enumerate(spec.risk_tiers if spec else ()):
                rows.append(
                    {
                        "id": n + 1,
                        "symbol": symbol,
                        "riskLimitValue": num(tier.limit_value),
                        "maintenanceMargin": num(tier.mmr),
                        "initialMargin": num(tier.imr),
                        "isLowestRisk": int(n == 0),
                        "maxLeverage": num(tier.max_leverage),
                        "mmDeduction": num(tier.deduction),
                    }
                )
        return {"category": category, "list": rows, "nextPageCursor": ""}

    def order_json(self, symbol: str, order: Order) -> dict[str, Any]:
        """One order in Bybit's v5 shape."""
        sim = self.sims[symbol]
        conditional = order.type in CONDITIONAL_TYPES
        status = _STATUS[order.status]
        if conditional and order.status is OrderStatus.CANCELLED and order.filled == 0.0:
            status = "Deactivated" if order.reject_reason is None else status
        tif = "PostOnly" if order.post_only else order.time_in_force.value
        filled = abs(order.filled)
        value = (
            filled / order.avg_fill_price if sim.spec.is_inverse and filled else filled * order.avg_fill_price
        )
        return {
            "orderId": order.id,
            "orderLinkId": order.client_id or "",
            "symbol": symbol,
            "side": "Buy" if order.contracts > 0 else "Sell",
            "orderType": "Limit" if order.type in LIMIT_PRICED_TYPES else "Market",
            "price": num(order.price) or "0",
            "qty": num(abs(order.contracts)),
            "cumExecQty": num(filled),
            "cumExecValue": num(value),
            "cumExecFee": num(order.fee_paid),
            "cumFeeDetail": {sim.spec.settle: num(order.fee_paid)} if filled else {},
            "leavesQty": num(abs(order.remaining)) if order.is_open else "0",
            "avgPrice": num(order.avg_fill_price) if filled else "",
            "orderStatus": status,
            "timeInForce": tif,
            "reduceOnly": order.reduce_only,
            "triggerPrice": num(order.trigger_price),
            "triggerDirection": order.trigger_direction,
            "triggerBy": ("MarkPrice" if order.trigger_by is TriggerBy.MARK else "LastPrice")
            if conditional
            else "",
            "stopOrderType": "Stop" if conditional else "",
            "takeProfit": "",
            "stopLoss": "",
            "tpslMode": "",
            "rejectReason": _REASON_CODES.get(order.reject_reason or "", "EC_NoError"),
            "positionIdx": 0,
            "createdTime": str(order.created_ms),
            "updatedTime": str(order.updated_ms),
        }


# -- order endpoints ---------------------------------------------------------------------------------

Route = Callable[[FakeBybitExchange, RecordedRequest], Any]


def _body(request: RecordedRequest) -> dict[str, Any]:
    if not isinstance(request.body, dict):
        raise BybitError(10001, "params error: JSON body required")
    return request.body


def _qty(raw: Any, name: str = "qty") -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise BybitError(10001, f"params error: {name} invalid ({raw!r})") from None
    return value


def _kind(body: dict[str, Any], buy: bool) -> OrderType:
    """kektrade order type from orderType + triggerPrice + triggerDirection."""
    limit = body.get("orderType") == "Limit"
    if body.get("orderType") not in ("Limit", "Market"):
        raise BybitError(10001, f"params error: orderType {body.get('orderType')!r}")
    if body.get("triggerPrice") in (None, ""):
        return OrderType.LIMIT if limit else OrderType.MARKET
    direction = body.get("triggerDirection")
    if direction not in (1, 2):
        raise BybitError(10001, "params error: triggerDirection must be 1 or 2")
    if (direction == 1) == buy:
        return OrderType.STOP_LIMIT if limit else OrderType.STOP_MARKET
    return OrderType.TAKE_PROFIT_LIMIT if limit else OrderType.TAKE_PROFIT_MARKET


def _trigger_by(raw: Any) -> TriggerBy:
    if raw in (None, "", "LastPrice"):
        return TriggerBy.LAST
    if raw == "MarkPrice":
        return TriggerBy.MARK
    raise BybitError(10001, f"params error: triggerBy {raw!r} not supported")


def order_create(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /v5/order/create: the simulator decides; its refusals become retCodes (post-only: cancelled)."""
    body = _body(request)
    symbol = str(body.get("symbol"))
    sim = fake._sim(symbol)
    side = body.get("side")
    if side not in ("Buy", "Sell"):
        raise BybitError(10001, f"params error: side {side!r}")
    buy = side == "Buy"
    tif_raw = body.get("timeInForce") or "GTC"
    tif = TimeInForce.GTC if tif_raw == "PostOnly" else TimeInForce(tif_raw)
    link = body.get("orderLinkId") or None
    if link and any(o.client_id == link for o in fake.orders[symbol]):
        raise BybitError(110072, "OrderLinkedID is duplicate")
    order = sim.open_order(
        _kind(body, buy),
        _qty(body.get("qty")) * (1 if buy else -1),
        price=_qty(body["price"], "price") if body.get("price") not in (None, "") else None,
        trigger_price=_qty(body["triggerPrice"], "triggerPrice") if body.get("triggerPrice") else None,
        reduce_only=bool(body.get("reduceOnly")),
        post_only=tif_raw == "PostOnly",
        time_in_force=tif,
        client_id=link,
        trigger_by=_trigger_by(body.get("triggerBy")),
    )
    if order.status is OrderStatus.REJECTED:
        reason = RejectReason(order.reject_reason)
        if reason is not RejectReason.POST_ONLY_WOULD_TAKE:
            if reason is RejectReason.INVALID_TRIGGER:
                rising = order.trigger_direction == 1
                raise BybitError(
                    110092 if rising else 110093, "expect " + ("Rising" if rising else "Falling")
                )
            code, message = _REFUSALS.get(reason, (10001, f"params error: {reason.value}"))
            raise BybitError(code, message)
        order.status = OrderStatus.CANCELLED  # Bybit accepts, then cancels it
    fake.orders[symbol].append(order)
    return {"orderId": order.id, "orderLinkId": order.client_id or ""}


def _find(fake: FakeBybitExchange, body: dict[str, Any]) -> tuple[SimExchange, Order]:
    symbol = str(body.get("symbol"))
    sim = fake._sim(symbol)
    wanted_id, wanted_link = body.get("orderId"), body.get("orderLinkId")
    for order in sim.get_open_orders():
        if (wanted_id and order.id == wanted_id) or (wanted_link and order.client_id == wanted_link):
            return sim, order
    raise BybitError(110001, "Order does not exist.")


def order_amend(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /v5/order/amend: price, qty and triggerPrice of an open order."""
    body = _body(request)
    sim, order = _find(fake, body)
    sign = 1 if order.contracts > 0 else -1
    qty = _qty(body["qty"]) * sign if body.get("qty") not in (None, "") else None
    price = _qty(body["price"], "price") if body.get("price") not in (None, "") else None
    trigger = (
        _qty(body["triggerPrice"], "triggerPrice") if body.get("triggerPrice") not in (None, "") else None
    )
    sim.edit_order(order.id, price=price, contracts=qty, trigger_price=trigger)
    if order.reject_reason and order.reject_reason.startswith("amend refused"):
        refused = order.reject_reason
        order.reject_reason = None
        if RejectReason.INSUFFICIENT_BALANCE.value in refused:
            raise BybitError(110007, "ab not enough for new order")
        raise BybitError(10001, f"params error: {refused}")
    return {"orderId": order.id, "orderLinkId": order.client_id or ""}


def order_cancel(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /v5/order/cancel."""
    sim, order = _find(fake, _body(request))
    sim.cancel_order(order.id)
    return {"orderId": order.id, "orderLinkId": order.client_id or ""}


def order_cancel_all(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /v5/order/cancel-all: all kinds by default; orderFilter Order or StopOrder narrows it."""
    body = _body(request)
    sim = fake._sim(str(body.get("symbol")))
    chosen = _filtered(sim.get_open_orders(), body.get("orderFilter"))
    for order in chosen:
        sim.cancel_order(order.id)
    return {"list": [{"orderId": o.id, "orderLinkId": o.client_id or ""} for o in chosen], "success": "1"}


def _filtered(orders: list[Order], order_filter: Any) -> list[Order]:
    if order_filter == "StopOrder":
        return [o for o in orders if o.type in CONDITIONAL_TYPES]
    if order_filter == "Order":
        return [o for o in orders if o.type not in CONDITIONAL_TYPES]
    if order_filter in (None, ""):
        return list(orders)
    raise BybitError(10001, f"params error: orderFilter {order_filter!r}")


def _symbols(fake: FakeBybitExchange, request: RecordedRequest) -> list[str]:
    symbol = request.query.get("symbol")
    if symbol:
        fake._sim(symbol)
        return [symbol]
    category = request.query.get("category", "linear")
    return [s for s in fake.sims if fake._category(s) == category]


def order_realtime(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/order/realtime: open orders newest first; by orderId/orderLinkId also recent closed ones."""
    wanted_id, wanted_link = request.query.get("orderId"), request.query.get("orderLinkId")
    rows = []
    for symbol in _symbols(fake, request):
        if wanted_id or wanted_link:
            chosen = [
                o
                for o in fake.orders[symbol]
                if o.id == wanted_id or (wanted_link and o.client_id == wanted_link)
            ]
        else:
            chosen = _filtered(fake.sims[symbol].get_open_orders(), request.query.get("orderFilter"))
        rows += [fake.order_json(symbol, o) for o in reversed(chosen)]
    return {"category": request.query.get("category", "linear"), "list": rows, "nextPageCursor": ""}


def order_history(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/order/history: finished orders, newest first."""
    rows = []
    for symbol in _symbols(fake, request):
        done = [o for o in fake.orders[symbol] if not o.is_open]
        if request.query.get("orderId"):
            done = [o for o in done if o.id == request.query["orderId"]]
        rows += [fake.order_json(symbol, o) for o in reversed(done)]
    return {"category": request.query.get("category", "linear"), "list": rows, "nextPageCursor": ""}


def execution_list(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/execution/list: the simulator's fills newest first, cursor = offset."""
    rows = []
    for symbol in _symbols(fake, request):
        sim = fake.sims[symbol]
        for k, fill in enumerate(sim.fills):
            kind = _EXEC_TYPES[fill.kind]
            if request.query.get("execType") and request.query["execType"] != kind:
                continue
            qty = abs(fill.contracts)
            rows.append(
                {
                    "symbol": symbol,
                    "execId": f"{symbol}-{k}",
                    "orderId": fill.order_id,
                    "orderLinkId": "",
                    "side": "Buy" if fill.contracts > 0 else "Sell",
                    "execType": kind,
                    "execQty": num(qty),
                    "execPrice": num(fill.price),
                    "execFee": num(fill.fee),
                    "feeRate": num(fill.fee_rate),
                    "execPnl": num(fill.realized_pnl),
                    "isMaker": fill.is_maker,
                    "execTime": str(fill.time_ms),
                    "execValue": num(qty / fill.price if sim.spec.is_inverse else qty * fill.price),
                    "markPrice": num(fill.price),
                    "closedSize": "",
                }
            )
    rows.reverse()
    start = int(request.query.get("cursor") or 0)
    limit = int(request.query.get("limit") or 50)
    page = rows[start : start + limit]
    cursor = str(start + limit) if start + limit < len(rows) else ""
    return {"category": request.query.get("category", "linear"), "list": page, "nextPageCursor": cursor}


# -- position and account endpoints -------------------------------------------------------------------


def position_list(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/position/list: the simulator's PositionView in Bybit's fields."""
    rows = []
    for symbol in _symbols(fake, request):
        sim = fake.sims[symbol]
        view = sim.get_position()
        size = abs(view.contracts)
        entry_value = (
            (size / view.entry_price if sim.spec.is_inverse else size * view.entry_price) if size else 0.0
        )
        rows.append(
            {
                "symbol": symbol,
                "side": "" if not size else ("Buy" if view.contracts > 0 else "Sell"),
                "size": num(size),
                "avgPrice": num(view.entry_price),
                "positionValue": num(entry_value),
                "markPrice": num(view.mark_price),
                "leverage": num(view.leverage),
                "liqPrice": num(view.liquidation_price) if size else "",
                "bustPrice": num(view.bankruptcy_price) if size else "",
                "positionIM": num(view.initial_margin),
                "positionMM": num(view.maintenance_margin),
                "unrealisedPnl": num(view.unrealized_pnl),
                "curRealisedPnl": num(view.realized_pnl),
                "cumRealisedPnl": num(sim.get_wallet().cumulative_realized_pnl),
                "positionIdx": 0,
                "tradeMode": 1 if view.margin_mode is MarginMode.ISOLATED else 0,
                "takeProfit": "",
                "stopLoss": "",
                "positionStatus": "Normal",
                "createdTime": str(T0_MS),
                "updatedTime": str(sim.now_ms),
            }
        )
    return {"category": request.query.get("category", "linear"), "list": rows, "nextPageCursor": ""}


def wallet_balance(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/account/wallet-balance?accountType=UNIFIED: one coin row per settle coin."""
    if request.query.get("accountType") != "UNIFIED":
        raise BybitError(10001, f"params error: accountType {request.query.get('accountType')!r}")
    coins: dict[str, dict[str, float]] = {}
    for sim in fake.sims.values():
        w = sim.get_wallet()
        row = coins.setdefault(w.currency, dict.fromkeys(("wb", "eq", "av", "pm", "om", "upl", "rp"), 0.0))
        for key, value in (
            ("wb", w.wallet_balance),
            ("eq", w.margin_balance),
            ("av", w.available_balance),
            ("pm", w.position_margin),
            ("om", w.order_margin),
            ("rp", w.cumulative_realized_pnl),
            ("upl", w.margin_balance - w.wallet_balance),
        ):
            row[key] += value
    items = [
        {
            "coin": coin,
            "walletBalance": num(r["wb"]),
            "equity": num(r["eq"]),
            "unrealisedPnl": num(r["upl"]),
            "cumRealisedPnl": num(r["rp"]),
            "locked": "0",
            "totalPositionIM": num(r["pm"]),
            "totalOrderIM": num(r["om"]),
            "totalPositionMM": "0",
            "borrowAmount": "0",
            "accruedInterest": "0",
            "availableToWithdraw": num(r["av"]),
            "usdValue": "",
        }
        for coin, r in coins.items()
    ]
    account = {
        "accountType": "UNIFIED",
        "totalEquity": "",
        "totalWalletBalance": "",
        "totalMarginBalance": "",
        "totalAvailableBalance": "",
        "totalPerpUPL": "",
        "totalInitialMargin": "",
        "totalMaintenanceMargin": "",
        "accountIMRate": "",
        "accountMMRate": "",
        "coin": items,
    }
    return {"list": [account]}


def fee_rate(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/account/fee-rate: the simulator's fee rates."""
    rows = []
    for symbol in _symbols(fake, request):
        spec = fake.sims[symbol].spec
        rows.append(
            {"symbol": symbol, "takerFeeRate": num(spec.taker_fee), "makerFeeRate": num(spec.maker_fee)}
        )
    return {"list": rows}


def set_leverage(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /v5/position/set-leverage: 110043 when unchanged."""
    body = _body(request)
    sim = fake._sim(str(body.get("symbol")))
    buy, sell = _qty(body.get("buyLeverage"), "buyLeverage"), _qty(body.get("sellLeverage"), "sellLeverage")
    if buy != sell:
        raise BybitError(10001, "params error: buyLeverage must equal sellLeverage in one-way mode")
    if buy == sim.get_position().leverage:
        raise BybitError(110043, "Set leverage not modified")
    try:
        sim.set_leverage(buy)
    except SimError as exc:
        raise BybitError(110013, str(exc)) from None
    return {}


def _switch_mode(fake: FakeBybitExchange, mode: MarginMode, sims: list[SimExchange]) -> None:
    if all(s.get_position().margin_mode is mode for s in sims):
        raise BybitError(110026, "Cross/isolated margin mode is not modified")
    try:
        for sim in sims:
            sim.set_margin_mode(mode)
    except SimError as exc:
        raise BybitError(3400045, str(exc)) from None


def set_margin_mode(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /v5/account/set-margin-mode: account-wide ISOLATED_MARGIN or REGULAR_MARGIN."""
    raw = _body(request).get("setMarginMode")
    modes = {"ISOLATED_MARGIN": MarginMode.ISOLATED, "REGULAR_MARGIN": MarginMode.CROSS}
    if raw not in modes:
        raise BybitError(10001, f"params error: setMarginMode {raw!r}")
    _switch_mode(fake, modes[raw], list(fake.sims.values()))
    fake.margin_mode = modes[raw]
    return {"reasons": []}


def switch_isolated(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /v5/position/switch-isolated (classic accounts): tradeMode 0 cross, 1 isolated, per symbol."""
    body = _body(request)
    sim = fake._sim(str(body.get("symbol")))
    _switch_mode(fake, MarginMode.ISOLATED if body.get("tradeMode") == 1 else MarginMode.CROSS, [sim])
    return {}


def add_margin(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /v5/position/add-margin."""
    body = _body(request)
    sim = fake._sim(str(body.get("symbol")))
    if not sim.contracts:
        raise BybitError(110033, "Margin cannot be set without open position")
    try:
        sim.add_margin(_qty(body.get("margin"), "margin"))
    except SimError as exc:
        raise BybitError(110014, str(exc)) from None
    return {"symbol": body.get("symbol"), "positionIM": num(sim.get_position().initial_margin)}


def query_api(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/user/query-api: the key's own info (a UTA 2.0 trading key)."""
    return {
        "id": "1",
        "apiKey": fake.api_key,
        "readOnly": 0,
        "unified": 0,
        "uta": 1,
        "isMaster": False,
        "permissions": {"ContractTrade": ["Order", "Position"], "Wallet": ["AccountTransfer"]},
    }


def account_info(fake: FakeBybitExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /v5/account/info."""
    mode = "ISOLATED_MARGIN" if fake.margin_mode is MarginMode.ISOLATED else "REGULAR_MARGIN"
    return {"unifiedMarginStatus": 5, "marginMode": mode, "isMasterTrader": False, "spotHedgingStatus": "OFF"}


PRIVATE_ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/v5/order/create"): order_create,
    ("POST", "/v5/order/amend"): order_amend,
    ("POST", "/v5/order/cancel"): order_cancel,
    ("POST", "/v5/order/cancel-all"): order_cancel_all,
    ("GET", "/v5/order/realtime"): order_realtime,
    ("GET", "/v5/order/history"): order_history,
    ("GET", "/v5/execution/list"): execution_list,
    ("GET", "/v5/position/list"): position_list,
    ("GET", "/v5/account/wallet-balance"): wallet_balance,
    ("GET", "/v5/account/fee-rate"): fee_rate,
    ("POST", "/v5/position/set-leverage"): set_leverage,
    ("POST", "/v5/account/set-margin-mode"): set_margin_mode,
    ("POST", "/v5/position/switch-isolated"): switch_isolated,
    ("POST", "/v5/position/add-margin"): add_margin,
    ("GET", "/v5/user/query-api"): query_api,
    ("GET", "/v5/account/info"): account_info,
}
