"""Loading configs: merging defaults and turning every problem into one plain, path-naming line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kektrade.config import ConfigError, KektradeConfig, load_config, merge_defaults, parse_config


def errors_of(data: Any) -> list[str]:
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="cfg.json")
    assert str(info.value) == "\n".join(info.value.errors)
    return info.value.errors


def test_valid_config_merges_defaults(config_dict: dict[str, Any]) -> None:
    config = parse_config(json.dumps(config_dict))
    a, b, inv = config.subaccounts
    assert isinstance(config, KektradeConfig)
    assert a.timeframe == b.timeframe == "15m"  # from defaults
    assert a.leverage == 3 and b.leverage == 1.0
    assert a.fees.taker == 0.0006 and a.fees.maker is None  # nested: defaults + model default (the exchange's)
    assert b.fees.taker == 0.0006 and b.fees.maker == -0.0001  # nested: merged key by key
    assert inv.initial_balance == 0.5
    assert config.defaults.timeframe == "15m" and config.defaults.leverage is None  # defaults kept as given
    assert "leverage" not in config.defaults.model_fields_set


def test_merge_never_mutates_defaults() -> None:
    defaults = {"parameters": {"fast": 5}, "fees": {"taker": 0.001}}
    before = copy.deepcopy(defaults)
    first = merge_defaults(defaults, {"id": "x", "fees": {"maker": 0.0}})
    first["parameters"]["fast"] = 99
    first["fees"]["taker"] = 0.5
    second = merge_defaults(defaults, {"id": "y"})
    assert defaults == before
    assert second["parameters"] == {"fast": 5} and second["fees"] == {"taker": 0.001}


def test_subaccount_replaces_non_nested_fields() -> None:
    merged = merge_defaults({"parameters": {"fast": 5, "slow": 20}}, {"parameters": {"fast": 7}})
    assert merged["parameters"] == {"fast": 7}


def test_load_config_reads_file(tmp_path: Path, config_dict: dict[str, Any]) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config_dict))
    assert load_config(path).metastrategy_id == "test_meta"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.json")


def test_unknown_key_suggests_close_match(config_dict: dict[str, Any]) -> None:
    config_dict["subaccounts"][0]["levrage"] = 2
    assert errors_of(config_dict) == ["subaccounts[0].levrage: unknown key, did you mean 'leverage'?"]


def test_unknown_key_without_match_lists_valid_keys(config_dict: dict[str, Any]) -> None:
    config_dict["web"] = {"zzz": 1}
    assert errors_of(config_dict) == ["web.zzz: unknown key (valid keys: enabled, host, port)"]


def test_unknown_nested_and_top_level_keys(config_dict: dict[str, Any]) -> None:
    config_dict["backtest"]["realistic"] = {"latency": 5}
    config_dict["subaccountz"] = []
    errors = errors_of(config_dict)
    assert "backtest.realistic.latency: unknown key, did you mean 'latency_ms'?" in errors
    assert "subaccountz: unknown key, did you mean 'subaccounts'?" in errors


def test_bounds_literals_and_types_in_plain_words(config_dict: dict[str, Any]) -> None:
    config_dict["subaccounts"][1]["leverage"] = -3
    config_dict["backtest"]["limit_fill"] = "toch"
    config_dict["web"] = {"port": "80", "enabled": "yes"}
    config_dict["subaccounts"][0]["optimization"] = {"min_trades": 1.5}
    errors = errors_of(config_dict)
    assert errors == [
        "subaccounts[0].optimization.min_trades: must be a whole number (got 1.5)",
        "subaccounts[1].leverage: must be greater than 0 (got -3)",
        "backtest.limit_fill: must be one of 'trade_through', 'touch' (got 'toch')",
        "web.enabled: must be true or false (got 'yes')",
        "web.port: must be a whole number (got '80')",
    ]


def test_required_keys_and_bad_values(config_dict: dict[str, Any]) -> None:
    del config_dict["subaccounts"][0]["pair"]
    config_dict["subaccounts"][1]["pair"] = "ETHUSDT"
    config_dict["subaccounts"][1]["timeframe"] = "7m"
    config_dict["subaccounts"][2]["optimization"] = {"lookback": "5 days"}
    errors = errors_of(config_dict)
    assert errors[0] == "subaccounts[0].pair: required key missing"
    assert errors[1].startswith("subaccounts[1].pair: must be a ccxt perpetual symbol BASE/QUOTE:SETTLE")
    assert errors[2].startswith("subaccounts[1].timeframe: must be one of 1m, 3m, 5m")
    assert errors[3].startswith("subaccounts[2].optimization.lookback: '5 days' is not a duration")


def test_errors_from_defaults_name_defaults(config_dict: dict[str, Any]) -> None:
    config_dict["defaults"] = {"levrage": 2, "leverage": 500, "fees": {"taker": 0.5}, "id": "x"}
    errors = errors_of(config_dict)
    assert errors == [
        "defaults.id: not allowed here: each subaccount sets its own id",
        "defaults.leverage: must be at most 200 (got 500)",
        "defaults.fees.taker: must be at most 0.01 (got 0.5)",
        "defaults.levrage: unknown key, did you mean 'leverage'?",
    ]


def test_overridden_default_is_not_blamed_on_defaults(config_dict: dict[str, Any]) -> None:
    config_dict["defaults"]["leverage"] = 2
    config_dict["subaccounts"][0]["leverage"] = 0
    assert errors_of(config_dict) == ["subaccounts[0].leverage: must be greater than 0 (got 0)"]


def test_invalid_json_names_line_and_column() -> None:
    text = '{\n  "metastrategy_id": "x"\n  "subaccounts": []\n}'
    assert errors_of(text) == ["cfg.json:3:3: invalid JSON: Expecting ',' delimiter"]


def test_top_level_must_be_an_object() -> None:
    assert errors_of("[1, 2]") == ["cfg.json: the top level must be a JSON object (got [1, 2])"]


def test_duplicate_keys_are_rejected(config_dict: dict[str, Any]) -> None:
    text = json.dumps(config_dict)[:-1] + ', "metastrategy_id": "again"}'
    assert errors_of(text) == [
        "cfg.json: invalid JSON: the key 'metastrategy_id' appears twice in one object"
    ]


def test_nan_is_not_a_number(config_dict: dict[str, Any]) -> None:
    text = json.dumps(config_dict).replace('"leverage": 3', '"leverage": NaN')
    assert errors_of(text) == ["subaccounts[0].leverage: must be a number (got 'NaN')"]


def test_all_errors_are_collected(config_dict: dict[str, Any]) -> None:
    config_dict["metastrategy_id"] = "has space"
    config_dict["tui"] = {"refresh_hz": 100}
    config_dict["subaccounts"][0]["margin_mode"] = "crossed"
    config_dict["subaccounts"].append(dict(config_dict["subaccounts"][0]))
    errors = errors_of(config_dict)
    assert len(errors) == 5
    assert errors[0].startswith("metastrategy_id: must be 1-64 letters")
    assert errors[-1] == "subaccounts[3].id: duplicate id 'a' (also used by subaccounts[0])"
    assert "tui.refresh_hz: must be at most 30 (got 100)" in errors


def test_empty_subaccounts_and_bad_backtest_period(config_dict: dict[str, Any]) -> None:
    config_dict["subaccounts"] = []
    config_dict["backtest"] = {"start": "2024-02-01", "end": "2024-01-01"}
    errors = errors_of(config_dict)
    assert "subaccounts: must have at least 1 item (got [])" in errors
    assert "backtest: end (2024-01-01) must be after start (2024-02-01)" in errors


def test_file_source_errors_name_the_pair(config_dict: dict[str, Any]) -> None:
    config_dict["data"] = {"source": "file", "files": {"BTC/USDT:USDT": {"format": "xls"}}}
    assert errors_of(config_dict) == [
        "data.files['BTC/USDT:USDT'].path: required key missing",
        "data.files['BTC/USDT:USDT'].format: must be one of 'auto', 'csv', 'parquet', 'feather' (got 'xls')",
    ]


def test_schema_key_is_allowed(config_dict: dict[str, Any]) -> None:
    config_dict["$schema"] = "../kektrade.schema.json"
    assert parse_config(json.dumps(config_dict)).schema_ref == "../kektrade.schema.json"


def test_file_source_columns_must_be_ours(config_dict: dict[str, Any]) -> None:
    config_dict["data"] = {"files": {"BTC/USDT:USDT": {"path": "a.csv", "columns": {"time": "ts"}}}}
    assert errors_of(config_dict) == [
        "data.files['BTC/USDT:USDT']: columns: unknown column 'time'; "
        "use date, open, high, low, close, volume"
    ]
