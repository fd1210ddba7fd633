"""Run folders: ids from an injected clock, no clobbering, resuming, listing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kektrade.config import KektradeConfig, parse_config
from kektrade.runs import (
    RunNotFoundError,
    create_run,
    list_runs,
    make_run_id,
    resume_run,
    run_metastrategy_id,
)

NOW = datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC)


@pytest.fixture
def config(config_dict: dict[str, Any]) -> tuple[KektradeConfig, str]:
    text = json.dumps(config_dict, indent=2)
    return parse_config(text), text


def test_run_id_is_utc_timestamp_and_metastrategy() -> None:
    assert make_run_id("demo", NOW) == "2024-03-05_07-08-09_demo"
    plus_two = NOW.astimezone(timezone(timedelta(hours=2)))
    assert make_run_id("demo", plus_two) == "2024-03-05_07-08-09_demo"
    with pytest.raises(ValueError, match="naive"):
        make_run_id("demo", datetime(2024, 1, 1))  # noqa: DTZ001


def test_create_run_writes_the_folder(
    tmp_path: Path, strategy_dir: Path, config: tuple[KektradeConfig, str]
) -> None:
    cfg, text = config
    history = tmp_path / "history"
    run = create_run(cfg, text, history, [strategy_dir / "alpha.py", strategy_dir / "beta.py"], NOW)
    assert run.run_id == "2024-03-05_07-08-09_test_meta" and not run.resumed
    assert run.folder == history / run.run_id
    assert run.config_path.read_text() == text
    assert sorted(p.name for p in (run.folder / "strategies").iterdir()) == ["alpha.py", "beta.py"]
    assert (run.folder / "strategies" / "alpha.py").read_text() == (strategy_dir / "alpha.py").read_text()
    assert run.log_path.is_file() and run.log_path.name == "kektrade.log"
    assert run.db_path == run.folder / "run.sqlite" and not run.db_path.exists()
    assert run_metastrategy_id(run) == "test_meta"


def test_same_second_gets_a_suffix(tmp_path: Path, config: tuple[KektradeConfig, str]) -> None:
    cfg, text = config
    first = create_run(cfg, text, tmp_path, [], NOW)
    second = create_run(cfg, text, tmp_path, [], NOW)
    third = create_run(cfg, text, tmp_path, [], NOW)
    assert (second.run_id, third.run_id) == (first.run_id + "-2", first.run_id + "-3")
    assert first.config_path.read_text() == text


def test_resume_and_list(tmp_path: Path, config: tuple[KektradeConfig, str]) -> None:
    cfg, text = config
    ids = [create_run(cfg, text, tmp_path, [], NOW + timedelta(minutes=i)).run_id for i in range(12)]
    (tmp_path / "cache").mkdir()  # the data cache is not a run
    assert list_runs(tmp_path) == ids[::-1]
    run = resume_run(ids[3], tmp_path)
    assert run.resumed and run.folder == tmp_path / ids[3] and run.config_path.is_file()
    with pytest.raises(RunNotFoundError) as info:
        resume_run("2020-01-01_00-00-00_nope", tmp_path)
    assert info.value.recent == ids[::-1][:10]
    assert str(info.value).startswith(
        f"no run '2020-01-01_00-00-00_nope' in {tmp_path}/; recent runs: {ids[11]}, "
    )
    for bad in ("cache", "..", "../x", ""):
        with pytest.raises(RunNotFoundError):
            resume_run(bad, tmp_path)
    assert list_runs(tmp_path / "missing") == []
