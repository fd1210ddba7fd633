"""A strategy instance: one strategy x pair x subaccount, its indicator frame, venue and state.

The instance owns its trading state; only the engine thread calls into it. ``advance(stop)`` runs the
candle kernel (``engine/kernel.py``) over its candles — the same routine in backtests, paper and live
runs and the optimizer's virtual exchanges: venue step for candle i, then the strategy's ``tick`` for i,
so candle i's orders can only match from candle i + 1 on.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from enum import StrEnum
from typing import Any

import pandas as pd

from kektrade.domain.journal import EquitySampled, Journal, StatusChanged
from kektrade.engine import kernel
from kektrade.engine.guard import EntryGuard
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.strategy.base import Strategy
from kektrade.strategy.schedule import ScheduleCache

log = logging.getLogger("kektrade.engine")


#: ``complete_until_ms`` of data that will not grow (a backtest's): its last candle ends the run
FINAL_MS = 2**62


class InstanceStatus(StrEnum):
    """What an instance is doing."""

    RUNNING = "running"
    PAUSED = "paused"
    FAILED = "failed"
    STANDING_ASIDE = "standing_aside"
    FINISHED = "finished"


class StrategyInstance:
    """Runs one strategy on one subaccount's venue, candle by candle."""

    def __init__(
        self,
        subaccount_id: str,
        strategy: Strategy,
        frame: pd.DataFrame,
        venue: SimExchange,
        parameter: Mapping[str, Any],
        metadata: dict[str, Any],
        first_index: int,
        journal: Journal | None = None,
        equity_sample_ms: int = 3_600_000,
        on_error_cancel_orders: bool = False,
    ) -> None:
        self.id = subaccount_id
        self.strategy = strategy
        self.frame = frame
        self.venue = venue
        self.parameter: dict[str, Any] = dict(parameter)
        self.metadata = metadata
        self.variables: dict[str, Any] = {}
        self.first_index = first_index
        self.next_index = first_index
        self.journal = journal
        self.status = InstanceStatus.RUNNING
        self.error: str | None = None
        self.on_error_cancel_orders = on_error_cancel_orders
        self._sample_ms = max(int(equity_sample_ms), 0)
        self.times_ms: list[int] = []
        self.equity: list[float] = []
        self.equity_quote: list[float] = []
        self.next_sample_ms = 0
        #: candles opening before this time are all known (FINAL_MS: a backtest's data, complete; live: the feed's mark)
        self.complete_until_ms = FINAL_MS
        self._plot_spec: list[tuple[str, bool]] | None = None
        #: the optimizer's latest ranking (parameters, score), best first; empty without optimization
        self.leaderboard: list[tuple[dict[str, Any], float]] = []
        #: why the optimizer's latest selection chose nothing (best score, criteria), None after a pick
        self.optimizer_note: str | None = None
        #: open time of the first candle of the live optimizer's virtual exchanges (None without one)
        self.optimizer_first_ms: int | None = None
        #: False while the operator refuses new exposure (the strategy then trades through an EntryGuard)
        self.entries_allowed = True
        self.account: Any = venue  # what the strategy's tick receives
        #: order id -> exit reason of the engine's own closing orders ("flatten", "optimizer_switch")
        self.exit_tags: dict[str, str] = {}
        self._schedule = ScheduleCache()

    def plot_indicators(self, limit: int = 4) -> list[tuple[str, bool]]:
        """(column, overlay) pairs of the strategy's plot spec that exist, narrowed to the parameters in use.

        A spec listing every search-space variant (``sma50``, ``sma100``, ...) is cut to the columns whose
        name ends in a current parameter value (``sma200`` when ``parameter["sma"] == 200``).
        """
        if self._plot_spec is None:
            try:
                spec = self.strategy.get_plot_indicators(self.frame)
            except Exception:  # a broken plot spec must not stop trading
                log.exception("instance %s: get_plot_indicators failed", self.id)
                spec = []
            self._plot_spec = [
                (str(d["name"]), bool(d.get("overlay", False)))
                for d in spec
                if d.get("plot", True) and d.get("name") in self.frame.columns
            ]
        found = self._plot_spec
        if len(found) > limit:
            values = {str(v) for v in self.parameter.values()}
            found = [(n, o) for n, o in found if any(n.endswith(v) for v in values)] or found
        return found[:limit]

    @property
    def length(self) -> int:
        """Number of candles available to this instance."""
        return len(self.venue.market)

    @property
    def done(self) -> bool:
        """True when every available candle has been simulated."""
        return self.next_index >= self.length

    @property
    def is_inverse(self) -> bool:
        """Coin-margined instance (equity in coin; quote value = coin x mark)."""
        return self.venue.spec.is_inverse

    def time_of(self, index: int) -> int:
        """Open time of candle ``index``."""
        return self.venue.market.time_ms[index]

    @property
    def ticking(self) -> bool:
        """The strategy's tick is called only while running."""
        return self.status is InstanceStatus.RUNNING

    def tick_function(self) -> Any:
        """The strategy's bound tick (for the kernel)."""
        return self.strategy.tick

    def schedule(self) -> Sequence[int] | None:
        """The candles the strategy's ``tick_on`` selects with the parameters in use (None: every candle)."""
        return self._schedule.get(self.strategy, self.frame, self.parameter)

    def advance(self, stop: int) -> int:
        """Simulate and tick candles [next_index, stop) with the candle kernel; returns how many ran."""
        done = kernel.advance(self, min(stop, self.length))
        if done and self.next_index >= self.length and self.complete_until_ms >= FINAL_MS:
            self.sample(self.next_index - 1, force=True)
        return done

    def fail(self, i: int, exc: BaseException) -> None:
        """The strategy raised at candle i: the instance is marked failed (it stops ticking)."""
        self._fail(i)

    def sample(self, i: int, force: bool = False) -> int:
        """Record one equity point at the close of candle i; returns the next sample's due open time."""
        venue = self.venue
        time_ms = venue.market.time_ms[i] + venue.market.timeframe_ms
        if force and self.times_ms and self.times_ms[-1] >= time_ms:
            return time_ms + self._sample_ms
        equity = venue.equity()
        mark = venue.market.mark_close[i]
        quote = equity * mark if self.is_inverse else equity
        self.times_ms.append(time_ms)
        self.equity.append(equity)
        self.equity_quote.append(quote)
        if self.journal is not None:
            self.journal.record(
                EquitySampled(
                    self.id,
                    time_ms,
                    venue.wallet_balance,
                    equity,
                    quote,
                    venue.contracts,
                    mark,
                    venue.market.close[i],
                )
            )
        # the next sample is due at the candle whose close is one interval later (compared on open times)
        return time_ms + self._sample_ms - venue.market.timeframe_ms if self._sample_ms else 0

    def _fail(self, i: int) -> None:
        text = traceback.format_exc()
        self.error = text.strip().splitlines()[-1]
        log.error(
            "instance %s: strategy %s raised at candle %d; instance paused\n%s",
            self.id,
            type(self.strategy).__name__,
            i,
            text,
        )
        if self.on_error_cancel_orders:
            self.venue.cancel_all_orders()
        self.set_status(InstanceStatus.FAILED, text)

    def set_status(self, status: InstanceStatus, message: str = "") -> None:
        """Change status and journal it."""
        self.status = status
        if self.journal is not None:
            self.journal.record(StatusChanged(self.id, self.venue.now_ms, status.value, message))

    def pause(self) -> None:
        """Stop calling tick; the venue keeps simulating fills, funding and liquidation."""
        if self.status is InstanceStatus.RUNNING:
            self.set_status(InstanceStatus.PAUSED)

    def resume(self) -> None:
        """Call tick again (also after a failure, once the user decides to)."""
        if self.status in (InstanceStatus.PAUSED, InstanceStatus.FAILED):
            self.error = None
            self.set_status(InstanceStatus.RUNNING)

    def operator_actions(self) -> AbstractContextManager[Any]:
        """Where a front end's orders go out: a live venue ids them outside the candle sequence."""
        manual = getattr(self.venue, "manual", None)
        return manual() if manual is not None else nullcontext()

    def allow_entries(self, allowed: bool) -> None:
        """Allow or refuse orders that add exposure (the operator's "no new positions")."""
        self.entries_allowed = allowed
        self.account = self.venue if allowed else EntryGuard(self.venue)
        log.info("instance %s: new entries %s", self.id, "allowed" if allowed else "stopped")

    def apply_parameters(self, parameters: Mapping[str, Any], flatten_first: bool, reason: str = "") -> None:
        """Trade ``parameters`` from the next candle on (the optimizer's pick); fresh strategy variables."""
        if flatten_first:
            self.flatten("optimizer_switch")
        else:
            self.venue.cancel_all_orders()
        self.parameter = dict(parameters)
        self.variables = {}
        if self.status is InstanceStatus.STANDING_ASIDE:
            self.set_status(InstanceStatus.RUNNING, reason or f"parameters {self.parameter}")

    def stand_aside(self, flatten: bool, reason: str = "") -> None:
        """Stop trading for now: flatten, or cancel the orders that are not reduce-only (stops stay)."""
        if flatten:
            self.flatten("optimizer_switch")
        else:
            for order in self.venue.get_open_orders():
                if not order.reduce_only or self.venue.contracts == 0.0:
                    self.venue.cancel_order(order.id)
        self.parameter = {}  # honest (issue 13): no parameter set is live while standing aside
        if self.status is InstanceStatus.RUNNING:
            self.set_status(InstanceStatus.STANDING_ASIDE, reason or "no combination qualifies")

    def flatten(self, reason: str = "flatten") -> None:
        """Cancel every order and close the position with a reduce-only market order (tagged ``reason``)."""
        self.venue.cancel_all_orders()
        order = self.venue.close_position()
        if order is not None:
            self.exit_tags[order.id] = reason
        log.info("instance %s: flattened (orders cancelled, position closing at the next price)", self.id)
