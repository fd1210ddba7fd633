"""Build a live optimizer for an instance from its config section (used by the session builder)."""

from __future__ import annotations

import os

from kektrade.config.model_root import KektradeConfig
from kektrade.config.model_subaccount import OptimizationConfig
from kektrade.domain.journal import Journal
from kektrade.domain.timeframes import duration_ms
from kektrade.engine.build import PreparedInstance, realistic_options, sim_settings
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.venues import virtual_builder
from kektrade.optimize.executor import Executor, InlineExecutor, ProcessExecutor
from kektrade.optimize.live import LiveOptimizer
from kektrade.optimize.space import OptimizationConfigError, check_lookback, check_objective, check_space
from kektrade.optimize.trials import TrialSpec


def scoring_sample_ms(every_ms: int, timeframe_ms: int) -> int:
    """Equity samples used for scoring: hourly, finer for short re-optimization periods, never below a candle."""
    return max(min(3_600_000, every_ms // 24), timeframe_ms)


def make_executor(opt: OptimizationConfig, realtime: bool, combos: int, where: str) -> Executor:
    """The executor the optimization section asks for: worker processes, a Dask cluster, or this thread."""
    workers = opt.workers or os.cpu_count() or 1
    if realtime:  # the virtual exchanges share the instance's growing candles and indicator frame
        return InlineExecutor()
    if opt.executor.kind == "dask":
        try:
            from kektrade.optimize.dask_executor import DaskExecutor
        except ImportError as exc:
            raise OptimizationConfigError(
                f"{where}.executor.kind: 'dask' needs the dask extra (pip install 'kektrade[dask]'): {exc}"
            ) from exc
        return DaskExecutor(opt.executor.address, workers, timeout_s=opt.executor.timeout_s)
    return ProcessExecutor(workers) if workers > 1 and combos > 1 else InlineExecutor()


def optimizer_factory(
    config: KektradeConfig,
    prepared: PreparedInstance,
    inst: StrategyInstance,
    journal: Journal | None,
    executor: Executor | None = None,
) -> LiveOptimizer:
    """Check the optimization section, expand the search space and start the virtual exchanges."""
    opt, sub = prepared.sub.optimization, prepared.sub
    where = f"subaccounts[{prepared.index}].optimization"
    objective = check_objective(opt.objective, where)
    every, lookback = duration_ms(opt.reoptimize_every), duration_ms(opt.lookback)
    tf = prepared.arrays.timeframe_ms
    check_lookback(lookback, opt.lookback, int(getattr(prepared.strategy, "startup_candle_count", 0)), tf, where)
    combos = check_space(prepared.space, where, opt.max_combinations, inst.length - inst.first_index)
    spec = TrialSpec(
        strategy=prepared.strategy,
        frame=prepared.frame,
        arrays=prepared.arrays,
        spec=prepared.spec,
        settings=sim_settings(config, sub),
        initial_balance=sub.initial_balance,
        leverage=sub.leverage,
        margin_mode=sub.margin_mode,
        funding_rate=prepared.funding_rate,
        first_index=prepared.first_index,
        metadata=dict(prepared.metadata),
        combos=combos,
        sample_ms=scoring_sample_ms(every, tf),
        builder=virtual_builder(sub.venue_info),
        realistic=realistic_options(config, sub),
    )
    prepared.strategy.c.materialize()  # every indicator column built once, before workers fork
    if executor is None:
        executor = make_executor(opt, sub.is_realtime, len(combos), where)
    return LiveOptimizer(
        inst,
        spec,
        executor,
        every_ms=every,
        lookback_ms=lookback,
        objective=objective,
        min_trades=opt.min_trades,
        min_score=opt.min_score,
        switch_policy=opt.switch_policy,
        stand_aside=opt.stand_aside,
        leaderboard_size=opt.leaderboard_size,
        align_utc=opt.align_utc,
        journal=journal,
        pbo_blocks=opt.pbo_blocks,
    )
