"""Cross-subaccount checks and the helpers other packages use."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kektrade.config import ConfigError, KektradeConfig, SubaccountConfig, parse_config
from kektrade.domain.timeframes import MINUTE_MS


def parse(data: dict[str, Any]) -> KektradeConfig:
    return parse_config(json.dumps(data))


def errors_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(data)
    return info.value.errors


def test_duplicate_ids(config_dict: dict[str, Any]) -> None:
    config_dict["subaccounts"][2]["id"] = "a"
    assert errors_of(config_dict) == ["subaccounts[2].id: duplicate id 'a' (also used by subaccounts[0])"]


def test_backtest_and_live_venues_cannot_be_mixed(config_dict: dict[str, Any]) -> None:
    config_dict["subaccounts"][1]["venue"] = "bybit_linear"
    assert errors_of(config_dict) == [
        "subaccounts[1].venue: backtest and live venues cannot be mixed in one config "
        "('bybit_linear' is live, subaccounts[0] uses 'backtest_perpetual')"
    ]


def test_inverse_backtest_needs_explicit_balance(config_dict: dict[str, Any]) -> None:
    del config_dict["subaccounts"][2]["initial_balance"]
    (error,) = errors_of(config_dict)
    assert error.startswith("subaccounts[2].initial_balance: required for the inverse pair 'BTC/USD:BTC'")
    assert "the wallet is in BTC" in error


def test_inverse_balance_from_defaults_is_enough(config_dict: dict[str, Any]) -> None:
    del config_dict["subaccounts"][2]["initial_balance"]
    config_dict["defaults"]["initial_balance"] = 2.0
    config = parse(config_dict)
    assert config.subaccounts[2].initial_balance == 2.0
    assert config.subaccounts[0].initial_balance == 2.0


def test_inverse_live_venue_needs_no_balance(config_dict: dict[str, Any]) -> None:
    config_dict["defaults"]["venue"] = "bybit_inverse"
    config_dict["subaccounts"] = [{"id": "x", "strategy": "S", "pair": "BTC/USD:BTC"}]
    config = parse(config_dict)
    assert config.is_live and config.subaccounts[0].is_inverse


def test_cross_checks_also_run_for_models_built_in_code() -> None:
    sub = SubaccountConfig(id="x", strategy="S", pair="BTC/USDT:USDT")
    with pytest.raises(ValueError, match="duplicate id 'x'"):
        KektradeConfig(metastrategy_id="m", subaccounts=[sub, sub])


def test_helpers(config_dict: dict[str, Any]) -> None:
    config_dict["subaccounts"][0]["optimization"] = {"reoptimize_every": "4h", "lookback": "2d"}
    config_dict["subaccounts"][0]["contract"] = {"funding_interval": "8h"}
    config = parse(config_dict)
    a, b, inv = config.subaccounts
    assert not config.is_live
    assert (a.base, a.quote, a.settle, a.is_inverse) == ("BTC", "USDT", "USDT", False)
    assert (inv.base, inv.settle, inv.is_inverse) == ("BTC", "BTC", True)
    assert a.timeframe_ms == 15 * MINUTE_MS
    assert a.optimization.reoptimize_every_ms == 240 * MINUTE_MS
    assert a.optimization.lookback_ms == 2 * 1440 * MINUTE_MS
    assert a.contract.funding_interval_ms == 480 * MINUTE_MS
    assert b.contract.funding_interval_ms is None
    assert config.backtest.start_ms == 1704153600000  # 2024-01-02T00:00Z
    assert config.backtest.end_ms == 1704412800000
    assert config.subaccount("b-2") is b
    with pytest.raises(KeyError):
        config.subaccount("missing")


def test_credentials_env_default_and_override(config_dict: dict[str, Any]) -> None:
    config_dict["subaccounts"][0]["credentials_env"] = "MY_KEYS"
    config = parse(config_dict)
    assert config.subaccounts[0].credentials_prefix == "MY_KEYS"
    assert config.subaccounts[1].credentials_env == "KEKTRADE_B_2"


def test_iso_datetimes_with_offsets_are_converted_to_utc(config_dict: dict[str, Any]) -> None:
    config_dict["backtest"] = {"start": "2024-01-02T02:00:00+02:00"}
    assert parse(config_dict).backtest.start_ms == 1704153600000


def test_config_is_immutable(config_dict: dict[str, Any]) -> None:
    config = parse(config_dict)
    with pytest.raises(ValueError, match="frozen"):
        config.subaccounts[0].leverage = 5  # type: ignore[misc]


def test_file_source_needs_a_file_per_pair(config_dict: dict[str, Any]) -> None:
    config_dict["data"] = {"source": "file", "files": {"BTC/USDT:USDT": {"path": "btc.csv"}}}
    assert errors_of(config_dict) == [
        "data.files: no file for 'ETH/USDT:USDT' (subaccounts[1].pair) while data.source is 'file'",
        "data.files: no file for 'BTC/USD:BTC' (subaccounts[2].pair) while data.source is 'file'",
    ]
    config_dict["data"]["files"]["ETH/USDT:USDT"] = {"path": "eth.parquet", "columns": {"date": "ts"}}
    config_dict["data"]["files"]["BTC/USD:BTC"] = {"path": "inv.csv", "time_unit": "s"}
    config = parse(config_dict)
    assert config.data.files["ETH/USDT:USDT"].columns == {"date": "ts"}
