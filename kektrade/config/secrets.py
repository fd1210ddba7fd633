"""API keys and the Telegram token: from the environment (or an untracked .env), never from the config."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kektrade.config.errors import ConfigError
from kektrade.config.model_root import KektradeConfig
from kektrade.config.model_subaccount import SubaccountConfig

TELEGRAM_TOKEN_ENV = "KEKTRADE_TELEGRAM_TOKEN"
REDACTED = "***"


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """One subaccount's API key and secret."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)


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
        """The API key and secret of a subaccount, or None when either is missing."""
        prefix = subaccount.credentials_prefix
        key, secret = self._values.get(f"{prefix}_API_KEY"), self._values.get(f"{prefix}_API_SECRET")
        return ApiCredentials(key, secret) if key and secret else None

    def missing_credentials(self, config: KektradeConfig) -> list[str]:
        """One error line per enabled live subaccount without credentials."""
        errors = []
        for index, sub in enumerate(config.subaccounts):
            if sub.enabled and not sub.is_backtest and self.credentials_for(sub) is None:
                prefix = sub.credentials_prefix
                errors.append(
                    f"subaccounts[{index}]: live venue {sub.venue!r} needs {prefix}_API_KEY and "
                    f"{prefix}_API_SECRET in the environment or in .env"
                )
        if config.telegram.enabled and not self.telegram_token:
            errors.append(
                f"telegram.enabled: the bot needs {TELEGRAM_TOKEN_ENV} in the environment or in .env"
            )
        return errors

    def require_for(self, config: KektradeConfig) -> None:
        """Raise ConfigError when a live subaccount or the enabled Telegram bot lacks its secrets."""
        errors = self.missing_credentials(config)
        if errors:
            raise ConfigError(errors)

    def values(self) -> list[str]:
        """Every secret value (for the log redactor)."""
        return list(self._values.values())


def _is_secret_name(name: str) -> bool:
    return name == TELEGRAM_TOKEN_ENV or name.endswith(("_API_KEY", "_API_SECRET"))


class SecretRedactor(logging.Filter):
    """A logging filter replacing every secret value in a record's message and arguments with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # longest first, so a secret containing another is replaced whole
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

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
        return True
