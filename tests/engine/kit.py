"""Build real configs, probe strategies and controllers for engine and optimizer tests."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from kektrade.config import parse_config
from kektrade.control.facade import RunController, RunPaths

REPO = Path(__file__).resolve().parents[2]

PROBE = '''
from kektrade.strategy.base import Strategy, OptimizeableStrategy


class ProbeStrategy(Strategy):
    """Records every tick; places the orders a test scripts in parameter['script']."""

    startup_candle_count = 3

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        variables.setdefault("ticks", []).append(index)
        variables.setdefault("seen_rows", []).append(len(dataframe))
        order = parameter.get("script", {}).get(str(index))
        if order is not None:
            variables.setdefault("orders", []).append(account.open_order("market", order))


class BoomStrategy(Strategy):
    """Raises at a given candle."""

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        if index == parameter["boom_at"]:
            raise RuntimeError("boom")
        if index == 1:
            account.open_order("limit", 0.001, price=1.0)


class HoldStrategy(OptimizeableStrategy):
    """Holds a position of side x stake from the first tick; 'dummy' never changes anything."""

    def get_search_space(self):
        return {"side": [1, -1, 0], "dummy": [1, 2], "stake": [0.5]}

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        side = parameter["side"]
        if side and account.contracts == 0 and not account.get_open_orders():
            qty = account.get_contracts_pct_of_balance(parameter["stake"])
            account.open_order("market", side * qty)


class ScaleStrategy(OptimizeableStrategy):
    """Every 'period' candles: opens, adds, then closes in two halves (two closing fills per round trip)."""

    def get_search_space(self):
        return {"period": [5, 7]}

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        step = index % parameter["period"]
        if step == 0 and account.contracts == 0:
            account.open_order("market", 0.002)
        elif step == 1 and account.contracts > 0:
            account.open_order("market", 0.002)
        elif step in (2, 3) and account.contracts > 0:
            account.open_order("market", -0.002, reduce_only=True)
'''


def write_strategies(folder: Path) -> Path:
    """The probe strategies in ``folder/strategies``."""
    path = folder / "strategies"
    path.mkdir(parents=True, exist_ok=True)
    (path / "probes.py").write_text(textwrap.dedent(PROBE))
    return path


def config(folder: Path, subaccounts: list[dict[str, Any]], **top: Any) -> Any:
    """A validated config with synthetic data unless ``data`` is given."""
    doc = {
        "metastrategy_id": "test",
        "strategies_dir": str(write_strategies(folder)),
        "history_dir": str(folder / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 7, "start": "2024-01-01", "days": 2}},
        "subaccounts": subaccounts,
    }
    doc.update(top)
    return parse_config(json.dumps(doc))


def run(folder: Path, cfg: Any) -> RunController:
    """Build, attach a run folder, run to the end."""
    controller = RunController(cfg)
    controller.build()
    run_folder = folder / "run"
    run_folder.mkdir(exist_ok=True)
    controller.attach(RunPaths("test-run", run_folder, run_folder / "run.sqlite"))
    controller.start()
    assert controller.wait(120)
    return controller
