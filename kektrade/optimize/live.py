"""Live optimization: score every combination on its virtual exchange, apply the best one (or none).

At every re-optimization boundary (``reoptimize_every``, UTC-aligned by default) each combination is
scored over the trailing ``lookback`` of its marked-to-market equity. The best eligible combination
(enough closed trades, a finite score at or above ``min_score``) becomes the real subaccount's
parameter set; when none is eligible the subaccount stands aside. Ties go to the combination that comes
first in the expansion order (keys sorted, values as listed). The first selection happens once a full
lookback of history exists; until then the real subaccount stands aside. Virtual exchanges only ever
advance to candles the real subaccount has already seen, so no selection can look ahead.
"""

from __future__ import annotations

import bisect
import logging
import math
from array import array
from typing import Any

from kektrade.domain.journal import Journal, SelectionRecorded
from kektrade.domain.timeframes import align_up, format_ms
from kektrade.engine.commands import ApplyParameters, EngineCommand, StandAside
from kektrade.engine.instance import FINAL_MS, StrategyInstance
from kektrade.optimize.executor import Executor
from kektrade.optimize.scoring import score
from kektrade.optimize.trials import BookUpdate, TrialSpec
from kektrade.optimize.walkforward import build_report, none_text, why_none

log = logging.getLogger("kektrade.optimize")
NEVER_MS = 2**62  # the next boundary once a backtest's data has ended


class LiveOptimizer:
    """Runs the virtual exchanges beside one real instance and switches its parameters."""

    def __init__(
        self,
        instance: StrategyInstance,
        spec: TrialSpec,
        executor: Executor,
        *,
        every_ms: int,
        lookback_ms: int,
        objective: str,
        min_trades: int,
        min_score: float | None,
        switch_policy: str,
        stand_aside: str,
        leaderboard_size: int,
        align_utc: bool,
        journal: Journal | None = None,
        pbo_blocks: int = 16,
    ) -> None:
        self.instance = instance
        self.combos = spec.combos
        self.executor = executor
        self.every_ms, self.lookback_ms = every_ms, lookback_ms
        self.objective, self.min_trades, self.min_score = objective, min_trades, min_score
        self.switch_policy, self.stand_aside = switch_policy, stand_aside
        self.leaderboard_size = leaderboard_size
        self.journal = journal
        self.pbo_blocks = pbo_blocks  # CSCV blocks of the overfitting diagnostics
        self.times: list[int] = []
        # compact per-combination state (8 bytes a value): the whole equity series (the report needs it),
        # the closes of the current lookback only (scoring needs no older ones; see _forget_closes)
        self.equity: dict[int, array[float]] = {k: array("d") for k in range(len(self.combos))}
        self.close_times: dict[int, array[int]] = {k: array("q") for k in range(len(self.combos))}  # sorted
        self.close_pnls: dict[int, array[float]] = {k: array("d") for k in range(len(self.combos))}
        self.failed: dict[int, str] = {}
        self.selected: int | None = None
        self._final: dict[int, float] | None = None
        self.selections: list[dict[str, Any]] = []
        self.spec = spec
        #: resume: selections at boundaries up to this time are recomputed silently (already journaled and applied)
        self.replay_until_ms = 0
        first = instance.time_of(spec.first_index) if spec.first_index < instance.length else instance.complete_until_ms
        instance.optimizer_first_ms = first
        ready = first + lookback_ms
        self._next = align_up(ready, every_ms) if align_utc else ready
        executor.start(spec)

    # -- engine hooks ------------------------------------------------------------------------------

    def follow_frame(self, frame: Any) -> None:
        """Live runs: the instance's indicator frame grew; the virtual exchanges read the same rows."""
        self.spec.frame = frame

    def on_start(self) -> list[EngineCommand]:
        """Before the first candle: stand aside until the first selection (a resumed run keeps its state)."""
        if self.replay_until_ms:
            return []
        return [StandAside(self.instance.id, flatten=False, reason="waiting for the first optimization")]

    def next_boundary_ms(self) -> int:
        """Market time of the next re-optimization (FINAL_MS while the instance's candles before it are unknown)."""
        return self._next if self._next <= self.instance.complete_until_ms else FINAL_MS

    def on_time(self, clock_ms: int) -> list[EngineCommand]:
        """The real instance has seen every candle opening before ``clock_ms``: catch up, maybe select.

        Returns the commands that carry out the selections (the engine applies them at once, in order).
        """
        clock_ms = min(clock_ms, self.instance.complete_until_ms)  # live: only what the feed has completed
        if self._can_wait(clock_ms):
            return []
        stop = bisect.bisect_left(self.instance.venue.market.time_ms, clock_ms)
        stop = min(stop, self.instance.next_index)
        self._merge(self.executor.advance(stop))
        commands: list[EngineCommand] = []
        while clock_ms >= self._next:
            if self._past_data(self._next):  # a backtest's data ended: nothing left to trade a pick on
                self._next = NEVER_MS
                break
            command = self._select(self._next)
            if command is not None and self._next > self.replay_until_ms:  # replayed: the instance has it already
                commands.append(command)
            self._next += self.every_ms
        if self._next != NEVER_MS:  # after the data's end the last windows stay readable (scores_at)
            self._forget_closes(self._next - self.lookback_ms)
        return commands

    def _forget_closes(self, before_ms: int) -> None:
        """Drop closes at or before ``before_ms``: no window from the next boundary on counts them."""
        for k, times in self.close_times.items():
            drop = bisect.bisect_right(times, before_ms)
            if drop:
                del times[:drop]
                del self.close_pnls[k][:drop]

    def _can_wait(self, clock_ms: int) -> bool:
        """Backtests on a remote executor: the virtual exchanges catch up only at boundaries and at the end.

        One executor round trip per re-optimization instead of one per engine chunk; samples sit on a
        fixed grid, so the results are the same.
        """
        inst = self.instance
        if not (self.executor.catch_up_at_boundaries and inst.metadata.get("is_backtest", False)):
            return False
        return clock_ms < self._next and inst.next_index < inst.length

    def _past_data(self, boundary_ms: int) -> bool:
        """True when no candle of a backtest opens at or after ``boundary_ms`` (live data never ends)."""
        inst = self.instance
        if not inst.metadata.get("is_backtest", False) or inst.length == 0:
            return False
        return boundary_ms > inst.time_of(inst.length - 1)

    def _merge(self, updates: list[BookUpdate]) -> None:
        """Append each book's samples; every book samples the same times."""
        if not updates:
            return
        self.times.extend(updates[0].sample_times_ms)
        for update in updates:
            for k, values in update.equity.items():
                self.equity[k].extend(values)
                for time_ms, pnl in update.closes.get(k, []):
                    self.close_times[k].append(time_ms)
                    self.close_pnls[k].append(pnl)
            self.failed.update(update.failed)

    # -- selection ---------------------------------------------------------------------------------

    def scores_at(self, boundary_ms: int) -> list[tuple[int, float, int]]:
        """(combination, score, closed trades) over the lookback ending at ``boundary_ms``."""
        lo = bisect.bisect_left(self.times, boundary_ms - self.lookback_ms)
        hi = bisect.bisect_right(self.times, boundary_ms)
        window_t = self.times[lo:hi]
        out = []
        for k in range(len(self.combos)):
            values = self.equity[k][lo:hi]
            times = self.close_times[k]  # bisect: a scan of every close would grow with the run
            first = bisect.bisect_right(times, boundary_ms - self.lookback_ms)
            closes = self.close_pnls[k][first : bisect.bisect_right(times, boundary_ms)]
            value = math.nan if k in self.failed else score(self.objective, window_t, values, closes)
            out.append((k, value, len(closes)))
        return out

    def _ruled_out(self, k: int, value: float, trades: int) -> str | None:
        """Why combination ``k`` cannot be selected, checked in this order; None when it is eligible."""
        if k in self.failed:
            return f"failed ({self.failed[k]})"
        if trades < self.min_trades:
            return f"min_trades ({trades} < {self.min_trades})"
        if math.isnan(value):
            return "undefined score"
        if math.isinf(value):
            return "infinite score" if value > 0 else "score -inf"
        if self.min_score is not None and value < self.min_score:
            return f"min_score ({value:.4g} < {self.min_score:g})"
        return None

    def _select(self, boundary_ms: int) -> EngineCommand | None:
        scored = self.scores_at(boundary_ms)
        reasons = {k: self._ruled_out(k, v, n) for k, v, n in scored}
        ranked = sorted((s for s in scored if reasons[s[0]] is None), key=lambda s: (-s[1], s[0]))
        best = ranked[0][0] if ranked else None
        board = [(dict(self.combos[k]), v) for k, v, _ in ranked[: self.leaderboard_size]]
        self.instance.leaderboard = board
        best_score = ranked[0][1] if ranked else None
        record: dict[str, Any] = {
            "time_ms": boundary_ms,
            "combination": best,
            "score": best_score,
            "parameters": dict(self.combos[best]) if best is not None else None,
        }
        if best is None:
            record["why_none"] = why_none(scored, reasons, self.combos, self.leaderboard_size)
        self.instance.optimizer_note = None if best is not None else "none: " + none_text(record["why_none"])
        self.selections.append(record)
        if self.journal is not None and boundary_ms > self.replay_until_ms:  # a replayed one is journaled already
            params = record["parameters"]
            self.journal.record(SelectionRecorded(self.instance.id, boundary_ms, params, best_score, board))
        log.info(
            "optimizer %s @ %s: %s (score %s, %d eligible of %d)",
            self.instance.id,
            format_ms(boundary_ms),
            record["parameters"] or f"none: standing aside; {none_text(record['why_none'])}",
            "-" if best_score is None else f"{best_score:.4g}",
            len(ranked),
            len(self.combos),
        )
        return self._command(best)

    def _command(self, best: int | None) -> EngineCommand | None:
        inst = self.instance
        if best == self.selected:
            return None
        previous, self.selected = self.selected, best
        if best is None:
            return StandAside(inst.id, flatten=self.stand_aside == "flatten", reason="no combination qualifies")
        # what the previous set (or the time before standing aside) left open is flattened under "flatten"
        leftover = previous is not None or inst.venue.contracts != 0.0
        params = dict(self.combos[best])
        return ApplyParameters(
            inst.id, params, flatten_first=self.switch_policy == "flatten" and leftover, reason=f"parameters {params}"
        )

    # -- results -----------------------------------------------------------------------------------

    _report_cache: tuple[tuple[int, int, int, bool], dict[str, Any]] | None = None

    def report(self) -> dict[str, Any]:
        """Walk-forward comparison (live-optimized vs every fixed combination vs buy-and-hold) and diagnostics.

        Kept until the run moves on: the diagnostics cost seconds for a thousand combinations.
        """
        key = (len(self.times), len(self.selections), self.instance.next_index, self._final is not None)
        if self._report_cache is not None and self._report_cache[0] == key:
            return self._report_cache[1]
        finals = self._final if self._final is not None else self.executor.final_equity()
        report = build_report(self, finals)
        self._report_cache = (key, report)
        return report

    def live_equity_at(self, t: int) -> float:
        """The real instance's equity at ``t`` (its own equity samples, held at the last value)."""
        inst = self.instance
        j = bisect.bisect_right(inst.times_ms, t) - 1
        return inst.equity[j] if j >= 0 else inst.venue.initial_balance

    def close(self) -> None:
        """Keep the final equity of every combination, then release the executor's workers."""
        if self._final is None:
            self._final = self.executor.final_equity()
        self.executor.close()
