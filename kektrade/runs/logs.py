"""Logging of a run: the run folder's kektrade.log (and optionally stderr), secrets redacted."""

from __future__ import annotations

import logging
import sys

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
