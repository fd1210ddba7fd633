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


def test_config_errors_exit_2_naming_the_place(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = (project / "config.json").read_text()
    (project / "deep.json").write_text('{"metastrategy_id": "t", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert cli.main(["deep.json", "--no-tui"]) == 2
    assert "deep.json: invalid JSON: nested too deeply" in capsys.readouterr().err
    (project / "big.json").write_text(base[:-1] + ', "description": 1' + "0" * 5000 + "}")
    assert cli.main(["big.json", "--no-tui"]) == 2
    err = capsys.readouterr().err
    assert f"big.json:1:{len(base) + 17}: invalid JSON: a number exceeds the limit (4300 digits)" in err
    config = json.loads(base)
    config["subaccounts"][0]["leverage"] = 150
    (project / "lev.json").write_text(json.dumps(config))
    assert cli.main(["lev.json", "--no-tui"]) == 2
    assert "subaccounts[0] (a).leverage: leverage 150 above the maximum" in capsys.readouterr().err
    (project / "afile").write_text("x")
    config = json.loads(base)
    config["history_dir"] = "afile/runs"
    (project / "hist.json").write_text(json.dumps(config))
    assert cli.main(["hist.json", "--no-tui"]) == 2
    assert "history_dir: cannot create a run folder in 'afile/runs': Not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("opening", ["[", '{"a": '])
def test_deep_nesting_inside_the_config_is_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], opening: str
) -> None:
    config: dict[str, Any] = json.loads((project / "config.json").read_text())
    text = json.dumps(config).replace('"leverage": 3', '"leverage": 3, "parameters": {"deep": DEEP}')
    closing = "]" if opening == "[" else "}"
    (project / "deep.json").write_text(text.replace("DEEP", opening * 700 + "1" + closing * 700))
    assert cli.main(["validate", "deep.json"]) == 2
    err = capsys.readouterr().err
    assert "deep.json: subaccounts[0].parameters.deep" in err and "nested deeper than 100 levels" in err
