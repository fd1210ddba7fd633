"""The open-orders pane: the selected subaccount's orders (or all), updated in place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from kektrade.engine.snapshot import OrderRow
from kektrade.tui.formatting import fmt_duration, fmt_price, fmt_qty

COLUMNS = (  # what a narrow pane (39 columns at 80) must show first
    ("side", "side"),
    ("price", "price/trigger"),
    ("qty", "qty"),
    ("type", "type"),
    ("flags", "flags"),
    ("age", "age"),
    ("filled", "filled"),
    ("sub", "subaccount"),
)
RIGHT = {"price", "qty", "filled", "age"}


def order_cells(order: OrderRow, now_ms: int) -> dict[str, str]:
    """Plain text of each column; age is market time since the order was placed."""
    price = fmt_price(order.price)
    if order.trigger_price:
        price = f"{price} @{fmt_price(order.trigger_price)}"
    flags = " ".join(f for f, on in (("RO", order.reduce_only), ("PO", order.post_only)) if on)
    return {
        "sub": order.subaccount,
        "side": order.side,
        "type": order.type,
        "price": price,
        "qty": fmt_qty(order.contracts),
        "filled": fmt_qty(order.filled),
        "flags": flags or "-",
        "age": fmt_duration(max(now_ms - order.created_ms, 0) / 1000) if order.created_ms else "-",
    }


class OrdersTable(DataTable[Text]):
    """Open orders; ``show`` adds, updates and removes rows by order id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._cells: dict[str, dict[str, str]] = {}
        self.only: str | None = None  # the subaccount shown; None = all

    def on_mount(self) -> None:
        """Columns and title."""
        for key, label in COLUMNS:
            self.add_column(Text(label, justify="right" if key in RIGHT else "left"), key=key)
        self._title(0)

    def _title(self, count: int) -> None:
        self.border_title = f"Open orders · {self.only or 'all'}"
        self.border_subtitle = f"{count} open"

    def show(self, orders: Sequence[OrderRow], now_ms: int) -> int:
        """Match the table to ``orders`` (filtered to ``only``); the number of rows touched."""
        wanted = {
            f"{o.subaccount}/{o.order_id}": order_cells(o, now_ms)
            for o in orders
            if self.only is None or o.subaccount == self.only
        }
        touched = 0
        for gone in set(self._cells) - set(wanted):
            self.remove_row(gone)
            del self._cells[gone]
            touched += 1
        for key, cells in wanted.items():
            old = self._cells.get(key)
            if old is None:
                self.add_row(*(Text(cells[k], justify="right" if k in RIGHT else "left") for k, _ in COLUMNS), key=key)
            elif old != cells:
                for col, text in cells.items():
                    if old[col] != text:
                        self.update_cell(key, col, Text(text, justify="right" if col in RIGHT else "left"))
            else:
                continue
            self._cells[key] = cells
            touched += 1
        self._title(len(wanted))
        return touched

    def shown_orders(self) -> list[dict[str, str]]:
        """The cells of every row on screen (tests read them)."""
        return list(self._cells.values())
