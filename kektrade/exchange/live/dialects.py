"""The dialect registry: which ``Dialect`` speaks to which ccxt exchange.

Tested exchanges have their own dialect (``_BUILTIN``, imported lazily by "module:Class"); others may be
registered with ``register_dialect``. Any other ccxt exchange gets the generic ``UnifiedDialect`` when
ccxt's ``has`` reports every method it needs, and is refused with the list of what is missing otherwise.
"""

from __future__ import annotations

import importlib
from typing import Any

import ccxt

from kektrade.exchange.live.dialect import Dialect

_BUILTIN: dict[str, str] = {
    "bybit": "kektrade.exchange.live.bybit_dialect:BybitDialect",
    "okx": "kektrade.exchange.live.okx_dialect:OkxDialect",
    "binanceusdm": "kektrade.exchange.live.binance_dialect:BinanceDialect",
}
_REGISTERED: dict[str, type[Dialect]] = {}


class UnsupportedExchange(ValueError):
    """An exchange kektrade cannot trade through ccxt (unknown, or missing methods the adapter needs)."""


def register_dialect(dialect: type[Dialect]) -> type[Dialect]:
    """Register ``dialect`` under its ``exchange_id`` (usable as a class decorator)."""
    if not dialect.exchange_id:
        raise ValueError(f"{dialect.__name__}: exchange_id is empty")
    _REGISTERED[dialect.exchange_id] = dialect
    return dialect


def _load(path: str) -> type[Dialect]:
    module, _, name = path.partition(":")
    found = getattr(importlib.import_module(module), name)
    if not (isinstance(found, type) and issubclass(found, Dialect)):
        raise TypeError(f"{path} is not a Dialect")
    return found


def known_dialect(exchange_id: str) -> type[Dialect] | None:
    """The dialect written for ``exchange_id`` (tested against a fake of it), or None."""
    if exchange_id in _REGISTERED:
        return _REGISTERED[exchange_id]
    path = _BUILTIN.get(exchange_id)
    return _load(path) if path is not None else None


def tested_exchanges() -> list[str]:
    """ccxt ids of the exchanges with their own dialect."""
    return sorted({*_BUILTIN, *_REGISTERED})


def exchange_class(exchange_id: str) -> type[Any]:
    """ccxt's (sync) class of ``exchange_id``; UnsupportedExchange when ccxt has none."""
    found = getattr(ccxt, exchange_id, None)
    if not isinstance(found, type) or not issubclass(found, ccxt.Exchange):
        raise UnsupportedExchange(f"ccxt has no exchange {exchange_id!r}")
    return found


def _has(exchange: Any) -> dict[str, Any]:
    """ccxt's capability table of an exchange class or instance (``has`` is filled in by describe())."""
    instance = exchange() if isinstance(exchange, type) else exchange  # ``has`` is merged in __init__
    return dict(instance.has or {})


def missing_methods(exchange: Any, dialect: type[Dialect]) -> list[str]:
    """The ``has`` keys ``dialect`` needs that the ccxt exchange (class or instance) does not report."""
    has = _has(exchange)
    return [name for name in dialect.needs if not has.get(name)]


def untested_warning(exchange_id: str) -> str | None:
    """The start-up warning for an exchange without its own dialect (None when tested); refuses unsupported ones."""
    dialect = dialect_for(exchange_id)
    if dialect.tested:
        return None
    return (
        f"exchange {exchange_id!r} runs through ccxt's unified API and is not covered by kektrade's tests "
        f"(tested: {', '.join(tested_exchanges())}); check orders, fills and positions on the exchange closely"
    )


def dialect_for(exchange_id: str) -> type[Dialect]:
    """The dialect trading on ``exchange_id``: its own, else the generic one if ccxt has what it needs."""
    known = known_dialect(exchange_id)
    if known is not None:
        return known
    from kektrade.exchange.live.unified_dialect import UnifiedDialect

    cls = exchange_class(exchange_id)
    missing = missing_methods(cls, UnifiedDialect)
    if not _has(cls).get("swap"):
        missing.insert(0, "swap")
    if missing:
        raise UnsupportedExchange(
            f"exchange {exchange_id!r} cannot be traded live: ccxt does not report {', '.join(missing)} for it "
            f"(tested exchanges: {', '.join(tested_exchanges())})"
        )
    return type(f"UnifiedDialect_{exchange_id}", (UnifiedDialect,), {"exchange_id": exchange_id, "tested": False})
