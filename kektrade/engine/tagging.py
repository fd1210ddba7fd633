"""``TradeTags``: a journal in front of the run's journal that remembers what the trade analysis needs.

It forwards every record unchanged and keeps, per subaccount, the ids of stop and take-profit orders
(their exit reason) and the optimizer's selections with their times (the parameter set in force).
Plain market and limit orders are not kept, so a market maker's millions of orders cost nothing here.
"""

from __future__ import annotations

from typing import Any

from kektrade.domain.journal import Journal, JournalRecord, OrderRecorded, SelectionRecorded
from kektrade.domain.types import is_conditional


class TradeTags:
    """Forwards to ``inner`` (may be None) and records conditional order types and selections."""

    def __init__(self, inner: Journal | None) -> None:
        self.inner = inner
        self.conditional: dict[str, dict[str, str]] = {}
        self.selections: dict[str, list[tuple[int, dict[str, Any] | None]]] = {}

    def record(self, item: JournalRecord) -> None:
        """Remember what the analysis needs, then forward."""
        # type(...) is, not isinstance: the classes have no subclasses, and this runs per order event
        if type(item) is OrderRecorded:
            order = item.order
            if is_conditional(order.type):
                self.conditional.setdefault(item.subaccount, {})[order.id] = str(order.type)
        elif type(item) is SelectionRecorded:
            params = None if item.parameters is None else dict(item.parameters)
            self.selections.setdefault(item.subaccount, []).append((item.time_ms, params))
        if self.inner is not None:
            self.inner.record(item)

    def flush(self) -> None:
        """Flush the inner journal."""
        if self.inner is not None:
            self.inner.flush()

    def close(self) -> None:
        """Close the inner journal."""
        if self.inner is not None:
            self.inner.close()
