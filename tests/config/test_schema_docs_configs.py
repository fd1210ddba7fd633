"""The committed JSON Schema, docs/config.md and configs/*.json never go stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from kektrade import cli
from kektrade.config import config_json_schema, config_reference_markdown, load_config, schema_text
from kektrade.config.schema_docs import SECTIONS
from kektrade.strategy.loader import list_strategies

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.json"))


def test_committed_schema_matches_models() -> None:
    committed = (ROOT / "kektrade.schema.json").read_text()
    assert committed == schema_text(), "regenerate with: .venv/bin/kektrade schema > kektrade.schema.json"
    assert json.loads(committed) == config_json_schema()


def test_schema_is_strict_and_documented() -> None:
    schema = config_json_schema()
    objects = [schema, *schema["$defs"].values()]
    for obj in objects:
        assert obj.get("additionalProperties") is False, obj.get("title")
        for name, prop in obj["properties"].items():
            assert prop.get("description"), f"{obj.get('title')}.{name} has no description"
    assert schema["required"] == ["metastrategy_id", "subaccounts"]


def test_docs_match_models() -> None:
    example = (ROOT / "configs" / "full_example.json").read_text()
    expected = config_reference_markdown(example)
    assert (ROOT / "docs" / "config.md").read_text() == expected, "regenerate docs/config.md"
    for _title, _where, model in SECTIONS:
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in expected


def _keys_at(data: dict[str, Any], model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        assert (field.alias or name) in data, f"full_example.json lacks {model.__name__}.{name}"


def test_full_example_sets_every_option() -> None:
    data = json.loads((ROOT / "configs" / "full_example.json").read_text())
    sub = data["subaccounts"][0]
    where = {
        "KektradeConfig": data,
        "SubaccountConfig": sub,
        "FeesConfig": sub["fees"],
        "OptimizationConfig": sub["optimization"],
        "ExecutorConfig": sub["optimization"]["executor"],
        "ContractOverrides": sub["contract"],
        "BacktestConfig": data["backtest"],
        "RealisticConfig": data["backtest"]["realistic"],
        "DataConfig": data["data"],
        "SyntheticDataConfig": data["data"]["synthetic"],
        "FileSourceConfig": next(iter(data["data"]["files"].values())),
        "DownloadConfig": data["data"]["download"],
        "PersistenceConfig": data["persistence"],
        "TuiConfig": data["tui"],
        "WebConfig": data["web"],
        "TelegramConfig": data["telegram"],
        "LiveConfig": data["live"],
    }
    for _title, _where, model in SECTIONS:
        _keys_at(where[model.__name__], model)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_is_valid(path: Path) -> None:
    config = load_config(path)
    available = list_strategies(ROOT / config.strategies_dir)
    missing = [s.strategy for s in config.subaccounts if s.strategy not in available]
    expected_files = {"sma_rsi.py", "market_maker.py", "breakout.py"}
    present = {p.name for p in (ROOT / config.strategies_dir).glob("*.py")}
    if missing and not expected_files <= present:
        pytest.skip(f"strategies/ does not have {', '.join(missing)} yet")
    assert missing == []


def test_demo_config_is_the_offline_demo() -> None:
    config = load_config(ROOT / "configs" / "demo.json")
    assert not config.is_live and config.data.source == "synthetic" and config.data.synthetic.days == 30
    sma, mm, breakout = config.subaccounts
    assert (sma.id, sma.strategy, sma.timeframe, sma.leverage) == ("sma_btc", "SmaRsiStrategy", "5m", 3)
    assert sma.optimization.enabled and sma.optimization.lookback == "5d"
    assert (mm.pair, mm.margin_mode, mm.leverage) == ("ETH/USDT:USDT", "cross", 2)
    assert breakout.is_inverse and breakout.initial_balance == 0.25


def test_bybit_testnet_config_is_live() -> None:
    config = load_config(ROOT / "configs" / "bybit_testnet.json")
    assert config.is_live and config.subaccounts[0].testnet and config.subaccounts[0].venue == "bybit_linear"


@pytest.mark.parametrize(
    ("name", "venue", "exchange", "credentials"),
    [
        ("okx_demo.json", "okx", "okx", ("API_KEY", "API_SECRET", "API_PASSPHRASE")),
        ("binanceusdm_testnet.json", "binanceusdm", "binanceusdm", ("API_KEY", "API_SECRET")),
        ("bybit_testnet.json", "bybit_linear", "bybit", ("API_KEY", "API_SECRET")),
    ],
)
def test_okx_demo_and_binance_testnet_configs_are_live_on_their_exchange(
    name: str, venue: str, exchange: str, credentials: tuple[str, ...]
) -> None:
    config = load_config(ROOT / "configs" / name)
    (sub,) = config.subaccounts
    assert config.is_live and sub.testnet and sub.venue == venue
    assert cli.main(["validate", str(ROOT / "configs" / name)]) == 0  # the strategy's parameters are fixed too
    assert (sub.venue_info.exchange, sub.venue_info.credentials) == (exchange, credentials)
