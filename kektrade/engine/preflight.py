"""The strategy check wired to a prepared instance: the backtest's cheap look-ahead check and ``kektrade check``.

A backtest runs ``QUICK`` on every subaccount before the first candle: a failing strategy gets a warning
in the log and in results.json (``extra.strategy_checks``), and an optimization of it is refused unless
``optimization.allow_lookahead`` is set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kektrade.config.model_root import KektradeConfig
from kektrade.data.market import CANDLE_COLUMNS, MARK_COLUMNS
from kektrade.engine.build import (
    BuildError,
    PreparedInstance,
    make_provider,
    make_venue,
    prepare_instance,
    realistic_options,
    sim_settings,
)
from kektrade.strategy.check import FULL, QUICK, CheckOptions, CheckReport, check_strategy
from kektrade.strategy.lookahead import Subject

log = logging.getLogger("kektrade.engine")


def subject_of(config: KektradeConfig, prepared: PreparedInstance, parameters: list[dict[str, Any]]) -> Subject:
    """What the strategy check needs from a prepared instance (its venue rules, data and indicators)."""
    sub = prepared.sub
    raw = [c for c in (*CANDLE_COLUMNS, *MARK_COLUMNS) if c in prepared.frame.columns]
    settings, realistic = sim_settings(config, sub), realistic_options(config, sub)
    return Subject(
        strategy=prepared.strategy,
        frame=prepared.frame,
        raw_columns=raw,
        metadata=dict(prepared.metadata),
        space=prepared.space,
        first_index=prepared.first_index,
        venue_factory=lambda: make_venue(prepared, settings, None, subaccount_id="check", realistic=realistic),
        parameters=parameters,
    )


def lookahead_preflight(config: KektradeConfig, prepared: PreparedInstance, optimize: bool) -> dict[str, Any]:
    """The backtest's cheap look-ahead check; BuildError for an optimization of a failing strategy."""
    sub, where = prepared.sub, f"subaccounts[{prepared.index}]"
    report = check_strategy(subject_of(config, prepared, []), QUICK)  # the first value of each parameter
    if report.lookahead_failed:
        first = report.lookahead[0]
        text = f"{sub.strategy} looks ahead: {first.kind} {first.name} at candle {first.candle} ({first.time})"
        log.warning("%s: %s; run `kektrade check` for every finding", where, text)
        if optimize and not sub.optimization.allow_lookahead:
            raise BuildError(
                f"{where}.optimization: {text}; fix the strategy, or set optimization.allow_lookahead to "
                "optimize it anyway (its results cannot be trusted)"
            )
    return report.as_dict()


@dataclass
class SubaccountCheck:
    """The check of one subaccount: a report, or why it could not run."""

    subaccount: str
    report: CheckReport | None
    error: str | None = None


def check_config(config: KektradeConfig, options: CheckOptions = FULL) -> list[SubaccountCheck]:
    """``kektrade check``: the full strategy check of every enabled subaccount, on the config's data."""
    provider = make_provider(config)
    out = []
    for index, sub in enumerate(config.subaccounts):
        if not sub.enabled:
            continue
        try:
            prepared = prepare_instance(config, sub, index, provider, Path(config.strategies_dir))
        except Exception as exc:  # each subaccount reports on its own; the command's exit code says it failed
            out.append(SubaccountCheck(sub.id, None, f"{type(exc).__name__}: {exc}"))
            continue
        out.append(SubaccountCheck(sub.id, check_strategy(subject_of(config, prepared, []), options)))
    return out
