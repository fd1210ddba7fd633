"""Proportional set size (PSS) of this process and its children, sampled while a benchmark runs.

PSS counts a page shared by k processes as 1/k in each, so the sum over a process tree is the memory the
tree really uses (RSS would count forked workers' shared market arrays once per worker). Linux only
(``/proc/<pid>/smaps_rollup``); elsewhere the peak stays 0.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def tree_pss_mib(pid: int | None = None) -> float:
    """PSS of ``pid`` (default: this process) and all its descendants, in MiB."""
    todo, total = [pid or os.getpid()], 0
    while todo:
        p = todo.pop()
        total += _pss_kib(p)
        todo += _children(p)
    return total / 1024


class PssSampler:
    """Samples the process tree's PSS every ``interval_s`` on a thread; ``peak_mib`` is the highest seen."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self.interval_s = interval_s
        self.peak_mib = 0.0
        self.cpu_s = 0.0  # the sampler's own CPU time (reading smaps walks page tables): subtract it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pss-sampler", daemon=True)

    def _loop(self) -> None:
        while True:
            began = time.thread_time()
            self.peak_mib = max(self.peak_mib, tree_pss_mib())
            self.cpu_s += time.thread_time() - began
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> PssSampler:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.peak_mib, tree_pss_mib())
