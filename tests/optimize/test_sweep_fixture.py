"""Optimizations stay bit-identical to the committed fixture, in this process and in worker processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kektrade.optimize.executor import ProcessExecutor
from tests.optimize.sweep_fixture import FIXTURE, OBJECTIVES, run_sweep


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_inline_executor_matches_the_fixture(tmp_path: Path, objective: str) -> None:
    expected = json.loads(FIXTURE.read_text())[objective]
    assert run_sweep(tmp_path, objective) == expected


def test_worker_processes_match_the_fixture(tmp_path: Path) -> None:
    expected = json.loads(FIXTURE.read_text())["sharpe"]
    assert run_sweep(tmp_path, "sharpe", ProcessExecutor(2)) == expected
