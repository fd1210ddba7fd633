"""The control facade: the one way front ends (TUI, headless, web, Telegram) read and steer a run.

``RunController`` owns the run database and journal, builds the session and runs its engine on a
background thread (the one owner of trading state). Front ends read immutable snapshots and send
commands; they never touch instances or venues directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kektrade.config.model_root import KektradeConfig
from kektrade.config.secrets import SecretRedactor
from kektrade.control.redaction import scrub, scrub_error
from kektrade.domain.journal import DeferredJournal
from kektrade.domain.timeframes import format_ms
from kektrade.engine.commands import (
    AllowEntries,
    CancelOrders,
    EngineCommand,
    FlattenPosition,
    PauseInstance,
    ResumeInstance,
    StopRun,
    describe,
)
from kektrade.engine.gcpolicy import collector_paused
from kektrade.engine.results import results_table, walk_forward_table, write_results
from kektrade.engine.session import Session, build_session
from kektrade.engine.snapshot import EngineSnapshot, Progress
from kektrade.optimize.wiring import optimizer_factory
from kektrade.persistence.bulk_journal import BulkJournal
from kektrade.persistence.database import RunDatabase, open_run_database
from kektrade.persistence.journal import JournalError, SqliteJournal

log = logging.getLogger("kektrade.control")


@dataclass(frozen=True)
class RunPaths:
    """Where a run lives: its folder and database; ``restart`` = a backtest reopened to run again from the start."""

    run_id: str
    folder: Path
    db_path: Path
    restart: bool = False


class RunFailedError(RuntimeError):
    """The run ended early because a part it cannot go on without failed (the journal writer, ...)."""


class RunController:
    """Builds, runs and steers one run; thread-safe for readers and command senders."""

    #: a backtest writes its fills and order events in bulk (columnar, at the end); paper/live runs do not
    bulk_journal = True

    def __init__(self, config: KektradeConfig, run_id: str = "") -> None:
        self.config = config
        self.run_id = run_id
        self.journal = DeferredJournal()  # the database opens only once the build has succeeded
        self.db: RunDatabase | None = None
        self.paths: RunPaths | None = None
        self._snapshot = EngineSnapshot(run_id, "backtest", False, "starting", 0, Progress(0, 0, 0.0, None, 0))
        self._lock = threading.Lock()
        self._listeners: list[Callable[[EngineSnapshot], None]] = []
        self.session: Session | None = None
        self.results: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.redactor = SecretRedactor(())
        self._clean: tuple[EngineSnapshot, EngineSnapshot] | None = None  # (raw, scrubbed) of the latest read
        self._journal: SqliteJournal | BulkJournal | None = None

    def use_redactor(self, redactor: SecretRedactor) -> None:
        """Scrub secrets from everything this run stores or hands out: database, results, snapshots, errors."""
        self.redactor = redactor
        if self.db is not None:
            self.db.scrub = redactor.redact if redactor else None

    # -- lifecycle -------------------------------------------------------------------------------

    def build(self) -> Session:
        """Prepare data, indicators and instances; raises on a config the engine cannot run.

        Nothing is written anywhere yet: a config that fails here leaves no run folder behind.
        """
        self.session = build_session(self.config, self.run_id, self.journal, self._publish, optimizer_factory)
        self._publish(self.session.engine.snapshot())
        return self.session

    def attach(self, paths: RunPaths) -> None:
        """Open the run database and start journaling into it (records of the build included)."""
        self.paths = paths
        self.run_id = paths.run_id
        if self.session is not None:
            self.session.run_id = paths.run_id
            self.session.engine.run_id = paths.run_id
        self.db = open_run_database(paths.db_path)
        self.db.scrub = self.redactor.redact if self.redactor else None
        if paths.restart:
            self._start_over(self.db)
        light = SqliteJournal(self.db, self.config.persistence.batch_interval_s, on_failure=self._journal_failed)
        bulk = BulkJournal(self.db, light, on_failure=self._journal_failed) if self.bulk_journal else None
        self._journal = bulk or light
        self.journal.attach(self._journal)
        if bulk is not None and self.session is not None:
            self.session.route_records(bulk.order_events, bulk.fill_records)
        for inst in self.session.instances if self.session else []:
            self.db.add_instance(
                inst.id,
                str(inst.metadata["venue"]),
                inst.metadata["pair"],
                type(inst.strategy).__name__,
                inst.status.value,
            )

    def start(self) -> None:
        """Run the engine on a background thread."""
        session = self.session or self.build()
        if self.db is not None:
            self.db.set_meta("status", "running")
        self._thread = threading.Thread(target=self._run, args=(session,), name="kektrade-engine", daemon=True)
        self._thread.start()

    def _start_over(self, db: RunDatabase) -> None:
        """A reopened unfinished backtest runs again from its first candle into an emptied database.

        Why not continue from a saved point: a backtest's state is the simulator, the strategy's variables
        and every virtual exchange of the optimizer's workers; rerunning it is deterministic and gives the
        identical result, so deleting the killed attempt's rows in one transaction is both simpler and
        exactly as correct (a kill during the deletion rolls it back; the next resume deletes again).
        """
        deleted = {table: n for table, n in db.truncate_run().items() if n}
        if deleted:
            listed = ", ".join(f"{n} {table}" for table, n in sorted(deleted.items()))
            log.info(
                "run %s: the earlier attempt did not finish; deleted its rows (%s), starting over", self.run_id, listed
            )

    def _journal_failed(self, error: JournalError) -> None:
        """The journal lost records (refused rows or a database that cannot be written): stop the run."""
        log.error("run %s: %s; stopping the run", self.run_id, self.redactor.redact(str(error)))
        if self.session is not None:
            self.session.engine.send(StopRun())

    def _run(self, session: Session) -> None:
        state = "failed"
        try:
            state = session.engine.run()
            failure = self._journal.failure if self._journal is not None else None
            if failure is not None:
                state = "failed"
                self._fail(RunFailedError(f"the run database lost records, so the run stopped: {failure}"))
        except BaseException as exc:  # reported to the front end, which decides the exit code
            self._fail(exc)
            log.exception("run %s failed", self.run_id)
        finally:
            try:
                self._finish(session, state)
            finally:
                self._done.set()

    def _fail(self, error: BaseException) -> None:
        """Keep the first failure of the run, its text scrubbed of secrets (front ends show it)."""
        if self.error is None:
            self.error = scrub_error(error, self.redactor.redact)

    def _finish(self, session: Session, state: str) -> None:
        """Flush the journal and write the results so far (also after a failure); never raises.

        With the cyclic collector paused (``kektrade.engine.gcpolicy``): writing a market maker's order events
        and building its results make millions of small objects and no cycles, and the collector rescanned the
        run's whole heap for them (0.7 s of 1.2 s converting 370k order events to columns).
        """
        with collector_paused():
            self._finish_run(session, state)

    def _finish_run(self, session: Session, state: str) -> None:
        try:
            self.journal.flush()
        except BaseException as exc:
            if self.error is None:
                self._fail(RunFailedError(f"the run database lost records: {exc}"))
                state = "failed"
            log.error("run %s: %s", self.run_id, self.redactor.redact(str(exc)))
        try:
            results = session.results()
            self.results = scrub(results, self.redactor.redact) if self.redactor else results
        except BaseException:
            log.exception("run %s: the results could not be computed", self.run_id)
        if self.db is None or self.paths is None:
            return
        try:
            if self.results is not None:
                path = write_results(self.paths.folder, self.results)  # moves the round trips to trades.json
                self.db.point_to_results(path.name)  # the database reads results.json: no second copy
            self.db.set_meta("status", state)
            if self.error is not None:
                self.db.set_meta("error", f"{type(self.error).__name__}: {self.error}")
            where = self.paths.folder / "results.json"
            when = format_ms(self.snapshot().now_ms) if self.snapshot().now_ms else "-"
            log.info("run %s %s at %s; results in %s", self.run_id, state, when, where)
        except BaseException:
            log.exception("run %s: the results could not be written", self.run_id)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the engine to finish; True when it has (or when its thread is gone for any reason)."""
        if self._done.wait(timeout):
            return True
        thread = self._thread
        if thread is None or thread.is_alive():
            return False
        if self._done.is_set():  # it finished between the timed-out wait and the look at the thread
            return True
        # the thread ended without reporting (never expected): do not wait forever
        self._fail(RunFailedError("the engine thread ended without reporting how the run went"))
        return True

    @property
    def finished(self) -> bool:
        """True once the engine thread has ended."""
        return self._done.is_set()

    def close(self) -> None:
        """Stop the engine if running, flush the journal and close the database."""
        if self._thread is not None and self._thread.is_alive():
            self.send(StopRun())
            self._thread.join(timeout=30)
        try:
            self.journal.close()
        except JournalError:
            if self.error is None:  # not reported yet: the caller must hear of it
                raise
        finally:
            if self.db is not None:
                self.db.close()

    # -- reading ---------------------------------------------------------------------------------

    def _publish(self, snapshot: EngineSnapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            listeners = list(self._listeners)
        if listeners:
            clean = self._scrubbed(snapshot)
            for listener in listeners:
                listener(clean)

    def _scrubbed(self, raw: EngineSnapshot) -> EngineSnapshot:
        """``raw`` with secrets scrubbed, computed once per snapshot and only when someone reads it."""
        if not self.redactor:
            return raw
        cached = self._clean
        if cached is not None and cached[0] is raw:
            return cached[1]
        clean = scrub(raw, self.redactor.redact)
        self._clean = (raw, clean)
        return clean

    def snapshot(self) -> EngineSnapshot:
        """The latest snapshot, secrets scrubbed (immutable; safe from any thread)."""
        with self._lock:
            raw = self._snapshot
        return self._scrubbed(raw)

    def subscribe(self, listener: Callable[[EngineSnapshot], None]) -> None:
        """Call ``listener`` with every new snapshot (on the engine thread: keep it cheap)."""
        with self._lock:
            self._listeners.append(listener)

    def results_text(self) -> str:
        """The results table and the walk-forward comparison, once finished."""
        if not self.results:
            return ""
        walk = walk_forward_table(self.results)
        return results_table(self.results) + ("\n\n" + walk if walk else "")

    # -- commands ----------------------------------------------------------------------------------

    def send(self, command: EngineCommand) -> None:
        """Queue a typed command for the engine thread."""
        if self.session is None:
            raise RuntimeError("the run is not built yet")
        log.info("command %s", describe(command))
        self.session.engine.send(command)

    def pause(self, subaccount: str | None = None) -> None:
        """Pause one subaccount (or all): its tick is no longer called."""
        self.send(PauseInstance(subaccount))

    def resume(self, subaccount: str | None = None) -> None:
        """Resume one subaccount (or all)."""
        self.send(ResumeInstance(subaccount))

    def flatten(self, subaccount: str | None = None) -> None:
        """Cancel orders and close the position of one subaccount (or all)."""
        self.send(FlattenPosition(subaccount))

    def cancel_orders(self, subaccount: str | None = None) -> None:
        """Cancel the open orders of one subaccount (or all)."""
        self.send(CancelOrders(subaccount))

    def allow_entries(self, subaccount: str | None = None, allowed: bool = True) -> None:
        """Allow or refuse new exposure on one subaccount (or all); reducing orders always go through."""
        self.send(AllowEntries(subaccount, allowed))

    def stop(self) -> None:
        """Stop the run after the current chunk (results are still written)."""
        self.send(StopRun())
