"""The status bar: mode, candle time, progress, uptime and web address, fitted to the width."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from kektrade.engine.snapshot import EngineSnapshot
from kektrade.tui.formatting import fit_parts, status_parts


class StatusBar(Static):
    """One line of run status; ``show`` updates it only when the text changed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", markup=True, **kwargs)
        self.text = ""

    def show(self, snap: EngineSnapshot, uptime_s: float, web_url: str | None) -> bool:
        """Redraw from a snapshot; True when the text changed."""
        width = max(self.size.width - 2, 20)
        text = fit_parts(status_parts(snap, uptime_s, web_url), width)
        if text == self.text:
            return False
        self.text = text
        self.update(text)
        return True
