"""The detail screen of one subaccount: position, optimizer leaderboard, fills and equity curves."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from kektrade.domain.timeframes import format_ms
from kektrade.engine.snapshot import EngineSnapshot, FillRow, SubaccountRow
from kektrade.tui.charts import days_since, optimization_curves, subaccount_result, time_ticks
from kektrade.tui.formatting import fmt_num, fmt_params, fmt_price, fmt_qty, fmt_signed
from kektrade.tui.palette import theme_rgb
from kektrade.tui.plot import Line, SeriesPlot

FILL_COLUMNS = ("time", "side", "qty", "price", "fee", "pnl", "kind", "pos after")
INDICATOR_COLORS = ("warning", "secondary", "accent", "success")


def _cells(cells: tuple[str, ...]) -> list[Text]:
    return [Text(c, justify="right" if i in (2, 3, 4, 5, 7) else "left") for i, c in enumerate(cells)]


def _finite(x: list[float], values: tuple[float, ...]) -> tuple[list[float], list[float]]:
    """Drop the warm-up NaNs of an indicator (plotext cannot draw them)."""
    pairs = [(a, b) for a, b in zip(x, values, strict=False) if not math.isnan(b)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def live_fill_cells(fill: FillRow) -> tuple[str, ...]:
    """One snapshot fill as table cells."""
    return (
        format_ms(fill.time_ms),
        fill.side,
        fmt_qty(fill.qty),
        fmt_price(fill.price),
        fmt_num(fill.fee, 4),
        fmt_signed(fill.realized_pnl, 4),
        fill.kind,
        fmt_qty(fill.position_after),
    )


def position_text(row: SubaccountRow) -> str:
    """The position box's lines."""
    cur = row.settle_currency
    return "\n".join(
        [
            f"{row.pair} on {row.venue} · {row.strategy}",
            f"status      {row.status}" + (f"  ({row.error})" if row.error else ""),
            f"parameters  {fmt_params(row.parameters)}",
            f"position    {fmt_qty(row.contracts)} contracts",
            f"entry       {fmt_price(row.entry_price)}",
            f"mark        {fmt_price(row.mark_price)}",
            f"liq price   {fmt_price(row.liquidation_price)}",
            f"UPNL        {fmt_signed(row.unrealized_pnl, 4)} {cur}",
            f"equity      {fmt_num(row.equity, 4)} {cur}  ({fmt_num(row.equity_quote)} quote)",
            f"fills       {row.fills}",
        ]
    )


def fill_cells(fill: Mapping[str, Any]) -> tuple[str, ...]:
    """One results-document fill as table cells."""
    return (
        str(fill.get("time", ""))[:19].replace("T", " "),
        str(fill.get("side", "")),
        fmt_qty(float(fill.get("qty", 0.0))),
        fmt_price(fill.get("price")),
        fmt_num(float(fill.get("fee", 0.0)), 4),
        fmt_signed(float(fill.get("realized_pnl", 0.0)), 4),
        str(fill.get("kind", "")),
        fmt_qty(float(fill.get("position_after", 0.0))),
    )


class DetailScreen(Screen[None]):
    """Everything about one subaccount; follows new snapshots while it is shown."""

    BINDINGS = [
        Binding("escape,backspace", "app.pop_screen", "back"),
        Binding("q", "app.quit_app", "quit"),
        Binding("question_mark", "app.help", "help", key_display="?"),
    ]

    def __init__(
        self, sub_id: str, snap: EngineSnapshot | None = None, results: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.sub_id = sub_id
        self._initial = (snap, results)
        self._board: list[tuple[dict[str, Any], float]] | None = None
        self._fills_from_results = False
        self._plotted: tuple[Any, ...] | None = None
        self._priced: tuple[Any, ...] | None = None
        self._live_fills: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        """Position and leaderboard on top, fills and the equity plot below."""
        with Horizontal(id="detail-top"):
            yield Static("", id="position", markup=False, classes="pane")
            yield DataTable[str](id="leaderboard", cursor_type="row", zebra_stripes=True, classes="pane")
        yield SeriesPlot(id="price-plot", classes="pane")
        with Horizontal(id="detail-bottom"):
            yield DataTable[Text](id="fills", cursor_type="row", zebra_stripes=True, classes="pane")
            yield SeriesPlot(id="detail-plot", classes="pane")
        yield Footer()

    def on_mount(self) -> None:
        """Columns and titles."""
        self.query_one("#position").border_title = f"Subaccount {self.sub_id}"
        board = self.query_one("#leaderboard", DataTable)
        board.border_title = "Optimizer leaderboard"
        board.add_columns("#", "score", "parameters")
        fills = self.query_one("#fills", DataTable)
        fills.border_title = "Fills"
        for name in FILL_COLUMNS:
            fills.add_column(name, key=name)
        snap, results = self._initial
        if snap is not None:
            self.call_after_refresh(self.show, snap, results)

    def show(self, snap: EngineSnapshot, results: Mapping[str, Any] | None) -> None:
        """Refresh from a snapshot and (once finished) the results document."""
        row = next((r for r in snap.subaccounts if r.id == self.sub_id), None)
        if row is None or not self.is_mounted:
            return
        self.query_one("#position", Static).update(position_text(row))
        self._show_board(snap.leaderboards.get(self.sub_id, []))
        self._show_fills(row, snap, results)
        self._plot(snap, results)
        self._price(snap)

    def _show_board(self, board: list[tuple[dict[str, Any], float]]) -> None:
        if board == self._board:
            return
        self._board = list(board)
        table = self.query_one("#leaderboard", DataTable)
        table.clear()
        for rank, (params, score) in enumerate(board, 1):
            table.add_row(str(rank), fmt_num(score, 4), fmt_params(params))
        table.border_subtitle = f"{len(board)} kept" if board else "no optimization (fixed parameters)"

    def _show_fills(self, row: SubaccountRow, snap: EngineSnapshot, results: Mapping[str, Any] | None) -> None:
        table = self.query_one("#fills", DataTable)
        entry = subaccount_result(results, self.sub_id)
        if entry is None:  # while running: the snapshot's latest fills
            fills = snap.recent_fills.get(self.sub_id, ())
            key = (len(fills), fills[-1:])
            if key == self._live_fills:
                return
            self._live_fills = key
            table.clear()
            for fill in fills:
                table.add_row(*_cells(live_fill_cells(fill)))
            table.border_subtitle = f"latest {len(fills)} of {row.fills}" if fills else "no fills yet"
            return
        if self._fills_from_results:
            return
        self._fills_from_results = True
        table.clear()
        fills = entry.get("fills", [])
        for fill in fills:
            table.add_row(*_cells(fill_cells(fill)))
        table.border_subtitle = f"{len(fills)} fills"

    def _price(self, snap: EngineSnapshot) -> None:
        """The latest candles' close with the strategy's plot indicators (panels on the right axis)."""
        chart = snap.charts.get(self.sub_id)
        key = (chart.times_ms[-1:] if chart else None, len(chart.times_ms) if chart else 0, self.app.theme)
        if key == self._priced:
            return
        self._priced = key
        widget = self.query_one("#price-plot", SeriesPlot)
        widget.border_title = "Price and indicators"
        if chart is None or not chart.times_ms:
            widget.show([], ([], []), "no candles yet")
            return
        x = days_since(chart.times_ms, chart.times_ms[0])
        lines = [Line(x, chart.close, "close", theme_rgb(self.app, "primary"))]
        for (name, overlay, values), var in zip(chart.indicators, INDICATOR_COLORS, strict=False):
            xs, ys = _finite(x, values)
            if ys:
                lines.append(
                    Line(
                        xs, ys, name if overlay else f"{name} (right)", theme_rgb(self.app, var), right_axis=not overlay
                    )
                )
        widget.border_subtitle = ", ".join(n for n, _, _ in chart.indicators) or "no plot indicators"
        widget.show(lines, time_ticks(list(chart.times_ms)))

    def _plot(self, snap: EngineSnapshot, results: Mapping[str, Any] | None) -> None:
        curves = optimization_curves(results, self.sub_id)
        series = snap.equity_by_subaccount.get(self.sub_id, ())
        key = (len(series), series[-1:], curves is not None, self.app.theme)
        if key == self._plotted:
            return
        self._plotted = key
        widget = self.query_one("#detail-plot", SeriesPlot)
        if curves is not None:
            widget.border_title = "Live-optimized vs fixed parameters"
            x = days_since(curves.times_ms, curves.times_ms[0])
            named = (
                ("live-opt", curves.live, "success"),
                ("best fixed", curves.best, "warning"),
                ("median", curves.median, "secondary"),
                ("worst", curves.worst, "error"),
            )
            lines = [Line(x, values, name, theme_rgb(self.app, var)) for name, values, var in named]
            widget.show(lines, time_ticks(curves.times_ms))
            return
        widget.border_title = "Equity (quote)"
        times = snap.equity_times_ms
        if not times:
            widget.show([], ([], []), "no equity yet")
            return
        x = days_since(times, times[0])
        widget.show([Line(x, series, None, theme_rgb(self.app, "primary"))], time_ticks(times))
