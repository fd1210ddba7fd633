"""Fixtures of the web tests: one tiny real backtest (synthetic 5m data) run to the end, and its page server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kektrade.config import parse_config
from kektrade.control.facade import RunController, RunPaths
from kektrade.web.server import WebServer

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "web-test-run"


def web_config(tmp: Path) -> dict[str, Any]:
    """Five days of synthetic 5m data: SMA/RSI fixed (rsi 7, sma 50) and SMA/RSI live-optimized daily."""
    return {
        "metastrategy_id": "web_test",
        "strategies_dir": str(REPO_ROOT / "strategies"),
        "history_dir": str(tmp / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 7, "start": "2024-01-01", "days": 5}},
        "subaccounts": [
            {
                "id": "sma_btc",
                "strategy": "SmaRsiStrategy",
                "pair": "BTC/USDT:USDT",
                "timeframe": "5m",
                "leverage": 3,
                "parameters": {"rsi": 7, "sma": 50},
            },
            {
                "id": "opt_btc",
                "strategy": "SmaRsiStrategy",
                "pair": "BTC/USDT:USDT",
                "timeframe": "5m",
                "leverage": 2,
                "optimization": {"enabled": True, "reoptimize_every": "1d", "lookback": "2d", "workers": 1},
            },
        ],
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunController]:
    """A real RunController whose whole backtest ran (shared by a module's tests: they only read it)."""
    tmp = tmp_path_factory.mktemp("web")
    controller = RunController(parse_config(json.dumps(web_config(tmp)), source="web.json"))
    controller.build()
    folder = tmp / "run"
    folder.mkdir()
    controller.attach(RunPaths(RUN_ID, folder, folder / "run.sqlite"))
    controller.start()
    assert controller.wait(60), "the tiny backtest did not finish"
    assert controller.error is None
    yield controller
    controller.close()


@pytest.fixture(scope="module")
def server(finished: RunController) -> Iterator[WebServer]:
    """The page of the finished run, served on a free port."""
    web = WebServer(finished, port=0)
    web.start()
    yield web
    web.stop()


@pytest.fixture
def client(server: WebServer) -> Iterator[httpx.Client]:
    """The real HTTP client pointed at the server."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http
