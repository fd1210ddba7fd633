"""Fixtures of the TUI tests; the tiny real backtest itself comes from tests/frontkit.py."""

from __future__ import annotations

import pytest

from kektrade.control.facade import RunController
from tests.frontkit import REPO_ROOT, RUN_ID, make_controller, tiny_config

__all__ = ["REPO_ROOT", "RUN_ID", "make_controller", "tiny_config"]


@pytest.fixture
def finished(controller: RunController) -> RunController:
    """The controller after its whole backtest ran."""
    controller.start()
    assert controller.wait(60), "the tiny backtest did not finish"
    assert controller.error is None
    return controller
