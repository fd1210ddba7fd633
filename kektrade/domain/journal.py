"""The journal: how the engine records state changes without knowing where they go.

Tests use ``MemoryJournal``, optimizer trials no journal at all (``None``), so the hot path never touches
SQLite; a run uses the SQLite journal from ``kektrade.persistence``. Every record is a small frozen
dataclass (the ones built per order, fill and equity sample, ``OrderRecorded``, ``FillRecorded`` and
``EquitySampled``, are compiled classes from ``kektrade.domain.records`` that behave alike);
``subaccount`` names the strategy instance's subaccount id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kektrade.domain.records import EquitySampled, FillRecorded, OrderRecorded


@dataclass(frozen=True, slots=True)
class IntentRecorded:
    """One step of an order intent of a live venue: ``sent`` is recorded (and flushed) before the request.

    ``client_id`` is the deterministic client order id the exchange sees; ``state`` is sent, accepted,
    rejected (definite, with ``reason``) or in_doubt (the exchange could not tell; resolved later by
    looking ``client_id`` up). ``request`` holds the intent's fields (type, contracts, prices, flags and
    the strategy's own client id), JSON values only.
    """

    subaccount: str
    time_ms: int
    client_id: str
    state: str
    order_id: str = ""
    reason: str = ""
    request: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SelectionRecorded:
    """The optimizer chose a parameter set (or none) for a subaccount."""

    subaccount: str
    time_ms: int
    parameters: dict[str, Any] | None  # None: stand aside
    score: float | None
    leaderboard: list[tuple[dict[str, Any], float]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """An instance changed status: running, paused, failed, standing_aside, finished."""

    subaccount: str
    time_ms: int
    status: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class StateSaved:
    """Opaque resumable state of an instance (strategy variables, optimizer state), JSON-serialisable."""

    subaccount: str
    time_ms: int
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class RecordBlock:
    """Records that must be stored together or not at all (one resume point's worth of a live run)."""

    records: tuple[
        OrderRecorded | FillRecorded | EquitySampled | SelectionRecorded | StatusChanged | StateSaved | IntentRecorded,
        ...,
    ]


JournalRecord = (
    OrderRecorded
    | FillRecorded
    | EquitySampled
    | SelectionRecorded
    | StatusChanged
    | StateSaved
    | IntentRecorded
    | RecordBlock
)


class Journal(Protocol):
    """Where the engine sends records. Implementations must be cheap to call from the hot path."""

    def record(self, item: JournalRecord) -> None:
        """Accept one record (may buffer)."""

    def flush(self) -> None:
        """Make everything recorded so far durable (no-op for memory journals)."""

    def close(self) -> None:
        """Flush and release resources."""


class MemoryJournal:
    """Keeps every record in a list, in order."""

    def __init__(self) -> None:
        self.records: list[JournalRecord] = []

    def record(self, item: JournalRecord) -> None:
        """Append the record (a block's records one by one)."""
        if isinstance(item, RecordBlock):
            self.records.extend(item.records)
        else:
            self.records.append(item)

    def flush(self) -> None:
        """Nothing to flush."""

    def close(self) -> None:
        """Nothing to close."""

    def of_type[T](self, kind: type[T]) -> list[T]:
        """The records of one type, in order."""
        return [r for r in self.records if isinstance(r, kind)]


class DeferredJournal:
    """Buffers records until a target journal is attached (the run database opens after the build)."""

    def __init__(self) -> None:
        self._buffer: list[JournalRecord] = []
        self._target: Journal | None = None

    def attach(self, target: Journal) -> None:
        """Send everything buffered to ``target`` and forward from now on (straight to its ``record``)."""
        for item in self._buffer:
            target.record(item)
        self._buffer.clear()
        self._target = target
        self.record = target.record  # type: ignore[method-assign]  # one call less per record on the hot path

    def record(self, item: JournalRecord) -> None:
        """Forward, or buffer until attached."""
        if self._target is not None:
            self._target.record(item)
        else:
            self._buffer.append(item)

    def flush(self) -> None:
        """Flush the target, if any."""
        if self._target is not None:
            self._target.flush()

    def close(self) -> None:
        """Close the target, if any."""
        if self._target is not None:
            self._target.close()


class SavePointJournal:
    """Holds records back until the engine commits a resume point, then passes them on as one block.

    Paper and live runs save each instance's state after a batch of candles; a crash must leave the run
    database exactly at such a point — no fill, order event or equity sample of candles the resumed run
    will process again. Records of the types in ``immediate`` (write-ahead records that must be durable
    before an action, such as order intents) are passed on at once.
    """

    def __init__(self, target: Journal, immediate: tuple[type, ...] = ()) -> None:
        self._target = target
        self._immediate = immediate
        self._held: list[Any] = []

    def record(self, item: JournalRecord) -> None:
        """Hold the record until the next commit (immediate types pass at once)."""
        if self._immediate and isinstance(item, self._immediate):
            self._target.record(item)
        else:
            self._held.append(item)

    def commit(self) -> None:
        """Pass everything held on as one block (stored all together or not at all)."""
        if self._held:
            block, self._held = RecordBlock(tuple(self._held)), []
            self._target.record(block)

    def flush(self) -> None:
        """Make the records passed on durable (held ones wait for the next commit: they are not a save point)."""
        self._target.flush()

    def close(self) -> None:
        """Commit, then close the target."""
        self.commit()
        self._target.close()
