"""The results screen: the controller's results table (or the error) once the run has ended."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import ModalScreen
from textual.widgets import Static


class ResultsScreen(ModalScreen[None]):
    """Shows the results text; escape or r closes it, the app stays open until q."""

    BINDINGS = [Binding("escape,r", "close", "close"), Binding("q", "app.quit_app", "quit")]

    def __init__(self, title: str, text: str, failed: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.failed = failed

    def compose(self) -> ComposeResult:
        """The table in a scrollable box (wide tables scroll sideways on small terminals)."""
        with ScrollableContainer(id="results-box", classes="failed" if self.failed else ""):
            yield Static(self.text, markup=False, id="results-text")

    def on_mount(self) -> None:
        """Titles."""
        box = self.query_one("#results-box")
        box.border_title = self.title_text
        box.border_subtitle = "esc: back · q: quit"

    def action_close(self) -> None:
        """Back to the main screen."""
        self.dismiss(None)
