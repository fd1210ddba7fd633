"""The simulator against an independent reference model (tests/exchange/sim/reference_model.py) over random
order flows: stacked orders, leverage and margin-mode changes, added margin, funding, liquidation, linear
and inverse, isolated and cross. After every candle and every action both must hold the same position,
entry, wallet, open orders and the same list of fills (trades, funding, liquidations: time, size, price).

Tolerances: sizes exact to the lot (1e-9); entry and prices relative 1e-9; wallet 1e-6 of the settle coin
(sums of rounded amounts); trading fees exactly equal: both round the exact value of each fee to 8
decimals, by different code (an inverse fee on a half once differed: tests/exchange/sim/test_fee_rounding.py).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kektrade.domain.specs import builtin_spec
from kektrade.domain.types import FillKind, OrderType, RiskTier
from kektrade.exchange.sim.exchange import SimError, SimExchange
from kektrade.exchange.sim.settings import MarketArrays
from tests.exchange.sim.reference_model import ReferenceAccount

HOUR = 3_600_000
T0 = 1_704_067_200_000
KINDS = ("market", "limit", "limit", "limit", "close", "cancel", "leverage", "mode", "add", "none")
LEVERAGES = (1.0, 2.0, 5.0, 10.0, 25.0, 50.0)
FUNDING_MS = 4 * HOUR
WALLET_TOL = 1e-6

LINEAR = {"symbol": "BTCUSDT", "price": 40_000.0, "balances": (2_000.0, 20_000.0), "size": 1.0}
INVERSE = {"symbol": "BTCUSD", "price": 40_000.0, "balances": (0.05, 0.5), "size": 4_000.0}


def one_tier(symbol: str) -> tuple[object, RiskTier]:
    spec = builtin_spec(symbol)
    assert spec is not None
    tier = RiskTier(limit_value=1e18, mmr=0.005, imr=0.01, max_leverage=100.0, deduction=0.0)
    return replace(spec, risk_tiers=(tier,), funding_interval_ms=FUNDING_MS), tier


@st.composite
def flows(draw: st.DrawFn) -> dict:
    market = draw(st.sampled_from([LINEAR, INVERSE]))
    n = draw(st.integers(min_value=6, max_value=24))
    price, rows = market["price"], []
    for _ in range(n):
        move = draw(st.floats(-0.05, 0.05))
        up, down = draw(st.floats(0, 0.04)), draw(st.floats(0, 0.04))
        close = round(price * (1 + move) * 2) / 2
        rows.append((price, round(max(price, close) * (1 + up) * 2) / 2, round(min(price, close) * (1 - down) * 2) / 2,
                     close))
        price = close
    actions = draw(st.lists(
        st.tuples(st.sampled_from(KINDS), st.floats(-1, 1), st.floats(-0.04, 0.04), st.sampled_from(LEVERAGES)),
        min_size=n, max_size=n,
    ))
    return {
        "market": market,
        "rows": rows,
        "actions": actions,
        "leverage": draw(st.sampled_from(LEVERAGES)),
        "cross": draw(st.booleans()),
        "balance": draw(st.sampled_from(market["balances"])),
        "rate": draw(st.sampled_from([0.0, 0.0005, -0.001, 0.003])),
    }


def build(case: dict) -> tuple[SimExchange, ReferenceAccount]:
    spec, tier = one_tier(case["market"]["symbol"])
    rows = case["rows"]
    arrays = MarketArrays(
        time_ms=[T0 + k * HOUR for k in range(len(rows))],
        open=[r[0] for r in rows], high=[r[1] for r in rows], low=[r[2] for r in rows], close=[r[3] for r in rows],
        timeframe_ms=HOUR,
    )
    sim = SimExchange(
        spec, arrays, initial_balance=case["balance"], leverage=case["leverage"],
        margin_mode="cross" if case["cross"] else "isolated", funding_rate=case["rate"] or None,
    )
    ref = ReferenceAccount(
        inverse=spec.is_inverse, wallet=case["balance"], leverage=case["leverage"], cross=case["cross"],
        taker=spec.taker_fee, maker=spec.maker_fee, mmr=tier.mmr, lot=spec.lot_step, funding_rate=case["rate"],
        funding_interval_ms=FUNDING_MS, tf_ms=HOUR,
    )
    return sim, ref


def act(sim: SimExchange, ref: ReferenceAccount, action: tuple, case: dict) -> None:
    """Apply one action to both; they must agree on whether it was accepted."""
    kind, size, offset, lev = action
    spec = sim.spec
    qty = round(size * case["market"]["size"] / spec.lot_step) * spec.lot_step
    qty = round(qty, 6)
    last = sim.last_price
    if kind in ("market", "limit") and abs(qty) >= spec.min_qty:
        price = None if kind == "market" else round(last * (1 + offset) / spec.tick_size) * spec.tick_size
        order = sim.open_order(OrderType.MARKET if price is None else OrderType.LIMIT, qty, price=price)
        assert (order.reject_reason is None) == ref.place(qty, price), (kind, qty, price, order.reject_reason)
    elif kind == "close" and sim.contracts:
        order = sim.close_position()
        assert order is not None
        assert (order.reject_reason is None) == ref.place(-ref.q, None, reduce_only=True)
    elif kind == "cancel" and sim.get_open_orders():
        sim.cancel_order(sim.get_open_orders()[0].id)
        ref.cancel_first()
    elif kind == "leverage":
        changed = ref.set_leverage(lev)
        assert _accepted(sim.set_leverage, lev) == changed
        event("leverage changed" if changed else "leverage refused")
    elif kind == "mode":
        target = "isolated" if sim.get_position().margin_mode.value == "cross" else "cross"
        switched = ref.set_cross(target == "cross")
        assert _accepted(sim.set_margin_mode, target) == switched
        event("mode switched" if switched else "mode switch refused")
    elif kind == "add" and sim.contracts:
        amount = round(abs(size) * case["balance"] * 0.2, 8)
        added = ref.add_margin(amount)
        assert _accepted(sim.add_margin, amount) == added
        event("margin added" if added else "add margin refused")
    if len(ref.orders) >= 2:
        event("stacked orders")


def _accepted(call: object, *args: object) -> bool:
    try:
        call(*args)  # type: ignore[operator]
    except SimError:
        return False
    return True


def compare(sim: SimExchange, ref: ReferenceAccount, where: str) -> None:
    assert sim.contracts == pytest.approx(ref.q, abs=1e-9), where
    if ref.q:
        assert sim.get_position().entry_price == pytest.approx(ref.entry, rel=1e-9), where
    assert sim.wallet_balance == pytest.approx(ref.wallet, abs=WALLET_TOL), where
    open_sim = [(o.contracts - o.filled, o.price) for o in sim.get_open_orders()]
    open_ref = [(o.qty, o.price) for o in ref.orders]
    assert len(open_sim) == len(open_ref), (where, open_sim, open_ref)
    for (sq, sp), (rq, rp) in zip(open_sim, open_ref, strict=True):
        assert sq == pytest.approx(rq, abs=1e-9) and sp == rp, (where, open_sim, open_ref)
    assert sim.get_wallet().order_margin == pytest.approx(ref.order_margin(), abs=WALLET_TOL), where
    kinds = {FillKind.TRADE: "trade", FillKind.FUNDING: "funding", FillKind.LIQUIDATION: "liquidation"}
    got = [(f.time_ms, kinds[f.kind], f.contracts, f.price) for f in sim.fills]
    want = [(f.time_ms, f.kind, f.qty, f.price) for f in ref.fills]
    assert [g[:2] for g in got] == [w[:2] for w in want], where
    for g, w in zip(got, want, strict=True):
        assert g[2] == pytest.approx(w[2], abs=1e-9) and g[3] == pytest.approx(w[3], rel=1e-9), (where, g, w)
    trade_fees = [f.fee for f in sim.fills if f.kind is not FillKind.LIQUIDATION]
    ref_fees = [f.fee for f in ref.fills if f.kind != "liquidation"]
    assert trade_fees == ref_fees, where  # both round the exact value: equal to the last digit


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows())
def test_simulator_matches_the_reference_model(case: dict) -> None:
    sim, ref = build(case)
    for i, row in enumerate(case["rows"]):
        sim.step(i)
        ref.step(i, *row, T0 + i * HOUR)
        compare(sim, ref, f"after candle {i}")
        act(sim, ref, case["actions"][i], case)
        compare(sim, ref, f"after action {i}: {case['actions'][i]}")
    liquidations = [f for f in ref.fills if f.kind == "liquidation"]
    assert all(math.isfinite(f.price) for f in liquidations)
    kinds = {f.kind for f in ref.fills}
    event(f"{case['market']['symbol']} {'cross' if case['cross'] else 'isolated'}")
    for kind in sorted(kinds):
        event(f"has {kind}")
