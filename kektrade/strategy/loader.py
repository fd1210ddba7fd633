"""Find strategy classes by parsing files (no execution) and import only the file that defines one."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import traceback
import types
from pathlib import Path

from kektrade.config.errors import ConfigError
from kektrade.config.model_root import KektradeConfig
from kektrade.strategy.base import Strategy

MODULE_PREFIX = "kektrade_user_strategies"


class StrategyLoadError(Exception):
    """Base of every strategy loading error."""


class StrategyNotFoundError(StrategyLoadError):
    """No file in the folder defines the strategy; the message lists what was found."""

    def __init__(self, name: str, folder: Path, available: list[str]) -> None:
        self.name, self.folder, self.available = name, folder, available
        found = ", ".join(available) if available else "no strategy classes"
        super().__init__(f"no strategy {name!r} in {folder}/; found: {found}")


class StrategyImportError(StrategyLoadError):
    """The file defining the strategy failed to import (or is no Strategy); the message has the traceback."""

    def __init__(self, name: str, path: Path, traceback_text: str) -> None:
        self.name, self.path, self.traceback_text = name, path, traceback_text
        super().__init__(f"cannot load strategy {name!r} from {path}:\n{traceback_text.rstrip()}")


def _strategy_classes(tree: ast.Module) -> list[str]:
    """Top-level classes with a base whose name ends in "Strategy" or that is such a class of the same file
    defined above (a variant of a strategy: ``class Scheduled(MyCross)``)."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = [
                b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                for b in node.bases
            ]
            if any(base.endswith("Strategy") or base in names for base in bases):
                names.append(node.name)
    return names


def _candidate_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if p.is_file() and not p.name.startswith("_"))


def _scan(folder: Path) -> tuple[dict[str, Path], list[Path]]:
    """(class name -> defining file, files that do not parse); the first file (by name) wins a clash."""
    found: dict[str, Path] = {}
    broken: list[Path] = []
    for path in _candidate_files(folder):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, ValueError, UnicodeDecodeError):
            broken.append(path)
            continue
        for name in _strategy_classes(tree):
            found.setdefault(name, path)
    return found, broken


def list_strategies(folder: Path) -> dict[str, Path]:
    """Strategy class name -> file defining it, for every ``*.py`` in ``folder`` not starting with "_"."""
    return dict(sorted(_scan(folder)[0].items()))


def _import_file(name: str, path: Path) -> types.ModuleType:
    """Execute one strategy file as ``kektrade_user_strategies.<stem>``; StrategyImportError on any error."""
    module_name = f"{MODULE_PREFIX}.{path.stem}"
    if MODULE_PREFIX not in sys.modules:
        package = types.ModuleType(MODULE_PREFIX)
        package.__path__ = []
        sys.modules[MODULE_PREFIX] = package
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise StrategyImportError(name, path, "not a loadable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # user code: SyntaxError, ImportError, SystemExit, ...
        sys.modules.pop(module_name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise StrategyImportError(name, path, traceback.format_exc()) from exc
    return module


def load_strategy_class(name: str, folder: Path) -> type[Strategy]:
    """Import the one file defining strategy ``name`` in ``folder`` and return the class."""
    found, broken = _scan(folder)
    path = found.get(name)
    if path is None:
        pattern = re.compile(rf"^\s*class\s+{re.escape(name)}\b", re.MULTILINE)
        texts = {p: p.read_text(encoding="utf-8", errors="replace") for p in broken}
        path = next((p for p in broken if pattern.search(texts[p])), None)
    if path is None:
        raise StrategyNotFoundError(name, folder, sorted(found))
    return _strategy_from(_import_file(name, path), name, path)


def _strategy_from(module: types.ModuleType, name: str, path: Path) -> type[Strategy]:
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise StrategyImportError(
            name, path, f"{name} is not a subclass of kektrade.strategy.base.Strategy (got {cls!r})"
        )
    return cls


def strategy_files(config: KektradeConfig) -> dict[str, Path]:
    """Strategy name -> file for every subaccount; ConfigError naming ``subaccounts[i].strategy``."""
    folder = config.strategies_path
    found = list_strategies(folder)
    errors = []
    for index, sub in enumerate(config.subaccounts):
        if sub.strategy not in found:
            listed = ", ".join(found) if found else "no strategy classes"
            errors.append(
                f"subaccounts[{index}].strategy: no strategy {sub.strategy!r} in {folder}/; found: {listed}"
            )
    if errors:
        raise ConfigError(errors)
    return {sub.strategy: found[sub.strategy] for sub in config.subaccounts}


def load_config_strategies(config: KektradeConfig) -> dict[str, type[Strategy]]:
    """Import every strategy the config uses (each file once); ConfigError or StrategyImportError."""
    files = strategy_files(config)
    modules: dict[Path, types.ModuleType] = {}
    classes = {}
    for name, path in files.items():
        if path not in modules:
            modules[path] = _import_file(name, path)
        classes[name] = _strategy_from(modules[path], name, path)
    return classes
