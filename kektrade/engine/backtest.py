"""The backtest engine: advances every instance in lockstep, time chunk by time chunk.

Lockstep keeps the combined account equity, the optimizer and the front ends consistent: no instance
runs ahead of another by more than one chunk of market time. Between chunks the engine applies queued
commands (pause, flatten, ...) and publishes a snapshot; nothing else touches trading state.
"""

from __future__ import annotations

import bisect
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
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
from kektrade.engine.instance import InstanceStatus, StrategyInstance
from kektrade.engine.snapshot import (
    ChartData,
    EngineSnapshot,
    FillRow,
    OrderRow,
    Progress,
    SubaccountRow,
)

log = logging.getLogger("kektrade.engine")

SnapshotSink = Callable[[EngineSnapshot], None]


class TimeHook(Protocol):
    """Something that must run at given market times (the live optimizer's re-optimization boundaries)."""

    def next_boundary_ms(self) -> int:
        """Market time the engine must stop at next (the hook runs there)."""

    def on_time(self, clock_ms: int) -> Sequence[EngineCommand]:
        """Every instance has seen the candles opening before ``clock_ms``; returns commands to apply now."""

    def close(self) -> None:
        """Release resources (worker processes)."""


class BacktestEngine:
    """Runs instances over their candles; the one owner of their trading state while it runs."""

    def __init__(
        self,
        instances: Sequence[StrategyInstance],
        run_id: str = "",
        journal: Journal | None = None,
        chunk_candles: int = 2_000,
        chunk_s: float = 0.08,
        publish_every_s: float = 0.1,
        on_snapshot: SnapshotSink | None = None,
        hooks: Sequence[TimeHook] = (),
    ) -> None:
        self.instances = list(instances)
        self.run_id = run_id
        self.journal = journal
        self.commands: queue.Queue[EngineCommand] = queue.Queue()
        self.on_snapshot = on_snapshot
        self.publish_every_s = publish_every_s
        self.hooks = list(hooks)  # called at every chunk end; chunks end at each hook's boundary
        self.stop_event = threading.Event()
        self.state = "starting"
        self.total = sum(max(inst.length - inst.first_index, 0) for inst in self.instances)
        self.done = 0
        self._t0 = time.perf_counter()
        self.run_seconds: float | None = None  # the candle loop's wall time, once finished
        self._last_publish = 0.0
        self._finest_ms = min((inst.venue.market.timeframe_ms for inst in self.instances), default=60_000)
        self.chunk_ms = self._finest_ms * chunk_candles
        self.chunk_s = chunk_s  # target wall time of one chunk (chunks resize to it as the run goes)

    def send(self, command: EngineCommand) -> None:
        """Queue a command (thread-safe); applied between chunks."""
        self.commands.put(command)

    def run(self) -> str:
        """Run to the end (or until stopped); returns the final state."""
        self.state = "running"
        self._t0 = time.perf_counter()
        clock = self._start_time()
        try:
            with collector_for_run():  # see engine/gcpolicy.py: ~25 % of an order-heavy run otherwise
                while not self.stop_event.is_set() and not all(inst.done for inst in self.instances):
                    clock = min([clock + self.chunk_ms, *(h.next_boundary_ms() for h in self.hooks)])
                    began, done_before = time.perf_counter(), self.done
                    self._advance_all(clock)
                    for hook in self.hooks:
                        for command in hook.on_time(clock):
                            self.apply(command)
                    self._apply_commands()
                    self._maybe_publish()
                    self._resize_chunk(time.perf_counter() - began, self.done - done_before)
        except Exception:
            self.state = "failed"
            log.exception("engine failed")
            self._publish()
            raise
        finally:
            for hook in self.hooks:
                hook.close()
        self.run_seconds = time.perf_counter() - self._t0
        self.state = "stopped" if self.stop_event.is_set() else "finished"
        for inst in self.instances:
            if inst.done and inst.status is InstanceStatus.RUNNING:
                inst.set_status(InstanceStatus.FINISHED)
        self._publish()
        return self.state

    def _resize_chunk(self, seconds: float, candles: int) -> None:
        """Keep a chunk near ``chunk_s`` of wall time, so commands and progress stay responsive."""
        if seconds <= 0 or candles <= 0:
            return
        per_instance = candles / max(len(self.instances), 1) / seconds * self.chunk_s
        self.chunk_ms = self._finest_ms * int(min(max(per_instance, 50), 50_000))

    def _start_time(self) -> int:
        firsts = [inst.time_of(inst.first_index) for inst in self.instances if not inst.done]
        return min(firsts) if firsts else 0

    def _advance_all(self, until_ms: int) -> None:
        for inst in self.instances:
            stop = bisect.bisect_left(inst.venue.market.time_ms, until_ms)
            self.done += inst.advance(stop)

    def _apply_commands(self) -> None:
        while True:
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            self.apply(command)

    def apply(self, command: EngineCommand) -> None:
        """Apply one command to the named instance (or all); on the engine thread only."""
        if isinstance(command, StopRun):
            self.stop_event.set()
            return
        targets = [i for i in self.instances if command.subaccount in (None, i.id)]
        if not targets:
            log.warning("%s: no subaccount %r", describe(command), command.subaccount)
        for inst in targets:
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
            log.info("%s applied", describe(command))

    # -- snapshots ----------------------------------------------------------------------------------

    def progress(self) -> Progress:
        """Candles done, speed and ETA."""
        elapsed = self.run_seconds if self.run_seconds is not None else time.perf_counter() - self._t0
        elapsed = max(elapsed, 1e-9)
        rate = self.done / elapsed
        left = self.total - self.done
        return Progress(self.done, self.total, rate, left / rate if rate > 0 else None, elapsed)

    def _maybe_publish(self) -> None:
        now = time.perf_counter()
        if now - self._last_publish >= self.publish_every_s:
            self._publish()

    def _publish(self) -> None:
        self._last_publish = time.perf_counter()
        if self.on_snapshot is not None:
            self.on_snapshot(self.snapshot())

    def snapshot(self) -> EngineSnapshot:
        """The current state as an immutable snapshot (call on the engine thread)."""
        rows, orders = [], []
        for inst in self.instances:
            rows.append(subaccount_row(inst))
            orders.extend(order_rows(inst))
        times, total, by_sub = account_series(self.instances)
        now = max((inst.venue.now_ms for inst in self.instances), default=0)
        return EngineSnapshot(
            run_id=self.run_id,
            mode="backtest",
            testnet=False,
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


def subaccount_row(inst: StrategyInstance) -> SubaccountRow:
    """The front-end row of one instance."""
    venue = inst.venue
    pos = venue.get_position() if venue.candle_index >= 0 else None
    equity = venue.equity()
    mark = pos.mark_price if pos else 0.0
    return SubaccountRow(
        id=inst.id,
        venue=str(inst.metadata.get("venue", "")),
        pair=venue.spec.symbol,
        strategy=type(inst.strategy).__name__,
        parameters=dict(inst.parameter),
        status=inst.status.value,
        contracts=venue.contracts,
        entry_price=pos.entry_price if pos else 0.0,
        mark_price=mark,
        liquidation_price=pos.liquidation_price if pos else 0.0,
        unrealized_pnl=pos.unrealized_pnl if pos else 0.0,
        equity=equity,
        equity_quote=equity * mark if inst.is_inverse else equity,
        settle_currency=venue.spec.settle,
        error=inst.error,
        fills=len(venue.fills),
    )


def recent_fills(inst: StrategyInstance, count: int = 100) -> tuple[FillRow, ...]:
    """The instance's latest fills, oldest first."""
    return tuple(
        FillRow(
            f.time_ms,
            f.kind.value,
            "buy" if f.contracts > 0 else "sell",
            abs(f.contracts),
            f.price,
            f.fee,
            f.realized_pnl,
            f.position_after,
        )
        for f in inst.venue.fills[-count:]
    )


def chart_data(inst: StrategyInstance, count: int = 300) -> ChartData:
    """The last ``count`` candles up to the current one, with the plot indicators in use."""
    end = inst.venue.candle_index + 1
    if end <= 0:
        return ChartData((), (), (), (), ())
    start = max(end - count, 0)
    m = inst.venue.market
    indicators = tuple(
        (name, overlay, tuple(inst.strategy.c[name][start:end])) for name, overlay in inst.plot_indicators()
    )
    return ChartData(
        tuple(m.time_ms[start:end]),
        tuple(m.open[start:end]),
        tuple(m.high[start:end]),
        tuple(m.low[start:end]),
        tuple(m.close[start:end]),
        indicators,
    )


def order_rows(inst: StrategyInstance) -> list[OrderRow]:
    """Open orders of one instance as rows."""
    return [
        OrderRow(
            inst.id,
            o.id,
            o.side,
            o.type.value,
            o.price,
            o.trigger_price,
            o.contracts,
            o.filled,
            o.reduce_only,
            o.post_only,
            o.created_ms,
            o.status.value,
        )
        for o in inst.venue.get_open_orders()
    ]


def account_series(
    instances: Sequence[StrategyInstance],
    max_points: int = 2_000,
) -> tuple[tuple[int, ...], tuple[float, ...], dict[str, tuple[float, ...]]]:
    """Combined quote equity on the union of sample times (each series held at its last value)."""
    times = sorted({t for inst in instances for t in inst.times_ms})
    if len(times) > max_points:
        stride = len(times) // max_points + 1
        times = times[::stride] + ([times[-1]] if (len(times) - 1) % stride else [])
    by_sub: dict[str, tuple[float, ...]] = {}
    for inst in instances:
        values, series_t, k = [], inst.times_ms, 0
        first = inst.equity_quote[0] if inst.equity_quote else 0.0
        last = first
        for t in times:
            while k < len(series_t) and series_t[k] <= t:
                last = inst.equity_quote[k]
                k += 1
            values.append(last)
        by_sub[inst.id] = tuple(values)
    total = tuple(sum(col) for col in zip(*by_sub.values(), strict=True)) if by_sub else ()
    return tuple(times), total, by_sub
