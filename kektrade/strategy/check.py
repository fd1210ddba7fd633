"""The strategy check: look-ahead (reads, indicators, tick schedule, decisions) and warm-up, as one report.

``quick_check`` is the cheap form every backtest runs (two indicator cuts, a bounded window of ticks,
one decision cut, no warm-up search); ``full_check`` is ``kektrade check`` (more cuts, more ticks,
several parameter sets, the warm-up search).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kektrade.domain.timeframes import format_ms
from kektrade.strategy.base import Strategy
from kektrade.strategy.lookahead import (
    Finding,
    Subject,
    TickRun,
    cut_points,
    first_difference,
    isolated,
    mirror_after,
    populate_copy,
    run_ticks,
)
from kektrade.strategy.schedule import tick_schedule
from kektrade.strategy.warmup import WarmupFinding, check_warmup, enough_candles


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """How hard to look."""

    indicator_cuts: int = 2
    decision_cuts: int = 1
    tick_candles: int = 1_000  # ticks per parameter set, from the first traded candle
    parameter_sets: int = 1
    warmup: bool = False
    warmup_points: int = 2
    tolerance: float = 1e-4
    tail_candles: int | None = 500  # candles kept after a cut (None: all); cuts then stay in the tick window


QUICK = CheckOptions()
FULL = CheckOptions(
    indicator_cuts=8, decision_cuts=4, tick_candles=20_000, parameter_sets=3, warmup=True, tail_candles=None
)


@dataclass
class CheckReport:
    """Findings of one strategy on one subaccount's data."""

    strategy: str
    startup_candle_count: int
    lookahead: list[Finding] = field(default_factory=list)
    warmup: list[WarmupFinding] | None = None  # None: not checked
    cuts: int = 0
    ticked: int = 0

    @property
    def lookahead_failed(self) -> bool:
        """True when anything at a candle depends on a later one."""
        return bool(self.lookahead)

    @property
    def enough_candles(self) -> int | None:
        """The startup_candle_count that would be enough (None: more than searched or not checked)."""
        return None if self.warmup is None else enough_candles(self.warmup, self.startup_candle_count)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for results.json."""
        return {
            "strategy": self.strategy,
            "lookahead": "fail" if self.lookahead else "pass",
            "findings": [
                {"kind": f.kind, "name": f.name, "candle": f.candle, "time": f.time, "detail": f.detail}
                for f in self.lookahead
            ],
            "cuts": self.cuts,
            "ticked": self.ticked,
            "startup_candle_count": self.startup_candle_count,
            "warmup": None
            if self.warmup is None
            else [
                {"column": w.column, "needed": w.needed, "difference": w.difference, "searched": w.searched}
                for w in self.warmup
            ],
            "enough_candles": self.enough_candles,
        }

    def lines(self) -> list[str]:
        """Human-readable lines, one per finding."""
        out = [f"look-ahead: {'FAIL' if self.lookahead else 'pass'} ({self.cuts} cuts, {self.ticked} candles ticked)"]
        out += [f"  {f.kind} {f.name} at candle {f.candle} ({f.time}): {f.detail}" for f in self.lookahead]
        if self.warmup is None:
            return out
        if not self.warmup:
            out.append(f"warm-up: pass (startup_candle_count {self.startup_candle_count} is enough)")
            return out
        enough = self.enough_candles
        advice = f"set startup_candle_count to at least {enough}" if enough else "more history than searched"
        out.append(f"warm-up: FAIL (startup_candle_count {self.startup_candle_count}; {advice})")
        for w in self.warmup:
            need = w.needed if w.needed is not None else f"> {w.searched}"
            out.append(f"  {w.column}: differs by {w.difference:.2%} at the warm-up; {need} candles are enough")
        return out


def parameter_sets(space: dict[str, list[Any]], count: int) -> list[dict[str, Any]]:
    """Up to ``count`` parameter sets: every key's first value, then its last, then its middle."""
    picks = [lambda v: v[0], lambda v: v[-1], lambda v: v[len(v) // 2]]
    sets: list[dict[str, Any]] = []
    for pick in picks[: max(count, 1)]:
        candidate = {k: pick(v) for k, v in sorted(space.items()) if v}
        if candidate not in sets:
            sets.append(candidate)
    return sets


def check_strategy(subject: Subject, options: CheckOptions = QUICK) -> CheckReport:
    """Run the look-ahead probes (and the warm-up search when asked) on ``subject``."""
    startup = int(getattr(subject.strategy, "startup_candle_count", 0))
    report = CheckReport(type(subject.strategy).__name__, startup)
    n = len(subject.frame)
    stop = min(n, subject.first_index + options.tick_candles)
    params = subject.parameters or parameter_sets(subject.space, options.parameter_sets)
    findings: dict[tuple[str, str], Finding] = {}
    times = subject.times_ms()
    baselines = []
    for parameter in params[: options.parameter_sets]:
        base = run_ticks(subject, _fresh(subject), subject.frame, parameter, stop)
        report.ticked += stop - subject.first_index
        _read_findings(base, times, findings)
        baselines.append((parameter, base))
    last = n - 2 if options.tail_candles is None else stop - 2
    cuts = cut_points(subject.first_index, last, options.indicator_cuts)
    decision_cuts = set(cut_points(subject.first_index, stop - 2, options.decision_cuts))
    raw = subject.frame[subject.raw_columns]
    schedules = [(parameter, _schedule(subject.strategy, subject.frame, parameter)) for parameter, _ in baselines]
    for cut in sorted(set(cuts) | decision_cuts):
        try:
            strategy, frame = populate_copy(subject, mirror_after(raw, cut, options.tail_candles))
        except Exception as exc:  # indicators that fail once the future changes: a finding, not a crash
            detail = f"raises {type(exc).__name__}: {exc} when the candles after {cut} are replaced"
            _keep(findings, Finding("error", "populate_indicators", cut, format_ms(times[cut]), detail))
            continue
        _indicator_findings(subject, frame, cut, times, findings)
        for parameter, real in schedules:
            _schedule_findings(real, strategy, frame, parameter, cut, times, findings)
        if cut in decision_cuts:
            for parameter, base in baselines:
                replaced = run_ticks(subject, strategy, frame, parameter, cut + 1)
                _decision_findings(base, replaced, cut, times, findings)
    report.cuts = len(set(cuts) | decision_cuts)
    report.lookahead = sorted(findings.values(), key=lambda f: (f.candle, f.kind, f.name))
    if options.warmup:
        report.warmup = check_warmup(subject, startup, options.warmup_points, options.tolerance)
    return report


def _fresh(subject: Subject) -> Any:
    return isolated(subject.strategy)


def _keep(findings: dict[tuple[str, str], Finding], finding: Finding) -> None:
    key = (finding.kind, finding.name)
    if key not in findings or finding.candle < findings[key].candle:
        findings[key] = finding


def _read_findings(run: TickRun, times: list[int], findings: dict[tuple[str, str], Finding]) -> None:
    for column, (candle, element) in run.reads.items():
        detail = f"tick reads {column}[{element}] (candle {element} is {element - candle} candle(s) later)"
        _keep(findings, Finding("read", column, candle, format_ms(times[candle]), detail))


def _indicator_findings(
    subject: Subject, frame: Any, cut: int, times: list[int], findings: dict[tuple[str, str], Finding]
) -> None:
    for column in subject.indicator_columns():
        if column not in frame.columns:
            continue
        a = subject.frame[column].to_numpy()[: cut + 1]
        b = frame[column].to_numpy()[: cut + 1]
        row = first_difference(np.asarray(a), np.asarray(b))
        if row is not None:
            detail = f"value changes from {a[row]!r} to {b[row]!r} when the candles after {cut} are replaced"
            _keep(findings, Finding("indicator", column, row, format_ms(times[row]), detail))


def _schedule(strategy: Strategy, frame: Any, parameter: dict[str, Any]) -> range | set[int] | None:
    """The candles ``tick_on`` selects (a ``range`` of the whole frame for every candle); None if it raises
    (a tick_on that raises is reported by the decisions probe, through ``run_ticks``)."""
    try:
        found = tick_schedule(strategy, frame, parameter)
    except Exception:
        return None
    return range(len(frame)) if found is None else set(found)


def _schedule_findings(
    real: range | set[int] | None,
    strategy: Strategy,
    frame: Any,
    parameter: dict[str, Any],
    cut: int,
    times: list[int],
    findings: dict[tuple[str, str], Finding],
) -> None:
    """``tick_on`` must select the same candles up to ``cut`` when the candles after it are replaced."""
    replaced = _schedule(strategy, frame, parameter)
    if real is None or replaced is None or (isinstance(real, range) and isinstance(replaced, range)):
        return  # raised (the decisions probe reports it), or every candle both times: nothing to compare
    differ = _up_to(real, cut) ^ _up_to(replaced, cut)
    if differ:
        row = min(differ)
        what = "selects" if row in replaced else "drops"
        detail = f"{what} candle {row} when the candles after {cut} are replaced"
        _keep(findings, Finding("schedule", "tick_on", row, format_ms(times[row]), detail))


def _up_to(selected: range | set[int], cut: int) -> set[int]:
    """The selected candles at or before ``cut``."""
    return set(selected[: cut + 1]) if isinstance(selected, range) else {i for i in selected if i <= cut}


def _decision_findings(
    base: TickRun, replaced: TickRun, cut: int, times: list[int], findings: dict[tuple[str, str], Finding]
) -> None:
    before = [c for c in base.calls if c[0] <= cut]
    after = [c for c in replaced.calls if c[0] <= cut]
    if replaced.error is not None and (base.error is None or base.error[0] > replaced.error[0]):
        candle, text = replaced.error
        detail = f"tick raises {text} when the candles after {cut} are replaced"
        _keep(findings, Finding("error", "tick", candle, format_ms(times[candle]), detail))
    for a, b in zip(before, after, strict=False):
        if a != b:
            detail = f"decision {b[1]} instead of {a[1]} when the candles after {cut} are replaced"
            candle = min(a[0], b[0])
            _keep(findings, Finding("decision", a[1].split("(")[0], candle, format_ms(times[candle]), detail))
            return
    if len(before) != len(after):
        longer = before if len(before) > len(after) else after
        candle, call = longer[min(len(before), len(after))]
        what = "missing" if longer is before else "extra"
        detail = f"{what} decision {call} when the candles after {cut} are replaced"
        _keep(findings, Finding("decision", call.split("(")[0], candle, format_ms(times[candle]), detail))
