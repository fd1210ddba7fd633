"""Pure helpers of the TUI: number and time text, status line fitting, chart series, log lines."""

from __future__ import annotations

import logging

import pytest

from kektrade.engine.snapshot import EngineSnapshot, Progress
from kektrade.tui.charts import drawdown_pct, optimization_curves, time_ticks
from kektrade.tui.formatting import (
    fit_parts,
    fmt_duration,
    fmt_params,
    fmt_price,
    fmt_qty,
    fmt_utc,
    progress_text,
    status_parts,
)
from kektrade.tui.logview import QueueLogHandler

DAY = 86_400_000


def test_number_and_time_text() -> None:
    assert fmt_price(39563.7) == "39,563.7"
    assert fmt_price(0.0) == "-"
    assert fmt_price(0.012345) == "0.0123450"
    assert fmt_qty(-0.080) == "-0.08"
    assert fmt_qty(0.0) == "0"
    assert fmt_params({"sma": 50, "rsi": 7}) == "rsi=7 sma=50"
    assert fmt_params({"a_long_name": 1, "b": 2}, max_len=10) == "a_long_na…"
    assert fmt_utc(1_704_326_400_000) == "2024-01-04 00:00"
    assert [fmt_duration(s) for s in (5, 125, 7300, 200_000)] == ["5s", "2m05s", "2h01m", "2d07h"]


def test_progress_while_running_and_after() -> None:
    p = Progress(500, 1000, 250_000.0, 0.002, 1.0)
    running = progress_text(p, "running")
    assert "50.0%" in running and "500/1,000" in running and "250.0k c/s" in running and "ETA 0s" in running
    assert progress_text(p, "finished") == "500/1,000 candles"


def test_status_parts_mark_testnet_and_fit_the_width() -> None:
    snap = EngineSnapshot("r1", "live", True, "running", DAY, Progress(1, 2, 1.0, 1.0, 1.0))
    parts = status_parts(snap, 65.0, "http://127.0.0.1:8765")
    assert "LIVE TESTNET" in parts[0] and "$error" in parts[0]
    assert "web http://127.0.0.1:8765" in parts and "up 1m05s" in parts
    narrow = fit_parts(parts, 40)
    assert "TESTNET" in narrow and "web" not in narrow


def test_drawdown_and_ticks() -> None:
    assert drawdown_pct([100, 110, 99, 121]) == pytest.approx([0.0, 0.0, -10.0, 0.0])
    ticks, labels = time_ticks([0, 10 * DAY], count=3)
    assert ticks == [0.0, 5.0, 10.0]
    assert labels == ["01-01", "01-06", "01-11"]


def test_optimization_curves_only_when_complete() -> None:
    curves = {"times_ms": [1, 2], "live": [1, 2], "best": [1, 3], "median": [1, 1], "worst": [1, 0]}
    doc = {"extra": {"optimization": {"a": {"curves": curves}}}}
    found = optimization_curves(doc, "a")
    assert found is not None and found.best == (1, 3)
    assert optimization_curves(doc, "b") is None
    assert optimization_curves({"extra": {"optimization": {"a": {"curves": {}}}}}, "a") is None


def test_queue_handler_formats_and_drains_in_order() -> None:
    handler = QueueLogHandler()
    logger = logging.getLogger("kektrade.tui-test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.info("first %d", 1)
        logger.warning("second")
    finally:
        logger.removeHandler(handler)
    lines = handler.drain()
    assert [line.level for line in lines] == ["INFO", "WARNING"]
    assert lines[0].text.endswith("INFO    tui-test: first 1")
    assert lines[1].matches(logging.WARNING, "SEC") and not lines[0].matches(logging.WARNING, "")
    assert handler.drain() == []
