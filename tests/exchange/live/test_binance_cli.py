"""Paper and live runs on Binance USDⓈ-M through the CLI, as a user starts them (``kektrade CONFIG --no-tui``),
with the real ccxt ``binanceusdm`` client pointed at the local Binance fake through ``live.api_base``.

One run holds a paper subaccount (``live.paper_exchange: binanceusdm``: candles from the fake, fills by the
simulator) and a live one (venue ``binanceusdm``, API keys from the environment: orders on the fake's
account). The test serves candles one at a time and waits (hang detector only) until both subaccounts saved
the candle; then stops the run with SIGTERM. Both place the same market buy at the same tick and fill it at
the same open; the live run's resting limit order is cancelled on exit (``live.cancel_orders_on_exit``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kektrade.domain.types import FillKind, OrderStatus, OrderType
from kektrade.engine.resume import STATE_KEY
from kektrade.persistence.database import open_run_database
from tests.engine.live_kit import wait_until, write_strategies
from tests.fakes.binance_fapi import BTCUSDT_BRACKETS, FakeBinanceState
from tests.fakes.binance_trading import API_KEY, API_SECRET, MINUTE_MS, T0_MS, FakeBinanceExchange

REPO = Path(__file__).resolve().parents[3]
HISTORY = 10


@pytest.fixture
def fake() -> Iterator[FakeBinanceExchange]:
    """A fake whose minimum notional (0.1 USDT) lets the probe's 0.01 BTC orders through; 10 candles."""
    state = FakeBinanceState()
    state.add_symbol("BTCUSDT", "BTC", min_notional="0.1", brackets=BTCUSDT_BRACKETS)
    with FakeBinanceExchange(state) as server:
        server.open_account("BTCUSDT", 10_000.0, leverage=2)
        for n in range(HISTORY):
            push(server, n)
        yield server


def push(fake: FakeBinanceExchange, n: int) -> int:
    """Candle ``n`` of a gently rising series; its open time."""
    o = 100.0 + n
    fake.push_candle("BTCUSDT", o, o + 1.0, o - 1.0, o + 0.5)
    return T0_MS + n * MINUTE_MS


def write_config(tmp_path: Path, base_url: str) -> Path:
    data = {
        "metastrategy_id": "binance_cli",
        "strategies_dir": str(write_strategies(tmp_path)),
        "history_dir": str(tmp_path / "history"),
        "defaults": {"pair": "BTC/USDT:USDT", "timeframe": "1m", "leverage": 2, "strategy": "LiveProbe"},
        "subaccounts": [
            {"id": "paper", "venue": "paper", "initial_balance": 10_000},
            {"id": "live", "venue": "binanceusdm"},
        ],
        "live": {"poll_interval_s": 0.05, "paper_exchange": "binanceusdm", "api_base": base_url},
        "persistence": {"batch_interval_s": 0.05, "equity_sample": "candle"},
    }
    path = tmp_path / "binance.json"
    path.write_text(json.dumps(data))
    return path


def running(history: Path) -> bool:
    """The run database exists and says the run is going."""
    found = sorted(history.glob("*/run.sqlite"))
    if not found:
        return False
    try:
        with open_run_database(found[0]) as db:
            return db.get_meta("status") == "running"
    except Exception:  # being created
        return False


def saved_candle(history: Path, sub: str) -> int | None:
    """Open time of the last candle in ``sub``'s latest resume point (None before one)."""
    found = sorted(history.glob("*/run.sqlite"))
    if not found:
        return None
    try:
        with open_run_database(found[0]) as db:
            state = db.latest_state(sub).get(STATE_KEY)
    except Exception:  # the database is being created
        return None
    return int(state["last_candle_ms"]) if state else None


def test_paper_and_live_on_binanceusdm_through_the_cli(fake: FakeBinanceExchange, tmp_path: Path) -> None:
    config = write_config(tmp_path, fake.base_url)
    history = tmp_path / "history"
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "KEKTRADE_LIVE_API_KEY": API_KEY,
           "KEKTRADE_LIVE_API_SECRET": API_SECRET}  # fmt: skip
    stderr = (tmp_path / "stderr.txt").open("wb")
    child = subprocess.Popen(
        [sys.executable, "-m", "kektrade", str(config), "--no-tui"], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=stderr,
    )  # fmt: skip
    try:
        wait_until(lambda: running(history), timeout=240, what="the run started (hang detector)")
        for n in range(HISTORY, HISTORY + 4):
            opened = push(fake, n)
            assert child.poll() is None, (tmp_path / "stderr.txt").read_text()[-3000:]
            for sub in ("paper", "live"):
                wait_until(lambda s=sub, t=opened: saved_candle(history, s) == t, timeout=120, what=f"{sub} {n}")
        child.send_signal(signal.SIGTERM)
        assert child.wait(120) == 0, (tmp_path / "stderr.txt").read_text()[-3000:]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    orders = fake.orders["BTCUSDT"]
    assert [(o.type, o.contracts, o.status) for o in orders] == [
        (OrderType.MARKET, 0.01, OrderStatus.FILLED),
        (OrderType.LIMIT, 0.01, OrderStatus.CANCELLED),  # the resting limit at 50, cancelled on exit
    ]
    assert all(o.client_id and o.client_id.startswith("kt") for o in orders)  # kektrade's newClientOrderIds
    assert fake.sims["BTCUSDT"].contracts == 0.01
    (db_path,) = history.glob("*/run.sqlite")
    with open_run_database(db_path) as db:
        paper = [(f.time_ms, f.contracts, f.price) for f in db.fills("paper") if f.kind is FillKind.TRADE]
        live = [(f.time_ms, f.contracts, f.price, f.fee) for f in db.fills("live") if f.kind is FillKind.TRADE]
        assert db.get_meta("status") == "stopped"
    (fill,) = fake.sims["BTCUSDT"].fills
    assert live == [(fill.time_ms, 0.01, fill.price, pytest.approx(0.01 * fill.price * 0.0005))]
    assert paper == [(fill.time_ms, 0.01, fill.price)]  # the paper run filled the same order at the same open
