"""The account half of the fake OKX v5: fills, funding bills, positions, balance, fees, leverage, margin.

Shared request helpers of the order endpoints (okx_trading.py) live here too. The fake is a
``FakeOkxExchange`` (okx_trading.py): a SimExchange per instrument, sizes converted with ``ctVal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kektrade.domain.types import FillKind, MarginMode
from kektrade.exchange.sim.exchange import SimError, SimExchange
from tests.fakes.okx_v5 import OkxError, OkxRequest, fmt

if TYPE_CHECKING:
    from tests.fakes.okx_trading import FakeOkxExchange

T0_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC: the first pushed candle opens here


def spawned_id(algo_id: str) -> str:
    """The ordId of the order a triggered algo order placed."""
    return "7" + algo_id.zfill(9)


def items(request: OkxRequest) -> list[dict[str, Any]]:
    body = request.body
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
    if not items or not all(isinstance(i, dict) for i in items):
        raise OkxError(51000, "Parameter body error")
    return items


def number(raw: Any, name: str) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise OkxError(51000, f"Parameter {name} error") from None


def switch_mode(fake: FakeOkxExchange, sim: SimExchange, td_mode: Any) -> None:
    if td_mode not in ("cross", "isolated"):
        raise OkxError(51000, "Parameter tdMode error")
    if sim.get_position().margin_mode.value != td_mode:
        try:
            sim.set_margin_mode(MarginMode(td_mode))
        except SimError as exc:
            raise OkxError(51000, f"Parameter tdMode error: {exc}") from None


def inst_ids(fake: FakeOkxExchange, request: OkxRequest) -> list[str]:
    inst_id = request.query.get("instId")
    if inst_id:
        fake._sim(inst_id)
        return [inst_id]
    return list(fake.sims)


def page(rows: list[dict[str, Any]], request: OkxRequest, key: str) -> list[dict[str, Any]]:
    """Newest first; ``after`` = rows older than that id (OKX's pagination by billId)."""
    after = request.query.get("after")
    if after:
        rows = [r for r in rows if int(r[key]) < int(after)]
    return rows[: min(100, int(request.query.get("limit") or 100))]


def fills_history(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/trade/fills-history (and /trade/fills): trades newest first; fee negative when paid."""
    rows = []
    for inst_id in inst_ids(fake, request):
        sim = fake.sims[inst_id]
        for k, fill in enumerate(sim.fills):
            if fill.kind is FillKind.FUNDING:
                continue
            algo = fill.order_id in fake.algo_ids
            order = fake.find_order(inst_id, fill.order_id, None)
            rows.append({
                "instType": "SWAP", "instId": inst_id, "tradeId": f"{k + 1}", "billId": str(1_000_000 + k),
                "ordId": spawned_id(fill.order_id) if algo else fill.order_id,
                "clOrdId": "" if algo or order is None else order.client_id or "",
                "side": "buy" if fill.contracts > 0 else "sell", "posSide": "net",
                "fillSz": fake.contracts(inst_id, fill.contracts), "fillPx": fmt(fill.price),
                "fee": fmt(-fill.fee), "feeCcy": sim.spec.settle, "fillPnl": fmt(fill.realized_pnl),
                "execType": "M" if fill.is_maker else "T", "ts": str(fill.time_ms), "fillTime": str(fill.time_ms),
                "subType": "100" if fill.kind is FillKind.LIQUIDATION else "1",
            })  # fmt: skip
    rows.sort(key=lambda r: int(r["billId"]), reverse=True)
    return page(rows, request, "billId")


def bills(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/account/bills?type=8: funding fees (balChg negative when paid), newest first."""
    if request.query.get("type") not in ("8", None, ""):
        return []
    rows = []
    for inst_id in inst_ids(fake, request):
        sim = fake.sims[inst_id]
        for k, fill in enumerate(sim.fills):
            if fill.kind is not FillKind.FUNDING:
                continue
            rows.append({
                "instType": "SWAP", "instId": inst_id, "billId": str(2_000_000 + k), "type": "8",
                "subType": "173" if fill.fee > 0 else "174", "balChg": fmt(-fill.fee), "ccy": sim.spec.settle,
                "sz": fmt(round(fill.contracts / fake.ct_val(inst_id), 9)), "px": fmt(fill.price), "pnl": "0",
                "fee": "0",
                "ts": str(fill.time_ms),
            })  # fmt: skip
    rows.sort(key=lambda r: int(r["billId"]), reverse=True)
    return page(rows, request, "billId")


# -- account endpoints -----------------------------------------------------------------------------


def positions(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/account/positions: net mode, ``pos`` signed contracts."""
    rows = []
    for inst_id in (request.query.get("instId") or ",".join(fake.sims)).split(","):
        if not inst_id:
            continue
        sim = fake._sim(inst_id)
        view = sim.get_position()
        if not view.contracts:
            continue
        isolated = view.margin_mode is MarginMode.ISOLATED
        rows.append({
            "instType": "SWAP", "instId": inst_id, "posId": inst_id, "posSide": "net",
            "pos": fmt(round(view.contracts / fake.ct_val(inst_id), 9)), "mgnMode": view.margin_mode.value,
            "avgPx": fmt(view.entry_price), "markPx": fmt(view.mark_price), "upl": fmt(view.unrealized_pnl),
            "lever": fmt(view.leverage), "liqPx": fmt(view.liquidation_price), "imr": "" if isolated else
            fmt(view.initial_margin), "margin": fmt(view.initial_margin) if isolated else "",
            "mmr": fmt(view.maintenance_margin), "notionalUsd": fmt(view.position_value),
            "realizedPnl": fmt(view.realized_pnl), "ccy": sim.spec.settle, "cTime": str(T0_MS),
            "uTime": str(sim.now_ms),
        })  # fmt: skip
    return rows


def balance(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/account/balance: one detail row per settle coin (summed over instruments)."""
    coins: dict[str, dict[str, float]] = {}
    for sim in fake.sims.values():
        w = sim.get_wallet()
        row = coins.setdefault(w.currency, dict.fromkeys(("cash", "eq", "av", "pm", "om"), 0.0))
        for key, value in (("cash", w.wallet_balance), ("eq", w.margin_balance), ("av", w.available_balance),
                           ("pm", w.position_margin), ("om", w.order_margin)):  # fmt: skip
            row[key] += value
    details = [
        {"ccy": ccy, "eq": fmt(r["eq"]), "cashBal": fmt(r["cash"]), "availEq": fmt(r["av"]),
         "availBal": fmt(r["av"]), "frozenBal": fmt(r["pm"] + r["om"]), "ordFrozen": fmt(r["om"]),
         "imr": fmt(r["pm"]), "upl": fmt(r["eq"] - r["cash"]), "uTime": str(fake.state.time_ms())}
        for ccy, r in coins.items()
    ]  # fmt: skip
    return [{"totalEq": "", "adjEq": "", "uTime": str(fake.state.time_ms()), "details": details}]


def trade_fee(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/account/trade-fee: negative = paid, as OKX reports (takerU/makerU for USDT swaps)."""
    family = request.query.get("instFamily") or request.query.get("uly")
    for inst_id, sim in fake.sims.items():
        if fake.state.instruments[inst_id]["instFamily"] == family:
            taker, maker = fmt(-sim.spec.taker_fee), fmt(-sim.spec.maker_fee)
            return [{"instType": "SWAP", "taker": taker, "maker": maker, "takerU": taker, "makerU": maker,
                     "level": "Lv1", "ts": str(fake.state.time_ms())}]  # fmt: skip
    raise OkxError(51000, "Parameter instFamily error")


def set_leverage(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """POST /api/v5/account/set-leverage {instId, lever, mgnMode}: the mode travels with the leverage."""
    body = items(request)[0]
    inst_id = str(body.get("instId"))
    sim = fake._sim(inst_id)
    lever = number(body.get("lever"), "lever")
    switch_mode(fake, sim, body.get("mgnMode"))
    try:
        sim.set_leverage(lever)
    except SimError as exc:
        raise OkxError(59102, f"Leverage exceeds the maximum: {exc}") from None
    return [{"instId": inst_id, "lever": fmt(lever), "mgnMode": body.get("mgnMode"), "posSide": "net"}]


def margin_balance(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """POST /api/v5/account/position/margin-balance {instId, posSide, type: add, amt}."""
    body = items(request)[0]
    inst_id = str(body.get("instId"))
    sim = fake._sim(inst_id)
    if body.get("type") != "add":
        raise OkxError(51000, "Parameter type error")
    if not sim.contracts:
        raise OkxError(59301, "Margin adjustment exceeds the maximum available")
    try:
        sim.add_margin(number(body.get("amt"), "amt"))
    except SimError as exc:
        raise OkxError(59301, str(exc)) from None
    return [{"instId": inst_id, "amt": body.get("amt"), "type": "add", "posSide": "net"}]


def currencies(fake: FakeOkxExchange, request: OkxRequest) -> list[Any]:
    """GET /api/v5/asset/currencies (load_markets with credentials): nothing needed."""
    return []


ACCOUNT_ROUTES: dict[tuple[str, str], Any] = {
    ("GET", "/api/v5/trade/fills-history"): fills_history,
    ("GET", "/api/v5/trade/fills"): fills_history,
    ("GET", "/api/v5/account/bills"): bills,
    ("GET", "/api/v5/account/positions"): positions,
    ("GET", "/api/v5/account/balance"): balance,
    ("GET", "/api/v5/account/trade-fee"): trade_fee,
    ("POST", "/api/v5/account/set-leverage"): set_leverage,
    ("POST", "/api/v5/account/position/margin-balance"): margin_balance,
    ("GET", "/api/v5/asset/currencies"): currencies,
}
