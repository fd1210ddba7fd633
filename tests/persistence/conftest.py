"""Shared builders for persistence tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kektrade.persistence.database import RunDatabase, open_run_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[RunDatabase]:
    """A fresh run database, closed after the test."""
    run_db = open_run_database(tmp_path / "run.sqlite")
    yield run_db
    run_db.close()
