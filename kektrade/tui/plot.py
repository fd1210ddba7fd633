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


def spread_labels(labels: Sequence[str], width: int) -> str:
    """The labels spread evenly over ``width`` cells: first at the left edge, last at the right.

    Used as the x-axis line: plotext drops tick labels that collide, differently from render to render.
    """
    if not labels:
        return ""
    if len(labels) == 1 or width <= sum(len(label) + 1 for label in labels):
        return f"{labels[0]} → {labels[-1]}"
    cells = [" "] * width
    for i, label in enumerate(labels):
        centre = round(i * (width - 1) / (len(labels) - 1))
        start = min(max(centre - len(label) // 2, 0), width - len(label))
        cells[start : start + len(label)] = label
    return "".join(cells).rstrip()


class SeriesPlot(PlotextPlot):
    """Set ``lines`` and ``ticks`` with ``show``; the figure is rebuilt from them on each render.

    The x axis reads as clock times (``ticks``' labels spread under the plot) rather than plotext's
    numbers. Series labels are left to the caller (a legend
    outside the data, e.g. in the border) unless ``legend`` is set.
    """

    def __init__(self, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines: tuple[Line, ...] = ()
        self.ticks: tuple[list[float], list[str]] = ([], [])
        self.empty_title = ""
        self.y_label = ""
        self.legend = False

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
            label = line.label if self.legend else None
            plt.plot(list(line.x), list(line.y), label=label, color=line.color, yside=side)
        if self.lines:
            plt.xticks([], [])
            plt.xlabel(spread_labels(self.ticks[1], self.size.width - 8))
        if self.y_label and self.lines:
            plt.ylabel(self.y_label)
        return super().render()
