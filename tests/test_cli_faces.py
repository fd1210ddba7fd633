"""The CLI faces: FAILED strategies and --strict, the `runs` table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kektrade import cli

from .test_cli import project, run_ids

__all__ = ["project"]

BOOM = '''
from kektrade.strategy.base import Strategy


class BoomStrategy(Strategy):
    """Raises on its 10th candle."""

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        variables["n"] = variables.get("n", 0) + 1
        if variables["n"] == 10:
            raise RuntimeError("boom")
'''


@pytest.fixture
def failing(project: Path) -> Path:
    """The project with subaccount b-2 on a strategy that raises."""
    (project / "strategies" / "boom.py").write_text(BOOM)
    config: dict[str, Any] = json.loads((project / "config.json").read_text())
    config["subaccounts"][1]["strategy"] = "BoomStrategy"
    (project / "config.json").write_text(json.dumps(config))
    return project


def test_failed_strategy_shows_failed_and_strict_exits_1(failing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config.json", "--no-tui"]) == 0
    out = capsys.readouterr()
    table_row = next(line for line in out.out.splitlines() if line.startswith("b-2"))
    assert table_row.startswith("b-2 FAILED")
    assert "FAILED: b-2" in out.err
    assert cli.main(["config.json", "--no-tui", "--strict"]) == 1
    assert "--strict: the strategy of b-2 raised" in capsys.readouterr().err
    assert cli.main(["runs"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["run", "status", "period", "venue", "subs", "return"]
    assert all("finished FAILED(b-2)" in line for line in listing[1:3])


def test_runs_lists_status_period_venue_subaccounts_return(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config.json", "--no-tui"]) == 0
    (run_id,) = run_ids(project)
    results = json.loads((project / "history" / run_id / "results.json").read_text())
    capsys.readouterr()
    assert cli.main(["runs"]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    ret = 100 * results["account"]["metrics"]["total_return"]
    assert line.split() == [run_id, "finished", "2024-01-02", "→", results["run"]["end"][:10], "backtest", "3",
                            f"{ret:+.2f}", "%"]  # fmt: skip
