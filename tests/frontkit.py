"""A tiny real backtest for front-end tests (TUI, Telegram): config, controller and fixtures.

Registered as a pytest plugin in tests/conftest.py, so ``info_logging`` and ``controller`` are available
to every test folder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kektrade.config import parse_config
from kektrade.control.facade import RunController, RunPaths

REPO_ROOT = Path(__file__).resolve().parents[1]
RUN_ID = "tui-test-run"


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
