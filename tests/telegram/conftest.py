"""Fixtures of the Telegram tests: a fake Bot API and a real RunController on a tiny synthetic backtest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-token-never-logged"
CHAT = 1001
STRANGER = 666


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotApi]:
    """A running fake Bot API accepting ``TOKEN`` (proxies bypassed for loopback)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake = FakeBotApi(TOKEN)
    fake.start()
    yield fake
    fake.close()
