"""A plotext plot that keeps its series and draws them afresh at every render (at the final size)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import RenderResult
from textual_plotext import PlotextPlot


@dataclass(frozen=True, slots=True)
class Line:
    """One series of a plot."""

    x: Sequence[float]
    y: Sequence[float]
    label: str | None
    color: tuple[int, int, int]
    right_axis: bool = False


class SeriesPlot(PlotextPlot):
    """Set ``lines`` and ``ticks`` with ``show``; the figure is rebuilt from them on each render."""

    def __init__(self, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines: tuple[Line, ...] = ()
        self.ticks: tuple[list[float], list[str]] = ([], [])
        self.empty_title = ""

    def show(self, lines: Sequence[Line], ticks: tuple[list[float], list[str]], empty_title: str = "") -> None:
        """Replace the series and repaint."""
        self.lines = tuple(lines)
        self.ticks = ticks
        self.empty_title = empty_title
        self.refresh()

    def render(self) -> RenderResult:
        """Build the figure from the stored series at the current size."""
        plt = self.plt
        plt.clear_figure()
        if not self.lines:
            plt.title(self.empty_title)
        for line in self.lines:
            side = "right" if line.right_axis else "left"
            plt.plot(list(line.x), list(line.y), label=line.label, color=line.color, yside=side)
        labels = self.ticks[1]
        if labels:  # the axis counts days; its ends are named below (plotext's tick placement varies)
            plt.xlabel(f"days since {labels[0]} → {labels[-1]}")
        return super().render()
