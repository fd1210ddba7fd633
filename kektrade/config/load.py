"""Reading a config: JSON decoding with positions, merging ``defaults``, validation into one ConfigError."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kektrade.config.checks import SubaccountView, cross_field_errors
from kektrade.config.errors import ConfigError, Loc, format_validation_error, show
from kektrade.config.model_root import KektradeConfig

#: Subaccount fields whose objects merge key by key with ``defaults`` (the subaccount wins).
NESTED_KEYS = ("fees", "optimization", "contract")


def merge_defaults(defaults: Mapping[str, Any], subaccount: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``defaults`` overlaid by ``subaccount``; nested objects merge per key; inputs untouched."""
    merged = {key: copy.deepcopy(value) for key, value in defaults.items() if key != "id"}
    for key, value in subaccount.items():
        base = merged.get(key)
        if key in NESTED_KEYS and isinstance(value, dict) and isinstance(base, dict):
            merged[key] = {**base, **copy.deepcopy(value)}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class _DuplicateKeyError(ValueError):
    """Raised while decoding when one JSON object holds the same key twice."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def decode_json(text: str, source: str) -> Any:
    """Decode JSON text; ConfigError with ``source:line:col`` on any syntax problem."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=lambda name: name)
    except json.JSONDecodeError as exc:
        raise ConfigError([f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"]) from None
    except _DuplicateKeyError as exc:
        raise ConfigError(
            [f"{source}: invalid JSON: the key {str(exc)!r} appears twice in one object"]
        ) from None
    except RecursionError:
        raise ConfigError([f"{source}: invalid JSON: nested too deeply"]) from None
    except ValueError as exc:  # an integer literal longer than Python converts (sys.get_int_max_str_digits)
        raise ConfigError([f"{source}{_long_number_place(text)}: invalid JSON: {_first_line(exc)}"]) from None


MAX_DEPTH = 100  # nesting levels a config may use (real ones use under 10); deeper is refused, naming the place


def check_depth(data: Any, source: str, limit: int = MAX_DEPTH) -> None:
    """ConfigError naming the first place nested deeper than ``limit`` (walked without recursion)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > limit:
            where = path if len(path) <= 60 else path[:60] + "…"
            raise ConfigError([f"{source}: {where}: nested deeper than {limit} levels"])
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))


def _first_line(exc: BaseException) -> str:
    text = str(exc).split(";")[0]
    return text.replace("Exceeds the limit", "a number exceeds the limit")


def _long_number_place(text: str) -> str:
    """``:line:col`` of the first number with more than 4,300 digits, or nothing."""
    found = re.search(r"\d{4301,}", text)
    if found is None:
        return ""
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return f":{line}:{column}"


def _relocator(defaults: Mapping[str, Any], subaccounts: list[Any]) -> Any:
    """Map errors in merged subaccounts whose value came from ``defaults`` onto ``defaults.<key>``."""

    def relocate(loc: Loc) -> Loc:
        if len(loc) < 3 or loc[0] != "subaccounts" or not isinstance(loc[1], int):
            return loc
        own = subaccounts[loc[1]] if loc[1] < len(subaccounts) else None
        key = loc[2]
        if not isinstance(own, dict) or not isinstance(key, str) or key == "id" or key not in defaults:
            return loc
        if key not in own:
            return ("defaults", *loc[2:])
        inner, base = own[key], defaults[key]
        nested = key in NESTED_KEYS and isinstance(inner, dict) and isinstance(base, dict)
        if nested and len(loc) > 3 and loc[3] not in inner and loc[3] in base:
            return ("defaults", *loc[2:])
        return loc

    return relocate


def _raw_cross_field_errors(subaccounts: Any) -> list[str]:
    """Cross-subaccount checks on the merged dicts, so they are reported even beside field errors."""
    if not isinstance(subaccounts, list):
        return []

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    views = [
        SubaccountView(
            i, text(sub.get("id")), text(sub.get("venue")), text(sub.get("pair")), "initial_balance" in sub
        )
        for i, sub in enumerate(subaccounts)
        if isinstance(sub, dict)
    ]
    return cross_field_errors(views)


def parse_config(text: str, source: str = "<config>") -> KektradeConfig:
    """Validate config JSON text into a KektradeConfig; every problem is collected into one ConfigError."""
    data = decode_json(text, source)
    check_depth(data, source)
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: the top level must be a JSON object (got {show(data)})"])
    errors: list[str] = []
    defaults = data.get("defaults", {})
    subaccounts = data.get("subaccounts")
    merged = dict(data)
    if isinstance(defaults, dict):
        if "id" in defaults:
            errors.append("defaults.id: not allowed here: each subaccount sets its own id")
            defaults = {key: value for key, value in defaults.items() if key != "id"}
            merged["defaults"] = defaults
        if isinstance(subaccounts, list):
            merged["subaccounts"] = [
                merge_defaults(defaults, sub) if isinstance(sub, dict) else sub for sub in subaccounts
            ]
    try:
        config = KektradeConfig.model_validate(merged)
    except ValidationError as exc:
        relocate = _relocator(defaults if isinstance(defaults, dict) else {}, subaccounts or [])
        errors.extend(format_validation_error(exc, KektradeConfig, relocate))
        errors.extend(_raw_cross_field_errors(merged.get("subaccounts")))
    if errors:
        raise ConfigError(errors)
    return config


def load_config(path: Path) -> KektradeConfig:
    """Read and validate a config file; ConfigError (naming the file) if it is missing or invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: config file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc}"]) from None
    return parse_config(text, source=str(path))
