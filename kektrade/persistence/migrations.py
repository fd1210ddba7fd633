"""Schema migrations of the run database, the way freqtrade does it: one step per version, in order.

``upgrade(database, models, found)`` brings a file written at schema ``found`` up to ``SCHEMA_VERSION``
inside the caller's transaction. Each step is idempotent (it checks before it alters), so a crash half
way through a migration is repaired on the next open. New tables need no step: ``create_tables`` (safe)
adds them; steps only alter tables that already exist.

History:
- 1: the first schema.
- 2: ``fill.exec_id`` (the exchange's execution id of live fills) and the ``order_intent`` table (the
  write-ahead journal of live orders).
- 3: a backtest's fills and order events live in columnar parts beside the file (``run.fill/``,
  ``run.order_event/``: kektrade.persistence.columnar) and its results document only in ``results.json``
  (``run_meta.results_file``). No table changes, so the step has nothing to alter: a file written at 1 or
  2 keeps its rows in SQLite and its results in ``run_meta.results``, and reads as before. The version
  moves so that an older kektrade refuses a new folder instead of showing a backtest without its fills.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import peewee as pw
from playhouse.migrate import SqliteMigrator, migrate

from kektrade.persistence.models import SCHEMA_VERSION, BoundModels

log = logging.getLogger("kektrade.persistence")


def _columns(database: pw.Database, table: str) -> set[str]:
    return {c.name for c in database.get_columns(table)}


def _to_v2(database: pw.Database, models: BoundModels) -> None:
    """Add ``fill.exec_id``."""
    table = models.fill._meta.table_name
    if "exec_id" not in _columns(database, table):
        migrate(SqliteMigrator(database).add_column(table, "exec_id", pw.TextField(null=True)))


def _to_v3(database: pw.Database, models: BoundModels) -> None:
    """Nothing to alter: schema 3 adds files beside the database, not columns (see the module docstring)."""


STEPS: dict[int, Callable[[pw.Database, BoundModels], None]] = {2: _to_v2, 3: _to_v3}


def upgrade(database: pw.Database, models: BoundModels, found: int) -> int:
    """Run every step after ``found``; returns the new schema version."""
    for version in range(found + 1, SCHEMA_VERSION + 1):
        step = STEPS.get(version)
        if step is not None:
            step(database, models)
            log.info("run database migrated to schema %d", version)
    return SCHEMA_VERSION
