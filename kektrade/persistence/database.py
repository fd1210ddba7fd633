"""The run database: one SQLite file per run (WAL, synchronous=NORMAL, foreign keys on).

``open_run_database(path)`` creates or reopens the file, creates missing tables and records the schema
version. Each ``RunDatabase`` owns its own ``peewee.SqliteDatabase`` and its own bound model classes, so
several run databases can be open in one process. Peewee keeps one connection per thread; the journal's
writer thread uses its own connection while other threads read (WAL lets readers and one writer overlap).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import peewee as pw

from kektrade.domain.journal import (
    EquitySampled,
    FillRecorded,
    IntentRecorded,
    OrderRecorded,
    SelectionRecorded,
    StatusChanged,
)
from kektrade.domain.order_events import ORDER_EVENT_COLUMNS
from kektrade.domain.types import OPEN_STATUSES, Fill, Order, OrderStatus
from kektrade.persistence import codec, columnar, migrations
from kektrade.persistence.models import SCHEMA_VERSION, BoundModels, bind_models

_PRAGMAS = {"journal_mode": "wal", "synchronous": "normal", "foreign_keys": 1}

#: errors meaning "the database refuses this row" (constraint, type or arity), as opposed to "cannot write now"
REFUSED_ROW_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.DataError,
    sqlite3.ProgrammingError,
    pw.IntegrityError,
    pw.InterfaceError,
    pw.DataError,
    pw.ProgrammingError,
)
#: run_meta keys a restarted run keeps (everything else describes the attempt being thrown away)
KEPT_META_KEYS = frozenset({"schema_version"})
#: run_meta key naming the file beside the database that holds the results document (schema 3)
RESULTS_FILE_KEY = "results_file"


class SchemaVersionError(RuntimeError):
    """The file was written by a newer kektrade whose schema this version cannot read."""


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    """One strategy instance of the run as stored in the ``instance`` table."""

    subaccount: str
    venue: str
    pair: str
    strategy: str
    status: str


class RunDatabase:
    """The SQLite file of one run: metadata, instances and everything the journal records."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.database = pw.SqliteDatabase(str(self.path), pragmas=_PRAGMAS, timeout=30)
        self.models: BoundModels = bind_models(self.database)
        self._closed = False
        self._insert_sql: dict[str, str] = {}
        #: applied to every text this database stores (the secret redactor of the run), None = as is
        self.scrub: Callable[[str], str] | None = None

    # -- life cycle ---------------------------------------------------------------------------------

    def setup(self) -> None:
        """Create missing tables and record (or check) the schema version."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.database.atomic():
            self.database.create_tables(self.models.all(), safe=True)
            found = self.get_meta("schema_version")
            if found is None:
                self.set_meta("schema_version", SCHEMA_VERSION)
            elif not isinstance(found, int) or found > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.path}: schema_version {found!r} is not one this kektrade reads "
                    f"(it reads up to {SCHEMA_VERSION})"
                )
            elif found < SCHEMA_VERSION:  # an older file: migrate it (kektrade.persistence.migrations)
                self.set_meta("schema_version", migrations.upgrade(self.database, self.models, found))

    def close(self) -> None:
        """Close this thread's connection (the journal's writer closes its own)."""
        if not self.database.is_closed():
            self.database.close()
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result ("ok" when the file is sound)."""
        return str(self.database.execute_sql("PRAGMA integrity_check").fetchone()[0])

    def pragma(self, name: str) -> Any:
        """The current value of one PRAGMA on this thread's connection."""
        return self.database.execute_sql(f"PRAGMA {name}").fetchone()[0]

    # -- metadata -----------------------------------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key`` (replacing any earlier value)."""
        text = codec.to_json(value, f"run metadata {key!r}")
        if self.scrub is not None:
            text = self.scrub(text)
        self.models.meta.insert(key=key, value=text).on_conflict_replace().execute()

    def get_meta(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default``."""
        row = (
            self.models.meta.select(self.models.meta.value)
            .where(self.models.meta.key == key)
            .tuples()
            .first()
        )
        return default if row is None else json.loads(row[0])

    def meta(self) -> dict[str, Any]:
        """Every metadata key with its value."""
        return {r[0]: json.loads(r[1]) for r in _tuples(self.models.meta.select())}

    def save_results(self, results: dict[str, Any]) -> None:
        """Store the results document itself in the database (see kektrade.analysis.report)."""
        self.set_meta("results", results)

    def point_to_results(self, name: str) -> None:
        """Record that the results document is the file ``name`` beside the database (not a second copy)."""
        self.set_meta(RESULTS_FILE_KEY, name)

    def load_results(self) -> dict[str, Any] | None:
        """The results document: stored in the database, or the file it points to; None before there is one."""
        found = self.get_meta("results")
        if found is None:
            name = self.get_meta(RESULTS_FILE_KEY)
            found = _read_json_file(self.path.with_name(name)) if isinstance(name, str) else None
        return found if isinstance(found, dict) else None

    # -- instances ----------------------------------------------------------------------------------

    def add_instance(
        self, subaccount: str, venue: str, pair: str, strategy: str, status: str = "created"
    ) -> None:
        """Register (or update) one strategy instance."""
        row = {"subaccount": subaccount, "venue": venue, "pair": pair, "strategy": strategy, "status": status}
        m = self.models.instance
        m.insert(**row).on_conflict(conflict_target=[m.subaccount], update=row).execute()

    def set_instance_status(self, subaccount: str, status: str) -> None:
        """Change the status column of one instance (no-op when it is not registered)."""
        m = self.models.instance
        m.update(status=status).where(m.subaccount == subaccount).execute()

    def instances(self) -> list[InstanceInfo]:
        """Every registered instance, in registration order."""
        m = self.models.instance
        q = m.select(m.subaccount, m.venue, m.pair, m.strategy, m.status).order_by(m.id)
        return [InstanceInfo(*r) for r in _tuples(q)]

    # -- journal writes -----------------------------------------------------------------------------

    def write_batch(
        self, batch: dict[str, list[codec.Row]], statuses: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Insert rows of several tables (keyed by BoundModels field name) in ONE transaction, in order."""
        with self.database.atomic():
            for table, rows in batch.items():
                if rows:
                    self._insert_rows(table, rows)
            for subaccount, status in statuses:
                self.set_instance_status(subaccount, status)

    def write_batch_salvaging(
        self, batch: dict[str, list[codec.Row]], statuses: Sequence[tuple[str, str]] = ()
    ) -> list[str]:
        """Like ``write_batch``, one savepoint per row: rows the database refuses are skipped and described."""
        refused: list[str] = []
        with self.database.atomic():
            for table, rows in batch.items():
                for row in rows:
                    try:
                        with self.database.atomic():  # a savepoint: only this row is undone
                            self._insert_rows(table, [row])
                    except REFUSED_ROW_ERRORS as exc:
                        refused.append(self._describe_refused(table, row, exc))
            for subaccount, status in statuses:
                self.set_instance_status(subaccount, status)
        return refused

    def _describe_refused(self, table: str, row: codec.Row, exc: Exception) -> str:
        return self.describe_refused(table, row, str(exc))

    def describe_refused(self, table: str, row: codec.Row, reason: str) -> str:
        """``run.sqlite refused a order_event row of subaccount 'x' (NOT NULL ...): contracts=nan, ...``."""
        columns = _COLUMNS[table]
        values = dict(zip(columns, row, strict=False)) if len(row) == len(columns) else {}
        fields = getattr(self.models, table)._meta.fields
        odd = [
            c
            for c, v in values.items()
            if (v is None and not fields[c].null) or (isinstance(v, float) and not math.isfinite(v))
        ]
        shown = ", ".join(f"{c}={values[c]!r}" for c in (odd or values) if c != "subaccount") or repr(row)
        shown = shown if len(shown) <= 300 else shown[:297] + "..."
        subaccount = values.get("subaccount", "?")
        return f"{self.path.name} refused a {table} row of subaccount {subaccount!r} ({reason}): {shown}"

    def not_null_columns(self, table: str) -> tuple[str, ...]:
        """The columns of ``table`` that refuse null (and NaN)."""
        fields = getattr(self.models, table)._meta.fields
        return tuple(c for c in _COLUMNS[table] if not fields[c].null)

    def table_name(self, table: str) -> str:
        """The SQLite name of a table given by its BoundModels field name (``equity`` -> ``equity_sample``)."""
        return str(getattr(self.models, table)._meta.table_name)

    def truncate_run(self) -> dict[str, int]:
        """Delete every recorded row and the outcome of the run; rows deleted per table.

        The columnar parts go first, then the SQLite rows in one transaction: a kill in between leaves
        rows that the next ``truncate_run`` deletes.
        """
        deleted: dict[str, int] = {}
        for table in columnar.COLUMNAR_TABLES:
            deleted[f"{table} (columnar)"] = columnar.delete_table(columnar.table_dir(self.path, table))
        with self.database.atomic():
            for model in self.models.all():
                if model is self.models.meta:
                    count = model.delete().where(model.key.not_in(sorted(KEPT_META_KEYS))).execute()
                else:
                    count = model.delete().execute()
                deleted[model._meta.table_name] = int(count)
        return deleted

    def _insert_rows(self, table: str, rows: list[codec.Row]) -> None:
        """Bulk insert via executemany (peewee's insert_many builds SQL per value: ~9x slower)."""
        scrub = self.scrub
        if scrub is not None:
            rows = [tuple(scrub(v) if isinstance(v, str) else v for v in row) for row in rows]
        sql = self._insert_sql.get(table)
        if sql is None:
            model: type[pw.Model] = getattr(self.models, table)
            names = ", ".join(f'"{model._meta.fields[c].column_name}"' for c in _COLUMNS[table])
            marks = ", ".join("?" * len(_COLUMNS[table]))
            sql = self._insert_sql[table] = (
                f'INSERT INTO "{model._meta.table_name}" ({names}) VALUES ({marks})'
            )
        self.database.cursor().executemany(sql, rows)

    # -- reading back -------------------------------------------------------------------------------

    def _select(self, table: str, subaccount: str | None, order_by_time: bool = False) -> list[codec.Row]:
        """Rows of a table in recording order (or by time, then recording order), SQLite rows first, then the
        table's columnar parts (a backtest's fills and order events, kektrade.persistence.columnar)."""
        rows = self._select_sqlite(table, subaccount, order_by_time)
        if table in columnar.COLUMNAR_TABLES:
            folder = columnar.table_dir(self.path, table)
            if folder.is_dir():
                rows += columnar.read_rows(folder, subaccount)
                if order_by_time:
                    rows.sort(key=_time_of)  # stable: recording order within one time
        return rows

    def _select_sqlite(self, table: str, subaccount: str | None, order_by_time: bool) -> list[codec.Row]:
        model: type[pw.Model] = getattr(self.models, table)
        fields = [model._meta.fields[c] for c in _COLUMNS[table]]
        q = model.select(*fields)
        if subaccount is not None:
            q = q.where(model._meta.fields["subaccount"] == subaccount)
        order = (
            [model._meta.fields["time_ms"], model._meta.primary_key]
            if order_by_time
            else [model._meta.primary_key]
        )
        return _tuples(q.order_by(*order))

    def fill_records(self, subaccount: str | None = None) -> list[FillRecorded]:
        """Fills with their subaccount, by time then recording order."""
        return [codec.fill_from_row(r) for r in self._select("fill", subaccount, order_by_time=True)]

    def fills(self, subaccount: str | None = None) -> list[Fill]:
        """Fills of one subaccount (or of all), by time then recording order."""
        return [r.fill for r in self.fill_records(subaccount)]

    def order_events(self, subaccount: str | None = None) -> list[OrderRecorded]:
        """Order transitions in recording order."""
        return [codec.order_event_from_row(r) for r in self._select("order_event", subaccount)]

    def equity_samples(self, subaccount: str) -> list[EquitySampled]:
        """Every equity sample of one subaccount, by time."""
        return [codec.equity_from_row(r) for r in self._select("equity", subaccount, order_by_time=True)]

    def equity(self, subaccount: str) -> tuple[list[int], list[float], list[float]]:
        """(times_ms, equity in the settle currency, equity in the quote currency) of one subaccount."""
        rows = list(self._select("equity", subaccount, order_by_time=True))
        return [r[1] for r in rows], [r[3] for r in rows], [r[4] for r in rows]

    def selections(self, subaccount: str) -> list[SelectionRecorded]:
        """Optimizer selections of one subaccount, by time."""
        return [
            codec.selection_from_row(r) for r in self._select("selection", subaccount, order_by_time=True)
        ]

    def status_changes(self, subaccount: str | None = None) -> list[StatusChanged]:
        """Status changes and errors, in recording order."""
        return [codec.status_from_row(r) for r in self._select("status", subaccount)]

    def latest_state(self, subaccount: str) -> dict[str, Any]:
        """Saved state of one subaccount: the most recently recorded value of every key."""
        m = self.models.state
        latest = m.select(pw.fn.MAX(m.id)).where(m.subaccount == subaccount).group_by(m.key)
        q = m.select(m.key, m.value).where(m.id.in_(latest)).order_by(m.key)
        return {r[0]: json.loads(r[1]) for r in _tuples(q)}

    def order_intents(self, subaccount: str) -> list[IntentRecorded]:
        """Every recorded step of the live order intents of one subaccount, in recording order."""
        return [codec.intent_from_row(r) for r in self._select("intent", subaccount)]

    def exec_ids(self, subaccount: str) -> list[str]:
        """Exchange execution ids of the subaccount's fills, aligned with ``fills()`` ("" when none)."""
        return [r.exec_id for r in self.fill_records(subaccount)]

    def open_orders(self, subaccount: str) -> list[Order]:
        """Orders whose last recorded transition leaves them open, oldest first."""
        last: dict[str, Order] = {}
        for rec in self.order_events(subaccount):
            last[rec.order.id] = rec.order
        still_open = [o for o in last.values() if OrderStatus(o.status) in OPEN_STATUSES]
        return sorted(still_open, key=lambda o: o.created_ms)


_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_event": ORDER_EVENT_COLUMNS,
    "fill": codec.FILL_COLUMNS,
    "equity": codec.EQUITY_COLUMNS,
    "selection": codec.SELECTION_COLUMNS,
    "status": codec.STATUS_COLUMNS,
    "state": codec.STATE_COLUMNS,
    "intent": codec.INTENT_COLUMNS,
}


def _time_of(row: codec.Row) -> Any:
    return row[1]


def _read_json_file(path: Path) -> Any:
    """The JSON value in ``path``, or None when the file is missing."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _tuples(query: Any) -> list[codec.Row]:
    """Run a select and return its rows as tuples."""
    return list(query.tuples())


def open_run_database(path: Path) -> RunDatabase:
    """Create or reopen the run database at ``path`` (parents created), tables and schema version ready."""
    db = RunDatabase(path)
    try:
        db.setup()
    except Exception:
        db.close()
        raise
    return db
