"""The detail screen: history loaded off the UI thread, newest first, paged; chart window; trades and PnL."""

from __future__ import annotations

import copy
import itertools
import threading
from typing import Any

import pytest
from textual.widgets import DataTable, TabbedContent

from kektrade.control.facade import RunController
from kektrade.tui.app import KektradeApp
from kektrade.tui.candles import CandlePlot, ChartWindow, clock_ticks
from kektrade.tui.panes.history import PAGE_ROWS
from kektrade.tui.screens import detail as detail_module
from kektrade.tui.screens.detail import DetailScreen

from .pilot import wait_for

SIZE = (120, 40)


def app_for(controller: RunController) -> KektradeApp:
    """An app over a finished controller with a frozen clock."""
    return KektradeApp(controller, start_run=False, clock=lambda: 0.0)


def mm_entry(results: dict[str, Any]) -> dict[str, Any]:
    """The market maker's entry of a results document."""
    return next(s for s in results["subaccounts"] if s["id"] == "mm_eth")


def cell(table: DataTable[Any], row: int, column: int) -> str:
    """Plain text of one cell."""
    return str(table.get_row_at(row)[column])


def many_fills(count: int) -> list[dict[str, Any]]:
    """``count`` alternating fills one minute apart (buy to +1, sell back to 0): count // 2 round trips."""
    fills = []
    for i in range(count):
        buy = i % 2 == 0
        minute = f"2024-01-{1 + i // 1440:02d}T{i % 1440 // 60:02d}:{i % 60:02d}:00+00:00"
        fills.append({
            "time": minute, "subaccount": "mm_eth", "side": "buy" if buy else "sell", "qty": 1.0,
            "price": 2000.0 + (0 if buy else 1), "fee": 0.01, "realized_pnl": 0.0 if buy else 1.0,
            "kind": "trade", "order_id": str(i), "position_after": 1.0 if buy else 0.0,
        })  # fmt: skip
    return fills


@pytest.mark.asyncio
async def test_detail_shows_position_newest_fills_and_trades(finished: RunController) -> None:
    app = app_for(finished)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.loads > 0)
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.sub_id == "mm_eth"
        position = str(screen.query_one("#position").render())
        assert "MarketMaker · finished" in position and "half_spread_bps=10" in position
        fills = mm_entry(finished.results or {})["fills"]
        table = screen.query_one("#fills", DataTable)
        assert table.row_count == min(len(fills), PAGE_ROWS) > 0
        assert cell(table, 0, 0) == fills[-1]["time"][:19].replace("T", " ")  # newest first
        # closed round trips, counted independently: the position returns to zero (or flips sign)
        positions = [0.0] + [f["position_after"] for f in fills if f["kind"] != "funding"]
        closed = sum(1 for a, b in itertools.pairwise(positions) if a != 0 and (b == 0 or (a > 0) != (b > 0)))
        assert screen.query_one("#trades", DataTable).row_count == min(closed, PAGE_ROWS)
        assert f"trades {closed} closed" in position
        board = screen.query_one("#leaderboard", DataTable)
        assert board.row_count == 0 and "fixed parameters" in str(board.border_subtitle)
        await pilot.press("3")
        assert screen.query_one(TabbedContent).active == "trades-tab"
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


@pytest.mark.asyncio
async def test_20k_fills_load_off_the_ui_thread_and_escape_works(
    finished: RunController, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = copy.deepcopy(finished.results)
    assert results is not None
    mm_entry(results)["fills"] = many_fills(20_000)
    finished.results = results
    release, threads = threading.Event(), []
    real = detail_module.subaccount_fills

    def held_fills(*args: Any) -> Any:  # the loader waits until the test lets it finish
        threads.append(threading.current_thread())
        assert release.wait(60)
        return real(*args)

    monkeypatch.setattr(detail_module, "subaccount_fills", held_fills)
    app = app_for(finished)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "down", "enter")
        await wait_for(pilot, lambda: bool(threads))
        assert threads[0] is not threading.main_thread()
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("escape")  # the load is still going: the UI answers anyway
        assert not isinstance(app.screen, DetailScreen)
        release.set()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.loads > 0)
        table = app.screen.query_one("#fills", DataTable)
        assert table.row_count == PAGE_ROWS  # one page built, not 20,000 rows
        assert cell(table, 0, 0) == "2024-01-14 21:19:00"  # fill 19,999 is the newest
        assert app.screen.query_one("#trades", DataTable).row_count == PAGE_ROWS
        assert "trades 10000 closed, 100% won" in str(app.screen.query_one("#position").render())
        await pilot.press("2")
        table.move_cursor(row=PAGE_ROWS - 1)  # the cursor reaches the last built row
        await wait_for(pilot, lambda: table.row_count > PAGE_ROWS)  # scrolling to the end builds more


def test_chart_window_zooms_and_pans_within_the_candles() -> None:
    window = ChartWindow(size=120)
    assert window.bounds(300) == (180, 300)
    assert window.bounds(50) == (0, 50)
    zoomed = window.zoom(0.5, 300)
    assert zoomed.bounds(300) == (240, 300)
    assert window.zoom(0.01, 300).size == 20 and window.zoom(10, 300).size == 300
    back = window.pan(30, 300)
    assert back.bounds(300) == (150, 270)
    assert window.pan(1_000, 300).bounds(300) == (0, 120)  # never before the first candle
    assert back.pan(-1_000, 300).bounds(300) == (180, 300)


def test_clock_ticks_label_candles_with_times() -> None:
    five_min = [1_704_067_200_000 + i * 300_000 for i in range(300)]  # 2024-01-01 00:00, 5m candles
    positions, labels = clock_ticks(five_min, 180, 300, count=3)
    assert positions == [180.0, 239.0, 299.0]
    assert labels == ["15:00", "19:55", "00:55"] or labels == ["01-01 15:00", "01-01 19:55", "01-02 00:55"]
    assert clock_ticks(five_min, 0, 0) == ([], [])


@pytest.mark.asyncio
async def test_chart_keys_zoom_and_pan(finished: RunController) -> None:
    app = app_for(finished)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.loads > 0)
        plot = app.screen.query_one(CandlePlot)
        assert plot.chart is not None and plot.length == 300
        await pilot.press("plus")
        assert plot.window.size == 80
        await pilot.press("left_square_bracket")
        assert plot.window.bounds(300) == (200, 280)
        await pilot.press("minus", "minus")
        assert plot.window.size == 180
