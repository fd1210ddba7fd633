"""Fixtures: one fake Bybit and one fake OKX (market data + trading) per module, reset per test; ccxt on them."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from kektrade.exchange.live.ohlcv import make_exchange
from tests.fakes.bybit_trading import API_KEY, API_SECRET, FakeBybitExchange
from tests.fakes.okx_trading import API_KEY as OKX_KEY
from tests.fakes.okx_trading import API_SECRET as OKX_SECRET
from tests.fakes.okx_trading import PASSPHRASE as OKX_PASSPHRASE
from tests.fakes.okx_trading import FakeOkxExchange


def make_client(fake: FakeBybitExchange, secret: str = API_SECRET) -> ccxt.Exchange:
    """The real sync ccxt bybit client, pointed at the fake, with the fake's credentials."""
    exchange = make_exchange("bybit", api_base=fake.base_url)
    exchange.apiKey = API_KEY
    exchange.secret = secret
    return exchange


@pytest.fixture
def fake(fake_server: FakeBybitExchange) -> FakeBybitExchange:
    """The module's fake (``fake_server`` from tests/engine/live_kit.py) with fresh trading state only."""
    fake_server.reset_trading()
    return fake_server


@pytest.fixture
def client(fake: FakeBybitExchange) -> ccxt.Exchange:
    """A ccxt client for the fake (fresh per test: no cached markets or nonce state)."""
    return make_client(fake)


# -- OKX ------------------------------------------------------------------------------------------------


def make_okx_client(fake: FakeOkxExchange, passphrase: str = OKX_PASSPHRASE) -> ccxt.Exchange:
    """The real sync ccxt okx client, pointed at the fake, with key, secret and passphrase."""
    exchange = make_exchange("okx", api_base=fake.base_url)
    exchange.apiKey, exchange.secret, exchange.password = OKX_KEY, OKX_SECRET, passphrase
    return exchange


@pytest.fixture(scope="module")
def okx_server() -> Iterator[FakeOkxExchange]:
    """One fake OKX per test module."""
    with FakeOkxExchange() as server:
        yield server


@pytest.fixture
def okx(okx_server: FakeOkxExchange) -> FakeOkxExchange:
    """The module's fake OKX with fresh trading state."""
    okx_server.reset_trading()
    return okx_server


@pytest.fixture
def okx_client(okx: FakeOkxExchange) -> ccxt.Exchange:
    """A fresh ccxt okx client for the fake."""
    return make_okx_client(okx)
