"""Snapshots and results as strict JSON: dataclasses become objects, NaN and infinities become null."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any


def to_jsonable(value: Any) -> Any:
    """A structure of dicts, lists, strings, finite numbers, booleans and None equivalent to ``value``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars that slipped into parameters or results
        return to_jsonable(value.item())
    return str(value)


def dumps(value: Any) -> bytes:
    """``value`` as strict (``allow_nan=False``) UTF-8 JSON."""
    return json.dumps(to_jsonable(value), allow_nan=False, separators=(",", ":")).encode("utf-8")
