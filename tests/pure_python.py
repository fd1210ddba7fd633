"""pytest plugin: import the modules of native-modules.txt from their Python sources, not the extensions.

    python -m pytest -p tests.pure_python tests/exchange/sim

Checks that the uncompiled build (``KEKTRADE_PURE=1``, or a machine without a C compiler) behaves exactly
like the compiled one; ``tests/test_native.py`` runs the simulator's tests this way.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

from kektrade.native import REPO_ROOT, listed_modules, module_name

_SOURCES = {module_name(rel): REPO_ROOT / rel for rel in listed_modules()}


class SourceFirstFinder:
    """A meta-path finder that resolves the listed modules to their ``.py`` files."""

    @classmethod
    def find_spec(
        cls, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        source = _SOURCES.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def _install() -> None:
    already = [name for name in _SOURCES if name in sys.modules]
    if already:
        raise RuntimeError(f"pure_python plugin loaded too late: {already} already imported")
    sys.meta_path.insert(0, SourceFirstFinder())


# At import, on purpose: `-p` plugins load before conftest.py, whose plugins import the simulator.
_install()


def pytest_report_header() -> str:
    return "kektrade: simulator from its Python sources (pure_python plugin)"


def pytest_sessionstart() -> None:
    import kektrade.exchange.sim.exchange as exchange

    if not str(exchange.__file__).endswith(".py"):
        raise RuntimeError(f"pure_python plugin: {exchange.__file__} is not the source")
