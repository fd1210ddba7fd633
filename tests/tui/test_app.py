"""Pilot tests of the TUI against a real RunController running a small real backtest."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from kektrade.control.facade import RunController
from kektrade.engine.commands import StopRun
from kektrade.tui.app import KektradeApp
from kektrade.tui.panes.orders import OrdersTable
from kektrade.tui.panes.status import StatusBar
from kektrade.tui.screens.confirm import ConfirmScreen
from kektrade.tui.screens.detail import DetailScreen
from kektrade.tui.screens.help import HelpScreen
from kektrade.tui.screens.results import ResultsScreen

from .conftest import REPO_ROOT, make_controller
from .pilot import log_has, status_of, wait_for

SIZE = (120, 40)


def app_for(controller: RunController, **options: object) -> KektradeApp:
    """An app over ``controller`` that does not start it (the test decides when)."""
    return KektradeApp(controller, start_run=False, clock=lambda: 0.0, **options)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_finished_run_fills_panes_and_shows_results(finished: RunController) -> None:
    app = app_for(finished)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        assert finished.results_text() in str(app.screen.query_one("#results-text").render())
        await pilot.press("escape")
        assert status_of(app, "sma_btc") == "finished" and status_of(app, "mm_eth") == "finished"
        status = app.query_one(StatusBar).text
        assert "BACKTEST" in status and "finished" in status and "2024-01-04 00:00 UTC" in status
        await pilot.press("down")  # mm_eth: the market maker ends with resting quotes
        await wait_for(pilot, lambda: app.selected == "mm_eth")
        snap_orders = [o for o in finished.snapshot().orders if o.subaccount == "mm_eth"]
        shown = app.query_one(OrdersTable).shown_orders()
        assert len(shown) == len(snap_orders) > 0
        assert {o["side"] for o in shown} == {o.side for o in snap_orders}
        await pilot.press("q")  # finished: quits without asking
    assert app.return_value == 0


@pytest.mark.asyncio
async def test_pause_is_applied_by_the_engine(controller: RunController) -> None:
    app = app_for(controller)
    async with app.run_test(size=SIZE) as pilot:
        assert status_of(app, "sma_btc") == "running"
        await pilot.press("p")
        await wait_for(pilot, lambda: log_has(app, "command pause sma_btc"))
        controller.start()
        await wait_for(pilot, lambda: app.ended)
        await pilot.press("escape")
        assert status_of(app, "sma_btc") == "paused"
        assert status_of(app, "mm_eth") == "finished"
        assert log_has(app, "pause sma_btc")
        await pilot.press("p")  # the run has ended: nothing is sent
        await pilot.pause(0.3)
        assert not log_has(app, "command resume")


@pytest.mark.asyncio
async def test_pause_then_resume_while_running(tmp_path: Path, info_logging: None) -> None:
    # 8 engine chunks (1m candles), the market maker keeps the engine busy while sma_btc is paused,
    # and a 30 Hz UI: time to see the pause and send the resume before the end
    tui = {"themes_dir": str(REPO_ROOT / "themes"), "refresh_hz": 30}
    controller = make_controller(tmp_path, days=300.0, timeframe="1m", tui=tui)
    try:
        app = KektradeApp(controller, clock=lambda: 0.0)  # starts the run itself
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: controller.snapshot().state == "running")
            await pilot.press("p")
            await wait_for(pilot, lambda: status_of(app, "sma_btc") == "paused" or app.ended)
            assert status_of(app, "sma_btc") == "paused", "the run ended before the pause was applied"
            await pilot.press("p")
            await wait_for(pilot, lambda: log_has(app, "command resume sma_btc"))
            await wait_for(pilot, lambda: app.ended, timeout_s=60)
            assert log_has(app, "resume sma_btc")
            await pilot.press("escape")
            assert status_of(app, "sma_btc") == "finished"  # resumed, then ran to the end
    finally:
        controller.close()


@pytest.mark.asyncio
async def test_flatten_asks_first(controller: RunController) -> None:
    app = app_for(controller)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Flatten sma_btc?" in app.screen.question
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # focus starts on "No" inside the dialog; here enter opens the detail
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert not log_has(app, "command flatten")
        await pilot.press("f")
        await pilot.press("y")
        await wait_for(pilot, lambda: log_has(app, "command flatten sma_btc"))
        await pilot.press("F")
        assert "ALL" in app.screen.question  # type: ignore[attr-defined]
        await pilot.click("#confirm-yes")
        await wait_for(pilot, lambda: log_has(app, "command flatten all"))
        controller.start()
        await wait_for(pilot, lambda: app.ended)
        await wait_for(pilot, lambda: log_has(app, "flatten mm_eth"))
        await pilot.press("escape")
        assert app.query_one(OrdersTable).shown_orders() == []  # flatten cancels the orders too


@pytest.mark.asyncio
async def test_cancel_orders_of_the_selected_subaccount(controller: RunController) -> None:
    app = app_for(controller)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "c")
        await wait_for(pilot, lambda: log_has(app, "command cancel_orders mm_eth"))
        controller.start()
        await wait_for(pilot, lambda: app.ended)
        await pilot.press("escape")
        assert log_has(app, "cancel_orders mm_eth applied")  # before the first candle: the maker quotes again
        assert app.selected == "mm_eth"


@pytest.mark.asyncio
async def test_theme_cycles_through_theme_files(finished: RunController) -> None:
    app = app_for(finished)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        assert app.theme == "kektrade-dark"
        dark_background = app.theme_variables["background"]
        await pilot.press("t")
        assert app.theme == "kektrade-light"
        assert app.theme_variables["background"].lower() == "#f5f7fa" != dark_background
        await pilot.press("t")
        assert app.theme == "kektrade-dark"


@pytest.mark.asyncio
async def test_detail_screen_shows_position_fills_and_leaderboard(finished: RunController) -> None:
    app = app_for(finished)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.sub_id == "mm_eth"
        await pilot.pause(0.2)
        position = str(screen.query_one("#position").render())
        assert "MarketMakerStrategy" in position and "half_spread_bps=10" in position
        fills = next(s for s in finished.results["subaccounts"] if s["id"] == "mm_eth")["fills"]  # type: ignore[index]
        assert screen.query_one("#fills", DataTable).row_count == len(fills) > 0
        board = screen.query_one("#leaderboard", DataTable)
        assert board.row_count == 0 and "fixed parameters" in str(board.border_subtitle)
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


@pytest.mark.asyncio
async def test_help_screen(finished: RunController) -> None:
    app = app_for(finished)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.asyncio
async def test_quit_asks_while_running_then_stops_the_run(controller: RunController) -> None:
    app = app_for(controller, quit_wait_s=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.is_running and not isinstance(app.screen, ConfirmScreen)
        await pilot.press("q", "y")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_value == 0
    assert controller.session is not None
    assert isinstance(controller.session.engine.commands.get_nowait(), StopRun)


@pytest.mark.asyncio
async def test_log_search_and_level(controller: RunController) -> None:
    app = app_for(controller)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c", "down", "c")
        await wait_for(pilot, lambda: log_has(app, "command cancel_orders mm_eth"))
        await pilot.press("slash")
        await pilot.press(*"mm_eth")
        await pilot.pause(0.1)
        assert log_has(app, "mm_eth") and not log_has(app, "sma_btc")
        await pilot.press("enter")  # keep the filter, back to the panes
        await pilot.press("escape")
        assert not log_has(app, "sma_btc")
        await pilot.press("slash", "escape")  # clear
        await pilot.pause(0.1)
        assert log_has(app, "command cancel_orders sma_btc")
        await pilot.press("l")  # ≥ WARNING: the INFO command lines go
        await pilot.pause(0.1)
        assert not log_has(app, "command cancel_orders")


@pytest.mark.asyncio
async def test_small_terminal_keeps_every_pane_legible(finished: RunController) -> None:
    app = app_for(finished)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await pilot.pause(0.2)
        for pane in ("#status", "#subaccounts", "#orders", "#equity", "#log"):
            region = app.query_one(pane).region
            assert region.width >= 30 and region.height >= 1, pane
        assert app.query_one("#subaccounts").region.height >= 5
        assert app.query_one("#equity").region.height >= 6
        assert app.screen.has_class("-narrow")
