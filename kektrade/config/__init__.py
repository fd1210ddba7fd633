"""Typed, strict kektrade config: unknown keys rejected, every error naming its dotted path."""

from kektrade.config.errors import ConfigError
from kektrade.config.load import load_config, merge_defaults, parse_config
from kektrade.config.model_root import KektradeConfig
from kektrade.config.model_subaccount import (
    BACKTEST_VENUES,
    ContractOverrides,
    FeesConfig,
    OptimizationConfig,
    SubaccountConfig,
    SubaccountDefaults,
)
from kektrade.config.schema_docs import config_json_schema, config_reference_markdown, schema_text
from kektrade.config.secrets import ApiCredentials, SecretRedactor, Secrets

__all__ = [
    "BACKTEST_VENUES",
    "ApiCredentials",
    "ConfigError",
    "ContractOverrides",
    "FeesConfig",
    "KektradeConfig",
    "OptimizationConfig",
    "SecretRedactor",
    "Secrets",
    "SubaccountConfig",
    "SubaccountDefaults",
    "config_json_schema",
    "config_reference_markdown",
    "load_config",
    "merge_defaults",
    "parse_config",
    "schema_text",
]
