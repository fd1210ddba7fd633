"""The status bar: mode, candle time, progress, uptime and web address, fitted to the width."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import Static

from kektrade.engine.snapshot import EngineSnapshot
from kektrade.tui.formatting import fit_parts, status_parts

COMPACT_BELOW = 100  # columns: shorter progress and time parts


class StatusBar(Static):
    """One line of run status; ``show`` updates it only when the text changed, and again on a resize."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", markup=True, **kwargs)
        self.text = ""
        self._last: tuple[EngineSnapshot, float, str | None] | None = None

    def show(self, snap: EngineSnapshot, uptime_s: float, web_url: str | None) -> bool:
        """Redraw from a snapshot; True when the text changed."""
        self._last = (snap, uptime_s, web_url)
        if not self.size.width:  # not laid out yet: the resize draws it
            return False
        width = max(self.size.width - 2, 20)
        text = fit_parts(status_parts(snap, uptime_s, web_url, compact=width < COMPACT_BELOW), width)
        if text == self.text:
            return False
        self.text = text
        self.update(text)
        return True

    def on_resize(self, event: events.Resize) -> None:
        """Fit the last status to the new width."""
        if self._last is not None:
            self.show(*self._last)
