"""The trading half of the fake OKX v5: orders, algo orders, positions, balance, fills, bills, leverage.

``FakeOkxExchange`` extends ``FakeOkx`` with private endpoints whose state is a ``SimExchange`` per
instrument, so fills, positions, margins and liquidations are the simulator's. The simulator counts
kektrade units (base coins, or USD for inverse); the REST boundary converts OKX contracts with ``ctVal``
(``sz`` 2 on BTC-USDT-SWAP = 0.02 BTC). Requests are authenticated like OKX does (base64 HMAC-SHA256 of
timestamp + method + path?query + body, with the passphrase; 50113/50111/50105 when wrong).

Order types: ``market``, ``limit``, ``post_only``, ``ioc``, ``fok`` on /trade/batch-orders and
/trade/order; stops and take-profits are ``conditional`` algo orders (``slTriggerPx`` = stop,
``tpTriggerPx`` = take-profit, ``*OrdPx`` -1 = market) on /trade/order-algo. Once triggered an algo
order is ``effective`` and its order has id ``spawned_id(algoId)`` with ``algoId`` set, as on OKX.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
from typing import Any

from kektrade.domain.specs import ContractSpec, deductions_from_ladder
from kektrade.domain.types import (
    LIMIT_PRICED_TYPES,
    ContractKind,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TriggerBy,
)
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from tests.fakes.okx_account import ACCOUNT_ROUTES, T0_MS, inst_ids, items, number, spawned_id, switch_mode
from tests.fakes.okx_v5 import FakeOkx, OkxError, OkxRequest, OkxState, fmt

MINUTE_MS = 60_000
API_KEY, API_SECRET, PASSPHRASE = "okx-key", "okx-secret", "okx-pass"
_CLORD = re.compile(r"^[A-Za-z0-9]{1,32}$")
_REFUSALS = {
    RejectReason.INSUFFICIENT_BALANCE: (51008, "Order failed. Insufficient USDT margin in account"),
    RejectReason.REDUCE_ONLY_NO_POSITION: (51169, "Order failed because you don't have any positions to reduce"),
    RejectReason.REDUCE_ONLY_WOULD_INCREASE: (51170, "A reduce-only order can't increase your position"),
    RejectReason.LEVERAGE_ABOVE_TIER: (51004, "Order failed. Your order amount exceeds the current tier limit"),
    RejectReason.INVALID_TRIGGER: (51279, "TP/SL trigger price is on the wrong side of the last price"),
}
_CANCEL_SOURCES = {
    RejectReason.POST_ONLY_WOULD_TAKE.value: "31",
    RejectReason.IOC_NOT_FILLED.value: "14",
    RejectReason.FOK_NOT_FILLABLE.value: "13",
}
_STATE = {
    OrderStatus.NEW: "live",
    OrderStatus.UNTRIGGERED: "live",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELLED: "canceled",
    OrderStatus.REJECTED: "canceled",
}


def spec_of(info: dict[str, Any], taker: float = 0.0005, maker: float = 0.0002) -> ContractSpec:
    """The simulator's spec of an instrument, in kektrade units (contracts times ctVal)."""
    ct = float(info["ctVal"])
    inverse = info["ctType"] == "inverse"
    base, quote, _ = info["instId"].split("-")
    return ContractSpec(
        symbol=f"{base}/{quote}:{info['settleCcy']}", kind=ContractKind.INVERSE if inverse else ContractKind.LINEAR,
        base=base, quote=quote, settle=info["settleCcy"], tick_size=float(info["tickSz"]),
        lot_step=round(float(info["lotSz"]) * ct, 12), min_qty=round(float(info["minSz"]) * ct, 12),
        max_qty=round(float(info["maxLmtSz"]) * ct, 12), max_leverage=float(info["lever"]),
        taker_fee=taker, maker_fee=maker, risk_tiers=deductions_from_ladder([(1e12, 0.004, 0.01, 100.0)]),
        source="fake OKX", formulas="okx",
    )  # fmt: skip


class FakeOkxExchange(FakeOkx):
    """The fake OKX with trading: ``fake.open_account("BTC-USDT-SWAP", 10_000)``, then ``push_candle``."""

    def __init__(self, state: OkxState | None = None) -> None:
        super().__init__(state)
        self.api_key, self.api_secret, self.passphrase = API_KEY, API_SECRET, PASSPHRASE
        self.sims: dict[str, SimExchange] = {}
        self.orders: dict[str, list[Order]] = {}
        self.algo_ids: set[str] = set()
        self.margin_mode = MarginMode.CROSS
        self._trade_lock = threading.RLock()
        for (method, path), handler in PRIVATE_ROUTES.items():
            self.route(method, path, self._signed(handler))

    # -- test controls -----------------------------------------------------------------------------

    def open_account(
        self, inst_id: str, balance: float, leverage: float = 10.0, spec: ContractSpec | None = None,
        settings: SimSettings | None = None, funding_rate: float | None = None,
    ) -> SimExchange:
        """Give ``inst_id`` a fresh simulated account with ``balance`` in its settle coin (constant funding rate)."""
        spec = spec or spec_of(self.state.instruments[inst_id])
        arrays = MarketArrays([], [], [], [], [], timeframe_ms=MINUTE_MS)
        sim = SimExchange(
            spec, arrays, initial_balance=balance, leverage=leverage, margin_mode=self.margin_mode, settings=settings,
            funding_rate=funding_rate,
        )  # fmt: skip
        with self._trade_lock:
            self.sims[inst_id] = sim
            self.orders[inst_id] = []
        return sim

    def push_candle(self, inst_id: str, o: float, h: float, lo: float, c: float, volume: float = 1.0) -> None:
        """Append one closed 1m candle and step the instrument's simulator (orders may fill now)."""
        with self._trade_lock:
            sim = self._sim(inst_id)
            n = len(sim.market)
            t = T0_MS + n * MINUTE_MS
            sim.market.append(t, o, h, lo, c)
            sim.step(n)
            self.state.now_ms = t + MINUTE_MS
            self.state.add_candles(inst_id, [[t, o, h, lo, c, volume]])

    def reset_trading(self) -> None:
        """Forget every account, order, candle and recorded request."""
        with self._trade_lock:
            self.sims.clear()
            self.orders.clear()
            self.algo_ids.clear()
            self.margin_mode = MarginMode.CROSS
            self.state.candles.clear()
            self.state.now_ms = None
        self.clear_requests()

    # -- helpers -----------------------------------------------------------------------------------

    def _sim(self, inst_id: str | None) -> SimExchange:
        sim = self.sims.get(inst_id or "")
        if sim is None:
            raise OkxError(51001, f"Instrument ID {inst_id!r} has no account")
        return sim

    def ct_val(self, inst_id: str) -> float:
        """Coins (linear) or USD (inverse) per contract."""
        return float(self.state.instruments[inst_id]["ctVal"])

    def contracts(self, inst_id: str, qty: float) -> str:
        """kektrade units as OKX contracts."""
        return fmt(round(abs(qty) / self.ct_val(inst_id), 9))

    def _signed(self, handler: Any) -> Any:
        def checked(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
            self._verify(request)
            with self._trade_lock:
                return list(handler(self, request))

        return checked

    def _verify(self, request: OkxRequest) -> None:
        """OKX v5: base64(HMAC-SHA256(secret, timestamp + METHOD + path?query + body)), key and passphrase."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("ok-access-key") != self.api_key:
            raise OkxError(50111, "Invalid OK-ACCESS-KEY")
        if headers.get("ok-access-passphrase") != self.passphrase:
            raise OkxError(50105, "Your OK-ACCESS-PASSPHRASE is incorrect")
        plain = headers.get("ok-access-timestamp", "") + request.method + request.raw_path + request.raw_body
        digest = hmac.new(self.api_secret.encode(), plain.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), headers.get("ok-access-sign", "")):
            raise OkxError(50113, "Invalid Sign")

    def find_order(self, inst_id: str, ord_id: str | None, cl_ord_id: str | None) -> Order | None:
        """An accepted order by ordId (or its spawned id) or clOrdId/algoClOrdId."""
        for order in self.orders.get(inst_id, []):
            if ord_id and ord_id in (order.id, spawned_id(order.id)):
                return order
            if cl_ord_id and order.client_id == cl_ord_id:
                return order
        return None

    def order_json(self, inst_id: str, order: Order, as_id: str | None = None) -> dict[str, Any]:
        """A regular order in OKX's shape (a triggered algo order's spawned order when ``as_id`` is set)."""
        sim = self.sims[inst_id]
        kind = "limit" if order.type in LIMIT_PRICED_TYPES else "market"
        if order.post_only:
            kind = "post_only"
        elif order.time_in_force is not TimeInForce.GTC and order.type is OrderType.LIMIT:
            kind = order.time_in_force.value.lower()
        source = _CANCEL_SOURCES.get(order.reject_reason or "", "1" if order.status is OrderStatus.CANCELLED else "")
        algo = as_id is not None
        return {
            "instType": "SWAP", "instId": inst_id, "ordId": as_id or order.id,
            "clOrdId": "" if algo else order.client_id or "", "algoId": order.id if algo else "",
            "algoClOrdId": (order.client_id or "") if algo else "", "side": "buy" if order.contracts > 0 else "sell",
            "posSide": "net", "ordType": kind, "px": fmt(order.price) if order.price else "",
            "sz": self.contracts(inst_id, order.contracts), "accFillSz": self.contracts(inst_id, order.filled),
            "avgPx": fmt(order.avg_fill_price) if order.filled else "", "state": _STATE[order.status],
            "tdMode": sim.get_position().margin_mode.value, "lever": fmt(sim.get_position().leverage),
            "fee": fmt(-order.fee_paid), "feeCcy": sim.spec.settle, "reduceOnly": str(order.reduce_only).lower(),
            "cancelSource": source if order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) else "",
            "cancelSourceReason": order.reject_reason or "", "cTime": str(order.created_ms),
            "uTime": str(order.updated_ms), "fillTime": str(order.updated_ms) if order.filled else "",
        }  # fmt: skip

    def algo_json(self, inst_id: str, order: Order) -> dict[str, Any]:
        """A conditional algo order in OKX's shape."""
        stop = order.type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
        ord_px = fmt(order.price) if order.type in LIMIT_PRICED_TYPES else "-1"
        by = "mark" if order.trigger_by is TriggerBy.MARK else "last"
        triggered = order.status is not OrderStatus.UNTRIGGERED and (order.filled or order.is_open)
        state = "live" if order.status is OrderStatus.UNTRIGGERED else "effective" if triggered else "canceled"
        sim = self.sims[inst_id]
        return {
            "instType": "SWAP", "instId": inst_id, "algoId": order.id, "algoClOrdId": order.client_id or "",
            "clOrdId": "", "side": "buy" if order.contracts > 0 else "sell", "posSide": "net",
            "ordType": "conditional", "sz": self.contracts(inst_id, order.contracts), "state": state,
            "slTriggerPx": fmt(order.trigger_price) if stop else "", "slOrdPx": ord_px if stop else "",
            "slTriggerPxType": by if stop else "", "tpTriggerPx": "" if stop else fmt(order.trigger_price),
            "tpOrdPx": "" if stop else ord_px, "tpTriggerPxType": "" if stop else by,
            "ordId": spawned_id(order.id) if triggered else "",
            "ordIdList": [spawned_id(order.id)] if triggered else [],
            "reduceOnly": str(order.reduce_only).lower(), "tdMode": sim.get_position().margin_mode.value,
            "lever": fmt(sim.get_position().leverage), "cTime": str(order.created_ms), "uTime": str(order.updated_ms),
            "triggerTime": str(order.updated_ms) if triggered else "", "actualSz": "", "actualPx": "",
        }  # fmt: skip


# -- order endpoints ---------------------------------------------------------------------------------


def _check_client_id(fake: FakeOkxExchange, inst_id: str, cl_ord_id: str) -> None:
    if not _CLORD.match(cl_ord_id):
        raise OkxError(51000, "Parameter clOrdId error")
    if fake.find_order(inst_id, None, cl_ord_id) is not None:
        raise OkxError(51016, "Duplicated clOrdId")


def _placed(fake: FakeOkxExchange, inst_id: str, order: Order, algo: bool) -> dict[str, Any]:
    if order.status is OrderStatus.REJECTED:
        reason = RejectReason(order.reject_reason)
        if reason is not RejectReason.POST_ONLY_WOULD_TAKE:
            code, message = _REFUSALS.get(reason, (51000, f"Parameter error: {reason.value}"))
            raise OkxError(code, message)
        order.status = OrderStatus.CANCELLED  # OKX accepts it, then cancels it (cancelSource 31)
    fake.orders[inst_id].append(order)
    if algo:
        fake.algo_ids.add(order.id)
        return {"algoId": order.id, "algoClOrdId": order.client_id or "", "clOrdId": "", "sCode": "0", "sMsg": ""}
    return {"ordId": order.id, "clOrdId": order.client_id or "", "tag": "", "sCode": "0", "sMsg": "Order placed"}


def _place_one(fake: FakeOkxExchange, item: dict[str, Any]) -> dict[str, Any]:
    inst_id = str(item.get("instId"))
    sim = fake._sim(inst_id)
    side = item.get("side")
    if side not in ("buy", "sell"):
        raise OkxError(51000, "Parameter side error")
    kinds = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "post_only": OrderType.LIMIT}
    kinds.update({"ioc": OrderType.LIMIT, "fok": OrderType.LIMIT})
    ord_type = item.get("ordType")
    if ord_type not in kinds:
        raise OkxError(51000, f"Parameter ordType error ({ord_type}): this fake has no {ord_type} orders")
    cl_ord_id = str(item.get("clOrdId") or "")
    if cl_ord_id:
        _check_client_id(fake, inst_id, cl_ord_id)
    switch_mode(fake, sim, item.get("tdMode"))
    qty = number(item.get("sz"), "sz") * fake.ct_val(inst_id)
    order = sim.open_order(
        kinds[ord_type], qty if side == "buy" else -qty,
        price=number(item["px"], "px") if ord_type != "market" else None,
        reduce_only=item.get("reduceOnly") in (True, "true"), post_only=ord_type == "post_only",
        time_in_force=TimeInForce(ord_type.upper()) if ord_type in ("ioc", "fok") else TimeInForce.GTC,
        client_id=cl_ord_id or None,
    )  # fmt: skip
    return _placed(fake, inst_id, order, algo=False)


def batch_orders(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """POST /api/v5/trade/batch-orders (and /trade/order): the simulator decides; refusals are sCodes."""
    return [_place_one(fake, item) for item in items(request)]


def order_algo(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """POST /api/v5/trade/order-algo: ``conditional`` (one of slTriggerPx / tpTriggerPx) orders only."""
    item = items(request)[0]
    inst_id = str(item.get("instId"))
    sim = fake._sim(inst_id)
    if item.get("ordType") != "conditional" or bool(item.get("slTriggerPx")) == bool(item.get("tpTriggerPx")):
        raise OkxError(51000, "Parameter ordType error: this fake has only one-sided conditional algo orders")
    stop = bool(item.get("slTriggerPx"))
    prefix = "sl" if stop else "tp"
    ord_px = str(item.get(f"{prefix}OrdPx") or "-1")
    limit = ord_px != "-1"
    kind = (OrderType.STOP_LIMIT if limit else OrderType.STOP_MARKET) if stop else (
        OrderType.TAKE_PROFIT_LIMIT if limit else OrderType.TAKE_PROFIT_MARKET
    )
    cl_ord_id = str(item.get("algoClOrdId") or "")
    if cl_ord_id:
        _check_client_id(fake, inst_id, cl_ord_id)
    switch_mode(fake, sim, item.get("tdMode"))
    qty = number(item.get("sz"), "sz") * fake.ct_val(inst_id)
    by = TriggerBy.MARK if item.get(f"{prefix}TriggerPxType") == "mark" else TriggerBy.LAST
    order = sim.open_order(
        kind, qty if item.get("side") == "buy" else -qty, price=number(ord_px, "ordPx") if limit else None,
        trigger_price=number(item.get(f"{prefix}TriggerPx"), f"{prefix}TriggerPx"),
        reduce_only=item.get("reduceOnly") in (True, "true"), client_id=cl_ord_id or None, trigger_by=by,
    )  # fmt: skip
    return [_placed(fake, inst_id, order, algo=True)]


def _open(fake: FakeOkxExchange, item: dict[str, Any], algo: bool, missing: int) -> tuple[SimExchange, Order]:
    inst_id = str(item.get("instId"))
    sim = fake._sim(inst_id)
    wanted = str(item.get("algoId") if algo else item.get("ordId") or "")
    link = str(item.get("algoClOrdId") if algo else item.get("clOrdId") or "")
    for order in sim.get_open_orders():
        is_algo = order.id in fake.algo_ids
        if not algo and is_algo and order.status is not OrderStatus.UNTRIGGERED and wanted == spawned_id(order.id):
            return sim, order  # the order a triggered algo order placed
        matches = (wanted and order.id == wanted) or (link and order.client_id == link)
        if matches and is_algo == algo:
            return sim, order
    raise OkxError(missing, "Order does not exist" if missing != 51400 else "Order cancellation failed")


def _amend(fake: FakeOkxExchange, item: dict[str, Any], algo: bool) -> list[Any]:
    sim, order = _open(fake, item, algo, 51503)
    inst_id = str(item.get("instId"))
    sign = 1 if order.contracts > 0 else -1
    qty = number(item["newSz"], "newSz") * fake.ct_val(inst_id) * sign if item.get("newSz") else None
    price = number(item["newPx"], "newPx") if item.get("newPx") else None
    trigger = None
    for key in ("newSlTriggerPx", "newTpTriggerPx"):
        if item.get(key):
            trigger = number(item[key], key)
    for key in ("newSlOrdPx", "newTpOrdPx"):
        if item.get(key) not in (None, "", "-1"):
            price = number(item[key], key)
    sim.edit_order(order.id, price=price, contracts=qty, trigger_price=trigger)
    if order.reject_reason and order.reject_reason.startswith("amend refused"):
        refused, order.reject_reason = order.reject_reason, None
        if RejectReason.INSUFFICIENT_BALANCE.value in refused:
            raise OkxError(51008, "Order failed. Insufficient USDT margin in account")
        raise OkxError(51000, f"Parameter error: {refused}")
    if algo:
        return [{"algoId": order.id, "algoClOrdId": order.client_id or "", "sCode": "0", "sMsg": ""}]
    return [{"ordId": order.id, "clOrdId": order.client_id or "", "reqId": "", "sCode": "0", "sMsg": ""}]


def amend_order(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """POST /api/v5/trade/amend-order: newSz, newPx."""
    return _amend(fake, items(request)[0], algo=False)


def amend_algos(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """POST /api/v5/trade/amend-algos: newSz, newSlTriggerPx / newTpTriggerPx (+ order prices)."""
    return _amend(fake, items(request)[0], algo=True)


def cancel_order(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """POST /api/v5/trade/cancel-order and cancel-batch-orders."""
    out = []
    for item in items(request):
        sim, order = _open(fake, item, False, 51400)
        sim.cancel_order(order.id)
        out.append({"ordId": order.id, "clOrdId": order.client_id or "", "sCode": "0", "sMsg": ""})
    return out


def cancel_algos(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """POST /api/v5/trade/cancel-algos: ``[{algoId, instId}]``."""
    out = []
    for item in items(request):
        sim, order = _open(fake, item, True, 51400)
        sim.cancel_order(order.id)
        out.append({"algoId": order.id, "algoClOrdId": order.client_id or "", "sCode": "0", "sMsg": ""})
    return out


def get_order(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/trade/order?instId&ordId|clOrdId (a triggered algo's order by its spawned id too)."""
    inst_id = str(request.query.get("instId"))
    fake._sim(inst_id)
    ord_id, link = request.query.get("ordId"), request.query.get("clOrdId")
    order = fake.find_order(inst_id, ord_id, link)
    if order is not None and order.id in fake.algo_ids and (
        ord_id != spawned_id(order.id) or order.status is OrderStatus.UNTRIGGERED
    ):
        order = None
    if order is None:
        raise OkxError(51603, "Order does not exist")
    return [fake.order_json(inst_id, order, spawned_id(order.id) if order.id in fake.algo_ids else None)]


def get_order_algo(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/trade/order-algo?algoId|algoClOrdId."""
    algo_id, link = request.query.get("algoId"), request.query.get("algoClOrdId")
    for inst_id, orders in fake.orders.items():
        for order in orders:
            if order.id in fake.algo_ids and ((algo_id and order.id == algo_id) or (link and order.client_id == link)):
                return [fake.algo_json(inst_id, order)]
    raise OkxError(51603, "Order does not exist")


def orders_pending(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/trade/orders-pending: open regular orders (and triggered algo orders' orders), newest first."""
    rows = []
    for inst_id in inst_ids(fake, request):
        for order in reversed(fake.sims[inst_id].get_open_orders()):
            if order.id not in fake.algo_ids:
                rows.append(fake.order_json(inst_id, order))
            elif order.status is not OrderStatus.UNTRIGGERED:
                rows.append(fake.order_json(inst_id, order, spawned_id(order.id)))
    return rows


def orders_algo_pending(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/trade/orders-algo-pending?ordType=conditional: untriggered algo orders, newest first."""
    if request.query.get("ordType") not in ("conditional", "trigger", None, ""):
        raise OkxError(51000, "Parameter ordType error")
    rows = []
    for inst_id in inst_ids(fake, request):
        for order in reversed(fake.sims[inst_id].get_open_orders()):
            if order.id in fake.algo_ids and order.status is OrderStatus.UNTRIGGERED:
                rows.append(fake.algo_json(inst_id, order))
    return rows


PRIVATE_ROUTES: dict[tuple[str, str], Any] = {
    **ACCOUNT_ROUTES,
    ("POST", "/api/v5/trade/batch-orders"): batch_orders,
    ("POST", "/api/v5/trade/order"): batch_orders,
    ("POST", "/api/v5/trade/order-algo"): order_algo,
    ("POST", "/api/v5/trade/amend-order"): amend_order,
    ("POST", "/api/v5/trade/amend-algos"): amend_algos,
    ("POST", "/api/v5/trade/cancel-order"): cancel_order,
    ("POST", "/api/v5/trade/cancel-batch-orders"): cancel_order,
    ("POST", "/api/v5/trade/cancel-algos"): cancel_algos,
    ("GET", "/api/v5/trade/order"): get_order,
    ("GET", "/api/v5/trade/order-algo"): get_order_algo,
    ("GET", "/api/v5/trade/orders-pending"): orders_pending,
    ("GET", "/api/v5/trade/orders-algo-pending"): orders_algo_pending,
}
