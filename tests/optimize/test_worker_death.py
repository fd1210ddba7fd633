"""Optimizer workers end when their parent dies, however it dies (``kill -9`` included).

Each defence layer is tested alone (kernel parent-death signal, lifeline watchdog, closed borrowed pipe
ends), then the whole: ``kektrade CONFIG --no-tui`` of an optimized backtest killed with SIGKILL leaves no
process behind after 5 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kektrade.optimize.executor import ProcessExecutor, WorkerDiedError

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; kills with SIGKILL")

# A parent forking three workers that serve a command pipe, like ProcessExecutor, with chosen layers on.
_PARENT = """
import multiprocessing as mp, sys, time
from kektrade.optimize.lifeline import WorkerLifeline

def serve(conn, lifeline):
    lifeline.in_worker(conn)
    while True:
        try:
            conn.recv()
        except EOFError:
            return

if __name__ == "__main__":
    lifeline = WorkerLifeline(death_signal=sys.argv[1] == "1", watchdog=sys.argv[2] == "1")
    ctx = mp.get_context("fork")
    pids, ends = [], []
    for _ in range(3):
        parent, child = ctx.Pipe()
        lifeline.adopt(parent)
        proc = ctx.Process(target=serve, args=(child, lifeline), daemon=True)
        proc.start()
        child.close()
        ends.append(parent)
        pids.append(proc.pid)
    print(" ".join(map(str, pids)), flush=True)
    time.sleep(600)
"""


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a dead process not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children_of(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc/*/stat)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    return found


def gone_within(pids: list[int], seconds: float) -> list[int]:
    """The pids still alive after waiting up to ``seconds`` for them to end."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


@pytest.mark.parametrize(
    ("death_signal", "watchdog"),
    [(True, False), (False, True), (False, False)],
    ids=["kernel-signal-only", "watchdog-only", "pipe-eof-only"],
)
def test_each_layer_alone_ends_workers_of_a_killed_parent(death_signal: bool, watchdog: bool) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-c", _PARENT, str(int(death_signal)), str(int(watchdog))]
    parent = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 3 and all(alive(p) for p in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    # pipe-eof-only passes only if no worker holds a copy of any parent-side pipe end (its own included)
    assert gone_within(pids, 5.0) == []


def test_a_dead_worker_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    from kektrade.control.facade import RunController
    from tests.engine.kit import config
    from tests.optimize.test_live_optimizer import hold_sub, synthetic

    controller = RunController(config(tmp_path, [hold_sub(workers=2)], data=synthetic(3, 5)))
    session = controller.build()
    executor = session.optimizers[0].executor
    assert isinstance(executor, ProcessExecutor)
    try:
        victim = executor._procs[1]  # as the kernel's OOM killer would
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        with pytest.raises(WorkerDiedError, match=r"worker 2 of 2 \(pid \d+\) was killed by SIGKILL"):
            session.engine.run()
    finally:
        controller.close()


def optimized_config(tmp_path: Path) -> Path:
    """A backtest that keeps two optimizer workers busy for minutes (killed long before it ends)."""
    config = {
        "metastrategy_id": "killme",
        "strategies_dir": str(REPO / "strategies"),
        "history_dir": str(tmp_path / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 5, "start": "2024-01-01", "days": 365}},
        "subaccounts": [
            {
                "id": "sma",
                "strategy": "SmaRsiStrategy",
                "pair": "BTC/USDT:USDT",
                "timeframe": "1m",
                "optimization": {"enabled": True, "reoptimize_every": "1d", "lookback": "2d", "workers": 2},
            }
        ],
    }
    path = tmp_path / "killme.json"
    path.write_text(json.dumps(config))
    return path


def test_kill_9_of_an_optimized_backtest_leaves_no_process(tmp_path: Path) -> None:
    config = optimized_config(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kektrade", str(config), "--no-tui"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.1)
            workers = children_of(proc.pid)
        assert len(workers) >= 2, "the optimizer workers never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert gone_within(workers, 5.0) == []
    leftovers = [p for p in _processes_mentioning(str(config)) if alive(p)]
    assert leftovers == []


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(int(entry.name))
    return found
