"""The log pane: records of the "kektrade" logger, filtered by level and searched with ``/``."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Input, RichLog

from kektrade.tui.logview import LEVELS, LogLine, QueueLogHandler
from kektrade.tui.palette import theme_style

LEVEL_VARIABLE = {"ERROR": "error", "CRITICAL": "error", "WARNING": "warning", "DEBUG": "secondary"}


class LogSearch(Input):
    """The ``/`` search box of the log pane."""

    BINDINGS = [Binding("escape", "clear", "clear search", show=False)]

    def action_clear(self) -> None:
        """Clear the search and hide the box."""
        self.value = ""
        self.post_message(self.Submitted(self, ""))


class LogPane(Vertical):
    """Shows queued log lines; keeps the last ``max_lines`` to refilter on a level or search change."""

    min_level: reactive[int] = reactive(logging.INFO)
    search: reactive[str] = reactive("")

    def __init__(self, handler: QueueLogHandler, max_lines: int = 5000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handler = handler
        self._lines: deque[LogLine] = deque(maxlen=max_lines)
        self.shown: deque[str] = deque(maxlen=max_lines)  # text of the lines on screen (tests read it)

    def compose(self) -> ComposeResult:
        """A RichLog and the hidden search box."""
        yield RichLog(id="log-view", max_lines=self._lines.maxlen, wrap=False, markup=False)
        yield LogSearch(placeholder="search the log  (enter: keep, esc: clear)", id="log-search")

    def on_mount(self) -> None:
        """Title and subtitle."""
        self.border_title = "Log"
        self._subtitle()

    def pull(self) -> int:
        """Move queued records onto the screen; the number taken."""
        fresh = self.handler.drain()
        for line in fresh:
            self._lines.append(line)
            if line.matches(self.min_level, self.search):
                self._write(line)
        return len(fresh)

    def _write(self, line: LogLine) -> None:
        text = Text(line.text, no_wrap=True)
        variable = LEVEL_VARIABLE.get(line.level)
        if variable:
            text.stylize(theme_style(self.app, variable))
        if self.search:
            text.highlight_words([self.search], style="reverse", case_sensitive=False)
        self.query_one(RichLog).write(text)
        self.shown.append(line.text)

    def _rewrite(self) -> None:
        self.query_one(RichLog).clear()
        self.shown.clear()
        for line in self._lines:
            if line.matches(self.min_level, self.search):
                self._write(line)
        self._subtitle()

    def _subtitle(self) -> None:
        name = logging.getLevelName(self.min_level)
        found = f" · /{self.search}" if self.search else ""
        self.border_subtitle = f"≥{name}{found}"

    def watch_min_level(self) -> None:
        """Refilter on a level change."""
        if self.is_mounted:
            self._rewrite()

    def watch_search(self) -> None:
        """Refilter on a search change."""
        if self.is_mounted:
            self._rewrite()

    def cycle_level(self) -> str:
        """Next minimum level (DEBUG → INFO → WARNING → ERROR → DEBUG); its name."""
        names = list(LEVELS)
        current = logging.getLevelName(self.min_level)
        nxt = names[(names.index(current) + 1) % len(names)] if current in names else "INFO"
        self.min_level = logging.getLevelNamesMapping()[nxt]
        return nxt

    def open_search(self) -> None:
        """Show and focus the search box."""
        box = self.query_one(LogSearch)
        box.display = True
        box.focus()

    @on(Input.Changed, "#log-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip()

    @on(Input.Submitted, "#log-search")
    def _search_done(self, event: Input.Submitted) -> None:
        box = self.query_one(LogSearch)
        box.display = False
        self.search = event.value.strip()
        self.screen.focus_next()
