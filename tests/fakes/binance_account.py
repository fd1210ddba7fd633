"""Account endpoints of the fake Binance USDⓈ-M: positions (v3 positionRisk), account (v2/v3), user trades
with trade ids, funding income, leverage, margin type, isolated position margin, leverage brackets,
commission rate, symbol configuration and position mode. Numbers come from each symbol's simulator.
"""

from __future__ import annotations

from typing import Any

from kektrade.domain.types import FillKind, MarginMode
from kektrade.exchange.sim.exchange import SimError
from tests.fakes.binance_fapi import BinanceError, RecordedRequest, fmt, int_param
from tests.fakes.binance_orders import matching_id
from tests.fakes.binance_trading import T0_MS, FakeBinanceExchange

_MARGIN_TYPES = {"ISOLATED": MarginMode.ISOLATED, "CROSSED": MarginMode.CROSS}
FUNDING_TRAN_BASE = 9_000_000  # tranId of funding income rows: base + position in the simulator's fills
FORCE_ORDER_BASE = 800_000_000  # orderId of the liquidation ("autoclose-") order of fill k: base + k


def _symbols(fake: FakeBinanceExchange, request: RecordedRequest) -> list[str]:
    symbol = request.params.get("symbol")
    if symbol:
        fake.sim_for(request)
        return [symbol]
    return list(fake.sims)


def _margin_type(fake: FakeBinanceExchange, symbol: str) -> str:
    return "isolated" if fake.margin_types[symbol] is MarginMode.ISOLATED else "cross"


def position_row(fake: FakeBinanceExchange, symbol: str) -> dict[str, Any]:
    """One ``/fapi/v3/positionRisk`` row from the simulator's position."""
    sim = fake.sims[symbol]
    view = sim.get_position()
    wallet = sim.get_wallet()
    isolated = view.margin_mode is MarginMode.ISOLATED
    notional = view.contracts * view.mark_price
    return {
        "symbol": symbol, "positionSide": "BOTH", "positionAmt": fmt(view.contracts),
        "entryPrice": fmt(view.entry_price), "breakEvenPrice": fmt(view.entry_price),
        "markPrice": fmt(view.mark_price), "unRealizedProfit": fmt(view.unrealized_pnl),
        "liquidationPrice": fmt(view.liquidation_price if view.contracts else 0.0),
        "isolatedMargin": fmt(view.initial_margin + view.unrealized_pnl if isolated and view.contracts else 0.0),
        "notional": fmt(notional), "marginAsset": sim.spec.settle,
        "isolatedWallet": fmt(view.initial_margin if isolated else 0.0),
        "initialMargin": fmt(view.initial_margin + wallet.order_margin), "maintMargin": fmt(view.maintenance_margin),
        "positionInitialMargin": fmt(view.initial_margin), "openOrderInitialMargin": fmt(wallet.order_margin),
        "adl": 1 if view.contracts else 0, "bidNotional": "0", "askNotional": "0", "updateTime": sim.now_ms,
    }


def position_risk(fake: FakeBinanceExchange, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v3/positionRisk: symbols with a position or open orders (as v3 lists them)."""
    return [
        position_row(fake, s) for s in _symbols(fake, request)
        if fake.sims[s].contracts or fake.sims[s].get_open_orders()
    ]


def position_risk_v2(fake: FakeBinanceExchange, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v2/positionRisk: every symbol, with leverage and margin type."""
    rows = []
    for symbol in _symbols(fake, request):
        row = position_row(fake, symbol)
        row.update(leverage=str(fake.leverages[symbol]), marginType=_margin_type(fake, symbol),
                   isAutoAddMargin="false", maxNotionalValue=fmt(fake.sims[symbol].spec.risk_tiers[0].limit_value))
        rows.append(row)
    return rows


def account(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /fapi/v2|v3/account: one USDT asset summing every symbol's wallet, and the open positions."""
    keys = ("wb", "upl", "mb", "pm", "om", "mm", "av")
    total = dict.fromkeys(keys, 0.0)
    for sim in fake.sims.values():
        w, p = sim.get_wallet(), sim.get_position()
        for key, value in zip(keys, (w.wallet_balance, w.margin_balance - w.wallet_balance, w.margin_balance,
                                     w.position_margin, w.order_margin, p.maintenance_margin, w.available_balance),
                              strict=True):
            total[key] += value
    stamp = max((s.now_ms for s in fake.sims.values()), default=T0_MS) or T0_MS  # ccxt drops updateTime 0
    asset = {
        "asset": "USDT", "walletBalance": fmt(total["wb"]), "unrealizedProfit": fmt(total["upl"]),
        "marginBalance": fmt(total["mb"]), "maintMargin": fmt(total["mm"]),
        "initialMargin": fmt(total["pm"] + total["om"]), "positionInitialMargin": fmt(total["pm"]),
        "openOrderInitialMargin": fmt(total["om"]), "crossWalletBalance": fmt(total["wb"]),
        "crossUnPnl": fmt(total["upl"]), "availableBalance": fmt(total["av"]),
        "maxWithdrawAmount": fmt(total["av"]), "updateTime": stamp,
    }
    return {
        "totalInitialMargin": asset["initialMargin"], "totalMaintMargin": asset["maintMargin"],
        "totalWalletBalance": asset["walletBalance"], "totalUnrealizedProfit": asset["unrealizedProfit"],
        "totalMarginBalance": asset["marginBalance"], "totalPositionInitialMargin": asset["positionInitialMargin"],
        "totalOpenOrderInitialMargin": asset["openOrderInitialMargin"],
        "totalCrossWalletBalance": asset["walletBalance"], "totalCrossUnPnl": asset["unrealizedProfit"],
        "availableBalance": asset["availableBalance"], "maxWithdrawAmount": asset["maxWithdrawAmount"],
        "assets": [asset],
        "positions": [
            {"symbol": s, "positionSide": "BOTH", "positionAmt": fmt(sim.contracts),
             "unrealizedProfit": fmt(sim.get_position().unrealized_pnl), "updateTime": sim.now_ms}
            for s, sim in fake.sims.items() if sim.contracts
        ],
    }


def user_trades(fake: FakeBinanceExchange, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v1/userTrades: trades (and liquidation closes) ascending; ``fromId``, time window, limit."""
    symbol, sim = fake.sim_for(request)
    placed = {o.id: int(matching_id(fake, o)) for o in fake.orders[symbol]}
    start, end, from_id = int_param(request, "startTime"), int_param(request, "endTime"), int_param(request, "fromId")
    limit = min(1000, int_param(request, "limit", 500) or 500)
    rows = []
    trade_id = 0
    for k, fill in enumerate(sim.fills):
        if fill.kind is FillKind.FUNDING:
            continue
        trade_id += 1
        order_id = FORCE_ORDER_BASE + k if fill.kind is FillKind.LIQUIDATION else placed.get(fill.order_id, 0)
        if (from_id is not None and trade_id < from_id) or (start is not None and fill.time_ms < start):
            continue
        if end is not None and fill.time_ms > end:
            continue
        qty = abs(fill.contracts)
        rows.append({
            "id": trade_id, "orderId": order_id, "symbol": symbol,
            "side": "BUY" if fill.contracts > 0 else "SELL", "positionSide": "BOTH", "price": fmt(fill.price),
            "qty": fmt(qty), "quoteQty": fmt(qty * fill.price), "commission": fmt(fill.fee),
            "commissionAsset": sim.spec.settle, "realizedPnl": fmt(fill.realized_pnl), "maker": fill.is_maker,
            "buyer": fill.contracts > 0, "time": fill.time_ms,
        })
    return rows[-limit:] if from_id is None and start is None else rows[:limit]


def force_orders(fake: FakeBinanceExchange, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v1/forceOrders: the account's liquidation orders (``autoCloseType`` LIQUIDATION), newest first."""
    symbol, sim = fake.sim_for(request)
    if request.params.get("autoCloseType", "LIQUIDATION") != "LIQUIDATION":
        return []
    rows = []
    for k, fill in enumerate(sim.fills):
        if fill.kind is not FillKind.LIQUIDATION:
            continue
        qty = fmt(abs(fill.contracts))
        rows.append({
            "orderId": FORCE_ORDER_BASE + k, "symbol": symbol, "status": "FILLED",
            "clientOrderId": f"autoclose-{fill.time_ms}", "price": fmt(fill.price), "avgPrice": fmt(fill.price),
            "origQty": qty, "executedQty": qty, "cumQuote": fmt(abs(fill.contracts) * fill.price),
            "timeInForce": "IOC", "type": "LIMIT", "reduceOnly": True, "closePosition": False,
            "side": "BUY" if fill.contracts > 0 else "SELL", "positionSide": "BOTH", "stopPrice": "0",
            "workingType": "CONTRACT_PRICE", "origType": "LIMIT", "time": fill.time_ms, "updateTime": fill.time_ms,
        })
    return list(reversed(rows))


def income(fake: FakeBinanceExchange, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v1/income: FUNDING_FEE rows (income < 0 when paid), ascending, time window and limit."""
    wanted = request.params.get("incomeType")
    if wanted not in (None, "", "FUNDING_FEE"):
        return []
    start, end = int_param(request, "startTime"), int_param(request, "endTime")
    limit = min(1000, int_param(request, "limit", 100) or 100)
    rows = []
    for symbol in _symbols(fake, request):
        sim = fake.sims[symbol]
        for k, fill in enumerate(sim.fills):
            if fill.kind is not FillKind.FUNDING:
                continue
            if (start is not None and fill.time_ms < start) or (end is not None and fill.time_ms > end):
                continue
            rows.append({
                "symbol": symbol, "incomeType": "FUNDING_FEE", "income": fmt(-fill.fee), "asset": sim.spec.settle,
                "info": "FUNDING_FEE", "time": fill.time_ms, "tranId": FUNDING_TRAN_BASE + k, "tradeId": "",
            })
    rows.sort(key=lambda r: (r["time"], r["tranId"]))
    return rows[:limit]


def set_leverage(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /fapi/v1/leverage: an integer 1..bracket maximum (-4028), within the margin available (-2027)."""
    symbol, sim = fake.sim_for(request)
    raw = request.params.get("leverage", "")
    if not raw.isdigit() or not 1 <= int(raw) <= 125:
        raise BinanceError(-4028, f"Leverage {raw} is not valid")
    try:
        sim.set_leverage(int(raw))
    except SimError as exc:
        code = -4028 if "above the maximum" in str(exc) else -2027
        raise BinanceError(code, f"Leverage {raw} is not valid" if code == -4028 else str(exc)) from None
    fake.leverages[symbol] = int(raw)
    return {"leverage": int(raw), "maxNotionalValue": fmt(_cap(fake, symbol, int(raw))), "symbol": symbol}


def _cap(fake: FakeBinanceExchange, symbol: str, leverage: int) -> float:
    """The largest notional a leverage allows (the cap of the last bracket still allowing it)."""
    return max((b.cap for b in fake.state.brackets[symbol] if b.max_leverage >= leverage), default=0.0)


def set_margin_type(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /fapi/v1/marginType: per symbol; -4046 when unchanged, -4048/-4047 with a position or orders."""
    symbol, sim = fake.sim_for(request)
    mode = _MARGIN_TYPES.get(request.params.get("marginType", "").upper())
    if mode is None:
        raise BinanceError(-1130, "Data sent for parameter 'marginType' is not valid.")
    if fake.margin_types[symbol] is mode:
        raise BinanceError(-4046, "No need to change margin type.")
    if sim.contracts:
        raise BinanceError(-4048, "Margin type cannot be changed if there exists position.")
    if sim.get_open_orders():
        raise BinanceError(-4047, "Margin type cannot be changed if there exists open orders.")
    sim.set_margin_mode(mode)
    fake.margin_types[symbol] = mode
    return {"code": 200, "msg": "success"}


def position_margin(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """POST /fapi/v1/positionMargin (type 1 add); reducing (type 2) is not simulated."""
    _symbol, sim = fake.sim_for(request)
    amount = float(request.params.get("amount") or 0.0)
    if request.params.get("type") != "1":
        raise BinanceError(-1130, "Data sent for parameter 'type' is not valid (the fake only adds margin).")
    try:
        sim.add_margin(amount)
    except SimError as exc:
        raise BinanceError(-4051, f"Isolated balance insufficient. ({exc})") from None
    return {"amount": amount, "code": 200, "msg": "Successfully modify position margin.", "type": 1}


def leverage_brackets(fake: FakeBinanceExchange, request: RecordedRequest) -> Any:
    """GET /fapi/v1/leverageBracket: every symbol (a list), or one symbol (an object)."""
    def entry(symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "notionalCoef": 1.0, "brackets": [
            {"bracket": n + 1, "initialLeverage": int(b.max_leverage), "notionalCap": b.cap,
             "notionalFloor": b.floor, "maintMarginRatio": b.mmr, "cum": b.cum}
            for n, b in enumerate(fake.state.brackets[symbol])
        ]}

    symbol = request.params.get("symbol")
    if symbol:
        if symbol not in fake.state.symbols:
            raise BinanceError(-1121, "Invalid symbol.")
        return entry(symbol)
    return [entry(s) for s in fake.state.symbols]


def commission_rate(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /fapi/v1/commissionRate."""
    symbol = request.params.get("symbol") or ""
    if symbol not in fake.state.symbols:
        raise BinanceError(-1121, "Invalid symbol.")
    return {"symbol": symbol, "makerCommissionRate": fmt(fake.state.maker_fee),
            "takerCommissionRate": fmt(fake.state.taker_fee)}


def symbol_config(fake: FakeBinanceExchange, request: RecordedRequest) -> list[dict[str, Any]]:
    """GET /fapi/v1/symbolConfig: margin type and leverage per symbol."""
    return [
        {"symbol": s, "marginType": "ISOLATED" if fake.margin_types[s] is MarginMode.ISOLATED else "CROSSED",
         "isAutoAddMargin": "false", "leverage": fake.leverages[s],
         "maxNotionalValue": fmt(_cap(fake, s, fake.leverages[s]))}
        for s in _symbols(fake, request)
    ]


def position_mode(fake: FakeBinanceExchange, request: RecordedRequest) -> dict[str, Any]:
    """GET /fapi/v1/positionSide/dual: one-way mode unless a test sets ``fake.hedge_mode`` (it trades one-way)."""
    return {"dualSidePosition": fake.hedge_mode}


ACCOUNT_ROUTES = {
    ("GET", "/fapi/v3/positionRisk"): position_risk,
    ("GET", "/fapi/v2/positionRisk"): position_risk_v2,
    ("GET", "/fapi/v3/account"): account,
    ("GET", "/fapi/v2/account"): account,
    ("GET", "/fapi/v1/userTrades"): user_trades,
    ("GET", "/fapi/v1/income"): income,
    ("GET", "/fapi/v1/forceOrders"): force_orders,
    ("POST", "/fapi/v1/leverage"): set_leverage,
    ("POST", "/fapi/v1/marginType"): set_margin_type,
    ("POST", "/fapi/v1/positionMargin"): position_margin,
    ("GET", "/fapi/v1/leverageBracket"): leverage_brackets,
    ("GET", "/fapi/v1/commissionRate"): commission_rate,
    ("GET", "/fapi/v1/symbolConfig"): symbol_config,
    ("GET", "/fapi/v1/positionSide/dual"): position_mode,
}
