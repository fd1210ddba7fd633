"""A journal killed with SIGKILL mid-run leaves a sound database holding a prefix of what was recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kektrade.persistence.database import open_run_database

BATCH_S = 0.2

# Records one equity sample per step: time_ms = wall clock at record(), wallet_balance = sequence number.
_WRITER = """
import sys, time
from pathlib import Path
from kektrade.domain.journal import EquitySampled
from kektrade.persistence.database import open_run_database
from kektrade.persistence.journal import SqliteJournal

db = open_run_database(Path(sys.argv[1]))
journal = SqliteJournal(db, batch_interval_s=float(sys.argv[2]))
seq = 0
while True:
    for _ in range(20):
        journal.record(EquitySampled("s", time.time_ns() // 1_000_000, float(seq), 1.0, 1.0, 0.0, 1.0, 1.0))
        seq += 1
    if seq == 20:
        journal.flush()
        print("ready", flush=True)
    time.sleep(0.001)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_loses_at_most_about_one_batch_and_never_corrupts(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite"
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(BATCH_S)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.3)  # several batches, then kill at an arbitrary point of the cycle
        killed_ms = time.time_ns() // 1_000_000
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    with open_run_database(path) as db:
        assert db.integrity_check() == "ok"
        samples = db.equity_samples("s")
    sequence = [int(s.wallet_balance) for s in samples]
    assert sequence == list(
        range(len(sequence))
    )  # a prefix: nothing missing in the middle, nothing reordered
    assert len(sequence) > 20 * 10  # several batches were committed before the kill
    lost_window_ms = killed_ms - samples[-1].time_ms
    # At most one batch interval plus scheduling slack on a busy machine.
    assert lost_window_ms <= BATCH_S * 1000 + 600, lost_window_ms
