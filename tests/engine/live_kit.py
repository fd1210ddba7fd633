"""Paper and live runs against the local fake Bybit: probe strategies, configs, clients and waiting."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kektrade.config import KektradeConfig, parse_config
from kektrade.exchange.live.ohlcv import make_exchange
from tests.fakes.bybit_trading import API_KEY, API_SECRET, MINUTE_MS, T0_MS, FakeBybitExchange

SYMBOL = "BTCUSDT"
PAIR = "BTC/USDT:USDT"

PROBE = textwrap.dedent(
    '''
    import pandas as pd
    from kektrade.strategy.base import Strategy


    class LiveProbe(Strategy):
        """Records each ticked candle; at tick ``buy_at`` buys 0.01 at market and rests a limit buy."""

        startup_candle_count = 3

        def populate_indicators(self, dataframe, metadata, parameters):
            dataframe["mean3"] = dataframe["close"].rolling(3).mean()
            return dataframe

        def tick(self, dataframe, index, metadata, parameter, variables, account):
            cols = variables.get("cols")
            if cols is None:  # the usual per-run cache of column lists: rebuilt after a resume
                cols = variables["cols"] = (self.c.close, self.c.mean3)
            close, mean3 = cols
            variables.setdefault("seen", []).append(int(dataframe["date"].iloc[index].timestamp() * 1000))
            variables["mean3"] = mean3[index]
            variables["close"] = close[index]
            variables["handle"] = object()  # not JSON: dropped from saved state with a warning
            if len(variables["seen"]) == parameter.get("buy_at", 2):
                account.open_order("market", 0.01)
                variables["limit_id"] = account.open_order("limit", 0.01, price=parameter.get("limit", 50.0)).id


    class LateBoom(Strategy):
        """Fine on the history; its indicators raise once live candles arrive."""

        def populate_indicators(self, dataframe, metadata, parameters):
            if len(dataframe) > parameters["history"][0]:
                raise RuntimeError("indicator exploded")
            return dataframe

        def tick(self, dataframe, index, metadata, parameter, variables, account):
            variables.setdefault("seen", []).append(index)
    '''
)


def write_strategies(folder: Path) -> Path:
    """``folder/strategies`` with LiveProbe and LateBoom."""
    strategies = folder / "strategies"
    strategies.mkdir(exist_ok=True)
    (strategies / "live_probe.py").write_text(PROBE)
    return strategies


def live_config(folder: Path, subaccounts: list[dict[str, Any]], **live: Any) -> KektradeConfig:
    """A paper/live config on 1m candles with fast polling and a short journal batch interval."""
    data = {
        "metastrategy_id": "live_test",
        "strategies_dir": str(write_strategies(folder)),
        "history_dir": str(folder / "history"),
        "defaults": {"pair": PAIR, "timeframe": "1m", "leverage": 2, "strategy": "LiveProbe"},
        "subaccounts": subaccounts,
        "live": {"poll_interval_s": 0.05, **live},
        "persistence": {"batch_interval_s": 0.1, "equity_sample": "candle"},
    }
    return parse_config(json.dumps(data))


def client_factory(fake: FakeBybitExchange) -> Callable[[str, bool, str | None], Any]:
    """Exchange factory: the real sync ccxt client pointed at the fake, with the fake's keys."""

    def factory(exchange_id: str, testnet: bool, subaccount: str | None) -> Any:
        client = make_exchange(exchange_id, api_base=fake.base_url)
        client.apiKey, client.secret = API_KEY, API_SECRET
        return client

    return factory


def push(fake: FakeBybitExchange, count: int, price: float = 100.0) -> list[int]:
    """Push ``count`` rising 1m candles; returns their open times."""
    times = []
    for _ in range(count):
        n = len(fake.sims[SYMBOL].market)
        o = price + n
        fake.push_candle(SYMBOL, o, o + 1.0, o - 1.0, o + 0.5)
        times.append(T0_MS + n * MINUTE_MS)
    return times


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 20 ms; AssertionError naming ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeBybitExchange]:
    """One fake Bybit per test module (a pytest plugin: see tests/conftest.py)."""
    with FakeBybitExchange() as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeBybitExchange) -> FakeBybitExchange:
    """The fake with a fresh account and 10 candles of history."""
    fake_server.reset_trading()
    fake_server.open_account(SYMBOL, 10_000.0, leverage=2.0)
    push(fake_server, 10)
    return fake_server


class Stepped:
    """A paper or live session driven by hand: the test polls the feeds and steps the engine.

    Nothing runs on a thread and nothing waits on the clock, so the result never depends on how fast the
    machine is. ``poll()`` fetches every closed candle from the fake, then runs one engine step.
    """

    def __init__(self, session: Any) -> None:
        self.session = session
        self.engine = session.engine
        self.source = self.engine.source
        self.source.poll_feeds = False

    def __enter__(self) -> Stepped:
        self.engine.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.close()

    def poll(self) -> None:
        """Poll every feed once (a failing poll is counted like the feed thread counts it), then step."""
        for feed in self.source.feeds:
            try:
                feed.poll_once()
            except Exception:
                feed.errors += 1
        self.engine.step()

    def variables(self, index: int = 0) -> dict[str, Any]:
        """The strategy variables of instance ``index``."""
        return self.session.instances[index].variables
