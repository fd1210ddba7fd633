"""Pilot tests of the TUI against a real RunController running a small real backtest."""

from __future__ import annotations

from pathlib import Path

import pytest

from kektrade.control.facade import RunController
from kektrade.engine.commands import StopRun
from kektrade.tui.app import KektradeApp
from kektrade.tui.panes.log import LogPane
from kektrade.tui.panes.orders import OrdersTable
from kektrade.tui.panes.status import StatusBar
from kektrade.tui.panes.subaccounts import SubaccountsTable
from kektrade.tui.screens.confirm import ConfirmScreen
from kektrade.tui.screens.help import HelpScreen
from kektrade.tui.screens.results import ResultsScreen
from tests.frontkit import StepGate

from .conftest import make_controller
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
async def test_pause_is_applied_by_the_engine(stepped: StepGate) -> None:
    app = app_for(stepped.controller)
    async with app.run_test(size=SIZE) as pilot:
        stepped.start()
        await wait_for(pilot, lambda: status_of(app, "sma_btc") == "running")
        await pilot.press("p")
        await wait_for(pilot, lambda: log_has(app, "command PauseInstance sma_btc"))
        stepped.step()  # the engine applies the pause, then simulates one step
        await wait_for(pilot, lambda: status_of(app, "sma_btc") == "paused")
        assert status_of(app, "mm_eth") == "running"
        stepped.finish()
        await wait_for(pilot, lambda: app.ended)
        await pilot.press("escape")
        assert status_of(app, "sma_btc") == "paused"
        assert status_of(app, "mm_eth") == "finished"
        await pilot.press("p")  # the run has ended: nothing is sent
        await pilot.pause()
        assert not log_has(app, "command ResumeInstance")


@pytest.mark.asyncio
async def test_pause_then_resume_while_running(stepped: StepGate) -> None:
    app = app_for(stepped.controller)
    async with app.run_test(size=SIZE) as pilot:
        stepped.start()
        await wait_for(pilot, lambda: status_of(app, "sma_btc") == "running")
        await pilot.press("p")
        await wait_for(pilot, lambda: log_has(app, "command PauseInstance sma_btc"))
        stepped.step()
        await wait_for(pilot, lambda: status_of(app, "sma_btc") == "paused")
        await pilot.press("p")  # paused: p resumes
        await wait_for(pilot, lambda: log_has(app, "command ResumeInstance sma_btc"))
        stepped.step()
        await wait_for(pilot, lambda: status_of(app, "sma_btc") == "running")
        stepped.finish()
        await wait_for(pilot, lambda: app.ended)
        await pilot.press("escape")
        assert status_of(app, "sma_btc") == "finished"  # resumed, then ran to the end


@pytest.mark.asyncio
async def test_flatten_asks_first(stepped: StepGate) -> None:
    controller = stepped.controller
    app = app_for(controller)
    async with app.run_test(size=SIZE) as pilot:
        stepped.start()
        await pilot.press("f")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Flatten sma_btc?" in app.screen.question
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # focus starts on "No" inside the dialog; here enter opens the detail
        await pilot.press("escape")
        assert not log_has(app, "command FlattenPosition")
        assert controller.session is not None and controller.session.engine.commands.empty()
        await pilot.press("f")
        await pilot.press("y")
        await wait_for(pilot, lambda: log_has(app, "command FlattenPosition sma_btc"))
        await pilot.press("F")
        assert "ALL" in app.screen.question  # type: ignore[attr-defined]
        await pilot.click("#confirm-yes")
        await wait_for(pilot, lambda: log_has(app, "command FlattenPosition all"))
        stepped.step()
        await wait_for(pilot, lambda: log_has(app, "FlattenPosition all applied"))
        assert log_has(app, "instance mm_eth: flattened") and log_has(app, "instance sma_btc: flattened")
        stepped.finish()
        await wait_for(pilot, lambda: app.ended)


@pytest.mark.asyncio
async def test_no_new_positions_then_allow_again(stepped: StepGate) -> None:
    app = app_for(stepped.controller)
    async with app.run_test(size=SIZE) as pilot:
        stepped.start()
        await pilot.press("e")
        await wait_for(pilot, lambda: log_has(app, "command AllowEntries sma_btc"))
        stepped.step()
        await wait_for(pilot, lambda: log_has(app, "AllowEntries sma_btc applied"))
        await pilot.press("E")
        await wait_for(
            pilot, lambda: sum("command AllowEntries sma_btc" in line for line in app.query_one(LogPane).shown) == 2
        )
        stepped.finish()
        await wait_for(pilot, lambda: app.ended)
        await pilot.press("escape", "e")  # ended: refused
        assert sum("command AllowEntries" in line for line in app.query_one(LogPane).shown) == 2


def mm_order_ids(controller: RunController) -> set[str]:
    """Ids of the market maker's open orders in the latest snapshot."""
    return {o.order_id for o in controller.snapshot().orders if o.subaccount == "mm_eth"}


@pytest.mark.asyncio
async def test_cancel_orders_of_the_selected_subaccount(tmp_path: Path, info_logging: None) -> None:
    controller = make_controller(tmp_path)
    gate = StepGate(controller, step_candles=1)  # one candle a step: quotes are amended in place, not replaced
    try:
        app = app_for(controller)
        async with app.run_test(size=SIZE) as pilot:
            gate.start()
            while not mm_order_ids(controller):
                gate.step()
            await pilot.press("down")
            await wait_for(pilot, lambda: app.selected == "mm_eth")
            await wait_for(pilot, lambda: len(app.query_one(OrdersTable).shown_orders()) == 2)
            before = mm_order_ids(controller)
            await pilot.press("c")
            await wait_for(pilot, lambda: log_has(app, "command CancelOrders mm_eth"))
            assert mm_order_ids(controller) == before  # held: nothing happens until the engine steps
            gate.step()
            await wait_for(pilot, lambda: log_has(app, "CancelOrders mm_eth applied"))
            assert not before & mm_order_ids(controller), "the cancelled quotes are still open"
            gate.finish()
            await wait_for(pilot, lambda: app.ended)
            assert app.selected == "mm_eth"
    finally:
        gate.open()
        controller.close()


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
        await wait_for(pilot, lambda: log_has(app, "command CancelOrders mm_eth"))
        await pilot.press("slash")
        await pilot.press(*"mm_eth")
        await wait_for(pilot, lambda: not log_has(app, "sma_btc"))
        assert log_has(app, "mm_eth")
        await pilot.press("enter")  # keep the filter, back to the panes
        await pilot.press("escape")
        assert not log_has(app, "sma_btc")
        await pilot.press("slash", "escape")  # clear
        await wait_for(pilot, lambda: log_has(app, "command CancelOrders sma_btc"))
        await pilot.press("l")  # ≥ WARNING: the INFO command lines go
        await wait_for(pilot, lambda: not log_has(app, "command CancelOrders"))


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
        table = app.query_one(SubaccountsTable)
        visible = table.scrollable_content_region.width
        needed = sum(
            table.columns[key].get_render_width(table) for key in ("id", "status", "pos", "upnl", "equity", "ret", "dd")
        )
        assert needed <= visible, "equity, UPNL, PnL% or DD% cut off at 80 columns"
        status = app.query_one(StatusBar).text
        assert "candles" in status and "01-04 00:00" in status
