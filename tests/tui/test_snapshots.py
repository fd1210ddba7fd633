"""Looks of the main and detail screens (pytest-textual-snapshot) for a finished run at a fixed size."""

from __future__ import annotations

from typing import Any

from kektrade.control.facade import RunController
from kektrade.tui.app import KektradeApp

SIZE = (120, 40)


def finished_app(controller: RunController) -> KektradeApp:
    """The app over a finished run with a frozen uptime clock (deterministic screens)."""
    return KektradeApp(controller, start_run=False, clock=lambda: 0.0)


def test_main_screen(finished: RunController, snap_compare: Any) -> None:
    assert snap_compare(finished_app(finished), press=["escape", "down"], terminal_size=SIZE)


def test_detail_screen(finished: RunController, snap_compare: Any) -> None:
    assert snap_compare(finished_app(finished), press=["escape", "down", "enter"], terminal_size=SIZE)


def test_results_screen(finished: RunController, snap_compare: Any) -> None:
    assert snap_compare(finished_app(finished), terminal_size=SIZE)


def test_main_screen_small_terminal(finished: RunController, snap_compare: Any) -> None:
    assert snap_compare(finished_app(finished), press=["escape"], terminal_size=(80, 24))
