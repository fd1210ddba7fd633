"""``ExecutionReader``: a symbol's executions (``/v5/execution/list``), each read once, by execution id."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kektrade.domain.types import Fill
from kektrade.exchange.live.bybit_parse import exec_id_of, fill_from_execution

PAGE = 100


class ExecutionReader:
    """Reads newest first until a known execution id; keeps every execution seen, oldest first."""

    def __init__(
        self, call: Callable[..., Any], method: Callable[..., Any], category: str, market_id: str, symbol: str
    ) -> None:
        self._call, self._method = call, method
        self._params = {"category": category, "symbol": market_id, "limit": PAGE}
        self.symbol = symbol
        self.seen: set[str] = set()
        self.executions: list[tuple[str, Fill]] = []
        self._handed = 0

    def seed(self, exec_ids: Iterable[str]) -> None:
        """Mark executions as known (resume): reading stops at them and never returns them."""
        self.seen.update(exec_ids)

    def pull(self) -> None:
        """Read the new executions (page by page, newest first) and remember them oldest first."""
        new: list[dict[str, Any]] = []
        cursor = ""
        while True:
            params = dict(self._params, **({"cursor": cursor} if cursor else {}))
            result = self._call(self._method, params).get("result") or {}
            rows = result.get("list") or []
            fresh = [r for r in rows if exec_id_of(r) not in self.seen]
            new += fresh
            cursor = str(result.get("nextPageCursor") or "")
            if len(fresh) < len(rows) or not rows or not cursor:
                break
        for row in reversed(new):
            exec_id = exec_id_of(row)
            if exec_id in self.seen:  # listed twice across pages
                continue
            self.seen.add(exec_id)
            self.executions.append((exec_id, fill_from_execution(row, self.symbol)))

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
