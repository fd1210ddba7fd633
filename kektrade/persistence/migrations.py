"""Schema migrations of the run database, the way freqtrade does it: one step per version, in order.

``upgrade(database, models, found)`` brings a file written at schema ``found`` up to ``SCHEMA_VERSION``
inside the caller's transaction. Each step is idempotent (it checks before it alters), so a crash half
way through a migration is repaired on the next open. New tables need no step: ``create_tables`` (safe)
adds them; steps only alter tables that already exist.

History:
- 1: the first schema.
- 2: ``fill.exec_id`` (the exchange's execution id of live fills) and the ``order_intent`` table (the
  write-ahead journal of live orders).
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


STEPS: dict[int, Callable[[pw.Database, BoundModels], None]] = {2: _to_v2}


def upgrade(database: pw.Database, models: BoundModels, found: int) -> int:
    """Run every step after ``found``; returns the new schema version."""
    for version in range(found + 1, SCHEMA_VERSION + 1):
        step = STEPS.get(version)
        if step is not None:
            step(database, models)
            log.info("run database migrated to schema %d", version)
    return SCHEMA_VERSION
