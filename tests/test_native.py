"""The compiled build of the simulator: it is what runs, it is never stale, and the sources agree with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kektrade.native import REPO_ROOT, is_compiled, listed_modules, module_name, native_state

PURE = os.environ.get("KEKTRADE_PURE") == "1"


def test_every_listed_module_exists() -> None:
    modules = listed_modules()
    assert "kektrade/exchange/sim/matching.py" in modules and "kektrade/domain/types.py" in modules
    for rel in modules:
        assert (REPO_ROOT / rel).is_file(), rel


@pytest.mark.skipif(PURE, reason="KEKTRADE_PURE=1 builds without the compiler")
def test_the_simulator_runs_compiled() -> None:
    state = native_state()
    assert state.fully_compiled, state.describe()
    import kektrade.exchange.sim.exchange as exchange

    assert not str(exchange.__file__).endswith(".py")
    assert all(is_compiled(module_name(rel)) for rel in listed_modules())


@pytest.mark.skipif(PURE, reason="KEKTRADE_PURE=1 builds without the compiler")
def test_what_a_backtest_holds_by_the_hundred_thousand_is_not_tracked_by_the_cyclic_collector() -> None:
    """Orders, fills and records are compiled acyclic: a run holding ~430k of them until its parts are
    written would otherwise have the collector scan each of them (40-55 ms of a 0.3 s market maker run)."""
    import gc

    from kektrade.analysis.trades import TripBuilder
    from kektrade.domain.records import EquitySampled, FillRecorded, OrderRecorded
    from kektrade.domain.types import Fill, FillKind, Order, OrderType

    order = Order("1", "BTC/USDT:USDT", OrderType.LIMIT, 1.0, 100.0)
    fill = Fill(1, "BTC/USDT:USDT", FillKind.TRADE, 1.0, 100.0, 0.01, 0.0, "1", True, 0.0001, 1.0)
    held = [order, fill, OrderRecorded("a", 1, "placed", order), FillRecorded("a", fill),
            EquitySampled("a", 1, 1.0, 1.0, 1.0, 0.0, 100.0, 100.0)]  # fmt: skip
    assert [gc.is_tracked(x) for x in held] == [False] * len(held)
    builder = TripBuilder()
    builder.feed([fill])
    assert builder.current is not None and not gc.is_tracked(builder.current)  # a trade being built


def test_a_source_newer_than_its_extension_is_reported_stale(tmp_path: Path) -> None:
    (tmp_path / "native-modules.txt").write_text("# comment\npkg/mod.py  # trailing comment\n")
    (tmp_path / "pkg").mkdir()
    ext = tmp_path / "pkg" / "mod.cpython-312-x86_64-linux-gnu.so"
    ext.write_bytes(b"")
    source = tmp_path / "pkg" / "mod.py"
    source.write_text("x = 1\n")
    old = time.time() - 60
    os.utime(ext, (old, old))
    state = native_state(tmp_path)
    assert (state.modules, state.compiled, state.stale) == (("pkg.mod",), ("pkg.mod",), ("pkg.mod",))
    assert "STALE" in state.describe() and not state.fully_compiled
    os.utime(source, (old - 60, old - 60))
    assert native_state(tmp_path).fully_compiled
    # the shims stay old when only the code changed: the group library's build time counts
    os.utime(source, None)
    (tmp_path / "kektrade_native__mypyc.cpython-312-x86_64-linux-gnu.so").write_bytes(b"")
    assert native_state(tmp_path).fully_compiled


@pytest.mark.slow
@pytest.mark.skipif(PURE, reason="the whole suite already runs on the sources")
def test_the_simulator_tests_pass_on_the_uncompiled_sources() -> None:
    """Same tests, Python sources instead of extensions: the two builds must not drift apart."""
    cmd = [sys.executable, "-m", "pytest", "-p", "tests.pure_python", "-x", "-p", "no:cacheprovider",
           "tests/exchange/sim", "tests/domain", "tests/strategies"]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False)
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    assert "simulator from its Python sources" in done.stdout and " passed" in done.stdout, tail
