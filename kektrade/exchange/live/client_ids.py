"""Deterministic client order ids: the same intent always carries the same id, so a re-send is recognised.

An id is built from (run id, subaccount, candle open time, intent sequence within that candle) and fits
Bybit's ``orderLinkId`` (at most 36 characters of letters, digits, ``-`` and ``_``; OKX's clOrdId and
Binance's newClientOrderId accept the same alphabet and length). Layout::

    kt<tag8>-<candle base36>-<seq base36>[-<strategy id>]

``tag8`` is a hash of (run id, subaccount): every order of one run's subaccount starts with the same
prefix (``client_prefix``), which is how reconciliation tells its own orders from foreign ones. A
strategy-given id is kept readable when it is short and clean, otherwise replaced by a hash of it.
"""

from __future__ import annotations

import hashlib
import re
import uuid

MAX_LEN = 36
AUTO_PREFIX = "KTX"  # ids the adapter makes up for orders sent without one (shown as no client id)
_ALLOWED = re.compile(r"^[A-Za-z0-9_-]+$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(value: int) -> str:
    if value < 0:
        raise ValueError(f"client id: negative number {value}")
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = _DIGITS[rest] + out
        if value == 0:
            return out


def _hash(text: str, length: int) -> str:
    digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
    return _base36(int.from_bytes(digest, "big"))[:length].rjust(length, "0")


def client_prefix(run_id: str, subaccount: str) -> str:
    """The prefix shared by every client id of one run's subaccount."""
    return "kt" + _hash(f"{run_id}\x00{subaccount}", 8)


def client_order_id(run_id: str, subaccount: str, candle_ms: int, seq: int, strategy_id: str | None = None) -> str:
    """The deterministic client order id of intent ``seq`` of the candle opening at ``candle_ms``."""
    base = f"{client_prefix(run_id, subaccount)}-{_base36(candle_ms)}-{_base36(seq)}"
    if strategy_id:
        room = MAX_LEN - len(base) - 1
        clean = strategy_id if len(strategy_id) <= room and _ALLOWED.match(strategy_id) else _hash(strategy_id, room)
        base = f"{base}-{clean}"
    if len(base) > MAX_LEN or not _ALLOWED.match(base):  # cannot happen for candle times before year 5000
        raise ValueError(f"client id {base!r} exceeds the exchange's {MAX_LEN} characters")
    return base


def auto_client_id() -> str:
    """A unique id for an order sent without one (still lets a lost reply be resolved by lookup)."""
    return AUTO_PREFIX + uuid.uuid4().hex[: MAX_LEN - len(AUTO_PREFIX)]


def shown_client_id(link: str | None) -> str | None:
    """The client id as kektrade shows it: made-up ids are hidden (None), like the simulator's."""
    return None if not link or link.startswith(AUTO_PREFIX) else link


def is_valid_client_id(value: str) -> bool:
    """True when ``value`` fits the exchange's client id rules (length and alphabet)."""
    return 0 < len(value) <= MAX_LEN and bool(_ALLOWED.match(value))
