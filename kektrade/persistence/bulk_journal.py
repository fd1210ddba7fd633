"""The backtest journal: fills and order events in columnar parts, everything else through the SQLite journal.

A backtest's heavy records (fills, order transitions) are appended to plain lists on the engine's thread —
no queue, no writer thread competing for the GIL — and written as one Parquet part per ``part_rows``
records and at every ``flush()``/``close()`` (``kektrade.persistence.columnar``). Order transitions are
held in an order-event log (``order_events``, ``kektrade.domain.order_events``) and fills in
``fill_records``: the simulated venues append to both directly, and records that come through ``record``
join the same ones. The light records (equity samples, statuses, selections, saved state) go on through
``SqliteJournal``.

Why a backtest may batch: a killed backtest is never continued — ``--run-id`` deletes its rows and runs
it again from the first candle (docs/runs.md) — so no record of it has to be durable before the next one
is made. Paper and live runs keep ``SqliteJournal`` (and ``SavePointJournal``), whose records are durable
about one batch interval after they happen and whose order intents are flushed before each request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kektrade.domain.journal import FillRecorded, JournalRecord, OrderRecorded
from kektrade.domain.order_events import OrderEventLog
from kektrade.persistence import columnar
from kektrade.persistence.database import RunDatabase
from kektrade.persistence.journal import JournalError, SqliteJournal

SLICE_ROWS = 100_000  # records converted to Arrow columns at a time
PART_ROWS = 500_000  # records per Parquet part: ~130 MB of held order events at most (~264 bytes each), ~3 MB on disk


class BulkJournal:
    """Fills and order events into columnar parts in bulk; other records to the SQLite journal.

    Like ``SqliteJournal``, a row the database would refuse (a null or NaN in a NOT NULL column, such as
    a NaN quantity) is dropped, named, reported once to ``on_failure`` and raised by ``flush()``/``close()``
    as a ``JournalError``; the rest is kept. Texts pass the database's redactor (``RunDatabase.scrub``).
    """

    def __init__(
        self,
        db: RunDatabase,
        light: SqliteJournal,
        on_failure: Callable[[JournalError], None] | None = None,
        part_rows: int = PART_ROWS,
    ) -> None:
        self._db = db
        self._light = light
        self._on_failure = on_failure
        self._part_rows = part_rows
        self.order_events = OrderEventLog(part_rows, self._events_full)
        #: fills held for the next part; simulated venues append to it directly (``Session.route_records``)
        self.fill_records: list[FillRecorded] = []
        self._errors: list[str] = []
        self._failure: JournalError | None = None
        self._closed = False

    def record(self, item: JournalRecord) -> None:
        """Hold a fill or order event (a list append); pass anything else to the SQLite journal."""
        kind = type(item)
        if kind is OrderRecorded:
            self.order_events.add(item.subaccount, item.time_ms, item.event, item.order)  # type: ignore[union-attr]
        elif kind is FillRecorded:
            self.fill_records.append(item)  # type: ignore[arg-type]
            if len(self.fill_records) >= self._part_rows:
                self._write_part("fill")
        else:
            self._light.record(item)

    def flush(self) -> None:
        """Write the held records as parts, flush the SQLite journal; JournalError when rows were lost."""
        self._write_part("order_event")
        self._write_part("fill")
        self._light.flush()
        errors, self._errors = self._errors, []
        if errors:
            more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
            raise JournalError("; ".join(errors[:3]) + more)

    def close(self) -> None:
        """Flush, then close the SQLite journal. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            self._light.close()

    @property
    def failure(self) -> JournalError | None:
        """The first failure of this journal or of the SQLite journal, if any."""
        return self._failure or self._light.failure

    def _events_full(self) -> None:
        """A part's worth of order events is held: write it, and the fills if they are a part's worth too
        (venues append fills directly; every trade fill comes with at least two order events, so fills reach
        a part's size here, not much later)."""
        self._write_part("order_event")
        if len(self.fill_records) >= self._part_rows:
            self._write_part("fill")

    def _write_part(self, table: str) -> None:
        """Write the held records of ``table``; a failure (disk full, ...) loses them and is reported."""
        try:
            self._write(table)
        except Exception as exc:
            self._lost(f"writing {table} rows beside {self._db.path} failed: {exc!r}")

    def _write(self, table: str) -> None:
        """Write the held records of ``table`` as one part (rows the database would refuse left out).

        The records become Arrow columns ``SLICE_ROWS`` at a time: a part's Python column lists (boxed
        numbers, ~40 bytes a value) never exist all at once beside the records they come from.
        """
        import pyarrow as pa

        slices = []
        if table == "fill":
            held = self.fill_records[:]  # the list itself stays: venues hold it
            self.fill_records.clear()
            while held:
                batch = held[:SLICE_ROWS]
                del held[:SLICE_ROWS]
                slices.append(columnar.build_table(table, fill_columns(batch), self._db.scrub))
        else:
            while len(self.order_events):
                slices.append(columnar.build_table(table, self.order_events.take(SLICE_ROWS), self._db.scrub))
        if not slices:
            return
        found = pa.concat_tables(slices)
        refused = columnar.refused_rows(found, self._db.not_null_columns(table))
        if refused:
            found = self._drop(table, found, refused)
        columnar.write_part(columnar.table_dir(self._db.path, table), table, found)

    def _drop(self, table: str, found: Any, refused: dict[int, list[str]]) -> Any:
        """``found`` without the refused rows, each named (as SQLite's NOT NULL constraint would name it)."""
        import pyarrow as pa

        name = self._db.table_name(table)
        for n, columns in sorted(refused.items()):
            row = tuple(found.slice(n, 1).to_pylist()[0].values())
            self._lost(self._db.describe_refused(table, row, f"NOT NULL constraint failed: {name}.{columns[0]}"))
        keep = pa.array([n not in refused for n in range(found.num_rows)])
        return found.filter(keep)

    def _lost(self, message: str) -> None:
        """Note a lost row (raised by the next flush) and report the first loss to ``on_failure``."""
        self._errors.append(message)
        if self._failure is None:
            self._failure = JournalError(message)
            if self._on_failure is not None:
                self._on_failure(self._failure)


def fill_columns(records: list[FillRecorded]) -> list[Sequence[Any]]:
    """The ``fill`` columns of executions (values as ``codec.fill_row`` gives them)."""
    fills = [r.fill for r in records]
    return [
        [r.subaccount for r in records],
        [f.time_ms for f in fills],
        [f.symbol for f in fills],
        [f.kind for f in fills],
        [f.contracts for f in fills],
        [f.price for f in fills],
        [f.fee for f in fills],
        [f.fee_rate for f in fills],
        [f.realized_pnl for f in fills],
        [f.order_id for f in fills],
        [f.is_maker for f in fills],
        [f.position_after for f in fills],
        [r.exec_id or None for r in records],
    ]

