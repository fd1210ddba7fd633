"""Logging of a run: the run folder's kektrade.log (and optionally stderr), secrets redacted."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from kektrade.config.secrets import SecretRedactor
from kektrade.runs.folders import Run

LOGGER_NAME = "kektrade"
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_installed: list[logging.Handler] = []
_previous_level: list[int] = []


def setup_logging(run: Run, level: str | int, console: bool, redactor: SecretRedactor | None) -> None:
    """Attach a file handler (run.log_path) and, if ``console``, a stderr handler to the kektrade logger."""
    teardown_logging()
    logger = logging.getLogger(LOGGER_NAME)
    handlers: list[logging.Handler] = [logging.FileHandler(run.log_path, encoding="utf-8")]
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        if redactor is not None:
            handler.addFilter(redactor)  # on handlers: logger filters miss records of child loggers
        logger.addHandler(handler)
        _installed.append(handler)
    _previous_level.append(logger.level)
    logger.setLevel(level.upper() if isinstance(level, str) else level)


def teardown_logging() -> None:
    """Remove and close the handlers setup_logging attached, restoring the logger's level."""
    logger = logging.getLogger(LOGGER_NAME)
    while _installed:
        handler = _installed.pop()
        logger.removeHandler(handler)
        handler.close()
    if _previous_level:
        logger.setLevel(_previous_level.pop())
        _previous_level.clear()


class RedactingStream:
    """A text stream (stdout, stderr) that writes every text with the secrets replaced."""

    def __init__(self, stream: TextIO, redactor: SecretRedactor) -> None:
        self.stream = stream
        self.redactor = redactor

    def write(self, text: str) -> int:
        """Write ``text`` redacted (returns the length of ``text``, as callers expect)."""
        self.stream.write(self.redactor.redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        """Write each line redacted."""
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, ...
        return getattr(self.stream, name)


@contextmanager
def redacting(redactor: SecretRedactor) -> Iterator[None]:
    """Within the block, secrets are redacted from stdout, stderr and every log record of every logger.

    The CLI enters it before anything else is read or built, so even the first line of output is clean:
    records are redacted when they are created (every handler and the last-resort handler see the clean
    text), and tracebacks and prints pass through redacting streams.
    """
    if not redactor:
        yield
        return
    previous_factory = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous_factory(*args, **kwargs)
        redactor.filter(record)
        return record

    streams = (sys.stdout, sys.stderr)
    logging.setLogRecordFactory(factory)
    sys.stdout, sys.stderr = (RedactingStream(s, redactor) for s in streams)
    try:
        yield
    finally:
        logging.setLogRecordFactory(previous_factory)
        sys.stdout, sys.stderr = streams
