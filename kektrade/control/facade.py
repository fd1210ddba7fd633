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
from kektrade.domain.journal import DeferredJournal
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
from kektrade.engine.results import results_table, walk_forward_table, write_results
from kektrade.engine.session import Session, build_session
from kektrade.engine.snapshot import EngineSnapshot, Progress
from kektrade.optimize.wiring import optimizer_factory
from kektrade.persistence.database import RunDatabase, open_run_database
from kektrade.persistence.journal import SqliteJournal

log = logging.getLogger("kektrade.control")


@dataclass(frozen=True)
class RunPaths:
    """Where a run lives: its folder and database."""

    run_id: str
    folder: Path
    db_path: Path


class RunController:
    """Builds, runs and steers one run; thread-safe for readers and command senders."""

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
        self.journal.attach(SqliteJournal(self.db, self.config.persistence.batch_interval_s))
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

    def _run(self, session: Session) -> None:
        try:
            state = session.engine.run()
            self.results = session.results()
            if self.db is not None and self.paths is not None:
                write_results(self.paths.folder, self.results)  # moves the round trips to trades.json
                self.db.save_results(self.results)
                self.db.set_meta("status", state)
                log.info("run %s %s; results in %s", self.run_id, state, self.paths.folder / "results.json")
        except BaseException as exc:  # reported to the front end, which decides the exit code
            self.error = exc
            if self.db is not None:
                self.db.set_meta("status", "failed")
            log.exception("run %s failed", self.run_id)
        finally:
            self.journal.flush()
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the engine to finish; True when it has."""
        return self._done.wait(timeout)

    @property
    def finished(self) -> bool:
        """True once the engine thread has ended."""
        return self._done.is_set()

    def close(self) -> None:
        """Stop the engine if running, flush the journal and close the database."""
        if self._thread is not None and self._thread.is_alive():
            self.send(StopRun())
            self._thread.join(timeout=30)
        self.journal.close()
        if self.db is not None:
            self.db.close()

    # -- reading ---------------------------------------------------------------------------------

    def _publish(self, snapshot: EngineSnapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            listeners = list(self._listeners)
        for listener in listeners:
            listener(snapshot)

    def snapshot(self) -> EngineSnapshot:
        """The latest snapshot (immutable; safe from any thread)."""
        with self._lock:
            return self._snapshot

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
