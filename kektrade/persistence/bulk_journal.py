"""The backtest journal: fills and order events in columnar parts, everything else through the SQLite journal.

A backtest's heavy records (fills, order transitions) are appended to plain lists on the engine's thread —
no queue, no writer thread competing for the GIL — and written as one Parquet part per ``part_rows``
records and at every ``flush()``/``close()`` (``kektrade.persistence.columnar``). The light records
(equity samples, statuses, selections, saved state) go on through ``SqliteJournal``.

Why a backtest may batch: a killed backtest is never continued — ``--run-id`` deletes its rows and runs
it again from the first candle (docs/runs.md) — so no record of it has to be durable before the next one
is made. Paper and live runs keep ``SqliteJournal`` (and ``SavePointJournal``), whose records are durable
about one batch interval after they happen and whose order intents are flushed before each request.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kektrade.domain.journal import FillRecorded, JournalRecord, OrderRecorded
from kektrade.domain.types import ORDER_FIELDS
from kektrade.persistence import codec, columnar
from kektrade.persistence.journal import JournalError, SqliteJournal

PART_ROWS = 250_000  # records per Parquet part: ~12 MB of held records, ~1-3 MB on disk

_ORDER_AT = {name: n for n, name in enumerate(ORDER_FIELDS)}
# ORDER_EVENT_COLUMNS after (subaccount, time_ms, event) as positions in Order.astuple() ("order_id" = "id")
_ORDER_PICK = tuple(_ORDER_AT["id" if c == "order_id" else c] for c in codec.ORDER_EVENT_COLUMNS[3:])


class BulkJournal:
    """Fills and order events into columnar parts in bulk; other records to the SQLite journal."""

    def __init__(self, db_path: Path, light: SqliteJournal, part_rows: int = PART_ROWS) -> None:
        self._db_path = Path(db_path)
        self._light = light
        self._part_rows = part_rows
        self._orders: list[OrderRecorded] = []
        self._fills: list[FillRecorded] = []
        self._closed = False

    def record(self, item: JournalRecord) -> None:
        """Hold a fill or order event (a list append); pass anything else to the SQLite journal."""
        kind = type(item)
        if kind is OrderRecorded:
            self._orders.append(item)  # type: ignore[arg-type]
            if len(self._orders) >= self._part_rows:
                self._write_orders()
        elif kind is FillRecorded:
            self._fills.append(item)  # type: ignore[arg-type]
            if len(self._fills) >= self._part_rows:
                self._write_fills()
        else:
            self._light.record(item)

    def flush(self) -> None:
        """Write the held records as parts and flush the SQLite journal."""
        try:
            self._write_orders()
            self._write_fills()
        except Exception as exc:
            raise JournalError(f"writing fills and order events beside {self._db_path} failed: {exc!r}") from exc
        self._light.flush()

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
        """The SQLite journal's first failure, if any."""
        return self._light.failure

    def _write_orders(self) -> None:
        held, self._orders = self._orders, []
        if held:
            columnar.write_part(columnar.table_dir(self._db_path, "order_event"), "order_event", order_columns(held))

    def _write_fills(self) -> None:
        held, self._fills = self._fills, []
        if held:
            columnar.write_part(columnar.table_dir(self._db_path, "fill"), "fill", fill_columns(held))


def order_columns(records: list[OrderRecorded]) -> list[Sequence[Any]]:
    """The ``order_event`` columns of order transitions (StrEnum members stay members: Arrow stores their text)."""
    tuples = [r.order.astuple() for r in records]
    by_field = list(zip(*tuples, strict=True)) if tuples else [() for _ in ORDER_FIELDS]
    head: list[Sequence[Any]] = [
        [r.subaccount for r in records],
        [r.time_ms for r in records],
        [r.event for r in records],
    ]
    return head + [by_field[at] for at in _ORDER_PICK]


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

