"""A logging handler that hands records to the UI thread safely (a queue the app drains on a timer)."""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass
from datetime import UTC, datetime

LOGGER_NAME = "kektrade"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True, slots=True)
class LogLine:
    """One formatted log record."""

    levelno: int
    level: str
    text: str

    def matches(self, min_level: int, search: str) -> bool:
        """At least ``min_level`` and containing ``search`` (case-insensitive; empty matches all)."""
        return self.levelno >= min_level and (not search or search.lower() in self.text.lower())


class QueueLogHandler(logging.Handler):
    """Queues formatted records from any thread; the UI takes them with ``drain`` on its own thread."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.lines: queue.SimpleQueue[LogLine] = queue.SimpleQueue()

    def format_record(self, record: logging.LogRecord) -> str:
        """``12:00:01 INFO  engine: message`` (wall time UTC, logger name without ``kektrade.``)."""
        when = datetime.fromtimestamp(record.created, tz=UTC).strftime("%H:%M:%S")
        name = record.name.removeprefix(f"{LOGGER_NAME}.")
        text = f"{when} {record.levelname:<7} {name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        return text

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record (never blocks, never touches the UI)."""
        try:
            self.lines.put(LogLine(record.levelno, record.levelname, self.format_record(record)))
        except Exception:  # logging must never raise into the engine thread
            self.handleError(record)

    def drain(self, limit: int = 1000) -> list[LogLine]:
        """Up to ``limit`` queued lines, oldest first."""
        out: list[LogLine] = []
        while len(out) < limit:
            try:
                out.append(self.lines.get_nowait())
            except queue.Empty:
                break
        return out


def attach_handler(handler: logging.Handler, name: str = LOGGER_NAME) -> None:
    """Add ``handler`` to the named logger."""
    logging.getLogger(name).addHandler(handler)


def detach_handler(handler: logging.Handler, name: str = LOGGER_NAME) -> None:
    """Remove ``handler`` from the named logger."""
    logging.getLogger(name).removeHandler(handler)
