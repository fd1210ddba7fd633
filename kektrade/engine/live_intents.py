"""The order intents of one live venue: deterministic client ids, the write-ahead journal, replay lookups.

Each ``open_order`` of a strategy is an intent numbered within its candle; its client order id is a
function of (run id, subaccount, candle open time, number), so a candle processed again after a crash
produces the same ids. The intent is journaled ``sent`` and flushed to the run database before the
request leaves, and its outcome after (``accepted``, ``rejected``, ``in_doubt``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from kektrade.domain.journal import IntentRecorded, Journal
from kektrade.exchange.live.client_ids import client_order_id, client_prefix

log = logging.getLogger("kektrade.engine")

OPEN_STATES = frozenset({"sent", "in_doubt"})


class IntentBook:
    """Client ids, the latest state of every intent and the strategy's own ids behind them."""

    def __init__(self, run_id: str, subaccount: str, journal: Journal | None) -> None:
        self.run_id, self.subaccount, self.journal = run_id, subaccount, journal
        self.prefix = client_prefix(run_id, subaccount)
        self.latest: dict[str, IntentRecorded] = {}
        self.strategy_ids: dict[str, str] = {}  # client id -> the id the strategy gave
        self._candle_ms = -1
        self._seq = 0
        self._manual_ms: int | None = None
        self._last_manual_ms = 0

    def load(self, records: Sequence[IntentRecorded]) -> None:
        """Take the intents of a resumed run (latest state per client id wins)."""
        for rec in records:
            self.latest[rec.client_id] = rec
            given = rec.request.get("strategy_id")
            if given:
                self.strategy_ids[rec.client_id] = str(given)

    def next_id(self, candle_ms: int, strategy_id: str | None) -> str:
        """The client id of the next intent of the candle opening at ``candle_ms`` (or of a manual block)."""
        at = self._manual_ms if self._manual_ms is not None else candle_ms
        if at != self._candle_ms:
            self._candle_ms, self._seq = at, 0
        link = client_order_id(self.run_id, self.subaccount, at, self._seq, strategy_id)
        self._seq += 1
        if strategy_id:
            self.strategy_ids[link] = strategy_id
        return link

    @contextmanager
    def manual(self) -> Iterator[None]:
        """Intents outside a candle's tick (front-end commands): ids from the wall clock, never replayed."""
        now = max(int(time.time() * 1000), self._last_manual_ms + 1)
        self._manual_ms = self._last_manual_ms = now
        try:
            yield
        finally:
            self._manual_ms = None

    def is_own(self, client_id: str | None) -> bool:
        """True for client ids of this run's subaccount."""
        return bool(client_id) and str(client_id).startswith(self.prefix)

    def record(
        self, time_ms: int, client_id: str, state: str, order_id: str = "", reason: str = "",
        request: dict[str, Any] | None = None,
    ) -> IntentRecorded:  # fmt: skip
        """Journal one step of an intent and remember it as the latest."""
        previous = self.latest.get(client_id)
        body = request if request is not None else (previous.request if previous is not None else {})
        rec = IntentRecorded(self.subaccount, time_ms, client_id, state, order_id, reason, body)
        self.latest[client_id] = rec
        if self.journal is not None:
            self.journal.record(rec)
        return rec

    def flush(self) -> None:
        """Make the journal durable before a request leaves; a failing journal is logged, not raised."""
        if self.journal is None:
            return
        try:
            self.journal.flush()
        except Exception as exc:  # the deterministic client id still protects against duplicates
            log.error("subaccount %s: write-ahead journal flush failed: %s", self.subaccount, exc)

    def unresolved(self) -> list[IntentRecorded]:
        """Intents whose outcome is not known (sent before a crash, or in doubt)."""
        return [r for r in self.latest.values() if r.state in OPEN_STATES]

    def forget(self, client_id: str) -> None:
        """Drop an intent that never reached the exchange (a replay of its candle sends it afresh)."""
        self.latest.pop(client_id, None)
