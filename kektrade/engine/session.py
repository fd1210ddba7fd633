"""A session: the instances of one config, the engine that runs them and the results at the end."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kektrade.config.model_root import KektradeConfig
from kektrade.domain.journal import FillRecorded, Journal
from kektrade.domain.order_events import OrderEventLog
from kektrade.domain.timeframes import duration_ms
from kektrade.engine.build import (
    PreparedInstance,
    fixed_parameter,
    make_provider,
    make_venue,
    prepare_instance,
    realistic_options,
    sim_settings,
)
from kektrade.engine.engine import Engine, SnapshotSink
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.preflight import lookahead_preflight
from kektrade.engine.results import build_results
from kektrade.engine.tagging import TradeTags
from kektrade.exchange.sim.exchange import SimExchange

log = logging.getLogger("kektrade.engine")

#: Optional factory for instances with optimization enabled (provided by kektrade.optimize's wiring).
OptimizerFactory = Callable[[KektradeConfig, PreparedInstance, StrategyInstance, Journal | None], Any]


@dataclass
class Session:
    """Instances and their engine for one run."""

    config: KektradeConfig
    run_id: str
    instances: list[StrategyInstance]
    engine: Engine
    optimizers: list[Any] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    checks: dict[str, Any] = field(default_factory=dict)  # the look-ahead check per subaccount (preflight)
    tags: TradeTags | None = None  # exit reasons and parameter selections for the trade analysis

    def route_records(self, events: OrderEventLog, fills: list[FillRecorded]) -> None:
        """Simulated venues append their plain orders' events to ``events`` and their fills to ``fills``
        instead of journaling records.

        Called when the run database's bulk journal (which owns both and writes them) is attached;
        conditional orders' events keep going through the journal, where ``tags`` notes them.
        """
        for inst in self.instances:
            venue = inst.venue
            if isinstance(venue, SimExchange) and venue.journal is not None:
                venue.order_events = events
                venue.fill_records = fills

    def results(self) -> dict[str, Any]:
        """The results document of the run so far."""
        extra: dict[str, Any] = {
            "wall_time_s": round(time.perf_counter() - self.started, 3),
            "candles": self.engine.done,
        }
        for opt in self.optimizers:
            extra.setdefault("optimization", {})[opt.instance.id] = opt.report()
        if self.checks:
            extra["strategy_checks"] = self.checks
        return build_results(self.run_id, self.config.metastrategy_id, self.instances, extra, self.tags)


def equity_sample_ms(config: KektradeConfig, timeframe_ms: int) -> int:
    """Sampling interval of the equity series ("candle" = every candle)."""
    text = config.persistence.equity_sample
    return timeframe_ms if text == "candle" else max(duration_ms(text), timeframe_ms)


def build_session(
    config: KektradeConfig,
    run_id: str,
    journal: Journal | None = None,
    on_snapshot: SnapshotSink | None = None,
    optimizer_factory: OptimizerFactory | None = None,
) -> Session:
    """Prepare every enabled subaccount's instance and the engine that will run them."""
    if any(s.is_realtime for s in config.subaccounts if s.enabled):
        from kektrade.engine.live_build import build_live_session  # paper and live: a live candle source

        return build_live_session(config, run_id, journal, on_snapshot, optimizer_factory=optimizer_factory)
    tags = TradeTags(journal)  # forwards everything; remembers stop/take-profit orders and selections
    journal = tags
    provider = make_provider(config)
    strategies_dir = Path(config.strategies_dir)
    instances: list[StrategyInstance] = []
    optimizers: list[Any] = []
    shared_arrays: dict[Any, Any] = {}  # one copy of the market per (pair, timeframe, candles)
    checks: dict[str, Any] = {}
    for index, sub in enumerate(config.subaccounts):
        if not sub.enabled:
            continue
        prepared = prepare_instance(config, sub, index, provider, strategies_dir, shared_arrays=shared_arrays)
        optimize = sub.optimization.enabled and optimizer_factory is not None
        checks[sub.id] = lookahead_preflight(config, prepared, optimize)  # honest (issue 13): look-ahead check
        parameter = {} if optimize else fixed_parameter(prepared)  # honest: nothing is live before a selection
        venue = make_venue(prepared, sim_settings(config, sub), journal, realistic=realistic_options(config, sub))
        inst = StrategyInstance(
            sub.id,
            prepared.strategy,
            prepared.frame,
            venue,
            parameter,
            prepared.metadata,
            prepared.first_index,
            journal,
            equity_sample_ms(config, prepared.arrays.timeframe_ms),
            sub.on_error_cancel_orders,
        )
        if optimize and optimizer_factory is not None:
            optimizers.append(optimizer_factory(config, prepared, inst, journal))
        instances.append(inst)
        log.info(
            "instance %s: %s on %s %s (%s), %d candles, first traded candle %d",
            sub.id,
            sub.strategy,
            sub.pair,
            sub.timeframe,
            sub.venue,
            inst.length,
            inst.first_index,
        )
    hooks = optimizers
    engine = Engine(instances, run_id=run_id, journal=journal, on_snapshot=on_snapshot, hooks=hooks)
    return Session(config, run_id, instances, engine, optimizers, checks=checks, tags=tags)
