"""LiveRunController on the fake Bybit: state saved to the run database, stop -> resume, crash -> resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from kektrade import cli
from kektrade.config import KektradeConfig, Secrets
from kektrade.control.facade import RunController, RunPaths
from kektrade.control.live import LiveRunController, credentialed_factory, is_realtime_config
from kektrade.engine.build import BuildError
from kektrade.engine.resume import STATE_KEY
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.state import export_state
from kektrade.persistence.database import open_run_database
from kektrade.runs import Run
from tests.engine.live_kit import client_factory, live_config, push, wait_until
from tests.fakes.bybit_trading import API_KEY, API_SECRET, FakeBybitExchange

REPO = Path(__file__).resolve().parents[2]


def paths(folder: Path) -> RunPaths:
    return RunPaths("run", folder / "run", folder / "run" / "run.sqlite")


def started(config: KektradeConfig, fake: FakeBybitExchange, folder: Path, resume: bool = False) -> LiveRunController:
    """Build (resuming from the run database when asked), attach and start a controller."""
    where = paths(folder)
    controller = LiveRunController(
        config, resume_db=where.db_path if resume else None, exchange_factory=client_factory(fake)
    )
    controller.build()
    controller.attach(where)
    controller.start()
    return controller


def stop(controller: LiveRunController) -> None:
    controller.stop()
    assert controller.wait(10)
    controller.close()
    assert controller.error is None


def seen(controller: LiveRunController) -> list[int]:
    assert controller.session is not None
    return list(controller.session.instances[0].variables.get("seen", []))


def sim_of(controller: LiveRunController) -> SimExchange:
    assert controller.session is not None
    venue = controller.session.instances[0].venue
    assert isinstance(venue, SimExchange)
    return venue


def test_stop_then_resume_restores_state_exactly_and_catches_up(fake: FakeBybitExchange, tmp_path: Path) -> None:
    config = live_config(tmp_path, [{"id": "p", "venue": "paper"}])
    first = started(config, fake, tmp_path)
    assert first.snapshot().mode == "paper"
    times = []
    for k in range(3):
        times += push(fake, 1)
        wait_until(lambda k=k: len(seen(first)) == k + 1, what=f"tick {k + 1}")
    stop(first)
    before = export_state(sim_of(first))
    first_times = list(first.session.instances[0].times_ms) if first.session else []
    assert before["contracts"] == 0.01 and len(before["orders"]) == 1
    missed = push(fake, 2)  # candles while kektrade is not running

    second = LiveRunController(config, resume_db=paths(tmp_path).db_path, exchange_factory=client_factory(fake))
    second.build()
    inst = second.session.instances[0] if second.session else None
    assert inst is not None and inst.length - inst.next_index == 2  # two candles to catch up
    assert export_state(sim_of(second)) == before
    assert inst.variables == {"seen": times, "mean3": 111.5, "close": 112.5, "limit_id": before["orders"][0]["id"]}
    second.attach(paths(tmp_path))
    second.start()
    wait_until(lambda: len(seen(second)) == 5, what="catch-up")
    live = push(fake, 1)
    wait_until(lambda: len(seen(second)) == 6, what="live tick after resume")
    stop(second)
    assert seen(second) == times + missed + live  # nothing processed twice, nothing skipped
    with open_run_database(paths(tmp_path).db_path) as db:
        eq_times, _, _ = db.equity("p")
        assert eq_times == sorted(set(eq_times)) and eq_times[: len(first_times)] == first_times
        assert len(eq_times) > len(first_times)  # one series, continued after the resume
        assert db.latest_state("p")[STATE_KEY]["last_candle_ms"] == live[0]
        assert [o.price for o in db.open_orders("p")] == [50.0]
        assert db.get_meta("status") == "stopped"


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from kektrade.control.facade import RunPaths
    from kektrade.control.live import LiveRunController
    from kektrade.exchange.live.ohlcv import make_exchange
    from tests.engine.live_kit import live_config

    def factory(exchange_id, testnet, subaccount):
        client = make_exchange(exchange_id, api_base={url!r})
        client.apiKey, client.secret = {key!r}, {secret!r}
        return client

    folder = Path({folder!r})
    controller = LiveRunController(live_config(folder, [{{"id": "p", "venue": "paper"}}]), exchange_factory=factory)
    controller.build()
    controller.attach(RunPaths("run", folder / "run", folder / "run" / "run.sqlite"))
    controller.start()
    print("started", flush=True)
    time.sleep(120)
    """
)


def saved_candle(db_path: Path) -> int | None:
    if not db_path.is_file():
        return None
    with open_run_database(db_path) as db:
        state = db.latest_state("p").get(STATE_KEY)
    return state["last_candle_ms"] if state else None


def test_crash_loses_at_most_the_last_batch_interval(fake: FakeBybitExchange, tmp_path: Path) -> None:
    script = CHILD.format(repo=str(REPO), url=fake.base_url, key=API_KEY, secret=API_SECRET, folder=str(tmp_path))
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "NO_PROXY": "127.0.0.1"},
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "started"
        db_path = paths(tmp_path).db_path
        times: list[int] = []
        for _ in range(3):
            (latest,) = push(fake, 1)
            times.append(latest)
            wait_until(lambda t=latest: saved_candle(db_path) == t, timeout=10, what="state saved")
        time.sleep(0.1)  # one journal batch interval: everything recorded is committed
    finally:
        child.send_signal(signal.SIGKILL)  # no clean shutdown
        child.wait(10)
    config = live_config(tmp_path, [{"id": "p", "venue": "paper"}])
    resumed = LiveRunController(config, resume_db=paths(tmp_path).db_path, exchange_factory=client_factory(fake))
    resumed.build()
    assert resumed.session is not None
    inst = resumed.session.instances[0]
    sim = sim_of(resumed)
    assert inst.variables["seen"] == times and inst.next_index == inst.length
    assert sim.contracts == 0.01 and [o.price for o in sim.get_open_orders()] == [50.0]
    assert [(f.time_ms, f.price) for f in sim.fills] == [(times[2], 112.0)]
    with open_run_database(paths(tmp_path).db_path) as db:
        assert db.integrity_check() == "ok"


def test_credentials_come_from_the_subaccounts_env_prefix(tmp_path: Path) -> None:
    config = live_config(tmp_path, [{"id": "x-1", "venue": "bybit_linear"}])
    factory = credentialed_factory(config, Secrets({"KEKTRADE_X_1_API_KEY": "k", "KEKTRADE_X_1_API_SECRET": "s"}))
    client: Any = factory("bybit", True, "x-1")
    assert (client.apiKey, client.secret) == ("k", "s") and "testnet" in str(client.urls["api"])
    assert factory("bybit", False, None).apiKey in ("", None)  # candles need no key
    with pytest.raises(BuildError, match="KEKTRADE_X_1_API_KEY and KEKTRADE_X_1_API_SECRET"):
        credentialed_factory(config, Secrets({}))("bybit", False, "x-1")


def test_cli_picks_the_live_controller_and_resumes_from_the_run_database(tmp_path: Path) -> None:
    config = live_config(tmp_path, [{"id": "p", "venue": "paper"}])
    assert is_realtime_config(config) and config.subaccounts[0].is_backtest  # paper needs no API keys
    folder = tmp_path / "history" / "r"
    folder.mkdir(parents=True)
    (folder / "run.sqlite").write_bytes(b"")
    run = Run.at(folder, resumed=True)
    controller = cli._controller(config, run)
    assert isinstance(controller, LiveRunController) and controller.resume_db == folder / "run.sqlite"
    fresh = cli._controller(config, None)
    assert isinstance(fresh, LiveRunController) and fresh.resume_db is None
    backtest = live_config(tmp_path, [{"id": "b", "venue": "backtest_perpetual"}])
    assert type(cli._controller(backtest, run)) is RunController
