"""Fast per-candle access to indicator columns: plain Python lists built once per column, on first use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class Columns:
    """Attribute or item access to columns as lists: ``c.close[i]``, ``c["sma50"][i]``.

    A list index costs about half of a NumPy scalar index and far less than ``DataFrame.iloc``; each
    column is converted only when a strategy first reads it, so unused indicator variants cost nothing.
    """

    __slots__ = ("_cache", "_source")

    def __init__(self, source: Any, cache: dict[str, list[Any]] | None = None) -> None:
        self._source = source  # a DataFrame or a mapping of name -> array-like
        self._cache: dict[str, list[Any]] = cache if cache is not None else {}

    def __getitem__(self, name: str) -> list[Any]:
        try:
            return self._cache[name]
        except KeyError:
            pass
        try:
            raw = self._source[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self.names())}") from None
        to_list: Callable[[], list[Any]] | None = getattr(raw, "tolist", None)
        values = to_list() if to_list is not None else list(raw)
        self._cache[name] = values
        return values

    def __getattr__(self, name: str) -> list[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(str(exc)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._cache or name in self.names()

    def names(self) -> Sequence[str]:
        """All column names available."""
        keys = getattr(self._source, "columns", None)
        if keys is None:
            keys = self._source.keys() if hasattr(self._source, "keys") else []
        return [str(k) for k in keys]
