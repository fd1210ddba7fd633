"""Parity on OKX: the same scripted orders through the simulator and through CcxtSubaccount -> ccxt okx -> fake OKX.

The script trades in coins (BTC); on the wire they are contracts of ctVal 0.01 BTC, so the parity also
proves the sizing. Invalid orders get the simulator's reject reasons on both paths.
"""

from __future__ import annotations

import ccxt
import pytest

from kektrade.domain.types import OrderStatus, OrderType, TriggerBy
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.subaccount import Subaccount
from tests.exchange.live.test_parity import CANDLES, SCRIPT, Memo, _assert_same
from tests.exchange.sim.simkit import market
from tests.fakes.okx_trading import FakeOkxExchange, spec_of

INST, SYMBOL = "BTC-USDT-SWAP", "BTC/USDT:USDT"
BALANCE, LEVERAGE = 1_000.0, 5.0


def run_sim(okx: FakeOkxExchange) -> SimExchange:
    """The script straight through a simulator with the OKX instrument's spec, candle by candle."""
    sim = SimExchange(spec_of(okx.state.instruments[INST]), market(CANDLES), initial_balance=BALANCE, leverage=LEVERAGE)
    memo: Memo = {}
    for i in range(len(CANDLES)):
        sim.step(i)
        if i in SCRIPT:
            SCRIPT[i](sim, memo)
    return sim


def run_live(okx: FakeOkxExchange, client: ccxt.Exchange) -> CcxtSubaccount:
    """The script through the live adapter, the fake stepping its simulator one candle at a time."""
    okx.margin_mode = okx.margin_mode.ISOLATED  # the simulator's default
    okx.open_account(INST, BALANCE, leverage=LEVERAGE)
    acc: CcxtSubaccount | None = None
    memo: Memo = {}
    for i, candle in enumerate(CANDLES):
        okx.push_candle(INST, *candle)
        if acc is None:
            acc = CcxtSubaccount(client, SYMBOL)
            acc.set_margin_mode("isolated")
        if i in SCRIPT:
            SCRIPT[i](acc, memo)
    assert acc is not None
    return acc


def test_sim_and_okx_adapter_give_the_same_fills_position_and_wallet(
    okx: FakeOkxExchange, okx_client: ccxt.Exchange
) -> None:
    sim = run_sim(okx)
    live = run_live(okx, okx_client)
    sim_fills, live_fills = sim.fills, live.fetch_fills()
    assert len(sim_fills) == 8 and sim.contracts > 0  # the script really trades and ends long
    key = [(f.kind, f.contracts, f.price, f.is_maker, f.time_ms) for f in sim_fills]
    assert [(f.kind, pytest.approx(f.contracts, abs=1e-12), f.price, f.is_maker, f.time_ms) for f in live_fills] == key
    assert [f.fee for f in live_fills] == pytest.approx([f.fee for f in sim_fills], abs=1e-9)
    assert [f.realized_pnl for f in live_fills] == pytest.approx([f.realized_pnl for f in sim_fills], abs=1e-9)
    position, expected = live.get_position(), sim.get_position()
    for name in ("contracts", "entry_price", "mark_price", "liquidation_price", "unrealized_pnl", "leverage"):
        assert getattr(position, name) == pytest.approx(getattr(expected, name), abs=1e-9), name
    assert position.margin_mode is expected.margin_mode
    _assert_same(live.get_wallet(), sim.get_wallet())
    shown = [(o.type, o.contracts, o.price, o.trigger_price, o.status, o.client_id) for o in sim.get_open_orders()]
    assert len(shown) == 2
    assert [(o.type, pytest.approx(o.contracts), o.price, o.trigger_price, o.status, o.client_id)
            for o in live.get_open_orders()] == shown  # fmt: skip


def _invalid(acc: Subaccount) -> list[str | None]:
    """Orders each venue must refuse, with the reason it gives."""
    orders = [
        acc.open_order(OrderType.LIMIT, 0.00005, price=100.0),  # below the lot (0.01 contracts = 0.0001 BTC)
        acc.open_order(OrderType.LIMIT, 0.00015, price=100.0),  # not a multiple of the lot
        acc.open_order(OrderType.LIMIT, 0.001, price=100.05),  # off the tick
        acc.open_order(OrderType.LIMIT, 0.0, price=100.0),  # zero
        acc.open_order(OrderType.LIMIT, 0.001),  # no price
        acc.open_order(OrderType.STOP_MARKET, 0.001),  # no trigger
        acc.open_order(OrderType.MARKET, -0.001, reduce_only=True),  # nothing to reduce
        acc.open_order(OrderType.MARKET, 500.0),  # beyond the balance
        acc.open_order(OrderType.LIMIT, 0.01, price=101.0, post_only=True),  # would take
        acc.open_order(OrderType.STOP_MARKET, 0.01, trigger_price=90.0),  # a buy stop below the price
        acc.open_order(OrderType.TAKE_PROFIT_MARKET, -0.01, trigger_price=90.0, trigger_by=TriggerBy.MARK),
    ]
    assert all(o.status is OrderStatus.REJECTED for o in orders), [o.status for o in orders]
    return [o.reject_reason for o in orders]


def test_invalid_orders_are_refused_with_the_same_reasons(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    sim = SimExchange(spec_of(okx.state.instruments[INST]), market(CANDLES[:1]), initial_balance=BALANCE)
    sim.step(0)
    okx.open_account(INST, BALANCE)
    okx.push_candle(INST, *CANDLES[0])
    expected = _invalid(sim)
    assert len(set(expected)) >= 8  # many different reasons, not one catch-all
    assert _invalid(CcxtSubaccount(okx_client, SYMBOL)) == expected
