"""Secrets come from the environment or .env, never from the config, and never reach the logs."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from kektrade.config import ConfigError, SecretRedactor, Secrets, parse_config

LIVE = {
    "metastrategy_id": "live",
    "subaccounts": [{"id": "main-1", "strategy": "S", "pair": "BTC/USDT:USDT", "venue": "bybit_linear"}],
}


def test_environment_wins_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n\nKEKTRADE_MAIN_1_API_KEY=file-key\nexport KEKTRADE_MAIN_1_API_SECRET='file-secret'\n"
        'KEKTRADE_TELEGRAM_TOKEN="tok"\nUNRELATED=1\n'
    )
    secrets = Secrets.from_environment({"KEKTRADE_MAIN_1_API_KEY": "env-key"}, env_file)
    sub = parse_config(json.dumps(LIVE)).subaccounts[0]
    creds = secrets.credentials_for(sub)
    assert creds is not None
    assert (creds.api_key, creds.api_secret) == ("env-key", "file-secret")
    assert secrets.telegram_token == "tok"
    assert sorted(secrets.values()) == ["env-key", "file-secret", "tok"]
    assert "env-key" not in repr(secrets) and "file-secret" not in repr(creds)


def test_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert Secrets.from_environment({}, tmp_path / ".env").values() == []


def test_bad_env_file_line_is_named(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("A=1\nnot a pair\n")
    with pytest.raises(ConfigError, match=r"\.env:2: expected KEY=VALUE"):
        Secrets.from_environment({}, env_file)


def test_live_venue_without_credentials_is_an_error_at_start() -> None:
    config = parse_config(json.dumps(LIVE))  # validation itself does not need secrets
    with pytest.raises(ConfigError) as info:
        Secrets.from_environment({}, None).require_for(config)
    assert info.value.errors == [
        "subaccounts[0]: live venue 'bybit_linear' needs KEKTRADE_MAIN_1_API_KEY and "
        "KEKTRADE_MAIN_1_API_SECRET in the environment or in .env"
    ]
    env = {"KEKTRADE_MAIN_1_API_KEY": "k", "KEKTRADE_MAIN_1_API_SECRET": "s"}
    Secrets.from_environment(env, None).require_for(config)


def test_backtest_and_telegram(config_dict: dict[str, Any]) -> None:
    config_dict["telegram"] = {"enabled": True, "chat_ids": [1]}
    config = parse_config(json.dumps(config_dict))
    with pytest.raises(ConfigError, match=r"telegram\.enabled: the bot needs KEKTRADE_TELEGRAM_TOKEN"):
        Secrets.from_environment({}, None).require_for(config)
    Secrets.from_environment({"KEKTRADE_TELEGRAM_TOKEN": "t"}, None).require_for(config)


def test_redactor_hides_secrets_in_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretRedactor(["s3cr3t-value", "", "k3y"]))
    logger = logging.getLogger("kektrade.test_secrets")  # a child: filters must sit on the handler
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("key=%s secret=%s", "k3y", "s3cr3t-value")
        logger.info("inline s3cr3t-value here")
        try:
            raise RuntimeError("boom s3cr3t-value")
        except RuntimeError:
            logger.exception("failed with %r", {"k": "k3y"})
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "s3cr3t-value" not in text and "k3y" not in text
    assert "key=*** secret=***" in text and "inline *** here" in text
    assert "RuntimeError: boom ***" in text


def test_redactor_catches_json_escaped_and_url_encoded_forms_and_nested_documents() -> None:
    secret = 'k3y/with+"odd"chars'
    redactor = SecretRedactor([secret, "short", ""])
    assert redactor and not SecretRedactor([""])
    assert redactor.redact(json.dumps({"msg": f"bad {secret}"})) == '{"msg": "bad ***"}'
    assert redactor.redact("GET /v5?key=k3y%2Fwith%2B%22odd%22chars&x=1") == "GET /v5?key=***&x=1"
    doc = {"a": [f"{secret}!", ("x", 1.5)], f"key {secret}": {"n": None}}
    assert redactor.redact_tree(doc) == {"a": ["***!", ("x", 1.5)], "key ***": {"n": None}}
    assert SecretRedactor([]).redact_tree(doc) is doc
