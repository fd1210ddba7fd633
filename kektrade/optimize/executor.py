"""Executors run virtual books: in this process, or in persistent worker processes.

The interface is small on purpose (start with a picklable ``TrialSpec``, ``advance`` to a candle index,
``close``) so that a cluster engine such as Dask distributed can implement it later: each worker holds
one ``VirtualBook`` and answers ``advance`` with a ``BookUpdate``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from multiprocessing.connection import Connection
from typing import Protocol

from kektrade.engine.gcpolicy import collector_for_run
from kektrade.optimize.trials import BookUpdate, TrialSpec, VirtualBook


class Executor(Protocol):
    """Runs the virtual exchanges of one optimized instance."""

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


def _worker(conn: Connection, spec: TrialSpec, ids: list[int]) -> None:
    # objects inherited by fork stay out of GC scans (no copy-on-write from the collector), and young
    # passes are spaced out as in the engine's run
    with collector_for_run():
        book = VirtualBook(spec, ids)
        while True:
            message = conn.recv()
            if message[0] == "advance":
                conn.send(book.advance(message[1]))
            elif message[0] == "final":
                conn.send(book.final_equity())
            else:
                conn.close()
                return


class ProcessExecutor:
    """Persistent worker processes, one book each; the spec reaches them by fork, not by copy.

    On Linux the workers are forked, so the candle frame and arrays are shared copy-on-write with the
    parent; elsewhere the spec is pickled once per worker (never once per combination).
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._conns: list[Connection] = []
        self._procs: list[mp.process.BaseProcess] = []

    def start(self, spec: TrialSpec) -> None:
        """Fork the workers, each with its share of the combinations."""
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        for ids in split(len(spec.combos), self.workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(  # type: ignore[attr-defined]
                target=_worker, args=(child, spec, ids), daemon=True, name="kektrade-trials"
            )
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)

    def advance(self, stop: int) -> list[BookUpdate]:
        """Every worker advances in parallel; waits for all."""
        for conn in self._conns:
            conn.send(("advance", stop))
        return [conn.recv() for conn in self._conns]

    def final_equity(self) -> dict[int, float]:
        """Latest equity per combination, from every worker."""
        out: dict[int, float] = {}
        for conn in self._conns:
            conn.send(("final",))
        for conn in self._conns:
            out.update(conn.recv())
        return out

    def close(self) -> None:
        """Stop the workers."""
        for conn in self._conns:
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
