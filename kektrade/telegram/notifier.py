"""Notifications: what changed between snapshots (EventTracker) and rate-limited batching (Outbox)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from kektrade.engine.snapshot import EngineSnapshot, SubaccountRow
from kektrade.telegram.formatting import MAX_MESSAGE_CHARS, fill_line, fmt_num, fmt_params

NOTIFY_KINDS = ("fills", "selections", "errors", "liquidations", "status")


class Event(NamedTuple):
    """One notification line; ``routine`` lines (ordinary fills) are the first to go when space runs out."""

    text: str
    routine: bool = False


def compose(events: list[Event], limit: int = MAX_MESSAGE_CHARS) -> str:
    """One message of ``events`` in order: every non-routine line, then as many of the newest routine
    lines as fit; the dropped ones are counted in an ``… N earlier fill(s) not shown`` line."""
    budget = limit - 60 - sum(len(e.text) + 1 for e in events if not e.routine)
    keep: set[int] = set()
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.routine and len(event.text) + 1 <= budget:
            keep.add(index)
            budget -= len(event.text) + 1
        elif event.routine:
            break
    dropped = sum(1 for i, e in enumerate(events) if e.routine and i not in keep)
    lines = [f"… {dropped} earlier fill(s) not shown"] if dropped else []
    lines += [e.text for i, e in enumerate(events) if not e.routine or i in keep]
    return "\n".join(lines)[:limit]


class EventTracker:
    """Turns a stream of snapshots into notification lines for the kinds in ``notify``.

    The first snapshot is the baseline: a bot started mid-run does not replay history.
    """

    def __init__(self, notify: Iterable[str]) -> None:
        self.notify = set(notify)
        unknown = self.notify - set(NOTIFY_KINDS)
        if unknown:
            known = list(NOTIFY_KINDS)
            raise ValueError(f"telegram.notify: unknown kind(s) {sorted(unknown)}; known: {known}")
        self._state: str | None = None
        self._rows: dict[str, SubaccountRow] = {}

    def update(self, snap: EngineSnapshot) -> list[Event]:
        """The notifications for ``snap`` compared with the previous snapshot."""
        lines: list[Event] = []
        first = self._state is None
        if not first and snap.state != self._state and "status" in self.notify:
            lines.append(Event(f"run {snap.run_id or '-'}: {self._state} -> {snap.state}"))
        self._state = snap.state
        for row in snap.subaccounts:
            before = self._rows.get(row.id)
            if before is not None:
                lines.extend(self._fill_lines(before, row, snap))
                lines.extend(self._row_lines(before, row, snap))
            self._rows[row.id] = row
        return lines

    def _fill_lines(self, before: SubaccountRow, row: SubaccountRow, snap: EngineSnapshot) -> list[Event]:
        new = row.fills - before.fills
        if new <= 0 or not self.notify & {"fills", "liquidations"}:
            return []
        recent = snap.recent_fills.get(row.id, ())
        shown = recent[-new:] if new <= len(recent) else recent
        lines: list[Event] = []
        if new > len(shown) and "fills" in self.notify:
            lines.append(Event(f"{row.id}: {new - len(shown)} earlier fill(s) not shown", routine=True))
        for fill in shown:
            if fill.kind == "liquidation" and "liquidations" in self.notify:
                lines.append(Event("LIQUIDATION " + fill_line(row.id, fill)))
            elif fill.kind == "trade" and "fills" in self.notify:
                lines.append(Event(fill_line(row.id, fill), routine=True))
        return lines

    def _row_lines(self, before: SubaccountRow, row: SubaccountRow, snap: EngineSnapshot) -> list[Event]:
        lines: list[Event] = []
        if "selections" in self.notify and row.parameters != before.parameters:
            lines.append(Event(f"{row.id} selected {fmt_params(row.parameters)}{_score(snap, row.id)}"))
        became_failed = row.status == "failed" and before.status != "failed"
        if "errors" in self.notify and ((row.error and row.error != before.error) or became_failed):
            lines.append(Event(f"ERROR {row.id}: {row.error or 'failed'}"))
        if "errors" in self.notify and row.notice != before.notice:  # exchange faults: an episode opens or ends
            text = f"EXCHANGE {row.id}: {row.notice}" if row.notice else f"EXCHANGE {row.id}: answering again"
            lines.append(Event(text))
        if "status" in self.notify and row.status != before.status:
            lines.append(Event(f"{row.id}: {before.status} -> {row.status}"))
        return lines


def _score(snap: EngineSnapshot, subaccount: str) -> str:
    board: list[tuple[dict[str, Any], float]] = snap.leaderboards.get(subaccount, [])
    return f" (score {fmt_num(board[0][1], 4)})" if board else ""


class Outbox:
    """Lines waiting to be sent to each chat; at most one message per chat every ``min_interval_s``.

    Thread-safe: the engine thread adds lines, the bot's event loop takes due messages.
    """

    def __init__(
        self,
        chat_ids: Iterable[int],
        min_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[int, list[Event]] = {chat: [] for chat in chat_ids}
        self._next_ok: dict[int, float] = dict.fromkeys(self._pending, 0.0)

    def add(self, lines: Iterable[Event]) -> None:
        """Queue ``lines`` for every chat."""
        lines = list(lines)
        if not lines:
            return
        with self._lock:
            for pending in self._pending.values():
                pending.extend(lines)

    def due(self) -> list[tuple[int, str]]:
        """Take one batched message per chat whose interval has passed (see ``compose``)."""
        now = self._clock()
        out: list[tuple[int, str]] = []
        with self._lock:
            for chat, pending in self._pending.items():
                if pending and now >= self._next_ok[chat]:
                    out.append((chat, compose(pending)))
                    pending.clear()
                    self._next_ok[chat] = now + self.min_interval_s
        return out

    def next_due_in(self) -> float | None:
        """Seconds until a queued message may go out (0 when one may now); None when nothing waits."""
        now = self._clock()
        with self._lock:
            waits = [max(self._next_ok[c] - now, 0.0) for c, pending in self._pending.items() if pending]
        return min(waits) if waits else None

    def defer(self, chat_id: int, text: str, delay_s: float) -> None:
        """Put an unsent message back at the front of a chat's queue and hold the chat for ``delay_s``."""
        with self._lock:
            self._pending[chat_id][:0] = [Event(line) for line in text.split("\n")]
            self._next_ok[chat_id] = self._clock() + delay_s

    def release(self) -> None:
        """Let every chat send now (used once at shutdown to flush what is queued)."""
        with self._lock:
            self._next_ok = dict.fromkeys(self._next_ok, 0.0)
