"""Shared fixtures: a valid config as a dict, and a folder of small strategy files."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# property tests draw the same examples on every run (no unseeded randomness: a red CI must be reproducible)
settings.register_profile("kektrade", derandomize=True)
settings.load_profile("kektrade")


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to test a compiled simulator older than its sources (the edits would not be running)."""
    from kektrade.native import native_state

    if config.pluginmanager.has_plugin("tests.pure_python"):
        return  # the sources themselves are under test: extensions are not imported
    state = native_state()
    if state.stale:
        pytest.exit(state.describe(), returncode=3)


def pytest_report_header() -> str:
    from kektrade.native import native_state

    return f"kektrade simulator: {native_state().describe()}"

pytest_plugins = [
    "tests.engine.live_kit",  # the fake Bybit fixtures shared by engine and control tests
    "tests.frontkit",  # a tiny real backtest for the front-end tests
    "tests.e2e.faults.tally",  # the live-safety fault suite's counts, printed at the end
]

STRATEGY_SOURCE = textwrap.dedent(
    """
    from kektrade.strategy.base import Strategy


    class {name}(Strategy):
        '''A do-nothing strategy for tests.'''
    """
)


def make_config_dict() -> dict[str, Any]:
    """A small valid config: two linear backtest subaccounts, one inverse with a balance."""
    return {
        "metastrategy_id": "test_meta",
        "defaults": {"timeframe": "15m", "fees": {"taker": 0.0006}},
        "subaccounts": [
            {"id": "a", "strategy": "AlphaStrategy", "pair": "BTC/USDT:USDT", "leverage": 3},
            {"id": "b-2", "strategy": "BetaStrategy", "pair": "ETH/USDT:USDT", "fees": {"maker": -0.0001}},
            {"id": "inv", "strategy": "AlphaStrategy", "pair": "BTC/USD:BTC", "initial_balance": 0.5},
        ],
        "backtest": {"start": "2024-01-02", "end": "2024-01-05"},
    }


@pytest.fixture
def config_dict() -> dict[str, Any]:
    """A fresh valid config dict (tests may mutate it)."""
    return make_config_dict()


@pytest.fixture
def strategy_dir(tmp_path: Path) -> Path:
    """tmp_path/strategies with AlphaStrategy and BetaStrategy defined in two files."""
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "alpha.py").write_text(STRATEGY_SOURCE.format(name="AlphaStrategy"))
    (folder / "beta.py").write_text(STRATEGY_SOURCE.format(name="BetaStrategy"))
    return folder
