"""The headless face (``--no-tui``): progress, status lines, results, clean shutdown on signals.

On a terminal the progress is a rich bar pinned under the log: log lines of the console handler are
printed through the same rich console, above the bar, so the two never interleave. When the candles are
done the bar gives way to a "writing results" stage until the results are stored. Elsewhere (a pipe, a
file, CI) it writes plain progress lines through the log every ``status_every_s``.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from kektrade.control.facade import RunController
from kektrade.domain.timeframes import format_ms
from kektrade.engine.snapshot import EngineSnapshot

log = logging.getLogger("kektrade.control")
ENDED = ("finished", "stopped", "failed")


def progress_line(snap: EngineSnapshot, width: int = 30) -> str:
    """``[#####-----]  42.0 %  1,234,567/2,939,520 candles  812,345 c/s  ETA 2s  2024-03-01 12:00``."""
    p = snap.progress
    filled = round(p.fraction * width)
    eta = f"ETA {p.eta_s:,.0f}s" if p.eta_s is not None else "ETA -"
    when = format_ms(snap.now_ms) if snap.now_ms else "-"
    return (
        f"[{'#' * filled}{'-' * (width - filled)}] {100 * p.fraction:5.1f} %  {p.done:,}/{p.total:,} candles"
        f"  {p.candles_per_s:,.0f} c/s  {eta}  {when}"
    )


def status_line(snap: EngineSnapshot) -> str:
    """One line per run: account equity and each subaccount's position and status."""
    total = snap.equity_total[-1] if snap.equity_total else 0.0
    parts = [f"{r.id} {r.status} pos {r.contracts:g} eq {r.equity:,.4g} {r.settle_currency}" for r in snap.subaccounts]
    return f"account {total:,.2f} | " + " | ".join(parts)


def stage(snap: EngineSnapshot, finished: bool) -> str:
    """What the run is doing: ``simulating``, ``writing results`` (candles done, results not stored) or ``done``."""
    if finished:
        return "done"
    return "writing results" if snap.state in ENDED else "simulating"


def failed_subaccounts(results: Mapping[str, Any] | None) -> list[str]:
    """Ids of the subaccounts whose strategy failed (status ``failed`` in the results document)."""
    return [str(s.get("id")) for s in (results or {}).get("subaccounts", []) if s.get("status") == "failed"]


class _ConsoleStream:
    """A text stream writing through a rich console (so lines go above a live progress bar)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def write(self, text: str) -> int:
        """Print ``text`` as it is (no markup, no highlighting)."""
        self.console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        """Nothing to flush: the console writes at once."""


@contextmanager
def _logs_through(console: Console, stream: TextIO) -> Iterator[None]:
    """Point the kektrade logger's handlers that write to ``stream`` at ``console`` for the block."""
    moved = [
        h
        for h in logging.getLogger("kektrade").handlers
        if type(h) is logging.StreamHandler and getattr(h, "stream", None) is stream
    ]
    for handler in moved:
        handler.setStream(_ConsoleStream(console))
    try:
        yield
    finally:
        for handler in moved:
            handler.setStream(stream)


class HeadlessRunner:
    """Runs a controller to the end, drawing progress on a terminal (or plain lines elsewhere)."""

    def __init__(
        self,
        controller: RunController,
        out: TextIO | None = None,
        status_every_s: float = 10.0,
        interactive: bool | None = None,
    ):
        self.controller = controller
        out = out if out is not None else sys.stderr  # looked up now: tests and rich may replace sys.stderr
        self.out = out
        self.status_every_s = status_every_s
        self._last_status = 0.0
        self._interactive = out.isatty() if interactive is None else interactive
        self.stages: list[str] = []  # stages shown, in order (tests read it)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.warning("signal %d: stopping after the current chunk, results will be written", signum)
        self.controller.stop()

    def run(self) -> int:
        """Start, draw progress until the end, print results; returns the exit code."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.controller.start()
            if self._interactive:
                self._run_rich()
            else:
                self._run_plain()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if self.controller.error is not None:
            print(f"\nerror: {self.controller.error}", file=self.out)
            return 1
        print("\n" + self.controller.results_text(), file=sys.stdout, flush=True)
        failed = failed_subaccounts(self.controller.results)
        if failed:
            print(f"FAILED: {', '.join(failed)} (their strategy raised; see the log)", file=self.out, flush=True)
        return 0

    def _note(self, name: str) -> None:
        if not self.stages or self.stages[-1] != name:
            self.stages.append(name)

    def _run_rich(self) -> None:
        console = Console(file=self.out, force_terminal=True)
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%  {task.completed:,.0f}/{task.total:,.0f} candles"),
            TextColumn("{task.fields[speed]}"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[when]}"),
            console=console,
            transient=False,
        )
        with _logs_through(console, self.out), bar:
            task = bar.add_task("simulating", total=1, speed="", when="")
            while not self.controller.wait(0.25):
                self._update(bar, task, self.controller.snapshot(), finished=False)
            self._update(bar, task, self.controller.snapshot(), finished=True)

    def _update(self, bar: Progress, task: TaskID, snap: EngineSnapshot, finished: bool) -> None:
        p = snap.progress
        name = stage(snap, finished)
        changed = name != (self.stages[-1] if self.stages else None)
        self._note(name)
        speed = f"{p.candles_per_s:,.0f} c/s" if name == "simulating" else ""
        when = format_ms(snap.now_ms) if snap.now_ms else ""
        bar.update(task, description=name, completed=p.done, total=max(p.total, 1), speed=speed, when=when)
        if changed:  # a new stage is drawn at once, not at the next refresh (which a short stage may never see)
            bar.refresh()
        self._maybe_status(snap, finished)

    def _run_plain(self) -> None:
        while not self.controller.wait(0.25):
            snap = self.controller.snapshot()
            name = stage(snap, False)
            if name != (self.stages[-1] if self.stages else None) and name == "writing results":
                log.info("candles done; writing results")
            self._note(name)
            self._maybe_status(snap, False, plain=True)
        self._note("done")
        self._maybe_status(self.controller.snapshot(), True, plain=True)

    def _maybe_status(self, snap: EngineSnapshot, final: bool, plain: bool = False) -> None:
        now = time.monotonic()
        if final or now - self._last_status >= self.status_every_s:
            self._last_status = now
            if plain:
                log.info("%s | %s", progress_line(snap), status_line(snap))
            else:
                log.info("%s", status_line(snap))
