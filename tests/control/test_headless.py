"""The headless face: rich progress never interleaved with log lines, a "writing results" stage, FAILED."""

from __future__ import annotations

import io
import logging
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from kektrade.control import facade
from kektrade.control.facade import RunController
from kektrade.control.headless import HeadlessRunner, failed_subaccounts

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    """An in-memory terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_and_log_lines_never_share_a_line(controller: RunController, monkeypatch: pytest.MonkeyPatch) -> None:
    out = Terminal()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("LOGLINE %(message)s"))
    logger = logging.getLogger("kektrade")
    logger.addHandler(handler)
    release = threading.Event()
    real_write = facade.write_results

    def slow_write(folder: Path, document: dict[str, Any]) -> Path:  # the run waits here until released
        assert release.wait(60)
        return real_write(folder, document)

    monkeypatch.setattr(facade, "write_results", slow_write)
    runner = HeadlessRunner(controller, out=out, status_every_s=0.0)

    def release_when_writing() -> None:
        while "writing results" not in runner.stages and not controller.finished:
            threading.Event().wait(0.05)
        logger.info("a line while writing")
        release.set()

    helper = threading.Thread(target=release_when_writing, daemon=True)
    helper.start()
    try:
        assert runner.run() == 0
    finally:
        logger.removeHandler(handler)
        release.set()
    helper.join(10)
    assert runner.stages[-2:] == ["writing results", "done"]
    text = ANSI.sub("", out.getvalue())
    segments = [s for s in re.split(r"[\r\n]", text) if "LOGLINE" in s]
    assert segments, "no log line reached the terminal"
    assert all(s.startswith("LOGLINE") for s in segments), [s for s in segments if not s.startswith("LOGLINE")]
    assert "a line while writing" in text and "writing results" in text and "simulating" in text
    assert (controller.paths.folder / "results.json").is_file()  # type: ignore[union-attr]


def test_failed_subaccounts_from_results() -> None:
    doc = {"subaccounts": [{"id": "a", "status": "finished"}, {"id": "b", "status": "failed"}]}
    assert failed_subaccounts(doc) == ["b"]
    assert failed_subaccounts(None) == []
