"""The strict base model and small validators shared by every config object."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from kektrade.domain.timeframes import duration_ms


class StrictModel(BaseModel):
    """Base of every config object: unknown keys rejected, no silent type coercion, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=False)


def check_duration(text: str) -> str:
    """Validate a duration like "15m" or "7d" (ValueError in plain words), returning it unchanged."""
    duration_ms(text)
    return text


def iso_to_ms(text: str) -> int:
    """Epoch milliseconds of an ISO date or datetime; naive values are UTC, aware ones are converted."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO date or datetime like '2024-01-01' or '2024-01-01T08:00'"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def check_iso(text: str | None) -> str | None:
    """Validate an optional ISO date/datetime, returning it unchanged."""
    if text is not None:
        iso_to_ms(text)
    return text
