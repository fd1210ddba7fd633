"""The meta-strategy equity pane: returns in % per series, drawdown, toggleable series, legend in the border."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import SelectionList

from kektrade.engine.snapshot import EngineSnapshot
from kektrade.tui.charts import days_since, drawdown_pct, optimization_curves, returns_pct, time_ticks
from kektrade.tui.palette import series_rgb, theme_rgb
from kektrade.tui.plot import Line, SeriesPlot

ACCOUNT, DRAWDOWN = "account", "drawdown"


class EquityPane(Horizontal):
    """A series list (click or space toggles) beside a plotext plot; replots only when data changed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.selected: str | None = None
        self._snap: EngineSnapshot | None = None
        self._results: Mapping[str, Any] | None = None
        self._drawn: tuple[Any, ...] | None = None
        self.replots = 0

    def compose(self) -> ComposeResult:
        """The series list and the plot."""
        yield SelectionList[str]((ACCOUNT, ACCOUNT, True), (DRAWDOWN, DRAWDOWN, True), id="series")
        yield SeriesPlot(id="equity-plot")

    def on_mount(self) -> None:
        """Title; replot on theme changes (series colours come from the theme)."""
        self.border_title = "Meta-strategy equity"
        self.app.theme_changed_signal.subscribe(self, lambda _t: self._replot(force=True))

    @property
    def enabled(self) -> tuple[str, ...]:
        """Series switched on."""
        return tuple(self.query_one(SelectionList).selected)

    def set_series(self, sub_ids: list[str], results: Mapping[str, Any] | None) -> None:
        """Offer one entry per subaccount (and optimization curves once results have them)."""
        self._results = results
        box: SelectionList[str] = self.query_one(SelectionList)
        have = {str(box.get_option_at_index(i).id) for i in range(box.option_count)}
        wanted = list(sub_ids)
        for sid in sub_ids:
            if optimization_curves(results, sid) is not None:
                wanted += [f"{sid}:live", f"{sid}:best"]
        for value in wanted:
            if value not in have:
                label = value.replace(":live", " live-opt").replace(":best", " best fixed")
                box.add_option((label, value, False))
                have.add(value)
        self._replot(force=True)

    def toggle(self, value: str) -> None:
        """Switch a series on or off."""
        self.query_one(SelectionList).toggle(value)

    @on(SelectionList.SelectedChanged)
    def _toggled(self) -> None:
        self._replot()

    def show(self, snap: EngineSnapshot, selected: str | None) -> None:
        """Use a new snapshot; replots only when its equity or the selection changed."""
        self._snap = snap
        self.selected = selected
        self._replot()

    def _replot(self, force: bool = False) -> None:
        snap = self._snap
        if snap is None or not self.is_mounted:
            return
        key = (
            len(snap.equity_times_ms),
            snap.equity_times_ms[-1:],
            snap.equity_total[-1:],
            self.enabled,
            self.selected,
            self._results is not None,
        )
        if key == self._drawn and not force:
            return
        self._drawn = key
        self.replots += 1
        self._draw(snap)

    def _draw(self, snap: EngineSnapshot) -> None:
        """Every series as a return in % from its own start (account ~30k and subaccounts ~10k compare)."""
        plot = self.query_one(SeriesPlot)
        times = snap.equity_times_ms
        if not times:
            plot.show([], ([], []), "no equity yet")
            self.border_subtitle = ""
            return
        x = days_since(times, times[0])
        enabled = set(self.enabled)
        lines: list[Line] = []
        if ACCOUNT in enabled:
            lines.append(Line(x, returns_pct(snap.equity_total), "account", theme_rgb(self.app, "primary")))
        for n, (sid, series) in enumerate(sorted(snap.equity_by_subaccount.items())):
            if sid in enabled or sid == self.selected:
                lines.append(Line(x, returns_pct(series), sid, series_rgb(self.app, n + 1)))
        lines += self._curve_lines(times[0], enabled)
        if DRAWDOWN in enabled:
            dd = drawdown_pct(snap.equity_total)
            lines.append(Line(x, dd, "drawdown", theme_rgb(self.app, "error")))
        plot.show(lines, time_ticks(times))
        self.border_subtitle = legend_markup(lines)

    def _curve_lines(self, origin_ms: int, enabled: set[str]) -> list[Line]:
        lines: list[Line] = []
        for sid in sorted({v.split(":")[0] for v in enabled if ":" in v}):
            curves = optimization_curves(self._results, sid)
            if curves is None:
                continue
            x = days_since(curves.times_ms, origin_ms)
            if f"{sid}:live" in enabled:
                lines.append(Line(x, returns_pct(curves.live), f"{sid} live-opt", theme_rgb(self.app, "success")))
            if f"{sid}:best" in enabled:
                lines.append(Line(x, returns_pct(curves.best), f"{sid} best", theme_rgb(self.app, "warning")))
        return lines


def legend_markup(lines: list[Line]) -> str:
    """``■ account ■ mm_eth …`` in each series' colour: the legend sits in the border, off the data."""
    parts = [f"[rgb({r},{g},{b})]■[/] {escape(line.label or '')}" for line in lines for r, g, b in [line.color]]
    return " ".join(parts) + " (%)" if parts else ""
