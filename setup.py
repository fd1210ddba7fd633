"""Build step: compile the simulator's hot path to C with mypyc (the rest of kektrade stays Python).

The listed modules are ordinary, fully typed Python; mypyc turns their classes into native classes. The
same sources run uncompiled when built with ``KEKTRADE_PURE=1`` (or where no C compiler exists), only
slower; ``tests/test_native.py`` runs the simulator's tests both ways.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
NATIVE_LIST = ROOT / "native-modules.txt"


def native_modules() -> list[str]:
    """Module paths listed in native-modules.txt (one per line, # comments)."""
    lines = NATIVE_LIST.read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def ext_modules() -> list[object]:
    if os.environ.get("KEKTRADE_PURE") == "1":
        return []
    from mypyc.build import mypycify

    # group_name: one shared library, kektrade_native__mypyc (kektrade/native.py checks its build time)
    return list(mypycify(native_modules(), opt_level="3", debug_level="0", group_name="kektrade_native"))


setup(ext_modules=ext_modules())
