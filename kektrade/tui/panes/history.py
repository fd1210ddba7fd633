"""Tables of a subaccount's history: fills and closed trades, newest first, filled page by page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rich.text import Text
from textual import on
from textual.widgets import DataTable

from kektrade.control.history import TradeRow
from kektrade.engine.snapshot import FillRow
from kektrade.tui.formatting import fmt_duration, fmt_num, fmt_price, fmt_qty, fmt_signed, fmt_utc

PAGE_ROWS = 500  # rows added at a time: a 20k-fill market maker never builds 20k rows at once
T = TypeVar("T")

FILL_COLUMNS = ("time", "side", "qty", "price", "fee", "pnl", "kind", "pos after")
FILL_RIGHT = {2, 3, 4, 5, 7}
TRADE_COLUMNS = ("exit", "side", "held", "size", "entry", "exit px", "pnl", "fees+fund")
TRADE_RIGHT = {3, 4, 5, 6, 7}


def fill_cells(fill: FillRow) -> tuple[str, ...]:
    """One fill as table cells."""
    return (
        fmt_utc(fill.time_ms, seconds=True),
        fill.side,
        fmt_qty(fill.qty),
        fmt_price(fill.price),
        fmt_num(fill.fee, 4),
        fmt_signed(fill.realized_pnl, 4),
        fill.kind,
        fmt_qty(fill.position_after),
    )


def trade_cells(trade: TradeRow) -> tuple[str, ...]:
    """One closed trade as table cells."""
    side = trade.direction + (" LIQ" if trade.liquidated else "")
    return (
        fmt_utc(trade.exit_ms),
        side,
        fmt_duration((trade.exit_ms - trade.entry_ms) / 1000),
        fmt_qty(trade.max_contracts),
        fmt_price(trade.entry_price),
        fmt_price(trade.exit_price),
        fmt_signed(trade.pnl, 4),
        fmt_num(trade.fees + trade.funding, 4),
    )


class PagedTable[T](DataTable[Text]):
    """A read-only table given all its items at once; rows are built a page at a time as the cursor nears the end."""

    def __init__(
        self, columns: Sequence[str], right: set[int], cells: Callable[[T], tuple[str, ...]], **kwargs: Any
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.column_names = tuple(columns)
        self.right = right
        self.cells = cells
        self.items: Sequence[T] = ()
        self.key: object = None

    def on_mount(self) -> None:
        """Columns."""
        for i, name in enumerate(self.column_names):
            self.add_column(Text(name, justify="right" if i in self.right else "left"), key=name)

    def load(self, items: Sequence[T], key: object = None) -> None:
        """Show ``items`` (newest first); only the first page is built now."""
        self.items, self.key = items, key
        self.clear()
        self._more()

    def _more(self) -> None:
        start = self.row_count
        page = self.items[start : start + PAGE_ROWS]
        self.add_rows(
            [Text(c, justify="right" if i in self.right else "left") for i, c in enumerate(self.cells(item))]
            for item in page
        )

    @on(DataTable.RowHighlighted)
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= self.row_count - 20 and self.row_count < len(self.items):
            self._more()
