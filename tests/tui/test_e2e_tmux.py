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


GATE = '''
import time
from pathlib import Path

from kektrade.strategy.base import Strategy


class GateStrategy(Strategy):
    """Slows the run down (a millisecond a candle) until the test opens the gate (a file; two minutes at most):
    chunks go on ending, commands are applied and snapshots published, but the run cannot end before the
    test has seen what it looks for, however fast it runs. Not in the look-ahead check."""

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        if account.subaccount_id == "check" or variables.get("open"):
            return
        until = variables.setdefault("until", time.monotonic() + 120.0)
        if Path(parameter["gate"]).exists() or time.monotonic() > until:
            variables["open"] = True
        else:
            time.sleep(0.001)
'''


@pytest.fixture
def tmux_session(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A detached 120x40 tmux session running kektrade on a config with a gate subaccount (``GATE``); the
    session and the gate's file."""
    if TMUX is None:
        pytest.skip("tmux is not installed: the end-to-end TUI test needs it")
    if not KEKTRADE.exists():
        pytest.skip(f"{KEKTRADE} is missing (install the package into .venv)")
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    for source in (REPO_ROOT / "strategies").glob("*.py"):
        shutil.copy(source, strategies / source.name)
    (strategies / "gate.py").write_text(GATE)
    config = tiny_config(tmp_path, days=60.0, timeframe="1m", strategies_dir=str(strategies))
    config["tui"]["refresh_hz"] = 10
    gate = tmp_path / "open"
    config["subaccounts"].append(
        {"id": "gate", "strategy": "GateStrategy", "pair": "BTC/USDT:USDT", "timeframe": "1m",
         "parameters": {"gate": str(gate)}}
    )  # fmt: skip
    (tmp_path / "demo.json").write_text(json.dumps(config))
    session = f"kektrade-e2e-{uuid.uuid4().hex[:8]}"
    command = f"cd {tmp_path} && {KEKTRADE} demo.json; echo KEKTRADE-EXIT=$?; sleep 30"
    subprocess.run(
        [str(TMUX), "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command],
        check=True,
        env={"PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "HOME": str(tmp_path)},
    )
    try:
        yield session, gate
    finally:
        gate.touch()  # never leave a run slowed down
        subprocess.run([str(TMUX), "kill-session", "-t", session], capture_output=True, check=False)


def test_kektrade_in_tmux_pauses_and_quits(tmux_session: tuple[str, Path]) -> None:
    session, gate = tmux_session
    screen = wait_screen(session, lambda s: "BACKTEST" in s and "running" in s)
    for pane in ("Subaccounts", "Open orders", "Meta-strategy equity", "Log", "BACKTEST"):
        assert pane in screen
    send(session, "p")  # pause the selected subaccount (the first row)
    screen = wait_screen(session, lambda s: "sma_btc  paused" in s)
    assert "Results" not in screen and "gate     running" in screen
    gate.touch()  # the run may end now
    results = wait_screen(session, lambda s: "Results" in s and "ACCOUNT" in s, timeout_s=60)
    assert "sma_btc" in results and "mm_eth" in results
    send(session, "q")
    wait_screen(session, lambda s: "KEKTRADE-EXIT=0" in s)
