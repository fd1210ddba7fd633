"""The headless face (``--no-tui``): a progress bar, periodic status lines, clean shutdown on signals."""

from __future__ import annotations

import logging
import signal
import sys
import time
from types import FrameType
from typing import TextIO

from kektrade.control.facade import RunController
from kektrade.domain.timeframes import format_ms
from kektrade.engine.snapshot import EngineSnapshot

log = logging.getLogger("kektrade.control")


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


class HeadlessRunner:
    """Runs a controller to the end, drawing progress on a terminal (or plain lines elsewhere)."""

    def __init__(self, controller: RunController, out: TextIO = sys.stderr, status_every_s: float = 10.0):
        self.controller = controller
        self.out = out
        self.status_every_s = status_every_s
        self._last_status = 0.0
        self._interactive = out.isatty()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.warning("signal %d: stopping after the current chunk, results will be written", signum)
        self.controller.stop()

    def run(self) -> int:
        """Start, draw progress until the end, print results; returns the exit code."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.controller.start()
            while not self.controller.wait(0.25):
                self._draw(self.controller.snapshot())
            self._draw(self.controller.snapshot(), final=True)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if self.controller.error is not None:
            print(f"\nerror: {self.controller.error}", file=self.out)
            return 1
        print("\n" + self.controller.results_text(), file=sys.stdout, flush=True)
        return 0

    def _draw(self, snap: EngineSnapshot, final: bool = False) -> None:
        line = progress_line(snap)
        if self._interactive:
            print("\r" + line, end="\n" if final else "", file=self.out, flush=True)
        now = time.monotonic()
        if final or now - self._last_status >= self.status_every_s:
            self._last_status = now
            if not self._interactive:
                print(line, file=self.out, flush=True)
            log.info("%s | %s", line, status_line(snap))
