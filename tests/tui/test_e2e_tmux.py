"""End to end: the real ``kektrade`` command in tmux; keys in, the screen read back with capture-pane."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import REPO_ROOT, tiny_config

TMUX = shutil.which("tmux")
KEKTRADE = REPO_ROOT / ".venv" / "bin" / "kektrade"


def capture(session: str) -> str:
    """The visible text of the session's pane."""
    return subprocess.run(
        [str(TMUX), "capture-pane", "-p", "-t", session], capture_output=True, text=True, check=True
    ).stdout


def wait_screen(session: str, ok: Callable[[str], bool], timeout_s: float = 30.0) -> str:
    """Poll the pane until ``ok(text)``; AssertionError with the last screen otherwise."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = capture(session)
        if ok(text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"screen never matched; last screen:\n{text}")


def send(session: str, *keys: str) -> None:
    """Send tmux key names to the pane."""
    subprocess.run([str(TMUX), "send-keys", "-t", session, *keys], check=True)


@pytest.fixture
def tmux_session(tmp_path: Path) -> Iterator[str]:
    """A detached 120x40 tmux session running kektrade on a config that runs a few seconds."""
    if TMUX is None:
        pytest.skip("tmux is not installed: the end-to-end TUI test needs it")
    if not KEKTRADE.exists():
        pytest.skip(f"{KEKTRADE} is missing (install the package into .venv)")
    config = tiny_config(tmp_path, days=60.0, timeframe="1m")
    config["tui"]["refresh_hz"] = 10
    (tmp_path / "demo.json").write_text(json.dumps(config))
    session = f"kektrade-e2e-{uuid.uuid4().hex[:8]}"
    command = f"cd {tmp_path} && {KEKTRADE} demo.json; echo KEKTRADE-EXIT=$?; sleep 30"
    subprocess.run(
        [str(TMUX), "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command],
        check=True,
        env={"PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "HOME": str(tmp_path)},
    )
    try:
        yield session
    finally:
        subprocess.run([str(TMUX), "kill-session", "-t", session], capture_output=True, check=False)


def test_kektrade_in_tmux_pauses_and_quits(tmux_session: str) -> None:
    screen = wait_screen(tmux_session, lambda s: "BACKTEST" in s and "running" in s)
    for pane in ("Subaccounts", "Open orders", "Meta-strategy equity", "Log", "BACKTEST"):
        assert pane in screen
    send(tmux_session, "p")
    screen = wait_screen(tmux_session, lambda s: "sma_btc  paused" in s or "Results" in s)
    assert "sma_btc  paused" in screen, "the run ended before the pause showed"
    results = wait_screen(tmux_session, lambda s: "Results" in s and "ACCOUNT" in s, timeout_s=60)
    assert "sma_btc" in results and "mm_eth" in results
    send(tmux_session, "q")
    wait_screen(tmux_session, lambda s: "KEKTRADE-EXIT=0" in s)
