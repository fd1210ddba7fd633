"""Run the virtual exchanges on a Dask ``distributed`` cluster (a scheduler address, or a local cluster).

What ships where:

- **Once per worker**: the ``TrialSpec`` (strategy object with its indicator columns, candle frame, market
  arrays, venue rules), serialised once on the client with cloudpickle (user strategy modules by value, so
  workers need kektrade but not the strategy files) and broadcast to every worker with ``scatter``. Each
  worker deserialises it once and keeps it for the run.
- **Per task**: a book number, its combination ids and two candle indices; back comes the ``BookUpdate``
  (new equity samples and closes), a few kilobytes.

Each book (a share of the combinations, dealt round-robin as in the process executor) lives in one worker
process between tasks and is asked to advance to the next candle index. Worker death: the scheduler
re-runs the lost task on another worker, which rebuilds the book from the spec and replays it from the
first candle to where the run is (the simulator is deterministic, so the replayed book is the same book),
then advances it: the run continues with identical results. A task that keeps killing workers, or a
cluster without workers for ``timeout_s``, ends the run with ``WorkerDiedError`` naming the scheduler —
never a selection made on missing combinations.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid
from typing import Any

import cloudpickle
from distributed import Client, Future, LocalCluster, get_worker, wait

from kektrade.optimize.executor import WorkerDiedError, split
from kektrade.optimize.trials import BookUpdate, TrialSpec, VirtualBook
from kektrade.strategy.loader import MODULE_PREFIX

log = logging.getLogger("kektrade.optimize")
# in a worker process: the specs (by run) and books (by run and book number) it holds
_SPECS: dict[str, TrialSpec] = {}
_BOOKS: dict[tuple[str, int], VirtualBook] = {}
_LOADS: dict[str, int] = {}  # how many times each run's spec was deserialised here (once; tests read it)


def _spec_of(run: str, blob: bytes) -> TrialSpec:
    """The run's spec in this worker, deserialised on first use."""
    spec = _SPECS.get(run)
    if spec is None:
        spec = _SPECS[run] = cloudpickle.loads(blob)
        _LOADS[run] = _LOADS.get(run, 0) + 1
    return spec


def spec_loads(run: str) -> int:
    """On a worker: how many times the run's spec was deserialised in this process."""
    return _LOADS.get(run, 0)


def book_step(blob: bytes, run: str, index: int, ids: list[int], start: int, stop: int | None) -> tuple[str, Any]:
    """On a worker: book ``index`` advanced from candle ``start`` to ``stop`` (None: its final equity).

    A book this worker does not hold (first call, or its worker died) or one ahead of ``start`` (a task
    run twice) is rebuilt and replayed to ``start`` first. Returns (this worker's address, result).
    """
    key = (run, index)
    book = _BOOKS.get(key)
    if book is None or book.next_index > start:
        book = _BOOKS[key] = VirtualBook(_spec_of(run, blob), ids)
    if book.next_index < start:
        book.advance(start)  # replay: the same candles give the same samples and closes, discarded here
    result: Any = book.final_equity() if stop is None else book.advance(stop)
    return get_worker().address, result


def drop_run(run: str) -> int:
    """On a worker: forget a finished run's books and spec; the number of books dropped."""
    _SPECS.pop(run, None)
    keys = [key for key in _BOOKS if key[0] == run]
    for key in keys:
        del _BOOKS[key]
    return len(keys)


def ship(spec: TrialSpec) -> bytes:
    """The spec as cloudpickle bytes, user strategy modules by value (workers do not have the files)."""
    for name, module in list(sys.modules.items()):
        if name.startswith(MODULE_PREFIX + ".") and module is not None:
            cloudpickle.register_pickle_by_value(module)
    return cloudpickle.dumps(spec)


class DaskExecutor:
    """Virtual books on a Dask cluster: ``address`` of a running scheduler, or a local cluster of ``workers``."""

    catch_up_at_boundaries = True  # a scheduler round trip costs milliseconds: one per re-optimization

    def __init__(
        self,
        address: str | None = None,
        workers: int = 2,
        *,
        client: Client | None = None,
        timeout_s: float = 60.0,
        attempts: int = 3,
    ) -> None:
        self.address, self.workers = address, workers
        self.timeout_s, self.attempts = timeout_s, attempts
        self.client = client
        self._own_client = client is None
        self._cluster: LocalCluster | None = None
        self._run = uuid.uuid4().hex
        self._books: list[list[int]] = []
        self._homes: list[str | None] = []
        self._position = 0
        self._blob: Future | None = None
        self._spec: TrialSpec | None = None

    def _connect(self) -> Client:
        if self.client is not None:
            return self.client
        if self.address is None:
            self._cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
            )
            return Client(self._cluster)
        return Client(self.address, timeout=self.timeout_s)

    def start(self, spec: TrialSpec) -> None:
        """Connect, broadcast the spec to every worker once, deal the combinations into one book per worker."""
        self.client = self._connect()
        self.client.wait_for_workers(1, timeout=self.timeout_s)
        addresses = sorted(self.client.scheduler_info()["workers"])
        self._spec = spec
        self._blob = self.client.scatter(ship(spec), broadcast=True, hash=False, timeout=self.timeout_s)
        self._books = split(len(spec.combos), len(addresses))
        self._homes = [addresses[i % len(addresses)] for i in range(len(self._books))]
        self._position = spec.first_index

    def advance(self, stop: int) -> list[BookUpdate]:
        """Every book advances to ``stop`` on its worker; waits for all."""
        updates: list[BookUpdate] = self._call(stop)
        self._position = max(self._position, stop)
        return updates

    def final_equity(self) -> dict[int, float]:
        """Latest equity per combination, from every book."""
        out: dict[int, float] = {}
        for part in self._call(None):
            out.update(part)
        return out

    def _call(self, stop: int | None) -> list[Any]:
        """One task per book, at its home worker when it is alive; retried on lost workers."""
        failure: BaseException | None = None
        for attempt in range(self.attempts):
            try:
                if attempt:
                    self._reship_if_lost()
                return self._gather(self._submit(stop))
            except WorkerDiedError:
                raise
            except Exception as exc:  # KilledWorker, lost data, a connection reset: try again elsewhere
                log.warning("optimizer books on the Dask cluster failed (%s: %s); retrying", type(exc).__name__, exc)
                failure = exc
                self._homes = [None] * len(self._books)
        raise WorkerDiedError(
            f"the Dask cluster ({self._where()}) lost the optimizer's books {self.attempts} times in a row "
            f"(last: {type(failure).__name__}: {failure}); the optimization cannot go on without them"
        ) from failure

    def _reship_if_lost(self) -> None:
        """Broadcast the spec again when every worker holding it died (the scheduler forgot it)."""
        assert self.client is not None and self._spec is not None
        if self._blob is None or self._blob.status in ("lost", "error", "cancelled"):
            self._blob = self.client.scatter(ship(self._spec), broadcast=True, hash=False, timeout=self.timeout_s)

    def _submit(self, stop: int | None) -> list[Future]:
        client = self.client
        assert client is not None and self._blob is not None
        return [
            client.submit(
                book_step,
                self._blob,
                self._run,
                index,
                ids,
                self._position,
                stop,
                workers=None if home is None else [home],
                allow_other_workers=home is not None,
                pure=False,
                key=f"kektrade-book-{self._run}-{index}-{uuid.uuid4().hex[:8]}",
            )
            for index, (ids, home) in enumerate(zip(self._books, self._homes, strict=True))
        ]

    def _gather(self, futures: list[Future]) -> list[Any]:
        """Results in book order; a book's home follows the worker that ran it (a replayed book moved)."""
        client = self.client
        assert client is not None
        pending = futures
        empty_for = 0.0
        step = 1.0
        while pending:
            with contextlib.suppress(TimeoutError):  # none finished within the step: are there workers?
                pending = list(wait(pending, timeout=step, return_when="FIRST_COMPLETED").not_done)
            if pending and not client.scheduler_info()["workers"]:
                empty_for += step
                if empty_for >= self.timeout_s:
                    raise WorkerDiedError(
                        f"the Dask cluster ({self._where()}) has had no workers for {self.timeout_s:g} s; "
                        "the optimization cannot go on without its combinations"
                    )
            else:
                empty_for = 0.0
        results = []
        for index, future in enumerate(futures):
            address, result = future.result()
            self._homes[index] = address
            results.append(result)
        return results

    def _where(self) -> str:
        return f"scheduler {self.address}" if self.address else "local cluster"

    def close(self) -> None:
        """Forget the run's books on the workers; close what this executor opened."""
        client = self.client
        if client is None:
            return
        with contextlib.suppress(Exception):  # a cluster already gone has nothing left to drop
            client.run(drop_run, self._run)
        if self._own_client:
            client.close()
            if self._cluster is not None:
                self._cluster.close()
        self.client, self._cluster, self._blob, self._spec = None, None, None, None
