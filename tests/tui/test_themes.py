"""Theme files: the shipped ones load; bad files fail naming the file; the CSS uses only variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kektrade.tui.themes import ThemeError, check_theme_name, discover_themes, load_theme_file, load_themes

REPO_ROOT = Path(__file__).resolve().parents[2]
TCSS = REPO_ROOT / "kektrade" / "tui" / "kektrade.tcss"


def test_shipped_themes_load() -> None:
    themes = {t.name: t for t in load_themes(REPO_ROOT / "themes")}
    assert {"kektrade-dark", "kektrade-light"} <= set(themes)
    assert themes["kektrade-dark"].dark is True
    assert themes["kektrade-light"].dark is False
    assert themes["kektrade-dark"].primary == "#3fa7d6"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("primary = ", "not valid TOML"),
        ('primary = "#fff"\nsparkle = "#000"', "unknown field 'sparkle'"),
        ('secondary = "#fff"', "missing required field 'primary'"),
        ('primary = "not-a-colour"', "primary: not a colour"),
        ('primary = "#fff"\ndark = "yes"', "dark: expected true or false"),
        ('primary = "#fff"\n[variables]\n"footer-key-foreground" = "nope"', "variables.footer-key-foreground"),
    ],
)
def test_bad_theme_file_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ThemeError) as err:
        load_theme_file(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_configured_folder_overrides_shipped_themes(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "kektrade-dark"\nprimary = "#123456"\n')
    themes = {t.name: t for t in discover_themes(tmp_path)}
    assert themes["kektrade-dark"].primary == "#123456"
    assert "kektrade-light" in themes  # still found in the shipped folder


def test_unknown_theme_name_lists_choices() -> None:
    themes = load_themes(REPO_ROOT / "themes")
    check_theme_name("kektrade-light", themes, ["textual-dark"])
    check_theme_name("textual-dark", themes, ["textual-dark"])
    with pytest.raises(ThemeError, match=r"tui\.theme: no theme named .neon.; available: kektrade-dark"):
        check_theme_name("neon", themes, ["textual-dark"])


def test_css_uses_only_theme_variables() -> None:
    css = re.sub(r"/\*.*?\*/", "", TCSS.read_text(), flags=re.S)
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b", css), "hex colour in the TUI CSS"
    assert not re.search(r"\b(rgb|hsl)a?\(", css), "rgb()/hsl() colour in the TUI CSS"
    colour_props = re.findall(
        r"^\s*(?:color|background|border|border-top|border-bottom|[\w-]*-color):\s*([^;]+);", css, flags=re.M
    )
    for value in colour_props:
        words = [w for w in value.split() if not re.fullmatch(r"\d+%?|none|round|thick|solid|tall|wide", w)]
        assert all(w.startswith("$") for w in words), f"non-variable colour {value!r}"
