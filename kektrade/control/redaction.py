"""Secrets scrubbed at the source: every snapshot, result and error the control facade hands out.

Front ends (TUI, web page, Telegram) only read what the facade gives them, so scrubbing here means none
of them can show an API key or token that slipped into an exception text or an order's reject reason.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Callable
from typing import Any

Redact = Callable[[str], str]
_PLAIN = (int, float, bool, type(None))


def scrub(value: Any, redact: Redact) -> Any:
    """``value`` with ``redact`` applied to every string inside it; unchanged parts keep their identity.

    Walks strings, dicts (keys and values), lists, tuples and dataclass instances (frozen ones are
    copied with ``dataclasses.replace``); tuples of plain numbers (chart series) are skipped whole.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, tuple | list):
        return _scrub_sequence(value, redact)
    if isinstance(value, dict):
        items = [(scrub(k, redact), scrub(v, redact)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _scrub_dataclass(value, redact)
    return value


def _scrub_sequence(value: tuple[Any, ...] | list[Any], redact: Redact) -> Any:
    try:
        array("d", value)  # converts in C: succeeds only when every item is a number (a chart series)
        return value
    except TypeError:
        pass
    items = [scrub(v, redact) for v in value]
    if all(a is b for a, b in zip(items, value, strict=True)):
        return value
    return type(value)(items)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _scrub_dataclass(value: Any, redact: Redact) -> Any:
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
    changes = {}
    for name in names:
        old = getattr(value, name)
        if isinstance(old, _PLAIN):
            continue
        new = scrub(old, redact)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(value, **changes) if changes else value


class RedactedError(RuntimeError):
    """A run failure whose text carried a secret: the same message with the secret replaced."""


def scrub_error(error: BaseException, redact: Redact) -> BaseException:
    """``error`` itself when its text is clean, else a RedactedError with the clean text (caused by it)."""
    text = str(error)
    clean = redact(text)
    if clean == text:
        return error
    replaced = RedactedError(f"{type(error).__name__}: {clean}")
    replaced.__cause__ = None
    return replaced
