"""The Dask executor on a local cluster of worker processes: identical results, one spec per worker, worker death."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from kektrade.config.model_subaccount import OptimizationConfig  # noqa: E402
from kektrade.optimize.dask_executor import DaskExecutor, spec_loads  # noqa: E402
from kektrade.optimize.executor import InlineExecutor, ProcessExecutor, WorkerDiedError  # noqa: E402
from kektrade.optimize.wiring import make_executor  # noqa: E402
from tests.optimize.sweep_fixture import FIXTURE, run_sweep  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two worker processes on 127.0.0.1, one thread each (the restarting nannies of a real cluster)."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def expected(objective: str) -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())[objective]


@pytest.mark.parametrize("objective", ["sharpe", "profit_factor"])
def test_results_identical_to_the_local_executors(client: Any, tmp_path: Path, objective: str) -> None:
    executor = DaskExecutor(client=client)
    assert run_sweep(tmp_path, objective, executor) == expected(objective)  # == inline == processes (fixture)


class Counting(DaskExecutor):
    """Counts tasks and, before closing, how often each worker deserialised the spec."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.tasks = 0
        self.loads: dict[str, int] = {}

    def _submit(self, stop: int | None) -> list[Any]:
        futures = super()._submit(stop)
        self.tasks += len(futures)
        return futures

    def close(self) -> None:
        assert self.client is not None
        self.loads = self.client.run(spec_loads, self._run)
        super().close()


def test_the_spec_ships_once_per_worker_not_per_task(client: Any, tmp_path: Path) -> None:
    executor = Counting(client=client)
    run_sweep(tmp_path, "sharpe", executor)
    assert executor.tasks >= 16  # one per book (2) per re-optimization (8) at least
    assert sorted(executor.loads.values()) == [1, 1]  # each of the two workers deserialised it once


class KillingOne(DaskExecutor):
    """SIGKILLs the worker process holding book 0 right after the 5th round of tasks was submitted."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.rounds = 0
        self.killed: int | None = None

    def _submit(self, stop: int | None) -> list[Any]:
        futures = super()._submit(stop)
        self.rounds += 1
        if self.rounds == 5:
            assert self.client is not None
            pids = self.client.run(os.getpid)
            victim = pids[self._homes[0]]
            os.kill(victim, signal.SIGKILL)
            self.killed = victim
        return futures


def test_a_worker_killed_mid_run_changes_nothing(client: Any, tmp_path: Path) -> None:
    executor = KillingOne(client=client)
    assert run_sweep(tmp_path, "sharpe", executor) == expected("sharpe")
    assert executor.killed is not None
    client.wait_for_workers(2, timeout=120)  # the nanny restarts it for the next test


def test_no_workers_left_fails_with_a_clear_message(tmp_path: Path) -> None:
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    )
    with distributed.Client(cluster) as c:

        class Retiring(DaskExecutor):
            rounds = 0

            def _submit(self, stop: int | None) -> list[Any]:
                self.rounds += 1
                if self.rounds == 3:
                    cluster.scale(0)  # the only worker leaves for good
                    c.sync(cluster._correct_state)
                return super()._submit(stop)

        with pytest.raises(WorkerDiedError, match=r"Dask cluster \(local cluster\).*cannot go on"):
            run_sweep(tmp_path, "sharpe", Retiring(client=c, timeout_s=3))
    cluster.close()


def test_the_config_chooses_the_executor() -> None:
    dask = OptimizationConfig.model_validate(
        {"workers": 3, "executor": {"kind": "dask", "address": "tcp://10.0.0.5:8786", "timeout_s": 5}}
    )
    executor = make_executor(dask, False, 42, "subaccounts[0].optimization")
    assert isinstance(executor, DaskExecutor)
    assert (executor.address, executor.workers, executor.timeout_s) == ("tcp://10.0.0.5:8786", 3, 5)
    local = OptimizationConfig.model_validate({"workers": 2, "executor": {"kind": "dask"}})
    assert make_executor(local, False, 42, "x").address is None  # type: ignore[attr-defined]
    assert isinstance(make_executor(local, True, 42, "x"), InlineExecutor)  # live: the growing frame is here
    assert isinstance(make_executor(OptimizationConfig(workers=2), False, 42, "x"), ProcessExecutor)


def test_an_address_needs_kind_dask() -> None:
    with pytest.raises(ValueError, match="address is a Dask scheduler address"):
        OptimizationConfig.model_validate({"executor": {"address": "tcp://10.0.0.5:8786"}})
