"""The strategy loader lists classes without executing files and imports only the one it needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kektrade.config import ConfigError, parse_config
from kektrade.strategy.base import Strategy
from kektrade.strategy.loader import (
    StrategyImportError,
    StrategyNotFoundError,
    list_strategies,
    load_config_strategies,
    load_strategy_class,
    strategy_files,
)


def write_bomb(folder: Path, marker: Path) -> None:
    """An unrelated strategy file that leaves a marker and raises if it is ever executed."""
    (folder / "bomb.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('executed')\n"
        "raise RuntimeError('bomb.py must never be imported')\n\n"
        "class BombStrategy(Strategy):\n    pass\n"
    )


def test_list_strategies_parses_without_executing(strategy_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    write_bomb(strategy_dir, marker)
    (strategy_dir / "_private.py").write_text("class HiddenStrategy(Strategy):\n    pass\n")
    (strategy_dir / "helpers.py").write_text(
        "import kektrade.strategy.base as base\n"
        "class Attr(base.OptimizeableStrategy):\n    pass\nclass NotOne(object):\n    pass\n"
        "class Variant(Attr):\n    pass\nclass Plain(NotOne):\n    pass\n"
    )
    (strategy_dir / "broken.py").write_text("class Broken(Strategy:\n")
    found = list_strategies(strategy_dir)
    assert found == {
        "AlphaStrategy": strategy_dir / "alpha.py",
        "Attr": strategy_dir / "helpers.py",
        "Variant": strategy_dir / "helpers.py",  # a variant of a strategy defined above it
        "BetaStrategy": strategy_dir / "beta.py",
        "BombStrategy": strategy_dir / "bomb.py",
    }
    assert not marker.exists()


def test_load_imports_only_the_defining_file(strategy_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    write_bomb(strategy_dir, marker)
    cls = load_strategy_class("AlphaStrategy", strategy_dir)
    assert issubclass(cls, Strategy) and cls.__name__ == "AlphaStrategy"
    assert cls.__module__ == "kektrade_user_strategies.alpha"
    assert not marker.exists()


def test_unknown_strategy_lists_what_was_found(strategy_dir: Path) -> None:
    with pytest.raises(StrategyNotFoundError) as info:
        load_strategy_class("GammaStrategy", strategy_dir)
    assert (
        str(info.value)
        == f"no strategy 'GammaStrategy' in {strategy_dir}/; found: AlphaStrategy, BetaStrategy"
    )
    assert info.value.available == ["AlphaStrategy", "BetaStrategy"]


def test_missing_folder_finds_nothing(tmp_path: Path) -> None:
    assert list_strategies(tmp_path / "none") == {}
    with pytest.raises(StrategyNotFoundError, match="found: no strategy classes"):
        load_strategy_class("X", tmp_path / "none")


def test_syntax_error_in_target_gives_traceback(strategy_dir: Path) -> None:
    (strategy_dir / "gamma.py").write_text(
        "class GammaStrategy(Strategy):\n    def tick(self:\n        pass\n"
    )
    with pytest.raises(StrategyImportError) as info:
        load_strategy_class("GammaStrategy", strategy_dir)
    assert info.value.path == strategy_dir / "gamma.py"
    assert "SyntaxError" in info.value.traceback_text and "Traceback" in info.value.traceback_text
    assert "gamma.py" in str(info.value) and "SyntaxError" in str(info.value)


def test_error_at_import_gives_traceback(strategy_dir: Path) -> None:
    (strategy_dir / "delta.py").write_text(
        "from kektrade.strategy.base import Strategy\nimport no_such_module_xyz\n"
        "class DeltaStrategy(Strategy):\n    pass\n"
    )
    with pytest.raises(StrategyImportError, match="no_such_module_xyz"):
        load_strategy_class("DeltaStrategy", strategy_dir)


def test_class_that_is_no_strategy_is_refused(strategy_dir: Path) -> None:
    (strategy_dir / "fake.py").write_text("class FakeStrategy(dict):\n    pass\nclass Base:\n    pass\n")
    (strategy_dir / "fake2.py").write_text(
        "class MyStrategy:\n    pass\nclass OtherStrategy(MyStrategy):\n    pass\n"
    )
    with pytest.raises(StrategyImportError, match=r"not a subclass of kektrade\.strategy\.base\.Strategy"):
        load_strategy_class("OtherStrategy", strategy_dir)


def test_config_strategies(strategy_dir: Path, config_dict: dict[str, Any]) -> None:
    config_dict["strategies_dir"] = str(strategy_dir)
    config = parse_config(json.dumps(config_dict))
    assert strategy_files(config) == {
        "AlphaStrategy": strategy_dir / "alpha.py",
        "BetaStrategy": strategy_dir / "beta.py",
    }
    classes = load_config_strategies(config)
    assert sorted(classes) == ["AlphaStrategy", "BetaStrategy"]
    config_dict["subaccounts"][1]["strategy"] = "SmaRsii"
    with pytest.raises(ConfigError) as info:
        strategy_files(parse_config(json.dumps(config_dict)))
    assert info.value.errors == [
        f"subaccounts[1].strategy: no strategy 'SmaRsii' in {strategy_dir}/; "
        "found: AlphaStrategy, BetaStrategy"
    ]
