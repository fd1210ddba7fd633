"""API keys and the Telegram token: from the environment (or an untracked .env), never from the config."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kektrade.config.errors import ConfigError
from kektrade.config.model_root import KektradeConfig
from kektrade.config.model_subaccount import SubaccountConfig

TELEGRAM_TOKEN_ENV = "KEKTRADE_TELEGRAM_TOKEN"
REDACTED = "***"


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """One subaccount's API key and secret (and passphrase, for exchanges such as OKX that have one)."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    api_passphrase: str | None = field(default=None, repr=False)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (``#`` comments, blank lines, optional quotes); ConfigError on junk."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise ConfigError([f"{path}:{number}: expected KEY=VALUE"])
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class Secrets:
    """The secret values kektrade may use; ``repr`` never shows them."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = {k: v for k, v in values.items() if v and _is_secret_name(k)}

    def __repr__(self) -> str:
        return f"Secrets(names={sorted(self._values)})"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], env_file: Path | None = None) -> Secrets:
        """Secrets from ``environ`` and, if it exists, ``env_file`` (the environment wins)."""
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            values.update(read_env_file(env_file))
        values.update(environ)
        return cls(values)

    @property
    def telegram_token(self) -> str | None:
        """The Telegram bot token, if set."""
        return self._values.get(TELEGRAM_TOKEN_ENV)

    def credentials_for(self, subaccount: SubaccountConfig) -> ApiCredentials | None:
        """The API credentials of a subaccount, or None when one its venue needs is missing."""
        prefix = subaccount.credentials_prefix
        key, secret = self._values.get(f"{prefix}_API_KEY"), self._values.get(f"{prefix}_API_SECRET")
        passphrase = self._values.get(f"{prefix}_API_PASSPHRASE")
        if "API_PASSPHRASE" in subaccount.venue_info.credentials and not passphrase:
            return None
        return ApiCredentials(key, secret, passphrase) if key and secret else None

    def missing_credentials(self, config: KektradeConfig) -> list[str]:
        """One error line per enabled live subaccount without credentials."""
        errors = []
        for index, sub in enumerate(config.subaccounts):
            if sub.enabled and not sub.is_backtest and self.credentials_for(sub) is None:
                errors.append(f"subaccounts[{index}]: {needed_credentials(sub)}")
        if config.telegram.enabled and not self.telegram_token:
            errors.append(f"telegram.enabled: the bot needs {TELEGRAM_TOKEN_ENV} in the environment or in .env")
        return errors

    def require_for(self, config: KektradeConfig) -> None:
        """Raise ConfigError when a live subaccount or the enabled Telegram bot lacks its secrets."""
        errors = self.missing_credentials(config)
        if errors:
            raise ConfigError(errors)

    def values(self) -> list[str]:
        """Every secret value (for the log redactor)."""
        return list(self._values.values())


def needed_credentials(sub: SubaccountConfig) -> str:
    """"live venue 'okx' needs P_API_KEY, P_API_SECRET and P_API_PASSPHRASE in the environment or in .env"."""
    names = [f"{sub.credentials_prefix}_{n}" for n in sub.venue_info.credentials]
    listed = " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"live venue {sub.venue!r} needs {listed} in the environment or in .env"


def _is_secret_name(name: str) -> bool:
    return name == TELEGRAM_TOKEN_ENV or name.endswith(("_API_KEY", "_API_SECRET", "_API_PASSPHRASE"))


class SecretRedactor(logging.Filter):
    """Replaces every secret value with ``***`` in text, log records and nested documents.

    Each secret is also matched in the forms it takes inside JSON strings and URLs (escaped, percent-encoded),
    so a key quoted in an exchange's JSON error or a token in a request URL is caught too.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        forms = {form for s in secrets if s for form in _forms(s)}
        # longest first, so a secret containing another is replaced whole
        self._secrets = sorted(forms, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def redact_tree(self, value: Any) -> Any:
        """A copy of a JSON-like document (dicts, lists, tuples, strings) with every string redacted."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact_tree(k): self.redact_tree(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_tree(v) for v in value)
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} {record.args}"
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_text is None and record.exc_info[0] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _forms(secret: str) -> set[str]:
    """The secret as written, inside a JSON string, and percent-encoded (as in a URL)."""
    return {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote(secret, safe="/:")}
