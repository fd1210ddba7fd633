"""The subaccounts pane: one row per subaccount, updated cell by cell in place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from kektrade.control.history import pnl_summary
from kektrade.engine.snapshot import SubaccountRow
from kektrade.tui.formatting import fmt_num, fmt_params, fmt_pct, fmt_price, fmt_qty, fmt_signed
from kektrade.tui.palette import theme_style

COLUMNS = (  # most important first: at 80 columns id..DD fit, the rest scrolls sideways
    ("id", "id"),
    ("status", "status"),
    ("pos", "pos"),
    ("upnl", "UPNL"),
    ("equity", "equity"),
    ("ret", "PnL%"),
    ("dd", "DD%"),
    ("pair", "pair"),
    ("entry", "entry"),
    ("mark", "mark"),
    ("liq", "liq price"),
    ("strategy", "strategy"),
    ("params", "parameters"),
    ("venue", "venue"),
)
STATUS_VARIABLE = {
    "running": "success",
    "paused": "warning",
    "failed": "error",
    "standing_aside": "secondary",
    "aside": "secondary",
    "finished": "primary",
}
PARAMS_WIDTH = 24  # the detail screen shows them all
RIGHT = {"pos", "entry", "mark", "liq", "upnl", "equity", "ret", "dd"}
STATUS_SHORT = {"standing_aside": "aside"}


def row_cells(row: SubaccountRow, equity: Sequence[float] = ()) -> dict[str, str]:
    """Plain text of each column of a row; ``equity`` (quote) gives the return and drawdown so far."""
    summary = pnl_summary(equity)
    return {
        "ret": fmt_pct(summary.return_pct) if equity else "-",
        "dd": fmt_pct(summary.drawdown_pct) if equity else "-",
        "id": row.id,
        "venue": row.venue.replace("backtest_perpetual", "backtest"),
        "pair": row.pair,
        "strategy": row.strategy.removesuffix("Strategy"),
        "params": fmt_params(row.parameters, PARAMS_WIDTH),
        "pos": fmt_qty(row.contracts),
        "entry": fmt_price(row.entry_price),
        "mark": fmt_price(row.mark_price),
        "liq": fmt_price(row.liquidation_price),
        "upnl": fmt_signed(row.unrealized_pnl, 4 if row.settle_currency in ("BTC", "ETH") else 2),
        "equity": f"{fmt_num(row.equity, 4 if row.settle_currency in ('BTC', 'ETH') else 2)} {row.settle_currency}",
        "status": STATUS_SHORT.get(row.status, row.status)
        + (" !" if row.error else "")
        + (" ~" if row.notice else "")  # an open episode of exchange faults (retrying)
        + ("" if row.entries_allowed else " x"),  # new positions stopped by the operator
    }


class SubaccountsTable(DataTable[Text]):
    """The subaccounts DataTable; ``show`` updates only cells that changed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._cells: dict[str, dict[str, str]] = {}

    def on_mount(self) -> None:
        """Columns, title and a repaint on theme changes (cell colours come from the theme)."""
        self.border_title = "Subaccounts"
        for key, label in COLUMNS:
            self.add_column(Text(label, justify="right" if key in RIGHT else "left"), key=key)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.repaint_all())

    def _styled(self, key: str, text: str) -> Text:
        if key == "status":
            variable = STATUS_VARIABLE.get(text.split(maxsplit=1)[0] if text else "", "foreground")
            return Text(text, style=theme_style(self.app, variable, bold=True))
        if key in ("upnl", "ret") and text.startswith(("+", "-")):
            return Text(text, style=theme_style(self.app, "success" if text[0] == "+" else "error"), justify="right")
        return Text(text, justify="right" if key in RIGHT else "left")

    def show(self, rows: Sequence[SubaccountRow], equity: Mapping[str, Sequence[float]] | None = None) -> int:
        """Add, update and remove rows to match ``rows``; the number of cells changed."""
        changed = 0
        seen = set()
        for row in rows:
            seen.add(row.id)
            cells = row_cells(row, (equity or {}).get(row.id, ()))
            old = self._cells.get(row.id)
            if old is None:
                self.add_row(*(self._styled(k, cells[k]) for k, _ in COLUMNS), key=row.id)
                changed += len(cells)
            else:
                for key, text in cells.items():
                    if old[key] != text:
                        self.update_cell(row.id, key, self._styled(key, text), update_width=True)
                        changed += 1
            self._cells[row.id] = cells
        for gone in set(self._cells) - seen:
            self.remove_row(gone)
            del self._cells[gone]
            changed += 1
        return changed

    def repaint_all(self) -> None:
        """Restyle every cell (after a theme change)."""
        for row_id, cells in self._cells.items():
            for key, text in cells.items():
                self.update_cell(row_id, key, self._styled(key, text))

    @property
    def selected_id(self) -> str | None:
        """The id of the row under the cursor."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return key.value

    def cell_text(self, row_id: str, key: str) -> str:
        """The plain text shown in one cell (tests and the detail screen read it)."""
        return self._cells[row_id][key]
