"""Order endpoints of the fake Binance USDⓈ-M: ``/fapi/v1/order`` (LIMIT, MARKET) and, since Binance moved
conditional orders to its algo service, ``/fapi/v1/algoOrder`` (STOP, STOP_MARKET, TAKE_PROFIT,
TAKE_PROFIT_MARKET with ``triggerPrice``). The simulator decides every order; its refusals become Binance's
error codes. Orders Binance accepts and then drops on its own (an IOC or FOK that found nothing to fill, a
post-only that would have taken) end ``EXPIRED``, as on Binance.

A triggered algo order places an order in the matching engine under a new id (``actualOrderId``,
``ACTUAL_OFFSET`` + the algoId here): ``/fapi/v1/order`` lists it with its conditional ``origType`` and its
trades carry that id, as on Binance.
"""

from __future__ import annotations

import re
from typing import Any

from kektrade.domain.types import (
    CONDITIONAL_TYPES,
    LIMIT_PRICED_TYPES,
    Order,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TriggerBy,
)
from kektrade.exchange.sim.exchange import SimExchange
from tests.fakes.binance_fapi import BinanceError, RecordedRequest, fmt
from tests.fakes.binance_trading import FakeBinanceExchange

ACTUAL_OFFSET = 500_000_000
CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
REGULAR_TYPES = {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET}
ALGO_TYPES = {
    "STOP": OrderType.STOP_LIMIT, "STOP_MARKET": OrderType.STOP_MARKET,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT_LIMIT, "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT_MARKET,
}
BINANCE_TYPE = {kind: name for name, kind in {**REGULAR_TYPES, **ALGO_TYPES}.items()}
# The simulator's placement refusals as Binance answers them.
REFUSALS = {
    RejectReason.INSUFFICIENT_BALANCE: (-2019, "Margin is insufficient."),
    RejectReason.REDUCE_ONLY_WOULD_INCREASE: (-2022, "ReduceOnly Order is rejected."),
    RejectReason.REDUCE_ONLY_NO_POSITION: (-2022, "ReduceOnly Order is rejected."),
    RejectReason.POST_ONLY_WOULD_TAKE: (
        -5022, "Due to the order could not be executed as maker, the Post Only order will be rejected."),
    RejectReason.INVALID_TRIGGER: (-2021, "Order would immediately trigger."),
    RejectReason.LEVERAGE_ABOVE_TIER: (-2027, "Exceeded the maximum allowable position at current leverage."),
    RejectReason.BELOW_MIN_QTY: (-4004, "Quantity less than min quantity."),
    RejectReason.ABOVE_MAX_QTY: (-4005, "Quantity greater than max quantity."),
    RejectReason.NOT_LOT_MULTIPLE: (-4023, "Qty not increased by step size."),
    RejectReason.NOT_TICK_MULTIPLE: (-4014, "Price not increased by tick size."),
    RejectReason.INVALID_PRICE: (-4001, "Price less than 0."),
    RejectReason.ZERO_QTY: (-4003, "Quantity less than or equal to zero."),
    RejectReason.NO_PRICE: (-1008, "Server is currently overloaded with other requests. Please try again."),
}
_EXPIRING = frozenset(
    {
        RejectReason.IOC_NOT_FILLED.value, RejectReason.FOK_NOT_FILLABLE.value,
        RejectReason.POST_ONLY_WOULD_TAKE.value, RejectReason.CANNOT_AFFORD_ORDER_COST.value,
        RejectReason.LIQUIDATED.value,
    }
)
_STATUS = {
    OrderStatus.NEW: "NEW", OrderStatus.UNTRIGGERED: "NEW", OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED", OrderStatus.CANCELLED: "CANCELED", OrderStatus.REJECTED: "REJECTED",
}


def _number(request: RecordedRequest, name: str, required: bool = False) -> float | None:
    raw = request.params.get(name)
    if raw in (None, ""):
        if required:
            raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
        return None
    try:
        return float(str(raw))
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None


def order_status(order: Order) -> str:
    """Binance's status of an order (system cancels are EXPIRED)."""
    if order.status is OrderStatus.CANCELLED and order.reject_reason in _EXPIRING:
        return "EXPIRED"
    return _STATUS[order.status]


def _tif(order: Order) -> str:
    return "GTX" if order.post_only else order.time_in_force.value


def matching_id(fake: FakeBinanceExchange, order: Order) -> str:
    """The id the matching engine knows an order by (a triggered algo order: its ``actualOrderId``)."""
    return str(int(order.id) + ACTUAL_OFFSET) if order.id in fake.algo_ids else order.id


def order_json(fake: FakeBinanceExchange, symbol: str, order: Order) -> dict[str, Any]:
    """One order as ``/fapi/v1/order`` shows it (a triggered conditional order as the order it placed)."""
    filled = abs(order.filled)
    kind = order.type
    placed = ("LIMIT" if kind in LIMIT_PRICED_TYPES else "MARKET") if kind in CONDITIONAL_TYPES else BINANCE_TYPE[kind]
    return {
        "orderId": int(matching_id(fake, order)), "symbol": symbol, "status": order_status(order),
        "clientOrderId": order.client_id or "", "price": fmt(order.price), "avgPrice": fmt(order.avg_fill_price),
        "origQty": fmt(abs(order.contracts)), "executedQty": fmt(filled), "cumQty": fmt(filled),
        "cumQuote": fmt(filled * order.avg_fill_price), "timeInForce": _tif(order), "type": placed,
        "origType": BINANCE_TYPE[kind], "reduceOnly": order.reduce_only, "closePosition": False,
        "side": "BUY" if order.contracts > 0 else "SELL", "positionSide": "BOTH",
        "stopPrice": fmt(order.trigger_price), "workingType": _working(order), "priceProtect": False,
        "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0,
        "time": order.created_ms, "updateTime": order.updated_ms,
    }


def _working(order: Order) -> str:
    return "MARK_PRICE" if order.trigger_by is TriggerBy.MARK else "CONTRACT_PRICE"


def algo_status(fake: FakeBinanceExchange, order: Order) -> str:
    """NEW while waiting; TRIGGERED once placed in the matching engine; FINISHED when that order is done."""
    if order.status is OrderStatus.UNTRIGGERED:
        return "NEW"
    if order.status is OrderStatus.REJECTED:
        return "REJECTED"
    if order.id not in fake.triggered:
        return "EXPIRED" if order.reject_reason == RejectReason.LIQUIDATED.value else "CANCELED"
    return "TRIGGERED" if order.is_open else "FINISHED"


def algo_json(fake: FakeBinanceExchange, symbol: str, order: Order) -> dict[str, Any]:
    """One conditional order as ``/fapi/v1/algoOrder`` shows it."""
    triggered = order.id in fake.triggered
    return {
        "algoId": int(order.id), "clientAlgoId": order.client_id or "", "algoType": "CONDITIONAL",
        "orderType": BINANCE_TYPE[order.type], "symbol": symbol, "side": "BUY" if order.contracts > 0 else "SELL",
        "positionSide": "BOTH", "timeInForce": _tif(order), "quantity": fmt(abs(order.contracts)),
        "algoStatus": algo_status(fake, order), "actualOrderId": matching_id(fake, order) if triggered else "",
        "actualPrice": fmt(order.avg_fill_price), "executedQty": fmt(abs(order.filled)),
        "avgPrice": fmt(order.avg_fill_price), "triggerPrice": fmt(order.trigger_price),
        "price": fmt(order.price), "icebergQuantity": None, "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": _working(order), "priceMatch": "NONE", "closePosition": False, "priceProtect": False,
        "reduceOnly": order.reduce_only, "createTime": order.created_ms, "updateTime": order.updated_ms,
        "triggerTime": order.updated_ms if triggered else 0, "goodTillDate": 0,
    }


def _client_id(fake: FakeBinanceExchange, symbol: str, raw: str | None) -> str | None:
    if raw in (None, ""):
        return None
    if not CLIENT_ID.match(str(raw)):
        raise BinanceError(-4015, "Client order id is not valid.")
    if any(o.client_id == raw and o.is_open for o in fake.orders[symbol]):
        raise BinanceError(-4116, "ClientOrderId is duplicated.")
    return str(raw)


def _place(fake: FakeBinanceExchange, request: RecordedRequest, kind: OrderType, client_key: str) -> Order:
    """Shared part of order and algoOrder: parameters, Binance's own filters, then the simulator."""
    symbol, sim = fake.sim_for(request)
    side = request.params.get("side")
    if side not in ("BUY", "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    if request.params.get("positionSide", "BOTH") != "BOTH":
        raise BinanceError(-4061, "Order's position side does not match user's setting.")
    tif_raw = request.params.get("timeInForce") or "GTC"
    if tif_raw not in ("GTC", "IOC", "FOK", "GTX"):
        raise BinanceError(-1115, "Invalid timeInForce.")
    if kind in LIMIT_PRICED_TYPES and "timeInForce" not in request.params and kind is OrderType.LIMIT:
        raise BinanceError(-1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")
    qty = float(_number(request, "quantity", required=True) or 0.0)
    price = _number(request, "price", required=kind in LIMIT_PRICED_TYPES)
    trigger = _number(request, "triggerPrice", required=kind in CONDITIONAL_TYPES)
    reduce_only = request.params.get("reduceOnly", "false").lower() == "true"
    client_id = _client_id(fake, symbol, request.params.get(client_key))
    _check_filters(fake, symbol, sim, kind, qty, price, reduce_only)
    order = sim.open_order(
        kind, qty if side == "BUY" else -qty, price=price, trigger_price=trigger, reduce_only=reduce_only,
        post_only=tif_raw == "GTX", time_in_force=TimeInForce.GTC if tif_raw == "GTX" else TimeInForce(tif_raw),
        client_id=client_id,
        trigger_by=TriggerBy.MARK if request.params.get("workingType") == "MARK_PRICE" else TriggerBy.LAST,
    )
    if order.status is OrderStatus.REJECTED:
        code, msg = REFUSALS.get(RejectReason(order.reject_reason), (-1000, str(order.reject_reason)))
        raise BinanceError(code, msg)
    fake.orders[symbol].append(order)
    return order


def _check_filters(
    fake: FakeBinanceExchange, symbol: str, sim: SimExchange, kind: OrderType, qty: float, price: float | None,
    reduce_only: bool,
) -> None:
    """Binance's MARKET_LOT_SIZE and MIN_NOTIONAL filters (the simulator checks lot, tick and limits)."""
    market_max = float(fake.state.filter_of(symbol, "MARKET_LOT_SIZE")["maxQty"])
    if kind in (OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET) and qty > market_max + 1e-12:
        raise BinanceError(-4005, "Quantity greater than max quantity.")
    minimum = float(fake.state.filter_of(symbol, "MIN_NOTIONAL")["notional"])
    reference = price if price is not None else sim.last_price
    if not reduce_only and reference > 0 and qty * reference < minimum - 1e-9:
        raise BinanceError(
            -4164, f"Order's notional must be no smaller than {fmt(minimum)} (unless you choose reduce only)."
        )


def new_order(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /fapi/v1/order: LIMIT or MARKET (conditional types belong to the algo endpoint: -4120)."""
    raw = request.params.get("type", "")
    if raw in ALGO_TYPES or raw == "TRAILING_STOP_MARKET":
        raise BinanceError(
            -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
        )
    if raw not in REGULAR_TYPES:
        raise BinanceError(-1116, "Invalid orderType.")
    symbol = str(request.params.get("symbol"))
    return order_json(fake, symbol, _place(fake, request, REGULAR_TYPES[raw], "newClientOrderId"))


def new_algo_order(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /fapi/v1/algoOrder (algoType CONDITIONAL); trailing stops are not simulated: -1116."""
    if request.params.get("algoType") != "CONDITIONAL":
        raise BinanceError(-1102, "Mandatory parameter 'algoType' was not sent, was empty/null, or malformed.")
    raw = request.params.get("type", "")
    if raw not in ALGO_TYPES:
        raise BinanceError(-1116, "Invalid orderType.")
    order = _place(fake, request, ALGO_TYPES[raw], "clientAlgoId")
    fake.algo_ids.add(order.id)
    return algo_json(fake, str(request.params.get("symbol")), order)


def _find(fake: FakeBinanceExchange, request: RecordedRequest, algo: bool, code: int, msg: str) -> tuple[str, Order]:
    """The order named by orderId/origClientOrderId (algo: algoId/clientAlgoId) of the request's symbol."""
    symbol, _ = fake.sim_for(request)
    wanted_id = request.params.get("algoId" if algo else "orderId")
    wanted_link = request.params.get("clientAlgoId" if algo else "origClientOrderId")
    if not wanted_id and not wanted_link:
        raise BinanceError(-1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!")
    candidates = [
        o for o in reversed(fake.orders[symbol])
        if (o.id in fake.algo_ids) == algo or (not algo and o.id in fake.triggered)
    ]
    for order in candidates:
        number = order.id if algo else matching_id(fake, order)
        if (wanted_id and number == wanted_id) or (wanted_link and order.client_id == wanted_link):
            return symbol, order
    raise BinanceError(code, msg)


def query_order(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /fapi/v1/order by orderId or origClientOrderId (open or finished)."""
    symbol, order = _find(fake, request, False, -2013, "Order does not exist.")
    return order_json(fake, symbol, order)


def cancel_order(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """DELETE /fapi/v1/order: -2011 when the order is unknown or no longer open."""
    symbol, order = _find(fake, request, False, -2011, "Unknown order sent.")
    if not order.is_open:
        raise BinanceError(-2011, "Unknown order sent.")
    fake.sims[symbol].cancel_order(order.id)
    return order_json(fake, symbol, order)


def modify_order(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """PUT /fapi/v1/order: quantity and price of an open LIMIT order (Binance modifies nothing else)."""
    symbol, order = _find(fake, request, False, -2013, "Order does not exist.")
    sim = fake.sims[symbol]
    if order.type is not OrderType.LIMIT:
        raise BinanceError(-5025, "Only limit order is supported.")
    if not order.is_open:
        raise BinanceError(-2013, "Order does not exist.")
    side = request.params.get("side")
    if side != ("BUY" if order.contracts > 0 else "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    qty = float(_number(request, "quantity", required=True) or 0.0)
    price = float(_number(request, "price", required=True) or 0.0)
    sign = 1.0 if order.contracts > 0 else -1.0
    if qty <= abs(order.filled):
        raise BinanceError(-4003, "Quantity less than or equal to zero.")
    before = order.copy()
    sim.edit_order(order.id, price=price, contracts=sign * qty)
    if order.reject_reason and order.reject_reason.startswith("amend refused"):
        refused = order.reject_reason
        order.reject_reason = before.reject_reason
        reason = next((r for r in REFUSALS if r.value in refused), None)
        code, msg = REFUSALS[reason] if reason is not None else (-1000, refused)
        raise BinanceError(code, msg)
    return order_json(fake, symbol, order)


def open_orders(fake: FakeBinanceExchange, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v1/openOrders: open regular orders (and triggered conditional ones still working)."""
    symbol, sim = fake.sim_for(request)
    return [
        order_json(fake, symbol, o) for o in sim.get_open_orders()
        if o.id not in fake.algo_ids or o.id in fake.triggered
    ]


def cancel_all(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """DELETE /fapi/v1/allOpenOrders: regular orders only (algo orders stay, as on Binance)."""
    _symbol, sim = fake.sim_for(request)
    for order in sim.get_open_orders():
        if order.id not in fake.algo_ids or order.id in fake.triggered:
            sim.cancel_order(order.id)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def query_algo(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /fapi/v1/algoOrder by algoId or clientAlgoId."""
    symbol, order = _find(fake, request, True, -2013, "Order does not exist.")
    return algo_json(fake, symbol, order)


def cancel_algo(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """DELETE /fapi/v1/algoOrder: only while it waits for its trigger (-2011 after)."""
    symbol, order = _find(fake, request, True, -2011, "Unknown order sent.")
    if order.status is not OrderStatus.UNTRIGGERED:
        raise BinanceError(-2011, "Unknown order sent.")
    fake.sims[symbol].cancel_order(order.id)
    return {"algoId": int(order.id), "clientAlgoId": order.client_id or "", "code": "200", "msg": "success"}


def open_algo_orders(fake: FakeBinanceExchange, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v1/openAlgoOrders: conditional orders waiting for their trigger."""
    symbol, sim = fake.sim_for(request)
    return [algo_json(fake, symbol, o) for o in sim.get_open_orders() if o.status is OrderStatus.UNTRIGGERED]


def all_algo_orders(fake: FakeBinanceExchange, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v1/allAlgoOrders: the symbol's algo orders, oldest first (``limit``, default 500)."""
    symbol, _ = fake.sim_for(request)
    limit = int(request.params.get("limit") or 500)
    rows = [algo_json(fake, symbol, o) for o in fake.orders[symbol] if o.id in fake.algo_ids]
    return rows[-limit:]


def cancel_algo_all(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """DELETE /fapi/v1/algoOpenOrders."""
    _symbol, sim = fake.sim_for(request)
    for order in sim.get_open_orders():
        if order.status is OrderStatus.UNTRIGGERED:
            sim.cancel_order(order.id)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


ORDER_ROUTES = {
    ("POST", "/fapi/v1/order"): new_order,
    ("PUT", "/fapi/v1/order"): modify_order,
    ("GET", "/fapi/v1/order"): query_order,
    ("DELETE", "/fapi/v1/order"): cancel_order,
    ("GET", "/fapi/v1/openOrders"): open_orders,
    ("DELETE", "/fapi/v1/allOpenOrders"): cancel_all,
    ("POST", "/fapi/v1/algoOrder"): new_algo_order,
    ("GET", "/fapi/v1/algoOrder"): query_algo,
    ("DELETE", "/fapi/v1/algoOrder"): cancel_algo,
    ("GET", "/fapi/v1/openAlgoOrders"): open_algo_orders,
    ("GET", "/fapi/v1/allAlgoOrders"): all_algo_orders,
    ("DELETE", "/fapi/v1/algoOpenOrders"): cancel_algo_all,
}
