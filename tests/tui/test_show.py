"""``kektrade show RUNID``: the TUI over a stored run through the read-only StoredRunController."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kektrade import cli
from kektrade.control.facade import RunController
from kektrade.control.stored import StoredRunController, StoredRunError
from kektrade.engine.commands import PauseInstance
from kektrade.tui.app import KektradeApp
from kektrade.tui.panes.equity import EquityPane
from kektrade.tui.screens.detail import DetailScreen
from kektrade.tui.screens.results import ResultsScreen
from tests.frontkit import tiny_config

from .pilot import status_of, wait_for


@pytest.fixture
def stored(finished: RunController, tmp_path: Path) -> StoredRunController:
    """The finished tiny run reopened from its folder."""
    assert finished.paths is not None
    (finished.paths.folder / "config.json").write_text(json.dumps(tiny_config(tmp_path)))
    return StoredRunController(finished.paths.folder)


def test_stored_snapshot_matches_the_run(finished: RunController, stored: StoredRunController) -> None:
    live = finished.snapshot()
    assert stored.finished and stored.results == json.loads(json.dumps(finished.results))
    assert stored.results_text() == finished.results_text()
    assert [r.id for r in stored.snapshot().subaccounts] == [r.id for r in live.subaccounts]
    for ours, theirs in zip(stored.snapshot().subaccounts, live.subaccounts, strict=True):
        assert (ours.status, ours.contracts, ours.fills) == (theirs.status, theirs.contracts, theirs.fills)
        assert ours.equity_quote == pytest.approx(theirs.equity_quote)
    total = stored.snapshot().equity_total
    assert total[-1] == pytest.approx(live.equity_total[-1])
    # the candles come back from the seeded synthetic source: the run's last candles, the same prices
    for sid, chart in live.charts.items():
        again = stored.snapshot().charts[sid]
        assert again.times_ms[-len(chart.times_ms) :] == chart.times_ms
        assert again.close[-len(chart.close) :] == pytest.approx(chart.close)
    with pytest.raises(StoredRunError, match="no commands"):
        stored.send(PauseInstance("sma_btc"))


@pytest.mark.asyncio
async def test_show_opens_panes_results_and_detail(stored: StoredRunController) -> None:
    app = KektradeApp(stored, start_run=False, clock=lambda: 0.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        await pilot.press("escape")
        assert status_of(app, "mm_eth") == "finished"
        assert app.query_one(EquityPane).replots > 0
        await pilot.press("p")  # read-only: refused before reaching the controller
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.loads > 0)
        assert app.screen.query_one("#fills").row_count > 0


def test_show_unknown_run_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["show", "nope", "--history-dir", str(tmp_path)]) == 2
    assert "nope" in capsys.readouterr().err
