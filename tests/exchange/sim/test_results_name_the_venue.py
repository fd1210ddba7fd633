"""A run's results.json names, per subaccount, the contract numbers, where its risk ladder came from and
Bybit's rules of the period the simulated venue applied (issue 12)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kektrade import cli


def test_results_name_contract_ladder_and_rules(
    tmp_path: Path, strategy_dir: Path, config_dict: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("KEKTRADE_"):
            monkeypatch.delenv(name)
    config_dict["backtest"]["rules"] = "before_2025_09"
    config_dict["subaccounts"][1]["contract"] = {
        "risk_tiers": [{"limit_value": 500_000, "mmr": 0.01, "max_leverage": 50},
                       {"limit_value": 1_000_000, "mmr": 0.02, "max_leverage": 25}],
    }
    (tmp_path / "config.json").write_text(json.dumps(config_dict))
    assert cli.main(["config.json", "--no-tui"]) == 0
    (folder,) = (tmp_path / "history").iterdir()
    venues = json.loads((folder / "results.json").read_text())["extra"]["venues"]
    assert set(venues) == {"a", "b-2", "inv"}
    assert all(v["rules"]["name"] == "before_2025_09" for v in venues.values())
    assert venues["a"]["contract"]["source"].startswith("built-in: Bybit instruments-info and risk-limit snapshot")
    assert venues["b-2"]["contract"]["source"].startswith("config: contract.risk_tiers (2 tiers)")
    assert venues["b-2"]["contract"]["first_tier"] == {
        "limit_value": 500_000, "mmr": 0.01, "imr": 0.02, "max_leverage": 50, "deduction": 0.0
    }
    assert venues["inv"]["contract"]["kind"] == "inverse"
