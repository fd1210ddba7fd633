"""Run logging goes to the run folder (and stderr on request), redacted, and is fully removable."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kektrade.config import SecretRedactor
from kektrade.runs import Run, setup_logging, teardown_logging


def make_run(tmp_path: Path) -> Run:
    (tmp_path / "config.json").write_text("{}")
    return Run.at(tmp_path, resumed=False)


def test_file_and_console_handlers_redact_and_tear_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path)
    logger = logging.getLogger("kektrade")
    before = list(logger.handlers)
    setup_logging(run, "debug", console=True, redactor=SecretRedactor(["hunter2"]))
    try:
        logging.getLogger("kektrade.engine.sub").debug("password %s", "hunter2")
        logging.getLogger("other").warning("not ours")
    finally:
        teardown_logging()
    assert logger.handlers == before
    text = run.log_path.read_text()
    assert "DEBUG" in text and "kektrade.engine.sub: password ***" in text
    assert "hunter2" not in text and "not ours" not in text
    err = capsys.readouterr().err
    assert "password ***" in err and "hunter2" not in err


def test_without_console_nothing_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path)
    setup_logging(run, logging.INFO, console=False, redactor=None)
    setup_logging(run, logging.INFO, console=False, redactor=None)  # idempotent: no doubled handlers
    try:
        logging.getLogger("kektrade").info("only in the file")
        logging.getLogger("kektrade").debug("below the level")
    finally:
        teardown_logging()
    assert run.log_path.read_text().count("only in the file") == 1
    assert "below the level" not in run.log_path.read_text()
    assert "only in the file" not in capsys.readouterr().err
