"""OKX v5 USDT- and coin-margined perpetual swaps (net position mode).

OKX counts contracts of ``ctVal`` coins (USDT swaps) or ``ctVal`` USD (coin-margined swaps): every size
crossing this dialect is converted with ``unit`` = ctVal, so a strategy's 0.37 BTC is 37 contracts on
BTC-USDT-SWAP (ctVal 0.01). Stops and take-profits are OKX ``conditional`` algo orders (stop-loss and
take-profit legs trigger in the same directions as kektrade's stops and take-profits); once triggered,
an algo order's fills carry the order it spawned, mapped back to the algo id. The margin mode travels
with every order (``tdMode``) and with the leverage. Client ids are ``clOrdId`` / ``algoClOrdId``: 1-32
letters and digits (kektrade's ids lose their ``-``/``_``, long ones are shortened by a hash).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import ccxt

from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import (
    CONDITIONAL_TYPES,
    LIMIT_PRICED_TYPES,
    MarginMode,
    Order,
    RejectReason,
    TimeInForce,
    TriggerBy,
)
from kektrade.exchange.live.dialect import ClientIdRule, ErrorCodes, ExecutionPage, OrderDraft, PositionRead, WalletRead
from kektrade.exchange.live.errors import VenueError
from kektrade.exchange.live.markets import spec_from_market
from kektrade.exchange.live.okx_parse import algo_from_okx, fill_from_okx, funding_from_bill, order_from_okx
from kektrade.exchange.live.unified_dialect import _NOT_ALNUM, STOPS, UnifiedDialect, num

log = logging.getLogger(__name__)
PAGE = 100


class OkxDialect(UnifiedDialect):
    """OKX swaps through the real ccxt ``okx`` client (orders and fills read from OKX's own fields)."""

    exchange_id = "okx"
    tested = True
    needs: ClassVar[tuple[str, ...]] = ("swap", "createOrder", "fetchPositions", "fetchBalance", "setLeverage")
    client_ids = ClientIdRule("clOrdId", 32, r"[A-Za-z][A-Za-z0-9]*")
    codes = ErrorCodes(
        duplicate_client_id=frozenset({51016}),
        order_not_found=frozenset({51400, 51401, 51402, 51503, 51509, 51603}),
        rate_limit=frozenset({50011, 50061}),
        busy=frozenset({50001, 50004, 50013, 50026}),
        insufficient=frozenset({51008, 51119, 51127, 51131, 51502}),
        reduce_only=frozenset({51169, 51170}),
        trigger=frozenset({51277, 51278, 51279, 51280}),
        risk_limit=frozenset({51004}),
    )
    ohlcv_page_limit = 100  # history-candles and mark-price candles serve at most 100 rows
    funding_page_limit = 100

    def __init__(self, exchange: Any, market: dict[str, Any], call: Any) -> None:
        super().__init__(exchange, market, call)
        self.mode = MarginMode.CROSS
        self._algos: set[str] = set()  # algo ids seen (their cancel/amend/lookup endpoints differ)
        self._spawned: dict[str, str] = {}  # ordId of a triggered algo's order -> algo id

    def wire_client_id(self, client_id: str) -> str:
        """kektrade's ``kt<tag8>-<candle>-<seq>[-<id>]`` with ``Z`` for its three separators (reversible: the
        parts are lower-case base36); other ids as the generic dialect shortens them."""
        parts = client_id.split("-", 3)
        structural = client_id.startswith("kt") and len(parts) >= 3 and all(p.isalnum() for p in parts[:3])
        if structural and all(p == p.lower() for p in parts[:3]):
            wire = "Z".join(parts[:3] + [_NOT_ALNUM.sub("", p) for p in parts[3:]])
            if len(wire) <= 32:
                return wire
        return super().wire_client_id(client_id)

    def shown_client_id(self, wire_id: str) -> str:
        """The id sent by this process, else ``Z`` turned back into kektrade's separators (after a restart)."""
        if wire_id in self._sent:
            return self._sent[wire_id]
        parts = wire_id.split("Z", 3)
        if wire_id.startswith("kt") and len(parts) >= 3 and all(p and p == p.lower() for p in parts[:3]):
            return "-".join(parts)
        return wire_id

    @classmethod
    def client_options(cls) -> dict[str, Any]:
        """Swap markets only (not spot, futures and options: five instrument calls)."""
        return {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"}

    # -- market data -----------------------------------------------------------------------------------

    def load_spec(self) -> ContractSpec:
        """Instrument (sizes x ctVal), position tiers (bounds are position sizes: OKX's formulas), fee rates."""
        tiers: list[dict[str, Any]] | None = None
        fees: dict[str, Any] | None = None
        try:
            rows = self.call(self.ex.fetch_market_leverage_tiers, self.symbol)
            tiers = rows or None
        except VenueError as exc:
            log.warning("position tiers of %s unavailable (%s); using built-in tiers", self.symbol, exc)
        try:
            fees = self.call(self.ex.fetch_trading_fee, self.symbol)
        except VenueError as exc:
            log.warning("trading fee of %s unavailable (%s); using default fees", self.symbol, exc)
        return spec_from_market(self.market, tiers, fees, exchange_id="okx")  # converts ctVal sizes itself

    # -- orders ----------------------------------------------------------------------------------------

    def create(self, draft: OrderDraft, client_id: str) -> str:
        """``batch-orders`` (regular) or ``order-algo`` (conditional) through ccxt's create_order."""
        kind = draft.kind
        wire = self.remember_client_id(client_id)
        params: dict[str, Any] = {"marginMode": self.mode.value}
        if draft.reduce_only:
            params["reduceOnly"] = True
        if kind in CONDITIONAL_TYPES:
            leg = "stopLossPrice" if kind in STOPS else "takeProfitPrice"
            params[leg] = self.price(draft.trigger_price or 0.0)
            params["slTriggerPxType" if kind in STOPS else "tpTriggerPxType"] = (
                "mark" if draft.trigger_by is TriggerBy.MARK else "last"
            )
            params["algoClOrdId"] = wire
        else:
            params["clientOrderId"] = wire
            if draft.post_only:
                params["postOnly"] = True
            elif draft.time_in_force is not TimeInForce.GTC:
                params["timeInForce"] = draft.time_in_force.value
        limit = self.price(draft.price) if kind in LIMIT_PRICED_TYPES and draft.price is not None else None
        order_type = "limit" if kind in LIMIT_PRICED_TYPES else "market"
        side = "buy" if draft.contracts > 0 else "sell"
        placed = self.ex.create_order(self.symbol, order_type, side, self.amount(draft.contracts), limit, params)
        info = placed.get("info") or {}
        if kind in CONDITIONAL_TYPES:
            algo_id = str(info.get("algoId") or placed["id"])
            self._algos.add(algo_id)
            return algo_id
        return str(info.get("ordId") or placed["id"])

    def _get(self, method: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """The first row of a lookup; None when OKX does not know the order."""
        try:
            rows = self.call(method, params).get("data") or []
        except VenueError as exc:
            if exc.code in self.codes.order_not_found:
                return None
            raise
        return rows[0] if rows else None

    def _algo(self, info: dict[str, Any]) -> Order:
        algo_id = str(info.get("algoId"))
        self._algos.add(algo_id)
        spawned = None
        if info.get("state") == "effective" and info.get("ordId"):
            self._spawned[str(info["ordId"])] = algo_id
            row = self._get(self.ex.privateGetTradeOrder, {"instId": self.market_id, "ordId": str(info["ordId"])})
            spawned = order_from_okx(row, self.symbol, self.unit) if row else None
        order = algo_from_okx(info, self.symbol, self.unit, spawned)
        order.client_id = self._shown(order.client_id)
        return order

    def _regular(self, info: dict[str, Any]) -> Order:
        if info.get("algoId"):  # the order a triggered algo order placed: shown as that algo order
            self._spawned[str(info.get("ordId"))] = str(info["algoId"])
            row = self._get(self.ex.privateGetTradeOrderAlgo, {"algoId": str(info["algoId"])})
            if row is not None:
                return self._algo(row)
        order = order_from_okx(info, self.symbol, self.unit)
        order.client_id = self._shown(order.client_id)
        return order

    def find(self, order_id: str | None = None, client_id: str | None = None) -> Order | None:
        """trade/order by ordId or clOrdId, then trade/order-algo by algoId or algoClOrdId."""
        inst = {"instId": self.market_id}
        if order_id is not None:
            regular, algo = {**inst, "ordId": order_id}, {"algoId": order_id}
        else:
            wire = self.wire_client_id(client_id or "")
            regular, algo = {**inst, "clOrdId": wire}, {"algoClOrdId": wire}
        if order_id is None or order_id not in self._algos:
            row = self._get(self.ex.privateGetTradeOrder, regular)
            if row is not None:
                return self._regular(row)
        row = self._get(self.ex.privateGetTradeOrderAlgo, algo)
        return self._algo(row) if row is not None else None

    def fetch_open_orders(self) -> list[Order]:
        """orders-pending and orders-algo-pending (conditional), oldest first."""
        inst = {"instType": "SWAP", "instId": self.market_id}
        regular = self.call(self.ex.privateGetTradeOrdersPending, inst).get("data") or []
        algos = self.call(self.ex.privateGetTradeOrdersAlgoPending, {**inst, "ordType": "conditional"})
        orders = [self._regular(r) for r in reversed(regular)] + [self._algo(r) for r in reversed(algos["data"] or [])]
        return sorted({o.id: o for o in orders}.values(), key=lambda o: o.created_ms)

    def amend(self, order: Order, price: float | None, contracts: float | None, trigger_price: float | None) -> None:
        """amend-order (regular, or a triggered algo's order) or amend-algos (untriggered conditional)."""
        request: dict[str, Any] = {"instId": self.market_id}
        if contracts is not None:
            request["newSz"] = self.amount(contracts)
        spawned = next((s for s, a in self._spawned.items() if a == order.id), None)
        if order.id not in self._algos or spawned is not None:
            if price is not None:
                request["newPx"] = self.price(price)
            self.call(self.ex.privatePostTradeAmendOrder, {**request, "ordId": spawned or order.id})
            return
        leg = "Sl" if order.type in STOPS else "Tp"
        if trigger_price is not None or price is not None:
            request[f"new{leg}TriggerPx"] = self.price(trigger_price or order.trigger_price or 0.0)
            limit = price if price is not None else order.price
            request[f"new{leg}OrdPx"] = self.price(limit) if order.type in LIMIT_PRICED_TYPES and limit else "-1"
            request[f"new{leg}TriggerPxType"] = "mark" if order.trigger_by is TriggerBy.MARK else "last"
        self.call(self.ex.privatePostTradeAmendAlgos, {**request, "algoId": order.id})

    def cancel(self, order_id: str) -> None:
        """cancel-order, or cancel-algos for a conditional order (tried when OKX has no such regular order).

        A triggered algo order is cancelled through the order it placed.
        """
        spawned = next((s for s, a in self._spawned.items() if a == order_id and s != order_id), None)
        if spawned is not None:
            self.ex.privatePostTradeCancelOrder({"instId": self.market_id, "ordId": spawned})
            return
        if order_id not in self._algos:
            try:
                self.ex.privatePostTradeCancelOrder({"instId": self.market_id, "ordId": order_id})
                return
            except ccxt.OrderNotFound:
                pass
        self.ex.privatePostTradeCancelAlgos([{"algoId": order_id, "instId": self.market_id}])

    def cancel_all(self) -> int:
        """OKX has no cancel-all: the open orders, cancelled in batches of 20 (regular) and 10 (algo)."""
        orders = self.fetch_open_orders()
        regular = [{"instId": self.market_id, "ordId": o.id} for o in orders if o.id not in self._algos]
        algos = [{"instId": self.market_id, "algoId": o.id} for o in orders if o.id in self._algos]
        for start in range(0, len(regular), 20):
            self.call(self.ex.privatePostTradeCancelBatchOrders, regular[start : start + 20])
        for start in range(0, len(algos), 10):
            self.call(self.ex.privatePostTradeCancelAlgos, algos[start : start + 10])
        return len(orders)

    # -- account ---------------------------------------------------------------------------------------

    def fetch_position(self) -> PositionRead:
        """account/positions (net mode: ``pos`` signed contracts)."""
        rows = self.call(self.ex.privateGetAccountPositions, {"instType": "SWAP", "instId": self.market_id})
        found = [r for r in rows.get("data") or [] if r.get("instId") == self.market_id and num(r.get("pos"))]
        if not found:
            return PositionRead()
        row = found[0]
        mode = row.get("mgnMode")
        isolated = mode == "isolated"
        return PositionRead(
            contracts=num(row.get("pos")) * self.unit, entry_price=num(row.get("avgPx")),
            mark_price=num(row.get("markPx")), liquidation_price=num(row.get("liqPx")),
            unrealized_pnl=num(row.get("upl")), realized_pnl=num(row.get("realizedPnl")),
            initial_margin=num(row.get("margin") if isolated else row.get("imr")),
            maintenance_margin=num(row.get("mmr")), leverage=num(row.get("lever")) or None,
            margin_mode=MarginMode(mode) if mode in ("isolated", "cross") else None,
        )  # fmt: skip

    def fetch_wallet(self, settle: str) -> WalletRead:
        """account/balance: cashBal (wallet), eq (equity), frozenBal / ordFrozen (margins), availEq."""
        data = self.call(self.ex.privateGetAccountBalance, {"ccy": settle}).get("data") or []
        rows = [d for account in data for d in account.get("details") or [] if d.get("ccy") == settle]
        if not rows:
            raise VenueError(f"wallet has no {settle} balance")
        row = rows[0]
        frozen, orders = num(row.get("frozenBal")), num(row.get("ordFrozen"))
        available = row.get("availEq") if row.get("availEq") not in (None, "") else row.get("availBal")
        return WalletRead(
            wallet_balance=num(row.get("cashBal")), margin_balance=num(row.get("eq")),
            position_margin=frozen - orders, order_margin=orders,
            available=None if available in (None, "") else num(available),
        )  # fmt: skip

    def executions_page(self, cursor: str) -> ExecutionPage:
        """fills-history and funding bills (type 8) merged newest first; cursor ``<fills after>:<bills after>``."""
        fills_after, _, bills_after = cursor.partition(":")
        rows: list[tuple[int, str, Any]] = []
        next_cursor = ["-", "-"]
        if fills_after != "-":
            params = {"instType": "SWAP", "instId": self.market_id, "limit": PAGE, **_after(fills_after)}
            page = self.call(self.ex.privateGetTradeFillsHistory, params).get("data") or []
            rows += [(int(num(r.get("ts"))), f"t{r.get('tradeId')}", self._fill(r)) for r in page]
            next_cursor[0] = str(page[-1].get("billId")) if len(page) >= PAGE else "-"
        if bills_after != "-":
            params = {"instType": "SWAP", "type": "8", "limit": PAGE, **_after(bills_after)}
            page = self.call(self.ex.privateGetAccountBills, params).get("data") or []
            mine = [r for r in page if r.get("instId") == self.market_id]
            rows += [(int(num(r.get("ts"))), f"b{r.get('billId')}", funding_from_bill(r, self.symbol, self.unit))
                     for r in mine]  # fmt: skip
            next_cursor[1] = str(page[-1].get("billId")) if len(page) >= PAGE else "-"
        rows.sort(key=lambda r: r[0], reverse=True)
        more = ":".join(next_cursor) if next_cursor != ["-", "-"] else ""
        return ExecutionPage([(exec_id, fill) for _, exec_id, fill in rows], more)

    def _fill(self, row: dict[str, Any]) -> Any:
        """A fill, its order id mapped to the algo order that placed it (looked up once per order)."""
        ord_id = str(row.get("ordId") or "")
        if ord_id not in self._spawned and not row.get("clOrdId"):
            found = self._get(self.ex.privateGetTradeOrder, {"instId": self.market_id, "ordId": ord_id})
            self._spawned[ord_id] = str((found or {}).get("algoId") or ord_id)
        inverse = bool(self.market.get("inverse"))
        return fill_from_okx(row, self.symbol, self.unit, self._spawned.get(ord_id, ord_id), inverse)

    def set_leverage(self, leverage: float, margin_mode: MarginMode) -> None:
        """account/set-leverage {instId, lever, mgnMode}."""
        body = {"instId": self.market_id, "lever": format(leverage, "g"), "mgnMode": self.mode.value}
        self.call(self.ex.privatePostAccountSetLeverage, body)

    def set_margin_mode(self, mode: MarginMode, leverage: float) -> None:
        """OKX has no per-symbol switch: the mode travels with each order (``tdMode``) and the leverage."""
        self.mode = mode

    def add_margin(self, amount: float) -> None:
        """account/position/margin-balance (isolated positions)."""
        body = {"instId": self.market_id, "posSide": "net", "type": "add", "amt": repr(float(amount))}
        self.call(self.ex.privatePostAccountPositionMarginBalance, body)

    def reject_reason(self, error: VenueError, position_contracts: float) -> str | None:
        """OKX's order refusals (51169: no position to reduce); other 51xxx codes carry their message."""
        if error.code == 51169:
            return RejectReason.REDUCE_ONLY_NO_POSITION.value
        if error.code == 51170:
            return RejectReason.REDUCE_ONLY_WOULD_INCREASE.value
        reason = super().reject_reason(error, position_contracts)
        if reason is None and error.code is not None and 51000 <= error.code < 52000:
            return error.message or f"refused with sCode {error.code}"
        return reason


def _after(cursor: str) -> dict[str, str]:
    return {"after": cursor} if cursor else {}
