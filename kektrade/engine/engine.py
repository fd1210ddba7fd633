"""The engine: one run loop for backtests, paper and live runs, composed around a candle source.

A run is the same loop whatever it trades on; only its parts differ:

- a **candle source** says up to which market time candles are known (``ReplaySource``: all of a
  backtest's data at once; ``LiveSource`` in engine/live.py: what the exchange's feed has published);
- **venues** (simulated, or a live account) behind each instance;
- a **journal** that records what happens;
- **time hooks** (the live optimizer) that must run at given market times.

The loop advances every instance in lockstep by chunks of market time, each through the candle kernel
(engine/kernel.py), never past a hook's next boundary, and never past the candles its source has
completed (``StrategyInstance.complete_until_ms``). Between chunks it applies the hooks' commands and the
queued commands of front ends — the one owner of trading state — and publishes a snapshot built from
state it holds (engine/views.py), never from the network. A failing snapshot listener is logged and
never stops the run.
"""

from __future__ import annotations

import bisect
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Protocol

from kektrade.domain.journal import Journal
from kektrade.engine.commands import (
    AllowEntries,
    ApplyParameters,
    CancelOrders,
    EngineCommand,
    FlattenPosition,
    PauseInstance,
    ResumeInstance,
    StandAside,
    StopRun,
    describe,
)
from kektrade.engine.gcpolicy import collector_for_run
from kektrade.engine.instance import FINAL_MS, InstanceStatus, StrategyInstance
from kektrade.engine.snapshot import EngineSnapshot, Progress
from kektrade.engine.views import AccountSeries, chart_data, order_rows, recent_fills, subaccount_row

log = logging.getLogger("kektrade.engine")

SnapshotSink = Callable[[EngineSnapshot], None]
_ENDS_FINISHED = (InstanceStatus.RUNNING, InstanceStatus.STANDING_ASIDE)


class TimeHook(Protocol):
    """Something that must run at given market times (the live optimizer's re-optimization boundaries)."""

    def on_start(self) -> Sequence[EngineCommand]:
        """Commands to apply before the first candle."""

    def next_boundary_ms(self) -> int:
        """Market time the engine must stop at next (the hook runs there); FINAL_MS when none is reachable."""

    def on_time(self, clock_ms: int) -> Sequence[EngineCommand]:
        """Every instance has seen the candles opening before ``clock_ms``; returns commands to apply now."""

    def close(self) -> None:
        """Release resources (worker processes)."""


class CandleSource(Protocol):
    """Where the engine's candles come from, and what a run of that kind does around the loop."""

    mode: str  # backtest | paper | live
    testnet: bool
    finite: bool  # True: the run ends when every instance has processed its data

    def start(self, engine: Engine) -> None:
        """Before the first candle (live: reconcile, start the feeds)."""

    def wait(self, engine: Engine, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for new candles (live); returns the newest time before which all are known."""

    def after_chunk(self, engine: Engine) -> None:
        """After each chunk (live: save resume points)."""

    def close(self, engine: Engine) -> None:
        """After the loop, however it ended (live: stop feeds, cancel orders if configured, save)."""


class ReplaySource:
    """A backtest's candles: all known from the start; the run ends at the end of the data."""

    mode = "backtest"
    testnet = False
    finite = True

    def start(self, engine: Engine) -> None:
        """Nothing to prepare."""

    def wait(self, engine: Engine, timeout_s: float) -> int:
        """The end of the longest instance's data (never waits)."""
        market_ends = [
            inst.time_of(inst.length - 1) + inst.venue.market.timeframe_ms for inst in engine.instances if inst.length
        ]
        return max(market_ends, default=0)

    def after_chunk(self, engine: Engine) -> None:
        """Nothing to save: a backtest is re-run, not resumed mid-way."""

    def close(self, engine: Engine) -> None:
        """Nothing to release."""


class Engine:
    """Runs instances over their candles; the one owner of their trading state while it runs."""

    def __init__(
        self,
        instances: Sequence[StrategyInstance],
        source: CandleSource | None = None,
        run_id: str = "",
        journal: Journal | None = None,
        chunk_candles: int = 2_000,
        chunk_s: float = 0.08,
        publish_every_s: float = 0.1,
        on_snapshot: SnapshotSink | None = None,
        hooks: Sequence[TimeHook] = (),
    ) -> None:
        self.instances = list(instances)
        self.source: CandleSource = source or ReplaySource()
        self.run_id = run_id
        self.journal = journal
        self.commands: queue.Queue[EngineCommand] = queue.Queue()
        self.on_snapshot = on_snapshot
        self.publish_every_s = publish_every_s
        self.hooks = list(hooks)  # called at every chunk end; chunks end at each hook's boundary
        self.stop_event = threading.Event()
        self.wake = threading.Event()  # set by send(): a waiting live source returns early
        self.state = "starting"
        self.total = sum(max(inst.length - inst.first_index, 0) for inst in self.instances)
        self.done = 0
        self._t0 = time.perf_counter()
        self.run_seconds: float | None = None  # the candle loop's wall time, once finished
        self._last_publish = 0.0
        self._listener_failures = 0
        self._account = AccountSeries(self.instances)
        self._snapshot_s = 0.0  # the last snapshot's build time (publishing is spaced by it)
        self._finest_ms = min((inst.venue.market.timeframe_ms for inst in self.instances), default=60_000)
        self.chunk_ms = self._finest_ms * chunk_candles
        self.chunk_s = chunk_s  # target wall time of one chunk (chunks resize to it as the run goes)
        self.clock_ms = 0
        self._last_boundaries: list[int] = []

    def send(self, command: EngineCommand) -> None:
        """Queue a command (thread-safe); applied between chunks."""
        self.commands.put(command)
        self.wake.set()

    # -- the loop ------------------------------------------------------------------------------------

    def run(self) -> str:
        """Run to the end of the data (backtest) or until stopped (paper, live); returns the final state."""
        self.open()
        failed = True
        try:
            # see engine/gcpolicy.py: ~25 % of an order-heavy run otherwise
            with collector_for_run(holds_records=self.source.mode == "backtest"):
                while self.step(self.source_wait_s):
                    pass
            failed = False
        except Exception:
            self.state = "failed"
            log.exception("engine failed")
            raise
        finally:
            self.close(failed)
        return self.state

    #: how long one step waits for a live source's candles (a backtest's source never waits)
    source_wait_s = 0.25

    def open(self) -> None:
        """Start the run: the source prepares (live: feeds start) and a first snapshot is published."""
        self.state = "running"
        self._t0 = time.perf_counter()
        self.clock_ms = self._earliest_pending(self._processed_through())
        for hook in self.hooks:
            for command in hook.on_start():
                self.apply(command)
        self.source.start(self)
        self._publish()

    def step(self, wait_s: float = 0.0) -> bool:
        """One pass: wait up to ``wait_s`` for candles, apply commands, run what is known; False at the end.

        Tests drive runs with it candle batch by candle batch, independent of wall-clock speed.
        """
        if self.stop_event.is_set():
            return False
        target = self.source.wait(self, wait_s)
        self._apply_commands()
        self.run_until(target)
        if self.source.finite and all(inst.done for inst in self.instances):
            return False
        self._maybe_publish()
        return not self.stop_event.is_set()

    def close(self, failed: bool = False) -> None:
        """End the run: the source closes (live: feeds stop, orders cancelled if configured), hooks release."""
        try:
            self.source.close(self)
        finally:
            for hook in self.hooks:
                hook.close()
        self.run_seconds = time.perf_counter() - self._t0
        if failed:
            self.state = "failed"
        else:
            self.state = "stopped" if self.stop_event.is_set() or not self.source.finite else "finished"
            for inst in self.instances:
                if inst.done and self.source.finite and inst.status in _ENDS_FINISHED:
                    # standing aside at the end of the data is still a finished instance (issue 13)
                    inst.set_status(InstanceStatus.FINISHED)
        self._publish()

    def run_until(self, target_ms: int) -> None:
        """Advance every instance through the candles opening before ``target_ms`` (chunk by chunk)."""
        self.clock_ms = min(self.clock_ms, self._earliest_pending(target_ms))
        while self.clock_ms < target_ms and not self.stop_event.is_set():
            boundaries = [h.next_boundary_ms() for h in self.hooks]
            # a boundary already reached (a lagging instance's data just arrived): run the hooks at the clock
            clock = max(min([self.clock_ms + self.chunk_ms, target_ms, *boundaries]), self.clock_ms)
            if clock == self.clock_ms and boundaries == self._last_boundaries:  # no hook moved: move on
                clock = min(self.clock_ms + self.chunk_ms, target_ms)
            self._last_boundaries = boundaries
            self.clock_ms = clock
            began, done_before = time.perf_counter(), self.done
            self._advance_all(clock)
            for hook in self.hooks:
                for command in hook.on_time(clock):
                    self.apply(command)
            self._apply_commands()
            self.source.after_chunk(self)
            self._resize_chunk(time.perf_counter() - began, self.done - done_before)  # snapshots not counted
            self._maybe_publish()

    def _earliest_pending(self, default: int) -> int:
        """Open time of the earliest known candle not yet processed (``default`` when there is none)."""
        pending = [
            inst.time_of(inst.next_index)
            for inst in self.instances
            if inst.next_index < inst.length and inst.time_of(inst.next_index) < inst.complete_until_ms
        ]
        return min(pending, default=default)

    def _processed_through(self) -> int:
        """The time before which every instance has processed all its candles (where a live run starts)."""
        through = [
            inst.time_of(inst.next_index - 1) + inst.venue.market.timeframe_ms if inst.next_index > 0 else 0
            for inst in self.instances
            if inst.length
        ]
        return min(through, default=0)

    def _resize_chunk(self, seconds: float, candles: int) -> None:
        """Keep a chunk near ``chunk_s`` of wall time, so commands and progress stay responsive."""
        if seconds <= 0 or candles <= 0:
            return
        per_instance = candles / max(len(self.instances), 1) / seconds * self.chunk_s
        self.chunk_ms = self._finest_ms * int(min(max(per_instance, 50), 50_000))

    def _advance_all(self, until_ms: int) -> None:
        for inst in self.instances:
            limit = until_ms if inst.complete_until_ms >= FINAL_MS else min(until_ms, inst.complete_until_ms)
            stop = bisect.bisect_left(inst.venue.market.time_ms, limit)
            self.done += inst.advance(stop)

    # -- commands ------------------------------------------------------------------------------------

    def _apply_commands(self) -> None:
        while True:
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            self.apply(command, operator=True)

    def apply(self, command: EngineCommand, operator: bool = False) -> None:
        """Apply one command to the named instance (or all); on the engine thread only.

        ``operator``: sent by a front end (not derived from candles), so a live venue gives its orders
        client ids outside the candle sequence (never replayed by a resume).
        """
        if isinstance(command, StopRun):
            self.stop_event.set()
            self.wake.set()
            return
        targets = [i for i in self.instances if command.subaccount in (None, i.id)]
        if not targets:
            log.warning("%s: no subaccount %r", describe(command), command.subaccount)
        for inst in targets:
            with inst.operator_actions() if operator else nullcontext():
                self._apply_to(inst, command)
        if targets:
            log.info("%s applied", describe(command))

    @staticmethod
    def _apply_to(inst: StrategyInstance, command: EngineCommand) -> None:
        if isinstance(command, PauseInstance):
            inst.pause()
        elif isinstance(command, ResumeInstance):
            inst.resume()
        elif isinstance(command, FlattenPosition):
            inst.flatten()
        elif isinstance(command, CancelOrders):
            inst.venue.cancel_all_orders()
        elif isinstance(command, AllowEntries):
            inst.allow_entries(command.allowed)
        elif isinstance(command, ApplyParameters):
            inst.apply_parameters(command.parameters, command.flatten_first, command.reason)
        elif isinstance(command, StandAside):
            inst.stand_aside(command.flatten, command.reason)

    # -- snapshots -----------------------------------------------------------------------------------

    def progress(self) -> Progress:
        """Candles done, speed and ETA (a run on live candles has no end: done == total)."""
        elapsed = self.run_seconds if self.run_seconds is not None else time.perf_counter() - self._t0
        elapsed = max(elapsed, 1e-9)
        rate = self.done / elapsed
        total = self.total if self.source.finite else self.done
        left = total - self.done
        return Progress(self.done, total, rate, left / rate if rate > 0 and self.source.finite else None, elapsed)

    def _maybe_publish(self) -> None:
        """Publish every ``publish_every_s``, but never spend more than ~5 % of the engine's time on it."""
        now = time.perf_counter()
        if now - self._last_publish >= max(self.publish_every_s, 20 * self._snapshot_s):
            self._publish()

    def _publish(self) -> None:
        self._last_publish = time.perf_counter()
        if self.on_snapshot is None:
            return
        try:
            began = time.perf_counter()
            snapshot = self.snapshot()
            self._snapshot_s = time.perf_counter() - began
            self.on_snapshot(snapshot)
        except Exception:  # a front end's bug must never stop trading
            self._listener_failures += 1
            if self._listener_failures <= 3 or self._listener_failures % 1000 == 0:
                log.exception("publishing a snapshot failed (%d times so far)", self._listener_failures)

    def snapshot(self) -> EngineSnapshot:
        """The current state as an immutable snapshot (on the engine thread; no network)."""
        rows, orders = [], []
        for inst in self.instances:
            rows.append(subaccount_row(inst))
            orders.extend(order_rows(inst))
        self._account.update()
        times, total, by_sub = self._account.series()
        now = max((inst.venue.now_ms for inst in self.instances), default=0)
        return EngineSnapshot(
            run_id=self.run_id,
            mode=self.source.mode,
            testnet=self.source.testnet,
            state=self.state,
            now_ms=now,
            progress=self.progress(),
            subaccounts=tuple(rows),
            orders=tuple(orders),
            equity_times_ms=times,
            equity_total=total,
            equity_by_subaccount=by_sub,
            leaderboards={i.id: list(i.leaderboard) for i in self.instances},
            recent_fills={i.id: recent_fills(i) for i in self.instances},
            charts={i.id: chart_data(i) for i in self.instances},
        )
