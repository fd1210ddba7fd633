"""The kektrade Textual app: the main screen's panes, key actions and ``run_tui``."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.theme import BUILTIN_THEMES, Theme
from textual.widgets import DataTable, Footer

from kektrade.control.facade import RunController
from kektrade.control.notices import data_notices
from kektrade.engine.snapshot import EngineSnapshot
from kektrade.tui.logview import QueueLogHandler, attach_handler, detach_handler
from kektrade.tui.panes.equity import EquityPane
from kektrade.tui.panes.log import LogPane
from kektrade.tui.panes.orders import OrdersTable
from kektrade.tui.panes.status import StatusBar
from kektrade.tui.panes.subaccounts import SubaccountsTable
from kektrade.tui.screens.confirm import ConfirmScreen
from kektrade.tui.screens.detail import DetailScreen
from kektrade.tui.screens.help import HelpScreen
from kektrade.tui.screens.results import ResultsScreen
from kektrade.tui.themes import ThemeError, check_theme_name, discover_themes

PAUSABLE = ("running", "standing_aside", "aside")
RESUMABLE = ("paused", "failed")


class KektradeApp(App[int]):
    """Main screen of a run: subaccounts, open orders, equity, log and status bar."""

    CSS_PATH = "kektrade.tcss"
    TITLE = "kektrade"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("p", "pause_selected", "pause/resume"),
        Binding("P", "pause_all", "all", key_display="P"),
        Binding("f", "flatten_selected", "flatten"),
        Binding("F", "flatten_all", "all", key_display="F"),
        Binding("c", "cancel_orders", "cancel orders"),
        Binding("e", "entries(False)", "no new positions", show=False),
        Binding("E", "entries(True)", "allow entries", show=False),
        Binding("enter", "detail", "detail"),
        Binding("slash", "search_log", "search", key_display="/"),
        Binding("l", "log_level", "level", show=False),
        Binding("a", "toggle_all_orders", "all orders", show=False),
        Binding("r", "results", "results", show=False),
        Binding("t", "next_theme", "theme"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit_app", "quit"),
    ]

    def __init__(
        self,
        controller: RunController,
        *,
        themes: list[Theme] | None = None,
        start_run: bool = True,
        clock: Callable[[], float] = time.monotonic,
        quit_wait_s: float = 5.0,
    ) -> None:
        super().__init__()
        self.controller = controller
        tui = controller.config.tui
        self.file_themes = themes if themes is not None else discover_themes(tui.themes_dir)
        self.start_run = start_run
        self.clock = clock
        self.quit_wait_s = quit_wait_s
        self.started_at = clock()
        self.log_handler = QueueLogHandler()
        self.selected: str | None = None
        self.show_all_orders = False
        self.ended = False
        self._last: EngineSnapshot | None = None
        self.ticks = 0
        web = controller.config.web
        self.web_url = f"http://{web.host}:{web.port}" if web.enabled else None

    def compose(self) -> ComposeResult:
        """Status bar, subaccounts, orders beside equity, log, footer."""
        yield StatusBar(id="status")
        yield SubaccountsTable(id="subaccounts", classes="pane")
        with Horizontal(id="middle"):
            yield OrdersTable(id="orders", classes="pane")
            yield EquityPane(id="equity", classes="pane")
        yield LogPane(self.log_handler, id="log", classes="pane")
        yield Footer()

    def on_mount(self) -> None:
        """Themes, the log handler, the engine thread and the refresh timer."""
        for theme in self.file_themes:
            self.register_theme(theme)
        self.theme = self.controller.config.tui.theme
        attach_handler(self.log_handler)
        if self.start_run:
            self.controller.start()
        for notice in data_notices(self.controller.config):
            self.notify(notice, severity="warning", timeout=15)
        self.tick()
        self.set_interval(1.0 / self.controller.config.tui.refresh_hz, self.tick)
        self.query_one(SubaccountsTable).focus()

    def on_unmount(self) -> None:
        """Detach the log handler."""
        detach_handler(self.log_handler)

    # -- refresh -----------------------------------------------------------------------------------

    def tick(self) -> None:
        """Draw what changed since the last tick: log lines, panes of a new snapshot, the status bar."""
        self.ticks += 1
        if not self.is_running:
            return
        self.query_one(LogPane).pull()
        snap = self.controller.snapshot()
        self.query_one(StatusBar).show(snap, self.clock() - self.started_at, self.web_url)
        if snap is not self._last:
            self._last = snap
            self._draw(snap)
        if self.controller.finished and not self.ended:
            self._on_end()

    def _draw(self, snap: EngineSnapshot) -> None:
        table = self.query_one(SubaccountsTable)
        table.show(snap.subaccounts, snap.equity_by_subaccount)
        if self.selected is None:
            self.selected = table.selected_id
        self._draw_dependents(snap)
        for screen in self.screen_stack:
            if isinstance(screen, DetailScreen):
                screen.show(snap, self.controller.results)

    def _draw_dependents(self, snap: EngineSnapshot) -> None:
        orders = self.query_one(OrdersTable)
        orders.only = None if self.show_all_orders else self.selected
        orders.show(snap.orders, snap.now_ms)
        self.query_one(EquityPane).show(snap, self.selected)

    def _on_end(self) -> None:
        self.ended = True
        snap = self.controller.snapshot()
        self.query_one(EquityPane).set_series([r.id for r in snap.subaccounts], self.controller.results)
        self._draw(snap)
        if self.controller.error is not None:
            self.notify(f"run failed: {self.controller.error}", severity="error", timeout=10)
        else:
            self.notify(f"run {snap.state}; r shows the results, q quits", timeout=6)
        self.action_results()

    @on(DataTable.RowHighlighted, "#subaccounts")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.selected = event.row_key.value
        if self._last is not None:
            self._draw_dependents(self._last)

    @on(DataTable.RowSelected, "#subaccounts")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.selected = event.row_key.value
        self.action_detail()

    # -- commands ----------------------------------------------------------------------------------

    def _commandable(self) -> bool:
        if self.controller.finished:
            self.notify("the run has ended; it takes no more commands", severity="warning")
            return False
        return True

    def _status(self, sub_id: str) -> str:
        return self.query_one(SubaccountsTable).cell_text(sub_id, "status").split()[0]

    def action_pause_selected(self) -> None:
        """Pause the selected subaccount, or resume it when paused or failed."""
        sid = self.selected
        if sid is None or not self._commandable():
            return
        status = self._status(sid)
        if status in RESUMABLE:
            self.controller.resume(sid)
            self.notify(f"resume {sid} sent")
        elif status in PAUSABLE:
            self.controller.pause(sid)
            self.notify(f"pause {sid} sent")
        else:
            self.notify(f"{sid} is {status}: nothing to pause or resume", severity="warning")

    def action_pause_all(self) -> None:
        """Pause every subaccount; resume all when none is running."""
        if not self._commandable() or self._last is None:
            return
        if any(r.status in PAUSABLE for r in self._last.subaccounts):
            self.controller.pause(None)
            self.notify("pause all sent")
        else:
            self.controller.resume(None)
            self.notify("resume all sent")

    def _confirm_then(self, question: str, command: Callable[[], None], done: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                command()
                self.notify(done)
            else:
                self.notify("cancelled")

        self.push_screen(ConfirmScreen(question, "Flatten"), answered)

    def action_flatten_selected(self) -> None:
        """Ask, then cancel the selected subaccount's orders and close its position at market."""
        sid = self.selected
        if sid is None or not self._commandable():
            return
        self._confirm_then(
            f"Flatten {sid}? Its orders are cancelled and its position is closed at market.",
            lambda: self.controller.flatten(sid),
            f"flatten {sid} sent",
        )

    def action_flatten_all(self) -> None:
        """Ask, then flatten every subaccount."""
        if not self._commandable():
            return
        self._confirm_then(
            "Flatten ALL subaccounts? Every order is cancelled and every position closed at market.",
            lambda: self.controller.flatten(None),
            "flatten all sent",
        )

    def action_cancel_orders(self) -> None:
        """Cancel the selected subaccount's open orders."""
        sid = self.selected
        if sid is None or not self._commandable():
            return
        self.controller.cancel_orders(sid)
        self.notify(f"cancel orders of {sid} sent")

    def action_entries(self, allowed: bool) -> None:
        """Refuse (``e``) or allow again (``E``) new positions on the selected subaccount; exits still work."""
        sid = self.selected
        if sid is None or not self._commandable():
            return
        self.controller.allow_entries(sid, allowed)
        self.notify(f"{'allow entries' if allowed else 'no new positions'} on {sid} sent")

    # -- views -------------------------------------------------------------------------------------

    def action_detail(self) -> None:
        """Open the detail screen of the selected subaccount."""
        if self.selected is None or isinstance(self.screen, DetailScreen):
            return
        paths = self.controller.paths
        db_path = paths.db_path if paths is not None else None
        self.push_screen(DetailScreen(self.selected, self.controller.snapshot(), self.controller.results, db_path))

    def action_help(self) -> None:
        """Show the key reference."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_results(self) -> None:
        """Show the results (or the error) once the run has ended."""
        if not self.controller.finished:
            self.notify("results come when the run ends", severity="warning")
            return
        if isinstance(self.screen, ResultsScreen):
            return
        error = self.controller.error
        if error is not None:
            self.push_screen(ResultsScreen("Run failed", f"{type(error).__name__}: {error}", failed=True))
        else:
            state = self.controller.snapshot().state
            self.push_screen(ResultsScreen(f"Results · run {state}", self.controller.results_text()))

    def action_next_theme(self) -> None:
        """Switch to the next theme of the themes folder."""
        names = [t.name for t in self.file_themes] or ["textual-dark", "textual-light"]
        index = names.index(self.theme) + 1 if self.theme in names else 0
        self.theme = names[index % len(names)]
        self.notify(f"theme {self.theme}")

    def action_search_log(self) -> None:
        """Open the log search box."""
        self.query_one(LogPane).open_search()

    def action_log_level(self) -> None:
        """Cycle the log pane's minimum level."""
        self.notify(f"log level ≥ {self.query_one(LogPane).cycle_level()}")

    def action_toggle_all_orders(self) -> None:
        """Show the open orders of all subaccounts or only the selected one."""
        self.show_all_orders = not self.show_all_orders
        if self._last is not None:
            self._draw_dependents(self._last)

    # -- quitting ----------------------------------------------------------------------------------

    @property
    def exit_code(self) -> int:
        """0, or 1 when the run failed."""
        return 1 if self.controller.error is not None else 0

    def action_quit_app(self) -> None:
        """Quit; while the run is going, ask first, then stop it and wait briefly for its results."""
        if self.controller.finished:
            self.exit(self.exit_code)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.notify("stopping the run…")
                self._stop_and_exit()

        self.push_screen(ConfirmScreen("The run is still going. Stop it and quit?", "Stop and quit"), answered)

    @work(thread=True, exclusive=True, group="quit")
    def _stop_and_exit(self) -> None:
        self.controller.stop()
        self.controller.wait(self.quit_wait_s)
        self.call_from_thread(self.exit, self.exit_code)


def run_tui(controller: RunController, **app_options: Any) -> int:
    """Start the controller's run inside the TUI; 0 when it ends well, 1 on a failed run, 2 on a bad theme."""
    tui = controller.config.tui
    try:
        themes = discover_themes(tui.themes_dir)
        check_theme_name(tui.theme, themes, list(BUILTIN_THEMES))
    except ThemeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = KektradeApp(controller, themes=themes, **app_options)
    app.run()
    return 1 if controller.error is not None else 0
