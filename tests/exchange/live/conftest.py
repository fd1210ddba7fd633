"""Fixtures: one fake Bybit (market data + trading) per module, reset between tests; ccxt pointed at it."""

from __future__ import annotations

import ccxt
import pytest

from kektrade.exchange.live.ohlcv import make_exchange
from tests.fakes.bybit_trading import API_KEY, API_SECRET, FakeBybitExchange


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
