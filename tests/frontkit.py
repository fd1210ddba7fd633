"""A tiny real backtest for front-end tests (TUI, Telegram): config, controllers (free-running or stepped) and fixtures.

Registered as a pytest plugin in tests/conftest.py, so ``info_logging`` and ``controller`` are available
to every test folder.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kektrade.config import parse_config
from kektrade.control.facade import RunController, RunPaths

REPO_ROOT = Path(__file__).resolve().parents[1]
RUN_ID = "tui-test-run"
SAFETY_TIMEOUT_S = 120.0  # a stuck engine fails the test instead of hanging it; never a speed limit


def tiny_config(
    tmp: Path, days: float = 3.0, timeframe: str = "5m", market_maker: bool = True, **extra: Any
) -> dict[str, Any]:
    """Synthetic 5m data: SMA/RSI (rsi 7, sma 50) and (optionally) a market maker with resting orders."""
    config: dict[str, Any] = {
        "metastrategy_id": "tui_test",
        "strategies_dir": str(REPO_ROOT / "strategies"),
        "history_dir": str(tmp / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 7, "start": "2024-01-01", "days": days}},
        "tui": {"themes_dir": str(REPO_ROOT / "themes")},
        "subaccounts": [
            {"id": "sma_btc", "strategy": "SmaRsiStrategy", "pair": "BTC/USDT:USDT", "timeframe": timeframe,
             "leverage": 3, "parameters": {"rsi": 7, "sma": 50}},
            {"id": "mm_eth", "strategy": "MarketMakerStrategy", "pair": "ETH/USDT:USDT", "timeframe": "5m",
             "leverage": 2, "parameters": {"half_spread_bps": 10, "skew": 0.5}},
        ],
    }  # fmt: skip
    if not market_maker:
        del config["subaccounts"][1]
    config.update(extra)
    return config


def make_controller(tmp: Path, **extra: Any) -> RunController:
    """A built and attached (not started) controller of ``tiny_config``."""
    controller = RunController(parse_config(json.dumps(tiny_config(tmp, **extra)), source="tiny.json"))
    controller.build()
    folder = tmp / "run"
    folder.mkdir(exist_ok=True)
    controller.attach(RunPaths(RUN_ID, folder, folder / "run.sqlite"))
    return controller


@pytest.fixture
def info_logging() -> Iterator[None]:
    """The kektrade logger at INFO (as the CLI sets it) for the test."""
    logger = logging.getLogger("kektrade")
    before = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(before)


@pytest.fixture
def controller(tmp_path: Path, info_logging: None) -> Iterator[RunController]:
    """A built, attached controller that is not started yet (the test or the front end starts it)."""
    ctl = make_controller(tmp_path)
    yield ctl
    ctl.close()


class StepGate:
    """An engine time hook that holds the engine at every ``step_ms`` boundary until the test lets it go.

    At each boundary the hook publishes a snapshot (on the engine thread) and waits. ``step()`` lets the
    engine apply the commands queued meanwhile and simulate up to the next boundary; ``open()`` lets it run
    to the end. Nothing depends on how fast the machine is: the engine only moves when the test says so.
    """

    def __init__(self, controller: RunController, step_candles: int) -> None:
        session = controller.session
        assert session is not None, "build the controller first"
        self.controller = controller
        self.engine = session.engine
        timeframe_ms = min(inst.venue.market.timeframe_ms for inst in session.instances)
        self.step_ms = timeframe_ms * step_candles
        start = min(inst.time_of(inst.first_index) for inst in session.instances)
        self._next_ms = start + self.step_ms
        self._cond = threading.Condition()
        self._reached = 0  # boundaries the engine has arrived at
        self._allowed = 0  # boundaries the engine may pass
        self._opened = False
        session.engine.hooks.append(self)

    # -- TimeHook ------------------------------------------------------------------------------------

    def on_start(self) -> tuple[()]:
        """Nothing to do when the engine starts (the reworked engine's hook protocol calls it)."""
        return ()

    def next_boundary_ms(self) -> int:
        """The next boundary (chunks end there)."""
        return self._next_ms

    def on_time(self, clock_ms: int) -> tuple[()]:
        """At a boundary: publish, then wait for the test."""
        if clock_ms < self._next_ms:
            return ()
        self._next_ms = clock_ms + self.step_ms
        self.controller._publish(self.engine.snapshot())
        with self._cond:
            self._reached += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._opened or self._allowed >= self._reached)
        return ()

    def close(self) -> None:
        """The engine ends: nothing to release."""

    # -- the test's side -------------------------------------------------------------------------------

    def _wait(self, reached: int) -> None:
        deadline = time.monotonic() + SAFETY_TIMEOUT_S
        with self._cond:
            while self._reached < reached and not self.controller.finished:
                assert time.monotonic() < deadline, "the engine never reached the next boundary"
                self._cond.wait(0.05)

    def start(self) -> None:
        """Start the controller's engine thread and wait until it holds at the first boundary."""
        self.controller.start()
        self._wait(1)

    def step(self, count: int = 1) -> None:
        """Let the engine apply queued commands and run ``count`` boundaries further (or to its end)."""
        for _ in range(count):
            with self._cond:
                self._allowed = self._reached
                target = self._reached + 1
                self._cond.notify_all()
            self._wait(target)

    def open(self) -> None:
        """Let the engine run to the end without stopping again."""
        with self._cond:
            self._opened = True
            self._cond.notify_all()

    def finish(self) -> None:
        """Run to the end and wait for the results."""
        self.open()
        assert self.controller.wait(SAFETY_TIMEOUT_S), "the run did not end"


@pytest.fixture
def stepped(tmp_path: Path, info_logging: None) -> Iterator[StepGate]:
    """A built, attached controller whose engine moves only when the test steps it (100 candles a step)."""
    ctl = make_controller(tmp_path)
    gate = StepGate(ctl, step_candles=100)
    yield gate
    gate.open()
    ctl.close()
