"""Theme files (TOML with Textual ``Theme`` fields) loaded from a folder and registered with the app."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

COLOR_FIELDS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "warning",
    "error",
    "success",
)
OTHER_FIELDS = ("name", "dark", "luminosity_spread", "text_alpha", "variables")
THEME_SUFFIX = ".toml"


class ThemeError(ValueError):
    """A theme file that cannot be used, or a theme name that matches no theme."""


def _check_color(path: Path, field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{path}: {field}: expected a colour string, got {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"{path}: {field}: not a colour: {value!r}") from None
    return value


def _check_fields(path: Path, data: dict[str, Any]) -> None:
    unknown = sorted(set(data) - set(COLOR_FIELDS) - set(OTHER_FIELDS))
    if unknown:
        known = ", ".join((*COLOR_FIELDS, *OTHER_FIELDS))
        raise ThemeError(f"{path}: unknown field {unknown[0]!r}; known fields: {known}")
    if "primary" not in data:
        raise ThemeError(f"{path}: missing required field 'primary'")
    if not isinstance(data.get("dark", True), bool):
        raise ThemeError(f"{path}: dark: expected true or false, got {data['dark']!r}")
    for key in ("luminosity_spread", "text_alpha"):
        if key in data and not isinstance(data[key], int | float):
            raise ThemeError(f"{path}: {key}: expected a number, got {data[key]!r}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeError(f"{path}: variables: expected a table of strings")


def load_theme_file(path: Path) -> Theme:
    """Parse one theme file; ThemeError naming the file (and field) when it is not a valid theme."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{path}: cannot read the theme file: {exc}") from None
    _check_fields(path, data)
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ThemeError(f"{path}: name: expected a non-empty string, got {name!r}")
    colors: dict[str, str | None] = {f: (_check_color(path, f, data[f]) if f in data else None) for f in COLOR_FIELDS}
    for key, value in data.get("variables", {}).items():
        if key.endswith(("-foreground", "-background", "-color")):
            _check_color(path, f"variables.{key}", value)
    return Theme(
        name=name,
        primary=str(colors["primary"]),
        secondary=colors["secondary"],
        accent=colors["accent"],
        foreground=colors["foreground"],
        background=colors["background"],
        surface=colors["surface"],
        panel=colors["panel"],
        boost=colors["boost"],
        warning=colors["warning"],
        error=colors["error"],
        success=colors["success"],
        dark=bool(data.get("dark", True)),
        luminosity_spread=float(data.get("luminosity_spread", 0.15)),
        text_alpha=float(data.get("text_alpha", 0.95)),
        variables=dict(data.get("variables", {})),
    )


def load_themes(folder: Path) -> list[Theme]:
    """Every ``*.toml`` theme in ``folder`` (sorted by file name); empty when the folder is missing."""
    if not folder.is_dir():
        return []
    return [load_theme_file(p) for p in sorted(folder.glob(f"*{THEME_SUFFIX}"))]


def theme_dirs(themes_dir: str | Path, cwd: Path | None = None) -> list[Path]:
    """Folders searched for themes: ``themes_dir`` (relative to ``cwd``), then the source checkout's."""
    folder = Path(themes_dir)
    if not folder.is_absolute():
        folder = (cwd or Path.cwd()) / folder
    shipped = Path(__file__).resolve().parents[2] / "themes"
    return [folder] if shipped == folder.resolve() else [folder, shipped]


def discover_themes(themes_dir: str | Path, cwd: Path | None = None) -> list[Theme]:
    """Themes of the configured folder, plus shipped ones it does not override (first name wins)."""
    found: dict[str, Theme] = {}
    for folder in theme_dirs(themes_dir, cwd):
        for theme in load_themes(folder):
            found.setdefault(theme.name, theme)
    return list(found.values())


def check_theme_name(name: str, themes: list[Theme], builtin: list[str]) -> None:
    """ThemeError listing the choices when ``name`` is neither a loaded nor a built-in theme."""
    names = [t.name for t in themes]
    if name not in names and name not in builtin:
        choices = ", ".join(names + sorted(builtin))
        raise ThemeError(f"tui.theme: no theme named {name!r}; available: {choices}")
