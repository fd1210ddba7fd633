"""Pure text helpers of the TUI: numbers, prices, times, parameters and the status line parts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kektrade.engine.snapshot import EngineSnapshot, Progress


def fmt_num(value: float, digits: int = 2) -> str:
    """Grouped fixed-point text; ``-`` for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def fmt_signed(value: float, digits: int = 2) -> str:
    """Like ``fmt_num`` with an explicit sign (``+1.50``); zero has no sign."""
    if value == 0:
        return fmt_num(0.0, digits)
    return f"{value:+,.{digits}f}"


def fmt_pct(value: float, digits: int = 1) -> str:
    """A signed percentage (``+1.2%``, ``-3.0%``; ``0.0%``)."""
    if math.isnan(value):
        return "-"
    return f"{value:+.{digits}f}%" if round(value, digits) else f"{0:.{digits}f}%"


def fmt_price(value: float | None) -> str:
    """A price with about six significant digits; ``-`` for none or zero."""
    if value is None or value == 0 or math.isnan(value) or math.isinf(value):
        return "-"
    magnitude = math.floor(math.log10(abs(value)))
    digits = max(0, min(8, 5 - magnitude))
    return f"{value:,.{digits}f}"


def fmt_qty(value: float) -> str:
    """A contract quantity without trailing zeros (``0.368``, ``-12``)."""
    return f"{value:,.8f}".rstrip("0").rstrip(".") if value else "0"


def fmt_params(params: Mapping[str, Any], max_len: int = 0) -> str:
    """``rsi=7 sma=50`` (sorted by name); cut to ``max_len`` characters with ``…`` when given."""
    text = " ".join(f"{k}={params[k]}" for k in sorted(params)) or "-"
    return text if not max_len or len(text) <= max_len else text[: max_len - 1] + "…"


def fmt_utc(time_ms: int, seconds: bool = False) -> str:
    """``2024-01-03 23:55`` (UTC) of a millisecond timestamp; ``-`` for 0."""
    if not time_ms:
        return "-"
    text = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime(text)


def fmt_duration(seconds: float) -> str:
    """``45s``, ``12m05s``, ``3h02m``, ``2d04h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def fmt_rate(per_s: float) -> str:
    """``812`` / ``12.3k`` / ``1.05M`` candles per second."""
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f}M"
    if per_s >= 1e4:
        return f"{per_s / 1e3:.1f}k"
    return f"{per_s:,.0f}"


def fmt_count(n: int) -> str:
    """``950``, ``12.3k``, ``2.94M``."""
    if n >= 1_000_000:
        return f"{n / 1e6:.2f}M"
    if n >= 10_000:
        return f"{n / 1e3:.1f}k"
    return f"{n:,}"


def progress_bar(fraction: float, width: int = 12) -> str:
    """A text bar like ``█████░░░░░░░``."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


def progress_text(progress: Progress, state: str, compact: bool = False) -> str:
    """Progress while running (bar, %, candles, speed, ETA); candles done once the run has ended.

    ``compact`` (narrow terminals): a short bar, the percentage and the ETA only.
    """
    done = f"{progress.done:,}/{progress.total:,}"
    if state != "running":
        return f"{fmt_count(progress.done)} candles" if compact else f"{done} candles"
    eta = fmt_duration(progress.eta_s) if progress.eta_s is not None else "-"
    if compact:
        return f"{progress_bar(progress.fraction, 8)} {100 * progress.fraction:.0f}% ETA {eta}"
    return (
        f"{progress_bar(progress.fraction)} {100 * progress.fraction:5.1f}% {done}"
        f" · {fmt_rate(progress.candles_per_s)} c/s · ETA {eta}"
    )


def mode_markup(snap: EngineSnapshot) -> str:
    """The run mode in markup; a testnet is loud (reverse error colours)."""
    mode = snap.mode.upper()
    if snap.testnet:
        return f"[b reverse $error] {mode} TESTNET [/]"
    if snap.mode == "live":
        return f"[b reverse $warning] {mode} [/]"
    return f"[b reverse $primary] {mode} [/]"


STATE_STYLE = {"running": "$success", "finished": "$primary", "failed": "$error", "stopped": "$warning"}


def status_parts(snap: EngineSnapshot, uptime_s: float, web_url: str | None, compact: bool = False) -> list[str]:
    """The status bar's parts in markup, most important first (narrow screens drop the tail).

    ``compact`` (under 100 columns): progress before the candle time, both shortened, so an 80-column
    terminal shows mode, state, progress, time and uptime.
    """
    state = STATE_STYLE.get(snap.state, "$foreground")
    when = f"{fmt_utc(snap.now_ms)[5:]}" if compact else f"{fmt_utc(snap.now_ms)} UTC"
    progress = progress_text(snap.progress, snap.state, compact)
    parts = [
        mode_markup(snap),
        f"[b {state}]{snap.state}[/]",
        *((progress, when) if compact else (when, progress)),
        f"up {fmt_duration(uptime_s)}",
    ]
    if web_url:
        parts.append(f"web {web_url}")
    parts.append(f"run {snap.run_id}" if snap.run_id else "")
    return [p for p in parts if p]


def markup_len(text: str) -> int:
    """Visible length of simple ``[style]...[/]`` markup (tags removed)."""
    out, inside = 0, False
    for ch in text:
        if ch == "[":
            inside = True
        elif ch == "]" and inside:
            inside = False
        elif not inside:
            out += 1
    return out


def fit_parts(parts: list[str], width: int, sep: str = " │ ") -> str:
    """Join as many leading parts as fit in ``width`` cells."""
    kept: list[str] = []
    used = 0
    for part in parts:
        extra = markup_len(part) + (len(sep) if kept else 0)
        if kept and used + extra > width:
            break
        kept.append(part)
        used += extra
    return sep.join(kept)
