"""Which build of the simulator's hot path is running: compiled by mypyc, or the plain Python sources.

``setup.py`` compiles the modules listed in ``native-modules.txt`` in place; an extension module next to a
source file wins the import. A source edited after the build would then be silently ignored, so
``native_state`` reports compiled modules whose source is newer than their extension (stale), and the
test suite and ``scripts/bootstrap.sh`` refuse or rebuild such a build. Standard library only.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
NATIVE_LIST = REPO_ROOT / "native-modules.txt"


@dataclass(frozen=True, slots=True)
class NativeState:
    """``compiled``: modules that import as extensions; ``stale``: those older than their source."""

    modules: tuple[str, ...]
    compiled: tuple[str, ...]
    stale: tuple[str, ...]

    @property
    def fully_compiled(self) -> bool:
        """Every listed module runs compiled and none is stale."""
        return bool(self.modules) and len(self.compiled) == len(self.modules) and not self.stale

    def describe(self) -> str:
        """One line for logs and benchmark output."""
        if self.stale:
            return f"STALE native build ({', '.join(self.stale)}): run scripts/bootstrap.sh"
        if self.fully_compiled:
            return f"compiled with mypyc ({len(self.compiled)} modules)"
        if self.compiled:
            return f"partly compiled ({len(self.compiled)}/{len(self.modules)} modules)"
        return "pure Python (not compiled)"


def module_name(path: str) -> str:
    """``kektrade/exchange/sim/orders.py`` -> ``kektrade.exchange.sim.orders``."""
    return path.removesuffix(".py").replace("/", ".")


def listed_modules(listing: Path = NATIVE_LIST) -> tuple[str, ...]:
    """Source paths (relative to the repository) named in ``native-modules.txt``."""
    if not listing.is_file():  # an installed wheel has no listing: nothing to compare against
        return ()
    entries = (line.split("#")[0].strip() for line in listing.read_text().splitlines())
    return tuple(entry for entry in entries if entry)


def _extension_for(source: Path) -> Path | None:
    for suffix in EXTENSION_SUFFIXES:
        candidate = source.with_name(source.stem + suffix)
        if candidate.exists():
            return candidate
    return None


GROUP_LIBRARY = "kektrade_native__mypyc"  # setup.py's group_name: the one library holding the compiled code


def _built_at(root: Path, ext: Path) -> float:
    """When the code behind ``ext`` was built: the per-module extensions are shims that the linker leaves
    alone when they do not change; the code itself lives in the group library beside the package."""
    libraries = [p for suffix in EXTENSION_SUFFIXES for p in root.glob(GROUP_LIBRARY + suffix)]
    return max([ext.stat().st_mtime, *(p.stat().st_mtime for p in libraries)])


def native_state(root: Path = REPO_ROOT) -> NativeState:
    """Compiled and stale modules of this checkout (by file, without importing anything)."""
    modules = listed_modules(root / "native-modules.txt")
    compiled: list[str] = []
    stale: list[str] = []
    for rel in modules:
        source = root / rel
        ext = _extension_for(source)
        if ext is None:
            continue
        compiled.append(module_name(rel))
        if source.exists() and source.stat().st_mtime > _built_at(root, ext):
            stale.append(module_name(rel))
    return NativeState(tuple(module_name(m) for m in modules), tuple(compiled), tuple(stale))


def is_compiled(module: str) -> bool:
    """True when ``module`` imports (or would import) from a compiled extension."""
    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec is not None else None
    return origin is not None and origin.endswith(tuple(EXTENSION_SUFFIXES))
