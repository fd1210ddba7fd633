"""The fault suite's tally (a pytest plugin, listed in tests/conftest.py): per-test counts and totals.

Workers of pytest-xdist write their counts as JSON lines under the pytest cache; the controlling
process sums them at the end (``pytest_terminal_summary``). Long variants run with KEKTRADE_FAULT_LONG=1.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

_DIR = "fault-suite"


def long_variants() -> bool:
    """True when the long variants were asked for (KEKTRADE_FAULT_LONG=1)."""
    return os.environ.get("KEKTRADE_FAULT_LONG") == "1"


def _tally_dir(config: pytest.Config) -> Path | None:
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    return Path(cache.mkdir(_DIR)) if cache is not None else None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Forget the tallies of an earlier session (controller only)."""
    folder = _tally_dir(session.config)
    if not hasattr(session.config, "workerinput") and folder is not None:
        for old in folder.glob("*.jsonl"):
            old.unlink()


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Counter[str]:
    """Counts of one test (kills, faults:<kind>, duplicates, lost, mismatches), saved at teardown."""
    counts: Counter[str] = Counter()
    yield counts
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = _tally_dir(request.config)
    if folder is not None:
        with (folder / f"{worker}.jsonl").open("a") as out:
            out.write(json.dumps(dict(counts)) + "\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the suite's totals."""
    folder = _tally_dir(config)
    if folder is None:
        return
    total: Counter[str] = Counter()
    for path in folder.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            total.update(json.loads(line))
    if not total:
        return
    faults = {k.split(":", 1)[1]: v for k, v in sorted(total.items()) if k.startswith("faults:")}
    terminalreporter.write_sep("-", "live safety fault suite")
    terminalreporter.write_line(
        f"kills={total['kills']} restarts={total['restarts']} faults={sum(faults.values())} "
        f"duplicates={total['duplicates']} lost={total['lost']} mismatches={total['mismatches']} "
        f"crashes={total['crashes']}"
    )
    terminalreporter.write_line("faults by kind: " + ", ".join(f"{k}={v}" for k, v in faults.items()))
