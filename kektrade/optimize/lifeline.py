"""Worker processes that end when the process that started them dies — however it dies (``kill -9`` too).

Three independent layers, because no single one covers every platform and every way of dying:

1. **Parent-death signal** (Linux): the worker asks the kernel, with ``prctl(PR_SET_PDEATHSIG, SIGKILL)``,
   to be killed the moment its parent goes. The kernel ties this to the parent *thread* that forked, so it
   is only used when workers are forked from the main thread (which lives as long as the process).
2. **A lifeline pipe**: the parent process holds the write end of one pipe for its whole life; every
   worker closes its inherited copy of that end and a watchdog thread waits on the read end. When the
   parent dies the kernel closes its end, the read end reports end-of-file and the worker exits. The
   watchdog also notices a changed parent pid (re-parenting) and, for spawned workers, the standard
   ``multiprocessing`` parent sentinel.
3. **No borrowed pipe ends**: a forked worker inherits the parent's ends of its siblings' command pipes
   (and of its own). It closes them all at once, so a parent's death is also an end-of-file on the
   worker's command pipe, and one worker never keeps another alive.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection, wait
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_INTERVAL_S = 1.0  # how often the watchdog re-checks the parent pid between lifeline events


def set_parent_death_signal(signum: int = signal.SIGKILL) -> bool:
    """Ask the Linux kernel to send ``signum`` to this process when its parent thread exits; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


class WorkerLifeline:
    """Ties the worker processes of one parent process to its life; one per parent process."""

    def __init__(self, death_signal: bool = True, watchdog: bool = True) -> None:
        self.parent_pid = os.getpid()
        self.death_signal = death_signal
        self.watchdog = watchdog
        self._read_fd: int | None
        self._write_fd: int | None
        self._read_fd, self._write_fd = os.pipe()  # not inherited by exec'd programs (O_CLOEXEC)
        self._parent_ends: list[Connection] = []
        self._lock = threading.Lock()

    # -- in the parent ------------------------------------------------------------------------------

    def adopt(self, conn: Connection) -> None:
        """Remember a parent-side pipe end: workers forked from now on close their copy of it."""
        with self._lock:
            self._parent_ends.append(conn)

    def release(self, conn: Connection) -> None:
        """Forget a parent-side pipe end (closed by its owner)."""
        with self._lock:
            self._parent_ends = [c for c in self._parent_ends if c is not conn]

    def forking_thread_is_main(self) -> bool:
        """True on the main thread: only then may workers use the kernel's parent-death signal."""
        return threading.current_thread() is threading.main_thread()

    def __getstate__(self) -> dict[str, Any]:
        # spawned workers get a copy without descriptors (they inherit none) and watch the mp sentinel
        return {"parent_pid": self.parent_pid, "death_signal": self.death_signal, "watchdog": self.watchdog}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._read_fd = self._write_fd = None
        self._parent_ends = []
        self._lock = threading.Lock()

    # -- in the worker ------------------------------------------------------------------------------

    def in_worker(self, own: Connection | None = None, death_signal: bool = True) -> None:
        """Call first thing in a worker: arm every layer; exits at once if the parent is already gone."""
        if self.death_signal and death_signal:
            set_parent_death_signal()
        self._close_borrowed(own)
        if os.getppid() != self.parent_pid:  # the parent died before the signal was armed
            os._exit(0)
        if self.watchdog:
            threading.Thread(target=self._watch, name="kektrade-lifeline", daemon=True).start()

    def _close_borrowed(self, own: Connection | None) -> None:
        """Close the inherited parent-side descriptors: the lifeline's write end and every pipe end."""
        if self._write_fd is not None:
            os.close(self._write_fd)
            self._write_fd = None
        for conn in self._parent_ends:
            if conn is not own:
                conn.close()
        self._parent_ends = []

    def _watch(self) -> None:
        """Exit the worker once the parent is gone (lifeline end-of-file, parent sentinel or new ppid)."""
        watched: list[Any] = [] if self._read_fd is None else [self._read_fd]
        parent = mp.parent_process()
        if parent is not None and self._read_fd is None:
            watched.append(parent.sentinel)
        while True:
            ready = wait(watched, timeout=WATCH_INTERVAL_S) if watched else []
            if not watched:
                threading.Event().wait(WATCH_INTERVAL_S)
            if ready or os.getppid() != self.parent_pid:
                os._exit(0)

    def close(self) -> None:
        """Close the parent's descriptors (the process is about to stop using workers for good)."""
        for fd in (self._read_fd, self._write_fd):
            if fd is not None:
                os.close(fd)
        self._read_fd = self._write_fd = None


_lifelines: dict[int, WorkerLifeline] = {}


def process_lifeline() -> WorkerLifeline:
    """The lifeline of the current process (made on first use; a forked worker gets its own)."""
    pid = os.getpid()
    found = _lifelines.get(pid)
    if found is None:
        _lifelines.clear()  # a forked child must not reuse its parent's lifeline
        found = _lifelines[pid] = WorkerLifeline()
    return found
