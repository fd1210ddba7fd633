"""Parity: the same scripted orders through the simulator and through CcxtSubaccount -> ccxt -> fake Bybit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ccxt
import pytest

from kektrade.domain.types import OrderType, TriggerBy
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.subaccount import Subaccount
from tests.exchange.sim.simkit import make_sim, spec
from tests.fakes.bybit_trading import FakeBybitExchange

Memo = dict[str, str]
Action = Callable[[Subaccount, Memo], Any]

CANDLES = [
    (100.0, 101.0, 99.0, 100.0),
    (100.0, 102.0, 99.5, 101.5),  # market buy fills at the open
    (101.5, 103.5, 101.0, 103.0),
    (103.0, 104.5, 102.5, 104.0),  # amended take-profit sells half at 103.5 (maker)
    (104.0, 104.2, 98.0, 98.5),  # buy limit at 99 fills; nothing triggers the stop yet
    (98.5, 99.0, 96.0, 96.5),  # stop at 97 closes the rest (taker)
    (96.5, 97.0, 95.0, 95.5),  # short opened by market order at the open
    (95.5, 96.0, 94.0, 94.5),
    (94.5, 95.0, 93.5, 94.0),  # close_position at the open
    (94.0, 95.5, 93.8, 95.0),  # a new long opens at the open
    (95.0, 96.0, 94.5, 95.5),
]


def _open(acc: Subaccount, memo: Memo) -> None:
    acc.open_order(OrderType.MARKET, 2.0, client_id="entry")


def _brackets(acc: Subaccount, memo: Memo) -> None:
    memo["tp"] = acc.open_order(OrderType.LIMIT, -1.0, price=105.0, reduce_only=True).id
    memo["sl"] = acc.open_order(OrderType.STOP_MARKET, -3.0, trigger_price=97.0, reduce_only=True).id
    acc.open_order(OrderType.LIMIT, 5.0, price=102.0, post_only=True)  # would take: rejected
    acc.open_order(OrderType.LIMIT, 2.0, price=101.0, post_only=True)  # rests, fills as maker


def _amend(acc: Subaccount, memo: Memo) -> None:
    acc.edit_order(memo["tp"], price=103.5)


def _add(acc: Subaccount, memo: Memo) -> None:
    acc.open_order(OrderType.LIMIT, 1.0, price=99.0)
    acc.open_order(OrderType.TAKE_PROFIT_MARKET, -1.0, trigger_price=110.0, trigger_by=TriggerBy.MARK)


def _short(acc: Subaccount, memo: Memo) -> None:
    acc.cancel_all_orders()
    acc.open_order(OrderType.MARKET, -1.5)
    acc.open_order(OrderType.MARKET, 500.0)  # far beyond the balance: rejected


def _flatten(acc: Subaccount, memo: Memo) -> None:
    acc.close_position()


def _reopen(acc: Subaccount, memo: Memo) -> None:
    acc.open_order(OrderType.MARKET, acc.get_contracts_pct_of_balance(0.5))
    acc.open_order(OrderType.STOP_LIMIT, -1.0, price=89.5, trigger_price=90.0, reduce_only=True)
    acc.open_order(OrderType.TAKE_PROFIT_LIMIT, -1.0, price=120.0, trigger_price=119.0, client_id="tp2")


SCRIPT: dict[int, Action] = {0: _open, 1: _brackets, 2: _amend, 3: _add, 5: _short, 7: _flatten, 8: _reopen}
BALANCE, LEVERAGE = 1_000.0, 5.0


def run_sim() -> SimExchange:
    """The script straight through the simulator, candle by candle."""
    sim = make_sim(CANDLES, balance=BALANCE, leverage=LEVERAGE)
    memo: Memo = {}
    for i in range(len(CANDLES)):
        sim.step(i)
        if i in SCRIPT:
            SCRIPT[i](sim, memo)
    return sim


def run_live(fake: FakeBybitExchange, client: ccxt.Exchange) -> CcxtSubaccount:
    fake.open_account("BTCUSDT", BALANCE, leverage=LEVERAGE, spec=spec("BTCUSDT"))
    acc: CcxtSubaccount | None = None
    memo: Memo = {}
    for i, candle in enumerate(CANDLES):
        fake.push_candle("BTCUSDT", *candle)
        acc = acc or CcxtSubaccount(client, "BTC/USDT:USDT")
        if i in SCRIPT:
            SCRIPT[i](acc, memo)
    assert acc is not None
    return acc


def test_sim_and_live_adapter_give_the_same_fills_position_and_wallet(
    fake: FakeBybitExchange, client: ccxt.Exchange
) -> None:
    sim = run_sim()
    live = run_live(fake, client)
    sim_fills, live_fills = sim.fills, live.fetch_fills()
    assert len(sim_fills) == 8 and sim.contracts > 0  # the script really trades and ends long
    assert [(f.kind, f.contracts, f.price, f.is_maker) for f in live_fills] == [
        (f.kind, f.contracts, f.price, f.is_maker) for f in sim_fills
    ]
    assert [f.fee for f in live_fills] == pytest.approx([f.fee for f in sim_fills], abs=1e-12)
    assert [f.realized_pnl for f in live_fills] == pytest.approx(
        [f.realized_pnl for f in sim_fills], abs=1e-12
    )
    assert [f.time_ms for f in live_fills] == [f.time_ms for f in sim_fills]
    assert sim.get_position().liquidation_price > 0
    assert live.get_position() == sim.get_position()
    _assert_same(live.get_wallet(), sim.get_wallet())
    open_orders = [
        (o.id, o.type, o.contracts, o.price, o.trigger_price, o.status, o.client_id)
        for o in sim.get_open_orders()
    ]
    assert len(open_orders) == 2
    assert [
        (o.id, o.type, o.contracts, o.price, o.trigger_price, o.status, o.client_id)
        for o in live.get_open_orders()
    ] == open_orders
    live.refresh()
    assert (live.contracts, live.last_price) == (sim.contracts, sim.last_price)


def _assert_same(left: Any, right: Any) -> None:
    """Field by field; floats to 1e-9 (the fake sums wallets per coin)."""
    for name in left.__dataclass_fields__:
        a, b = getattr(left, name), getattr(right, name)
        assert a == (pytest.approx(b, abs=1e-9) if isinstance(a, float) else b), name
