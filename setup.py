"""Build step: compile the simulator's hot path to C with mypyc (the rest of kektrade stays Python).

The listed modules are ordinary, fully typed Python; mypyc turns their classes into native classes. The
same sources run uncompiled when built with ``KEKTRADE_PURE=1`` (or where no C compiler exists), only
slower; ``tests/test_native.py`` runs the simulator's tests both ways.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # a PEP 517 build leaves the project off the path
from kektrade.native import listed_modules


def ext_modules() -> list[object]:
    if os.environ.get("KEKTRADE_PURE") == "1":
        return []
    from mypyc.build import mypycify

    # group_name: one shared library, kektrade_native__mypyc (kektrade/native.py checks its build time)
    return list(mypycify(list(listed_modules()), opt_level="3", debug_level="0", group_name="kektrade_native"))


setup(ext_modules=ext_modules())
