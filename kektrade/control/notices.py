"""What a run should say at its start about its data: file sources without funding or mark prices."""

from __future__ import annotations

from kektrade.config import KektradeConfig


def data_notices(config: KektradeConfig) -> list[str]:
    """One line per traded pair of a file source that lacks a funding series or mark prices."""
    if config.data.source != "file":
        return []
    rate = config.data.funding_rate
    funding = f"a constant funding rate of {rate:g} per interval" if rate else "no funding at all"
    notes: list[str] = []
    for pair in sorted({s.pair for s in config.subaccounts if s.enabled}):
        options = config.data.files.get(pair)
        if options is None:
            continue
        if options.funding_path is None:
            notes.append(f"data.files[{pair!r}]: no funding_path, so this backtest charges {funding}")
        if options.mark_path is None:
            notes.append(
                f"data.files[{pair!r}]: no mark_path, so the last price stands in for the mark price "
                "(unrealized PnL and liquidations use it)"
            )
    return notes
