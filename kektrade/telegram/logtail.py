"""The latest log lines of the run, kept in memory for /logs (secrets replaced by ``***``)."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable

from kektrade.telegram.formatting import escape

LOGGER_NAME = "kektrade"
REDACTED = "***"


class LogTail(logging.Handler):
    """A logging handler keeping the last ``size`` formatted records of the kektrade logger."""

    def __init__(self, size: int = 200, secrets: Iterable[str] = ()) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=size)
        self.secrets = [s for s in secrets if s]
        self._guard = threading.Lock()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's text (secrets redacted)."""
        try:
            text = self.format(record).replace("kektrade.", "", 1)
        except Exception:  # a broken record must not break logging
            return
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        with self._guard:
            self.lines.append(text)

    def latest(self, count: int) -> list[str]:
        """The last ``count`` lines, oldest first."""
        with self._guard:
            return list(self.lines)[-count:]

    def html(self, count: int) -> str:
        """/logs: the last ``count`` lines in ``<pre>``."""
        lines = self.latest(count)
        if not lines:
            return "no log lines yet"
        return f"<b>Last {len(lines)} log lines</b>\n<pre>" + escape("\n".join(lines)) + "</pre>"

    def attach(self) -> None:
        """Start collecting from the kektrade logger."""
        logging.getLogger(LOGGER_NAME).addHandler(self)

    def detach(self) -> None:
        """Stop collecting."""
        logging.getLogger(LOGGER_NAME).removeHandler(self)
