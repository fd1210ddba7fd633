"""Helpers of the Pilot tests: wait for a condition while the app keeps running."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

from kektrade.tui.app import KektradeApp
from kektrade.tui.panes.log import LogPane
from kektrade.tui.panes.subaccounts import SubaccountsTable


async def wait_for(pilot: Pilot[int], condition: Callable[[], bool], timeout_s: float = 90.0) -> None:
    """Let the app run until ``condition()`` holds; AssertionError after ``timeout_s`` (a hang guard only)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"condition not met in {timeout_s}s"
        await pilot.pause(0.05)


def status_of(app: KektradeApp, sub_id: str) -> str:
    """The status cell of a subaccount row."""
    return app.query_one(SubaccountsTable).cell_text(sub_id, "status")


def log_has(app: KektradeApp, text: str) -> bool:
    """True when a line on the log pane contains ``text``."""
    return any(text in line for line in app.query_one(LogPane).shown)
