"""Issue 12, finding 7: bad order inputs are refused by the simulator and by the live ccxt adapter with the
same reasons, from the one validator (kektrade.domain.order_checks); the live adapter never lets ccxt
truncate a size (1000.5 contracts of a 1-USD inverse contract would have been sent as 1000)."""

from __future__ import annotations

import math

import pytest

from kektrade.domain.order_checks import order_input_problem
from kektrade.domain.specs import builtin_spec
from kektrade.domain.types import OrderStatus, OrderType, RejectReason
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from tests.exchange.live.conftest import make_client
from tests.exchange.sim.simkit import make_sim
from tests.fakes.bybit_trading import FakeBybitExchange

CASES = [
    ("BTCUSDT", {"order_type": "market", "contracts": math.nan}, RejectReason.QTY_NOT_FINITE),
    ("BTCUSDT", {"order_type": "market", "contracts": -math.inf}, RejectReason.QTY_NOT_FINITE),
    ("BTCUSDT", {"order_type": "limit", "contracts": 0.01, "price": math.inf}, RejectReason.INVALID_PRICE),
    ("BTCUSDT", {"order_type": "limit", "contracts": 0.01, "price": math.nan}, RejectReason.INVALID_PRICE),
    ("BTCUSDT", {"order_type": "limit", "contracts": 0.01, "price": 99.95}, RejectReason.NOT_TICK_MULTIPLE),
    ("BTCUSDT", {"order_type": "limit", "contracts": 0.0015, "price": 99.0}, RejectReason.NOT_LOT_MULTIPLE),
    ("BTCUSDT", {"order_type": "limit", "contracts": 0.0005, "price": 99.0}, RejectReason.BELOW_MIN_QTY),
    ("BTCUSDT", {"order_type": "stop_market", "contracts": 0.01, "trigger_price": math.inf},
     RejectReason.INVALID_TRIGGER),
    ("BTCUSD", {"order_type": "limit", "contracts": 1000.5, "price": 99.0}, RejectReason.NOT_LOT_MULTIPLE),
    ("BTCUSD", {"order_type": "market", "contracts": math.nan}, RejectReason.QTY_NOT_FINITE),
]
UNIFIED = {"BTCUSDT": "BTC/USDT:USDT", "BTCUSD": "BTC/USD:BTC"}


@pytest.mark.parametrize(("symbol", "kwargs", "reason"), CASES)
def test_simulator_refuses_bad_inputs(symbol: str, kwargs: dict, reason: RejectReason) -> None:
    sim = make_sim([(100, 101, 99, 100)] * 2, symbol=symbol, balance=1_000.0)
    sim.step(0)
    order = sim.open_order(**kwargs)
    assert (order.status, order.reject_reason) == (OrderStatus.REJECTED, reason.value)


@pytest.mark.parametrize(("symbol", "kwargs", "reason"), CASES)
def test_live_adapter_refuses_the_same_inputs_with_the_same_reasons(
    fake_server: FakeBybitExchange, symbol: str, kwargs: dict, reason: RejectReason
) -> None:
    fake_server.reset_trading()
    fake_server.open_account(symbol, 1_000.0, leverage=10)
    fake_server.push_candle(symbol, 100, 101, 99, 100)
    spec = builtin_spec(symbol)
    account = CcxtSubaccount(make_client(fake_server), UNIFIED[symbol], spec)
    order = account.open_order(**kwargs)
    assert (order.status, order.reject_reason) == (OrderStatus.REJECTED, reason.value)
    assert fake_server.orders[symbol] == []  # refused before anything reached the venue


def test_a_whole_size_still_reaches_the_live_venue(fake_server: FakeBybitExchange) -> None:
    fake_server.reset_trading()
    fake_server.open_account("BTCUSD", 1_000.0, leverage=10)
    fake_server.push_candle("BTCUSD", 100, 101, 99, 100)
    account = CcxtSubaccount(make_client(fake_server), "BTC/USD:BTC", builtin_spec("BTCUSD"))
    order = account.open_order(OrderType.LIMIT, 1000.0, price=99.0)
    assert order.status is OrderStatus.NEW and order.contracts == 1000.0


def test_the_validator_is_pure_and_never_raises() -> None:
    for value in (math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, 5e-324):
        for otype in OrderType:
            order_input_problem(otype, value, value, value, 0.001, 0.1, 0.001, 1e6)
