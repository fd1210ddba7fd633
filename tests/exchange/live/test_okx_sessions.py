"""Paper and live sessions on OKX, as the CLI builds them: candles, orders and fills through the fake OKX v5."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kektrade.config import Secrets
from kektrade.control.live import credentialed_factory
from kektrade.domain.journal import FillRecorded, MemoryJournal, OrderRecorded
from kektrade.engine.build import BuildError
from kektrade.engine.live_build import build_live_session
from kektrade.engine.live_venue import LiveVenue
from kektrade.exchange.sim.exchange import SimExchange
from tests.engine.live_kit import Stepped, live_config
from tests.exchange.live.conftest import make_okx_client
from tests.fakes.okx_trading import API_KEY, API_SECRET, MINUTE_MS, PASSPHRASE, T0_MS, FakeOkxExchange

INST = "BTC-USDT-SWAP"


def okx_factory(okx: FakeOkxExchange) -> Callable[[str, bool, str | None], Any]:
    """The real ccxt okx client pointed at the fake, with key, secret and passphrase."""

    def factory(exchange_id: str, testnet: bool, subaccount: str | None) -> Any:
        assert exchange_id == "okx"
        return make_okx_client(okx)

    return factory


def push(okx: FakeOkxExchange, count: int) -> list[int]:
    """``count`` rising 1m candles; their open times."""
    times = []
    for _ in range(count):
        n = len(okx.sims[INST].market)
        o = 100.0 + n
        okx.push_candle(INST, o, o + 1.0, o - 1.0, o + 0.5)
        times.append(T0_MS + n * MINUTE_MS)
    return times


@pytest.fixture
def funded(okx: FakeOkxExchange) -> FakeOkxExchange:
    """The fake OKX with an account and 10 candles of history."""
    okx.open_account(INST, 10_000.0, leverage=2.0)
    push(okx, 10)
    return okx


def test_live_run_on_okx_places_contracts_and_reads_its_fills(funded: FakeOkxExchange, tmp_path: Path) -> None:
    journal = MemoryJournal()
    config = live_config(tmp_path, [{"id": "x", "venue": "okx"}], cancel_orders_on_exit=True)
    session = build_live_session(config, "run", journal, None, okx_factory(funded))
    assert isinstance(session.instances[0].venue, LiveVenue)
    with Stepped(session) as run:
        times = push(funded, 2)
        run.poll()
        sizes = [o["sz"] for r in funded.requests_to("/api/v5/trade/batch-orders") for o in r.body]
        assert sizes == ["1", "1"]  # 0.01 BTC = 1 contract of 0.01 BTC, market and limit
        times += push(funded, 1)
        run.poll()
        assert funded.sims[INST].contracts == pytest.approx(0.01)
    assert run.variables()["seen"] == times
    assert funded.sims[INST].get_open_orders() == []  # cancelled on exit
    events = [(r.event, r.order.type) for r in journal.of_type(OrderRecorded)]
    assert ("placed", "market") in events and ("cancelled", "limit") in events
    (fill,) = journal.of_type(FillRecorded)
    assert (fill.fill.contracts, fill.fill.price, fill.fill.time_ms) == (pytest.approx(0.01), 112.0, times[2])


def test_paper_run_trades_on_okx_candles(funded: FakeOkxExchange, tmp_path: Path) -> None:
    config = live_config(tmp_path, [{"id": "p", "venue": "paper"}], paper_exchange="okx")
    session = build_live_session(config, "run", MemoryJournal(), None, okx_factory(funded))
    venue = session.instances[0].venue
    assert isinstance(venue, SimExchange)
    with Stepped(session) as run:
        times = push(funded, 3)
        run.poll()
    assert run.variables()["seen"] == times
    assert venue.contracts == pytest.approx(0.01) and funded.sims[INST].contracts == 0.0  # simulated, not sent


def test_okx_credentials_need_the_passphrase(funded: FakeOkxExchange, tmp_path: Path) -> None:
    config = live_config(tmp_path, [{"id": "x", "venue": "okx"}])
    keys = {"KEKTRADE_X_API_KEY": API_KEY, "KEKTRADE_X_API_SECRET": API_SECRET}
    missing = Secrets(keys).missing_credentials(config)
    assert missing == [
        "subaccounts[0]: live venue 'okx' needs KEKTRADE_X_API_KEY, KEKTRADE_X_API_SECRET and "
        "KEKTRADE_X_API_PASSPHRASE in the environment or in .env"
    ]
    with pytest.raises(BuildError, match="KEKTRADE_X_API_PASSPHRASE"):
        credentialed_factory(config, Secrets(keys))("okx", False, "x")
    secrets = Secrets({**keys, "KEKTRADE_X_API_PASSPHRASE": PASSPHRASE})
    assert secrets.missing_credentials(config) == [] and PASSPHRASE in secrets.values()
    client = credentialed_factory(config, secrets)("okx", False, "x")
    assert client.password == PASSPHRASE


def test_an_exchange_ccxt_cannot_trade_is_refused_before_the_run(tmp_path: Path) -> None:
    config = live_config(tmp_path, [{"id": "x", "venue": "ccxt:upbit"}])
    with pytest.raises(BuildError, match="fetchPositions"):
        build_live_session(config, "run", MemoryJournal(), None, lambda *a: pytest.fail("no client is built"))
