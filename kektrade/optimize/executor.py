"""Executors run virtual books: in this process, or in persistent worker processes.

The interface is small on purpose (start with a picklable ``TrialSpec``, ``advance`` to a candle index,
``close``) so that a cluster engine such as Dask distributed can implement it later: each worker holds
one ``VirtualBook`` and answers ``advance`` with a ``BookUpdate``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from multiprocessing.connection import Connection
from typing import Any, Protocol

from kektrade.engine.gcpolicy import collector_for_run
from kektrade.optimize.lifeline import WorkerLifeline, process_lifeline
from kektrade.optimize.trials import BookUpdate, TrialSpec, VirtualBook


class Executor(Protocol):
    """Runs the virtual exchanges of one optimized instance."""

    #: True when a round trip is costly (a cluster): backtests then advance only at re-optimization boundaries
    catch_up_at_boundaries: bool

    def start(self, spec: TrialSpec) -> None:
        """Create the books for every combination of ``spec``."""

    def advance(self, stop: int) -> list[BookUpdate]:
        """Run every combination up to candle ``stop`` (exclusive); one update per book."""

    def final_equity(self) -> dict[int, float]:
        """Each combination's latest equity."""

    def close(self) -> None:
        """Release workers."""


def split(n: int, parts: int) -> list[list[int]]:
    """Combination ids dealt round-robin into ``parts`` books (balances cheap and costly ones)."""
    books: list[list[int]] = [[] for _ in range(max(1, min(parts, n)))]
    for k in range(n):
        books[k % len(books)].append(k)
    return books


class InlineExecutor:
    """Runs every combination in the calling thread (tests, small spaces, live)."""

    catch_up_at_boundaries = False

    def __init__(self) -> None:
        self.book: VirtualBook | None = None

    def start(self, spec: TrialSpec) -> None:
        """One book holding every combination."""
        self.book = VirtualBook(spec, list(range(len(spec.combos))))

    def advance(self, stop: int) -> list[BookUpdate]:
        """Advance the one book."""
        assert self.book is not None
        return [self.book.advance(stop)]

    def final_equity(self) -> dict[int, float]:
        """Latest equity per combination."""
        assert self.book is not None
        return self.book.final_equity()

    def close(self) -> None:
        """Nothing to release."""


def _worker(conn: Connection, spec: TrialSpec, ids: list[int], lifeline: WorkerLifeline, death_signal: bool) -> None:
    lifeline.in_worker(conn, death_signal)  # ends this process when the parent dies, however it dies
    # objects inherited by fork stay out of GC scans (no copy-on-write from the collector), and young
    # passes are spaced out as in the engine's run; a book keeps no records (its fills are dropped as they are
    # scored), and in paper and live runs the worker lives for days: the usual middle passes
    with collector_for_run(holds_records=False):
        book = VirtualBook(spec, ids)
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the parent closed its end or died: nothing left to do
                return
            if message[0] == "advance":
                conn.send(book.advance(message[1]))
            elif message[0] == "final":
                conn.send(book.final_equity())
            else:
                conn.close()
                return


class WorkerDiedError(RuntimeError):
    """An optimizer worker process ended while the run still needed it (killed, out of memory, crashed)."""


class ProcessExecutor:
    """Persistent worker processes, one book each; the spec reaches them by fork, not by copy.

    On Linux the workers are forked, so the candle frame and arrays are shared copy-on-write with the
    parent; elsewhere the spec is pickled once per worker (never once per combination). Workers end when
    the parent process dies, however it dies (see ``kektrade.optimize.lifeline``).
    """

    catch_up_at_boundaries = False  # a pipe round trip costs microseconds: follow the engine chunk by chunk

    def __init__(self, workers: int | None = None, lifeline: WorkerLifeline | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.lifeline = lifeline
        self._conns: list[Connection] = []
        self._procs: list[mp.process.BaseProcess] = []
        self._dead: set[int] = set()  # workers found dead: the run fails, their combinations keep their last equity
        self._last_equity: dict[int, float] = {}

    def start(self, spec: TrialSpec) -> None:
        """Fork the workers, each with its share of the combinations."""
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        lifeline = self.lifeline or process_lifeline()
        death_signal = lifeline.forking_thread_is_main()
        for ids in split(len(spec.combos), self.workers):
            parent, child = ctx.Pipe()
            lifeline.adopt(parent)  # workers forked from now on close their copy of this end
            proc = ctx.Process(  # type: ignore[attr-defined]
                target=_worker, args=(child, spec, ids, lifeline, death_signal), daemon=True, name="kektrade-trials"
            )
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)

    def _receive(self, index: int) -> Any:
        """One worker's reply; WorkerDiedError naming the worker and how it ended if it is gone."""
        try:
            return self._conns[index].recv()
        except (EOFError, OSError) as exc:
            self._dead.add(index)
            proc = self._procs[index]
            proc.join(timeout=1)
            raise WorkerDiedError(
                f"optimizer worker {index + 1} of {len(self._procs)} (pid {proc.pid}) {_how_it_ended(proc)}; "
                "the optimization cannot go on without its combinations"
            ) from exc

    def _send(self, index: int, message: tuple[Any, ...]) -> None:
        try:
            self._conns[index].send(message)
        except (EOFError, OSError):
            self._receive(index)  # raises WorkerDiedError with the details
            raise

    def advance(self, stop: int) -> list[BookUpdate]:
        """Every worker advances in parallel; waits for all."""
        for index in range(len(self._conns)):
            self._send(index, ("advance", stop))
        updates = [self._receive(index) for index in range(len(self._conns))]
        for update in updates:
            self._last_equity.update({k: series[-1] for k, series in update.equity.items() if series})
        return updates

    def final_equity(self) -> dict[int, float]:
        """Latest equity per combination, from every worker (a dead worker's: its last sample)."""
        out: dict[int, float] = dict(self._last_equity) if self._dead else {}
        alive = [index for index in range(len(self._conns)) if index not in self._dead]
        for index in alive:
            self._send(index, ("final",))
        for index in alive:
            out.update(self._receive(index))
        return out

    def close(self) -> None:
        """Stop the workers."""
        lifeline = self.lifeline or process_lifeline()
        for conn in self._conns:
            lifeline.release(conn)
            try:
                conn.send(("close",))
                conn.close()
            except (OSError, BrokenPipeError):
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        self._conns, self._procs = [], []


def _how_it_ended(proc: mp.process.BaseProcess) -> str:
    """``ended with exit code 3`` / ``was killed by SIGKILL (out of memory?)`` / ``stopped answering``."""
    code = proc.exitcode
    if code is None:
        return "stopped answering (its pipe closed)"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        hint = " (out of memory? the kernel's OOM killer sends SIGKILL)" if -code == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"ended with exit code {code}"
