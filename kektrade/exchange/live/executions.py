"""``ExecutionReader``: a symbol's executions, each read once, by the exchange's execution id."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kektrade.domain.types import Fill
from kektrade.exchange.live.dialect import ExecutionPage


class ExecutionReader:
    """Reads newest first until a known execution id; keeps every execution seen, oldest first."""

    def __init__(self, page: Callable[[str], ExecutionPage]) -> None:
        self._page = page  # the dialect's ``executions_page(cursor)``
        self.seen: set[str] = set()
        self.executions: list[tuple[str, Fill]] = []
        self._handed = 0

    def seed(self, exec_ids: Iterable[str]) -> None:
        """Mark executions as known (resume): reading stops at them and never returns them."""
        self.seen.update(exec_ids)

    def pull(self) -> None:
        """Read the new executions (page by page, newest first) and remember them oldest first."""
        new: list[tuple[str, Fill]] = []
        cursor = ""
        while True:
            page = self._page(cursor)
            fresh = [r for r in page.rows if r[0] not in self.seen]
            new += fresh
            cursor = page.cursor
            if len(fresh) < len(page.rows) or not page.rows or not cursor:
                break
        for exec_id, fill in reversed(new):
            if exec_id in self.seen:  # listed twice across pages
                continue
            self.seen.add(exec_id)
            self.executions.append((exec_id, fill))

    def take_new(self) -> list[tuple[str, Fill]]:
        """Executions not handed out before (after a ``pull``)."""
        self.pull()
        new = self.executions[self._handed :]
        self._handed = len(self.executions)
        return new

    @property
    def fills(self) -> list[Fill]:
        """Every execution seen so far, oldest first."""
        return [fill for _, fill in self.executions]
