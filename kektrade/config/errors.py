"""``ConfigError`` and the translation of pydantic errors into one plain line per problem."""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

Loc = tuple[int | str, ...]


class ConfigError(Exception):
    """A config that cannot be used; ``errors`` holds one line per problem, each naming its dotted path."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors: list[str] = list(dict.fromkeys(errors))
        super().__init__("\n".join(self.errors))


def dotted(loc: Loc) -> str:
    """``("subaccounts", 0, "fees", "taker")`` -> ``subaccounts[0].fees.taker``; odd keys in brackets."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "<top level>"


def show(value: Any) -> str:
    """A short JSON-like rendering of a bad value for "(got ...)"."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, int | float):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (ValueError, TypeError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional wrappers from a type annotation."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class found at ``loc`` below ``root`` (walking fields, list items and dict values)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            by_key = {f.alias or name: f for name, f in current.model_fields.items()}
            field = by_key.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is list:
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unknown_key(root: type[BaseModel], loc: Loc) -> str:
    model = model_at(root, loc[:-1])
    valid = [f.alias or name for name, f in model.model_fields.items()] if model else []
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
    if close:
        return f"unknown key, did you mean {close[0]!r}?"
    return f"unknown key (valid keys: {', '.join(valid)})" if valid else "unknown key"


_PLAIN = {
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_too_short": "must not be empty",
}


def plain_message(error: Any, root: type[BaseModel], loc: Loc) -> str:
    """One pydantic error dict in plain words (without the path)."""
    kind, ctx, got = error["type"], error.get("ctx") or {}, show(error.get("input"))
    if kind == "extra_forbidden":
        return _unknown_key(root, loc)
    if kind == "missing":
        return "required key missing"
    bounds = {
        "greater_than": ("must be greater than", "gt"),
        "greater_than_equal": ("must be at least", "ge"),
        "less_than": ("must be less than", "lt"),
        "less_than_equal": ("must be at most", "le"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        limit = ctx.get(key)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"{words} {limit} (got {got})"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace(" or ", ", ")
        return f"must be one of {expected} (got {got})"
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return f"must have at least {count} item{'s' if count != 1 else ''} (got {got})"
    if kind in _PLAIN:
        return f"{_PLAIN[kind]} (got {got})"
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{error['msg']} (got {got})"


def format_validation_error(
    exc: ValidationError, root: type[BaseModel], relocate: Callable[[Loc], Loc] = lambda loc: loc
) -> list[str]:
    """Every error of ``exc`` as ``dotted.path: plain message``; ``relocate`` may rewrite paths first."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc = relocate(tuple(error["loc"]))
        message = plain_message(error, root, loc)
        if not loc and error["type"] == "value_error":
            lines.extend(message.splitlines())  # cross-field errors carry their own paths
        else:
            lines.append(f"{dotted(loc)}: {message}")
    return lines
