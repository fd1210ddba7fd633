"""Fixtures of the web tests: real backtests (one in this process, one in a CLI process that has ended),
their servers, the real httpx client and headless Chromium through Playwright."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kektrade.config import parse_config
from kektrade.control.facade import RunController, RunPaths
from kektrade.control.viewing import LiveView, RunCatalog
from kektrade.web.server import WebServer

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "web-test-run"
CHROMIUM = Path("/usr/bin/chromium")


def web_config(tmp: Path, days: int = 5) -> dict[str, Any]:
    """Synthetic 5m data: SMA/RSI fixed (rsi 7, sma 50) and SMA/RSI live-optimized daily."""
    return {
        "metastrategy_id": "web_test",
        "strategies_dir": str(REPO_ROOT / "strategies"),
        "history_dir": str(tmp / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 7, "start": "2024-01-01", "days": days}},
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
    assert controller.wait(120), "the tiny backtest did not finish"
    assert controller.error is None
    yield controller
    controller.close()


@pytest.fixture(scope="module")
def server(finished: RunController) -> Iterator[WebServer]:
    """The page of the finished in-process run, served on a free port."""
    web = WebServer(RunCatalog([LiveView(finished)]), port=0)
    web.start()
    yield web
    web.stop()


@pytest.fixture
def client(server: WebServer) -> Iterator[httpx.Client]:
    """The real HTTP client pointed at the server."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def ended_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(history dir, run id) of an 8-day backtest run by the ``kektrade`` CLI in a process that has ended."""
    tmp = tmp_path_factory.mktemp("ended")
    config = tmp / "config.json"
    config.write_text(json.dumps(web_config(tmp, days=8)))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "kektrade", str(config), "--no-tui", "--log-level", "WARNING"],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    history = tmp / "history"
    (run_id,) = [p.name for p in history.iterdir() if (p / "config.json").is_file()]
    return history, run_id


@pytest.fixture(scope="module")
def stored_server(ended_run: tuple[Path, str]) -> Iterator[WebServer]:
    """``kektrade serve``'s server over the history folder of the ended run."""
    history, _ = ended_run
    web = WebServer(RunCatalog(history_dir=history), port=0)
    web.start()
    yield web
    web.stop()


def chromium_path() -> str | None:
    """The system Chromium (CI installs it), None when absent."""
    return str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright (skips when either is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    path = chromium_path()
    if path is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()
