"""Transient Binance faults through the Binance dialect: a lost reply to an order is resolved by its client id
(never a second order), rate limits and busy answers are retried."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kektrade.domain.types import OrderStatus, OrderType
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from kektrade.exchange.live.ohlcv import make_exchange
from kektrade.exchange.live.retry import Fault, FaultKind, RetryPolicy
from tests.fakes.binance_fapi import BTCUSDT_BRACKETS, BinanceError, FakeBinanceState, RecordedRequest
from tests.fakes.binance_trading import API_KEY, API_SECRET, FakeBinanceExchange

PAIR = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBinanceExchange]:
    state = FakeBinanceState()
    state.add_symbol("BTCUSDT", "BTC", min_notional="5", brackets=BTCUSDT_BRACKETS)
    with FakeBinanceExchange(state) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeBinanceExchange) -> Iterator[FakeBinanceExchange]:
    saved = dict(server.routes)
    server.reset_trading()
    server.open_account("BTCUSDT", 1_000.0, leverage=5)
    server.push_candle("BTCUSDT", 100.0, 101.0, 99.0, 100.0)
    yield server
    server.routes = saved


def fail_once(fake: FakeBinanceExchange, method: str, path: str, error: BinanceError, processed: bool) -> None:
    """The next request to ``path`` fails with ``error`` (after being carried out when ``processed``)."""
    original = fake.routes[(method, path)]
    calls = {"n": 0}

    def flaky(state: Any, request: RecordedRequest) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            if processed:
                original(state, request)
            raise error
        return original(state, request)

    fake.route(method, path, flaky)


def account(fake: FakeBinanceExchange, faults: list[Fault]) -> CcxtSubaccount:
    client = make_exchange("binanceusdm", api_base=fake.base_url)
    client.apiKey, client.secret = API_KEY, API_SECRET
    return CcxtSubaccount(client, PAIR, retry=RetryPolicy(sleep=lambda s: None), on_fault=faults.append)


BUSY = BinanceError(-1001, "Internal error; unable to process your request. Please try again.", 503)


@pytest.mark.parametrize(
    ("path", "order"),
    [
        ("/fapi/v1/order", {"order_type": "limit", "contracts": 1.0, "price": 95.0}),
        ("/fapi/v1/algoOrder", {"order_type": "stop_market", "contracts": 1.0, "trigger_price": 110.0}),
    ],
)
def test_a_lost_reply_to_an_order_adopts_the_order_placed(
    fake: FakeBinanceExchange, path: str, order: dict[str, Any]
) -> None:
    faults: list[Fault] = []
    acc = account(fake, faults)
    fail_once(fake, "POST", path, BUSY, processed=True)
    placed = acc.open_order(**order, client_id="kt-lost")
    assert [f.kind for f in faults] == [FaultKind.BUSY]
    assert len(fake.orders["BTCUSDT"]) == 1 and fake.orders["BTCUSDT"][0].id == placed.id
    assert placed.client_id == "kt-lost" and placed.status in (OrderStatus.NEW, OrderStatus.UNTRIGGERED)
    assert [r.method for r in fake.requests_to(path)].count("POST") == 1  # found by its client id, not re-sent


def test_a_refused_attempt_is_sent_again(fake: FakeBinanceExchange) -> None:
    faults: list[Fault] = []
    acc = account(fake, faults)
    fail_once(fake, "POST", "/fapi/v1/order", BUSY, processed=False)
    placed = acc.open_order(OrderType.LIMIT, 1.0, price=95.0, client_id="kt-again")
    assert [o.id for o in fake.orders["BTCUSDT"]] == [placed.id]
    assert [r.method for r in fake.requests_to("/fapi/v1/order")].count("POST") == 2  # not found by id: re-sent


def test_rate_limits_on_reads_are_retried(fake: FakeBinanceExchange) -> None:
    faults: list[Fault] = []
    acc = account(fake, faults)
    fail_once(fake, "GET", "/fapi/v3/account", BinanceError(-1003, "Too many requests; current limit is 2400.", 429),
              processed=False)  # fmt: skip
    assert acc.get_wallet().wallet_balance == 1_000.0
    assert [f.kind for f in faults] == [FaultKind.RATE_LIMITED]
