"""Rich styles taken from the current theme's variables (cells and plots cannot use CSS)."""

from __future__ import annotations

from rich.style import Style
from textual.app import App
from textual.color import Color


def theme_color(app: App[object], variable: str) -> Color:
    """The theme variable as a Textual colour (``foreground`` when the theme lacks it)."""
    variables = app.theme_variables
    return Color.parse(variables.get(variable) or variables["foreground"])


def theme_style(app: App[object], variable: str, bold: bool = False, dim: bool = False) -> Style:
    """A Rich style in the theme variable's colour."""
    return Style(color=theme_color(app, variable).hex, bold=bold, dim=dim)


def theme_rgb(app: App[object], variable: str) -> tuple[int, int, int]:
    """The theme variable as an (r, g, b) tuple (plotext series colours)."""
    return theme_color(app, variable).rgb


SERIES_VARIABLES = ("primary", "accent", "success", "secondary", "warning", "error")


def series_rgb(app: App[object], index: int) -> tuple[int, int, int]:
    """Colour of the ``index``-th plot series, cycling through the theme's accent colours."""
    return theme_rgb(app, SERIES_VARIABLES[index % len(SERIES_VARIABLES)])
