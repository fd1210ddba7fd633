"""The detail screen of one subaccount: position and PnL, leaderboard, and tabs for chart, fills, trades, equity.

The full history (every fill, the closed trades) is loaded by a thread worker, never on the UI thread:
a market maker with 20k fills opens at once, and Escape works while it loads.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from kektrade.control.history import (
    PnlSummary,
    TradeRow,
    closed_trades,
    fill_row,
    pnl_summary,
    subaccount_fills,
)
from kektrade.engine.snapshot import EngineSnapshot, FillRow, SubaccountRow
from kektrade.tui.candles import CandlePlot
from kektrade.tui.charts import days_since, optimization_curves, time_ticks
from kektrade.tui.formatting import fmt_num, fmt_params, fmt_pct, fmt_price, fmt_qty, fmt_signed
from kektrade.tui.palette import theme_rgb
from kektrade.tui.panes.history import (
    FILL_COLUMNS,
    FILL_RIGHT,
    TRADE_COLUMNS,
    TRADE_RIGHT,
    PagedTable,
    fill_cells,
    trade_cells,
)
from kektrade.tui.plot import Line, SeriesPlot

INDICATOR_COLORS = ("warning", "secondary", "accent", "foreground")
RELOAD_EVERY_S = 5.0  # while a run goes on, the history is read again at most this often


def position_text(row: SubaccountRow, summary: PnlSummary | None) -> str:
    """The position box's lines, short enough for half of an 80-column terminal."""
    cur = row.settle_currency
    digits = 4 if cur in ("BTC", "ETH") else 2
    lines = [
        f"{row.pair} · {row.strategy.removesuffix('Strategy')} · {row.status}" + (" !" if row.error else ""),
        f"pos {fmt_qty(row.contracts)} @ {fmt_price(row.entry_price)} · mark {fmt_price(row.mark_price)}",
        f"liq {fmt_price(row.liquidation_price)} · UPNL {fmt_signed(row.unrealized_pnl, digits)} {cur}",
        f"equity {fmt_num(row.equity, digits)} {cur}"
        + (f" ({fmt_num(row.equity_quote)} quote)" if cur != "USDT" else ""),
    ]
    if summary is not None:
        lines.append(
            f"PnL {fmt_signed(summary.pnl)} ({fmt_pct(summary.return_pct)})"
            f" · DD {fmt_pct(summary.drawdown_pct)} max {fmt_pct(summary.max_drawdown_pct)}"
        )
        lines.append(f"trades {summary.trades} closed, {summary.win_rate_pct:.0f}% won · fills {row.fills}")
    if row.error:
        lines.append(f"error {row.error}")
    lines.append(f"params {fmt_params(row.parameters)}")
    return "\n".join(lines)


class DetailScreen(Screen[None]):
    """Everything about one subaccount; follows new snapshots while it is shown."""

    BINDINGS = [
        Binding("escape,backspace", "app.pop_screen", "back"),
        Binding("1", "tab('chart')", "chart"),
        Binding("2", "tab('fills')", "fills"),
        Binding("3", "tab('trades')", "trades"),
        Binding("4", "tab('equity')", "equity"),
        Binding("plus,equals_sign", "zoom(0.67)", "zoom in", key_display="+"),
        Binding("minus", "zoom(1.5)", "out", key_display="-"),
        Binding("left_square_bracket", "pan(1)", "earlier", key_display="["),
        Binding("right_square_bracket", "pan(-1)", "later", key_display="]"),
        Binding("q", "app.quit_app", "quit", show=False),
        Binding("question_mark", "app.help", "help", key_display="?", show=False),
    ]

    def __init__(
        self,
        sub_id: str,
        snap: EngineSnapshot | None = None,
        results: Mapping[str, Any] | None = None,
        db_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.sub_id = sub_id
        self.db_path = db_path  # the run database, read while the run has no results yet
        self._initial = (snap, results)
        self._board: list[tuple[dict[str, Any], float]] | None = None
        self._note: str | None = None
        self._plotted: tuple[Any, ...] | None = None
        self._snap: EngineSnapshot | None = None
        self.fills: tuple[FillRow, ...] = ()
        self.trades: tuple[TradeRow, ...] = ()
        self.summary: PnlSummary | None = None
        self.loads = 0  # history loads finished (tests wait for it)
        self._loaded_key: object = None
        self._last_load = float("-inf")

    def compose(self) -> ComposeResult:
        """Position and leaderboard on top, the tabs below."""
        with Horizontal(id="detail-top"):
            yield Static("", id="position", markup=False, classes="pane")
            yield DataTable[str](id="leaderboard", cursor_type="row", zebra_stripes=True, classes="pane")
        with TabbedContent(id="detail-tabs"):
            with TabPane("1 Chart", id="chart"):
                yield CandlePlot(id="price-plot")
            with TabPane("2 Fills", id="fills-tab"):
                yield PagedTable[FillRow](FILL_COLUMNS, FILL_RIGHT, fill_cells, id="fills")
            with TabPane("3 Trades", id="trades-tab"):
                yield PagedTable[TradeRow](TRADE_COLUMNS, TRADE_RIGHT, trade_cells, id="trades")
            with TabPane("4 Equity", id="equity-tab"):
                yield SeriesPlot(id="detail-plot")
        yield Footer()

    def on_mount(self) -> None:
        """Titles; the first draw and history load."""
        self.query_one("#position").border_title = f"Subaccount {self.sub_id}"
        board = self.query_one("#leaderboard", DataTable)
        board.border_title = "Optimizer leaderboard"
        board.add_columns("#", "score", "parameters")
        snap, results = self._initial
        if snap is not None:
            self.call_after_refresh(self.show, snap, results)

    # -- keys ----------------------------------------------------------------------------------------

    def action_tab(self, name: str) -> None:
        """Switch to a tab."""
        ids = {"chart": "chart", "fills": "fills-tab", "trades": "trades-tab", "equity": "equity-tab"}
        self.query_one(TabbedContent).active = ids[name]

    def action_zoom(self, factor: float) -> None:
        """Show fewer (factor < 1) or more candles."""
        plot = self.query_one(CandlePlot)
        plot.set_window(plot.window.zoom(factor, plot.length))

    def action_pan(self, direction: int) -> None:
        """Move the window a quarter of its width back (1) or forward (-1) in time."""
        plot = self.query_one(CandlePlot)
        plot.set_window(plot.window.pan(direction * max(plot.window.size // 4, 1), plot.length))

    # -- data ----------------------------------------------------------------------------------------

    def show(self, snap: EngineSnapshot, results: Mapping[str, Any] | None) -> None:
        """Refresh from a snapshot and (once finished) the results document."""
        row = next((r for r in snap.subaccounts if r.id == self.sub_id), None)
        if row is None or not self.is_mounted:
            return
        self._snap = snap
        self.query_one("#position", Static).update(position_text(row, self.summary))
        self._show_board(snap.leaderboards.get(self.sub_id, []), row.optimizer_note)
        self._maybe_load(row, snap, results)
        self._plot(snap, results)
        self._price(snap)

    def _maybe_load(self, row: SubaccountRow, snap: EngineSnapshot, results: Mapping[str, Any] | None) -> None:
        key = ("results" if results else "live", row.fills)
        if key == self._loaded_key:
            return
        now = time.monotonic()
        if results is None and now - self._last_load < RELOAD_EVERY_S and self._loaded_key is not None:
            return
        self._loaded_key, self._last_load = key, now
        self._load(key, snap, results, self.db_path if results is None else None)

    @work(thread=True, exclusive=True, group="history")
    def _load(self, key: object, snap: EngineSnapshot, results: Mapping[str, Any] | None, db_path: Path | None) -> None:
        """Read every fill, build the rows and the closed trades (worker thread), then hand them over."""
        fills = subaccount_fills(self.sub_id, results, db_path, snap)
        rows = [fill_row(f) for f in reversed(fills)]
        trades = closed_trades(fills)
        summary = pnl_summary(snap.equity_by_subaccount.get(self.sub_id, ()), trades)
        self.app.call_from_thread(self._loaded, key, rows, trades, summary)

    def _loaded(self, key: object, rows: Sequence[FillRow], trades: Sequence[TradeRow], summary: PnlSummary) -> None:
        if not self.is_mounted:
            return
        self.fills, self.trades, self.summary = tuple(rows), tuple(trades), summary
        fills_table = self.query_one("#fills", PagedTable)
        fills_table.load(self.fills, key)
        fills_table.border_subtitle = f"{len(rows):,} fills, newest first"
        self.query_one("#trades", PagedTable).load(self.trades, key)
        self.loads += 1
        if self._snap is not None:
            self._price(self._snap, force=True)
            row = next((r for r in self._snap.subaccounts if r.id == self.sub_id), None)
            if row is not None:
                self.query_one("#position", Static).update(position_text(row, summary))

    def _show_board(self, board: list[tuple[dict[str, Any], float]], note: str | None = None) -> None:
        if board == self._board and note == self._note:
            return
        self._board, self._note = list(board), note
        table = self.query_one("#leaderboard", DataTable)
        table.clear()
        for rank, (params, score) in enumerate(board, 1):
            table.add_row(str(rank), fmt_num(score, 4), fmt_params(params))
        if note:  # the latest selection chose nothing: say why (best score, what ruled it out)
            table.add_row("-", "-", note)
        empty = "standing aside" if note else "no optimization (fixed parameters)"
        table.border_subtitle = f"{len(board)} kept" if board else empty
        table.set_class(not board, "-empty")

    def _price(self, snap: EngineSnapshot, force: bool = False) -> None:
        """Candles, indicators and fill markers of the latest snapshot's chart."""
        chart = snap.charts.get(self.sub_id)
        plot = self.query_one(CandlePlot)
        if chart is plot.chart and not force:
            return
        colors = {
            "up": theme_rgb(self.app, "success"),
            "down": theme_rgb(self.app, "error"),
            "buy": theme_rgb(self.app, "primary"),
            "sell": theme_rgb(self.app, "warning"),
        }
        for n, var in enumerate(INDICATOR_COLORS):
            colors[f"ind{n}"] = theme_rgb(self.app, var)
        fills = self.fills or tuple(reversed(snap.recent_fills.get(self.sub_id, ())))
        if snap.message.startswith("stored run"):
            plot.empty_text = "the candles of this stored run could not be loaded again (see the log)"
        plot.show(chart, fills, colors)

    def _plot(self, snap: EngineSnapshot, results: Mapping[str, Any] | None) -> None:
        curves = optimization_curves(results, self.sub_id)
        series = snap.equity_by_subaccount.get(self.sub_id, ())
        key = (len(series), series[-1:], curves is not None, self.app.theme)
        if key == self._plotted:
            return
        self._plotted = key
        widget = self.query_one("#detail-plot", SeriesPlot)
        widget.legend = curves is not None
        if curves is not None:
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
        times = snap.equity_times_ms
        if not times:
            widget.show([], ([], []), "no equity yet")
            return
        x = days_since(times, times[0])
        widget.show([Line(x, series, None, theme_rgb(self.app, "primary"))], time_ticks(times))
