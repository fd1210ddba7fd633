"""Resume points of paper and live runs: what an instance saves, and rebuilding it from saved records.

The engine saves one ``StateSaved`` record per instance under the key ``STATE_KEY`` (one record, so a
crash never leaves half of a save behind): the last processed candle, status, parameters, the strategy's
JSON-serialisable ``variables`` and, for paper subaccounts, the simulator's state. The control layer
reads the run database and hands the records back as a ``ResumeRecord`` per subaccount; this module never
touches the database itself.

Strategy variables must be JSON values (numbers, strings, bools, None, lists, dicts with string keys).
Other values are dropped with a warning (once per key). Values holding the instance's own indicator
columns (the lists of ``self.c``, a common per-run cache) are not saved either: they are rebuilt on the
next tick, because they are derived from the candles, not state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kektrade.domain.journal import IntentRecorded, StateSaved
from kektrade.domain.types import Fill, Order
from kektrade.engine.instance import InstanceStatus, StrategyInstance
from kektrade.engine.live_venue import LiveVenue
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.state import export_state, restore_state

log = logging.getLogger("kektrade.engine")

STATE_KEY = "live"
STATE_VERSION = 1
_RESUMABLE = {s.value: s for s in (InstanceStatus.RUNNING, InstanceStatus.PAUSED, InstanceStatus.FAILED)}


class ResumeError(ValueError):
    """Saved records that cannot be resumed (names the subaccount and key)."""


@dataclass(frozen=True)
class ResumeRecord:
    """What the run database holds about one instance, as plain data."""

    subaccount: str
    state: dict[str, Any] = field(default_factory=dict)  # latest value per key (``STATE_KEY`` holds ours)
    fills: Sequence[Fill] = ()
    open_orders: Sequence[Order] = ()
    equity_times_ms: Sequence[int] = ()
    equity: Sequence[float] = ()
    equity_quote: Sequence[float] = ()
    last_status: str | None = None
    last_selection: dict[str, Any] | None = None  # parameters of the optimizer's latest pick, if any
    intents: Sequence[IntentRecorded] = ()  # live venues: every recorded step of the order intents
    exec_ids: Sequence[str] = ()  # live venues: exchange execution ids of the recorded fills

    @property
    def saved(self) -> dict[str, Any] | None:
        """The instance state saved by the live engine, or None when it never saved one."""
        value = self.state.get(STATE_KEY)
        return value if isinstance(value, dict) else None

    @property
    def last_candle_ms(self) -> int | None:
        """Open time of the last candle the instance processed, None without a saved state."""
        saved = self.saved
        value = saved.get("last_candle_ms") if saved else None
        return int(value) if value is not None else None


def json_variables(
    subaccount: str, variables: dict[str, Any], column_ids: set[int], warned: set[str]
) -> dict[str, Any]:
    """The JSON-serialisable part of ``variables`` (column caches skipped, other values dropped with a warning)."""
    out: dict[str, Any] = {}
    for key, value in variables.items():
        if _holds_columns(value, column_ids):
            continue
        try:
            json.dumps(value, allow_nan=True)
        except (TypeError, ValueError):
            if key not in warned:
                warned.add(key)
                log.warning(
                    "instance %s: variables[%r] (%s) is not JSON-serialisable; it is not saved and will be "
                    "missing after a resume", subaccount, key, type(value).__name__,
                )  # fmt: skip
            continue
        if not isinstance(key, str):
            continue
        out[key] = value
    return out


def _holds_columns(value: Any, column_ids: set[int]) -> bool:
    if id(value) in column_ids:
        return True
    return isinstance(value, (list, tuple)) and any(id(v) in column_ids for v in value[:16])


def capture_state(
    inst: StrategyInstance, column_ids: Iterable[int] = (), warned: set[str] | None = None
) -> dict[str, Any]:
    """The resumable state of one instance (JSON-serialisable)."""
    venue = inst.venue
    last = inst.next_index - 1
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "last_candle_ms": venue.market.time_ms[last] if last >= 0 else None,
        "status": inst.status.value,
        "error": inst.error,
        "parameter": dict(inst.parameter),
        "variables": json_variables(inst.id, inst.variables, set(column_ids), warned if warned is not None else set()),
        "next_sample_ms": inst.next_sample_ms,
        "venue": export_state(venue) if isinstance(venue, SimExchange) else None,
        "initial_balance": venue.initial_balance,
        # where the run's history and its virtual exchanges began: a resume fetches and replays from there
        "history_first_ms": venue.market.time_ms[0] if len(venue.market) else None,
        "optimizer_first_ms": inst.optimizer_first_ms,
    }
    return state


def state_record(inst: StrategyInstance, state: dict[str, Any]) -> StateSaved:
    """The journal record carrying ``state``."""
    return StateSaved(inst.id, inst.venue.now_ms, STATE_KEY, state)


def apply_resume(inst: StrategyInstance, record: ResumeRecord) -> int | None:
    """Restore an instance from its records; returns the open time of its last processed candle.

    The caller positions the candle clock (``next_index`` and the venue's index) at that candle.
    """
    inst.times_ms = list(record.equity_times_ms)
    inst.equity = list(record.equity)
    inst.equity_quote = list(record.equity_quote)
    saved = record.saved
    if saved is None:
        if record.last_selection is not None:
            inst.parameter.update(record.last_selection)
        return None
    if saved.get("version") != STATE_VERSION:
        raise ResumeError(f"{record.subaccount}: saved state version {saved.get('version')!r} is not {STATE_VERSION}")
    inst.parameter = dict(saved.get("parameter") or inst.parameter)
    inst.variables.clear()
    inst.variables.update(saved.get("variables") or {})
    status = _RESUMABLE.get(str(saved.get("status")), InstanceStatus.RUNNING)
    inst.status = status
    inst.error = saved.get("error") if status is InstanceStatus.FAILED else None
    next_sample = saved.get("next_sample_ms")
    if next_sample is not None:
        inst.next_sample_ms = int(next_sample)
    venue = inst.venue
    if isinstance(venue, SimExchange):
        if saved.get("venue") is None:
            raise ResumeError(f"{record.subaccount}: saved state has no simulator state (was it a live venue?)")
        restore_state(venue, saved["venue"])
        venue.fills = list(record.fills)
    elif isinstance(venue, LiveVenue):
        initial = float(saved.get("initial_balance") or 0.0)
        venue.restore(record.fills, record.open_orders, initial, record.intents, record.exec_ids)
    return record.last_candle_ms
