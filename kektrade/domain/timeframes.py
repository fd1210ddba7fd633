"""Timeframes and durations ("1m", "4h", "1d", "7d", "1w") as integer milliseconds, UTC-aligned."""

from __future__ import annotations

import re
from datetime import UTC, datetime

MINUTE_MS = 60_000
_UNITS_MS = {"s": 1_000, "m": MINUTE_MS, "h": 60 * MINUTE_MS, "d": 1_440 * MINUTE_MS, "w": 10_080 * MINUTE_MS}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")

#: Candle timeframes a strategy may run on (ccxt spelling).
TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")


def duration_ms(text: str) -> int:
    """Parse a duration like ``"15m"``, ``"8h"``, ``"7d"`` into milliseconds; ValueError if malformed."""
    match = _PATTERN.match(text)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration like '30s', '15m', '4h', '7d' or '1w'")
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


def timeframe_ms(timeframe: str) -> int:
    """Milliseconds of a candle timeframe; ValueError for one kektrade does not support."""
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"unsupported timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
    return duration_ms(timeframe)


def align_down(time_ms: int, step_ms: int) -> int:
    """The UTC boundary of ``step_ms`` at or before ``time_ms`` (epoch-aligned: days start at 00:00 UTC)."""
    return time_ms - time_ms % step_ms


def align_up(time_ms: int, step_ms: int) -> int:
    """The UTC boundary of ``step_ms`` at or after ``time_ms``."""
    rest = time_ms % step_ms
    return time_ms if rest == 0 else time_ms + step_ms - rest


def to_ms(moment: datetime) -> int:
    """A timezone-aware datetime as epoch milliseconds; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware (UTC) datetime")
    return int(moment.timestamp() * 1000)


def from_ms(time_ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC)


def format_ms(time_ms: int) -> str:
    """ISO-like UTC text, ``2024-01-01 08:00``."""
    return from_ms(time_ms).strftime("%Y-%m-%d %H:%M")
