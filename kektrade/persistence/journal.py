"""The SQLite journal: the engine's ``record()`` is a deque append; a writer thread batches into SQLite.

Every ``batch_interval_s`` (or at once on ``flush()``/``close()``) the writer thread takes everything
recorded so far, converts it to rows and inserts it in ONE transaction, each table in recording order.
A crash (even ``kill -9``) loses at most what was recorded since the last commit (about one batch
interval) and never corrupts the file: SQLite's WAL makes each batch all-or-nothing.

Errors cannot reach the caller of ``record()`` (it runs on the engine's thread and never waits), so the
writer keeps them and ``flush()``/``close()`` raise ``JournalError``. Two kinds:

- **refused records** — a record that cannot be converted (a state value JSON cannot hold) or a row the
  database refuses (a NaN quantity in a NOT NULL column, a wrong type): the batch is written again row by
  row, every refused row is dropped and named, the rest is kept;
- **failed writes** (the file is locked, the disk is full): the batch is kept and retried at the next wake;
  after ``MAX_FAILED_WRITES`` failures in a row the journal gives up waiting for the disk.

Either way the database no longer holds everything the run did, so the journal calls ``on_failure`` once
with the error: the control facade then stops the run (exit 1, results so far written). The writer keeps
writing what comes after, so the database holds everything up to the stop except what it named.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kektrade.domain.journal import (
    EquitySampled,
    FillRecorded,
    IntentRecorded,
    JournalRecord,
    OrderRecorded,
    RecordBlock,
    SelectionRecorded,
    StateSaved,
    StatusChanged,
)
from kektrade.persistence import codec
from kektrade.persistence.database import REFUSED_ROW_ERRORS, RunDatabase

MAX_FAILED_WRITES = 5  # failed batch writes in a row before the journal reports a failure

_ROUTES: dict[type, tuple[str, Callable[[Any], codec.Row]]] = {
    OrderRecorded: ("order_event", codec.order_event_row),
    FillRecorded: ("fill", codec.fill_row),
    EquitySampled: ("equity", codec.equity_row),
    SelectionRecorded: ("selection", codec.selection_row),
    StatusChanged: ("status", codec.status_row),
    StateSaved: ("state", codec.state_row),
    IntentRecorded: ("intent", codec.intent_row),
}


class JournalError(RuntimeError):
    """The writer thread could not store some records; raised by ``flush()``/``close()``."""


@dataclass(slots=True)
class _FlushMarker:
    """Placed in the queue by ``flush()``; set once everything before it is committed."""

    done: threading.Event = field(default_factory=threading.Event)


@dataclass(slots=True)
class _Pending:
    """Rows converted but not yet committed, per table, plus instance status updates."""

    rows: dict[str, list[codec.Row]] = field(default_factory=dict)
    statuses: list[tuple[str, str]] = field(default_factory=list)

    def empty(self) -> bool:
        """True when there is nothing to write."""
        return not self.statuses and not any(self.rows.values())


class SqliteJournal:
    """Journal into a RunDatabase: cheap ``record()``, one transaction per batch interval."""

    def __init__(
        self,
        db: RunDatabase,
        batch_interval_s: float = 1.0,
        on_failure: Callable[[JournalError], None] | None = None,
    ) -> None:
        if not batch_interval_s > 0:
            raise ValueError(f"batch_interval_s must be > 0, got {batch_interval_s!r}")
        self._db = db
        self._interval = float(batch_interval_s)
        self._queue: deque[JournalRecord | _FlushMarker] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._closed = False
        self._errors: list[str] = []
        self._errors_lock = threading.Lock()
        self._pending = _Pending()
        self._on_failure = on_failure
        self._failed_writes = 0
        self.failure: JournalError | None = None  # the first failure, once one happened
        self._thread = threading.Thread(target=self._run, name="kektrade-journal-writer", daemon=True)
        self._thread.start()

    def record(self, item: JournalRecord) -> None:
        """Queue one record (O(1), thread-safe, never touches SQLite)."""
        if self._closed:
            raise JournalError("record() on a closed SqliteJournal")
        self._queue.append(item)

    def flush(self) -> None:
        """Block until everything recorded so far is committed; raise JournalError if some could not be."""
        if not self._thread.is_alive():
            self._raise_errors()
            return
        marker = _FlushMarker()
        self._queue.append(marker)
        self._wake.set()
        while not marker.done.wait(0.05):
            if not self._thread.is_alive():
                break
        self._raise_errors()

    def close(self) -> None:
        """Flush, stop the writer thread and raise any pending JournalError. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._raise_errors()

    @property
    def pending(self) -> int:
        """Records queued and not yet taken by the writer (for monitoring)."""
        return len(self._queue)

    # -- writer thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(self._interval)
                self._wake.clear()
                stopping = self._stopping  # read before draining: everything recorded before close() is taken
                self._write_once()
                if stopping and not self._queue and self._pending.empty():
                    return
                if stopping and not self._pending.empty():
                    return  # the write failed while closing; the error is reported by close()
        finally:
            self._db.database.close()  # this thread's own connection

    def _write_once(self) -> None:
        markers = self._drain()
        if not self._pending.empty():
            try:
                self._write_pending()
            except Exception as exc:  # kept for retry; reported through flush()/close()
                self._failed_writes += 1
                self._note(f"writing a batch to {self._db.path} failed: {exc!r} (will retry)")
                if self._failed_writes >= MAX_FAILED_WRITES:
                    self._fail(f"{self._failed_writes} writes to {self._db.path} failed in a row, last: {exc!r}")
        for marker in markers:
            marker.done.set()

    def _write_pending(self) -> None:
        """Write the pending batch; rows the database refuses are dropped, named and fail the journal."""
        pending = self._pending
        try:
            self._db.write_batch(pending.rows, pending.statuses)
        except REFUSED_ROW_ERRORS:
            refused = self._db.write_batch_salvaging(pending.rows, pending.statuses)
            self._pending = _Pending()
            self._failed_writes = 0
            for message in refused:
                self._note(message)
            if refused:
                self._fail(refused[0] + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""))
            return
        self._pending = _Pending()
        self._failed_writes = 0

    def _fail(self, message: str) -> None:
        """Report the first failure to ``on_failure`` (once); the writer goes on with later records."""
        if self.failure is not None:
            return
        self.failure = JournalError(message)
        if self._on_failure is not None:
            try:
                self._on_failure(self.failure)
            except Exception as exc:  # the callback must not kill the writer thread
                self._note(f"on_failure callback raised {exc!r}")

    def _drain(self) -> list[_FlushMarker]:
        """Move everything queued now into the pending rows; return the flush markers met."""
        markers: list[_FlushMarker] = []
        queue, pending = self._queue, self._pending
        items: list[Any] = []
        for _ in range(len(queue)):
            head = queue.popleft()
            items.extend(head.records if isinstance(head, RecordBlock) else (head,))  # a block: one transaction
        for item in items:
            route = _ROUTES.get(type(item))
            if route is None:
                if isinstance(item, _FlushMarker):
                    markers.append(item)
                else:
                    self._note(f"dropped a record of unknown type {type(item).__name__}")
                continue
            table, to_row = route
            try:
                pending.rows.setdefault(table, []).append(to_row(item))
            except Exception as exc:
                message = f"dropped {type(item).__name__} of {getattr(item, 'subaccount', '?')!r}: {exc}"
                self._note(message)
                self._fail(f"the run database cannot store a record: {message}")
                continue
            if isinstance(item, StatusChanged):
                pending.statuses.append((item.subaccount, item.status))
        return markers

    def _note(self, message: str) -> None:
        with self._errors_lock:
            self._errors.append(message)

    def _raise_errors(self) -> None:
        with self._errors_lock:
            errors, self._errors = self._errors, []
        if errors:
            more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
            raise JournalError("; ".join(errors[:3]) + more)
