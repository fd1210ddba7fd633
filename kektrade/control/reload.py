"""Re-reading a running run's config file: validate it and list what differs from the config in use.

Front ends decide what they can apply while running (the Telegram bot applies its notification kinds);
everything else needs a restart with ``--run-id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kektrade.config import ConfigError, KektradeConfig, parse_config


@dataclass(frozen=True, slots=True)
class ConfigReread:
    """The outcome: the new config (None when it has errors), the error text, the changed dotted paths."""

    config: KektradeConfig | None
    error: str = ""
    changes: list[str] = field(default_factory=list)


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two config dumps differ (lists compared whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new)):
            found += changed_paths(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
        return found
    return [] if old == new else [prefix or "(root)"]


def reread_config(running: KektradeConfig, path: Path) -> ConfigReread:
    """Validate ``path`` and compare it with the ``running`` config."""
    try:
        new = parse_config(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, ConfigError) as exc:
        return ConfigReread(None, str(exc))
    return ConfigReread(new, "", changed_paths(running.model_dump(mode="json"), new.model_dump(mode="json")))
