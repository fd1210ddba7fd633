"""Looks of the screens (pytest-textual-snapshot) for a finished run, at 120×40 and at the designed 80×24."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from kektrade.control.facade import RunController
from kektrade.tui.app import KektradeApp
from kektrade.tui.screens.detail import DetailScreen

from .pilot import wait_for

SIZE = (120, 40)
SMALL = (80, 24)


def finished_app(controller: RunController) -> KektradeApp:
    """The app over a finished run with a frozen uptime clock (deterministic screens)."""
    return KektradeApp(controller, start_run=False, clock=lambda: 0.0)


def keys(*pressed: str) -> Any:
    """A ``run_before`` that presses ``pressed`` and then clears the toasts.

    Toasts expire after a wall-clock timeout, so a slow machine would otherwise take a different picture.
    """

    async def run_before(pilot: Pilot[int]) -> None:
        await pilot.press(*pressed)
        await pilot.pause()
        pilot.app.clear_notifications()
        await pilot.pause()

    return run_before


def open_detail(*tab_keys: str) -> Any:
    """A ``run_before`` that opens mm_eth's detail screen, waits for its history, then presses ``tab_keys``."""

    async def run_before(pilot: Pilot[int]) -> None:
        await pilot.press("escape", "down", "enter")
        app = pilot.app
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.loads > 0)
        await pilot.press(*tab_keys)
        await pilot.pause()
        app.clear_notifications()
        await pilot.pause()

    return run_before


def test_main_screen(finished: RunController, snap_compare: Any) -> None:
    assert snap_compare(finished_app(finished), run_before=keys("escape", "down"), terminal_size=SIZE)


def test_detail_screen(finished: RunController, snap_compare: Any) -> None:
    assert snap_compare(finished_app(finished), run_before=open_detail(), terminal_size=SIZE)


def test_results_screen(finished: RunController, snap_compare: Any) -> None:
    assert snap_compare(finished_app(finished), run_before=keys(), terminal_size=SIZE)


def test_main_screen_small_terminal(finished: RunController, snap_compare: Any) -> None:
    assert snap_compare(finished_app(finished), run_before=keys("escape", "down"), terminal_size=SMALL)


@pytest.mark.parametrize("tab", ["1", "2", "3", "4"])
def test_detail_tabs_small_terminal(finished: RunController, snap_compare: Any, tab: str) -> None:
    assert snap_compare(finished_app(finished), run_before=open_detail(tab), terminal_size=SMALL)
