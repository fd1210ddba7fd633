"""`kektrade validate` refuses what a run of the same config would refuse, naming the same config path."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kektrade import cli

SPACE_STRATEGY = textwrap.dedent(
    """
    from kektrade.strategy.base import OptimizeableStrategy


    class SpaceStrategy(OptimizeableStrategy):
        '''Declares fast and slow; never trades.'''

        startup_candle_count = 48

        def get_search_space(self):
            return {"fast": [5, 10], "slow": [50]}
    """
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "space.py").write_text(SPACE_STRATEGY)
    return tmp_path


def write(project: Path, sub: dict[str, Any]) -> str:
    doc = {
        "metastrategy_id": "validate_test",
        "subaccounts": [{"id": "s", "strategy": "SpaceStrategy", "pair": "BTC/USDT:USDT", "timeframe": "1h", **sub}],
        "data": {"source": "synthetic", "synthetic": {"seed": 1, "start": "2024-01-01", "days": 5}},
    }
    (project / "config.json").write_text(json.dumps(doc))
    return "config.json"


def both_refuse(project: Path, capsys: pytest.CaptureFixture[str], sub: dict[str, Any], expected: str) -> None:
    path = write(project, sub)
    assert cli.main(["validate", path]) == 2
    validate_err = capsys.readouterr().err
    assert expected in validate_err
    assert cli.main([path, "--no-tui"]) == 2
    assert expected in capsys.readouterr().err
    assert not (project / "history").exists() or not any((project / "history").iterdir())


def test_undeclared_parameter_name(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = {"parameters": {"fast": 5, "slwo": 60}}
    expected = "subaccounts[0].parameters: SpaceStrategy has no parameter 'slwo' (its parameters: fast, slow)"
    both_refuse(project, capsys, sub, expected)


def test_search_space_neither_fixed_nor_optimized(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = "subaccounts[0].parameters: SpaceStrategy has a search space for fast; fix them in 'parameters'"
    both_refuse(project, capsys, {}, expected)


def test_lookback_shorter_than_the_warm_up(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = {"optimization": {"enabled": True, "lookback": "1d", "workers": 1}}
    expected = "subaccounts[0].optimization.lookback: 1d is shorter than the strategy's warm-up of 48 candles"
    both_refuse(project, capsys, sub, expected)


def test_nothing_to_optimize(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = {"parameters": {"fast": 5}, "optimization": {"enabled": True, "lookback": "3d", "workers": 1}}
    both_refuse(project, capsys, sub, "subaccounts[0].optimization: nothing to optimize")


def test_a_valid_config_passes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, {"parameters": {"fast": 5}})
    assert cli.main(["validate", "config.json"]) == 0
    assert capsys.readouterr().out == "ok: 1 subaccounts\n"


def test_live_optimization_on_paper_and_live_venues_validates(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = {"venue": "paper", "optimization": {"enabled": True, "lookback": "3d"}}
    path = write(project, sub)
    assert cli.main(["validate", path]) == 0, capsys.readouterr().err  # the run accepts it too
