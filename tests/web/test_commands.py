"""``kektrade serve`` end to end: prints its address, serves the history folder, stops cleanly."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import httpx
import pytest

from kektrade.web import commands


def test_serve_prints_the_address_and_serves_the_runs(
    ended_run: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    history, run_id = ended_run
    parser = argparse.ArgumentParser()
    commands.add_serve_arguments(parser)
    args = parser.parse_args([run_id, "--history-dir", str(history), "--port", "0"])
    stop = threading.Event()
    done: list[int] = []
    worker = threading.Thread(target=lambda: done.append(commands.serve(args, stop)))
    worker.start()
    try:
        line = ""
        for _ in range(600):  # wait for the first line (a bounded wait, not a speed check)
            line = capsys.readouterr().out or line
            if "serving" in line:
                break
            stop.wait(0.1)
        assert line.startswith("serving 1 run(s) on http://127.0.0.1:")
        assert "token" not in line  # loopback: no token needed, none printed
        url = line.split(" on ", 1)[1].strip()
        runs = httpx.get(f"{url}api/runs", timeout=60).json()["runs"]
        assert [r["run_id"] for r in runs] == [run_id]
    finally:
        stop.set()
        worker.join(60)
    assert done == [0]
