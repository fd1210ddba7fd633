"""Turn a validated config into runnable strategy instances (data, indicators, venue, parameters)."""

from __future__ import annotations

import logging
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kektrade.config.model_root import KektradeConfig
from kektrade.config.model_subaccount import FeesConfig, SubaccountConfig
from kektrade.data.contracts import resolve_contract
from kektrade.data.market import MarketData, date_ms
from kektrade.data.provider import DataProvider, parse_utc_ms
from kektrade.domain.journal import Journal
from kektrade.domain.rules import fees_at, margin_rules
from kektrade.domain.specs import ContractSpec
from kektrade.domain.timeframes import timeframe_ms
from kektrade.engine.venues import simulated_venue
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from kektrade.strategy.base import Strategy
from kektrade.strategy.columns import Columns
from kektrade.strategy.loader import load_strategy_class

log = logging.getLogger("kektrade.engine")

class BuildError(ValueError):
    """The config cannot be run as given (message names the config path)."""


@dataclass
class PreparedInstance:
    """Everything an instance needs, before a venue is attached (virtual exchanges reuse it)."""

    sub: SubaccountConfig
    index: int
    strategy: Strategy
    frame: pd.DataFrame
    arrays: MarketArrays
    spec: ContractSpec
    space: dict[str, list[Any]]
    first_index: int
    metadata: dict[str, Any]
    funding_rate: float | None


def contract_spec(
    sub: SubaccountConfig, downloaded: ContractSpec | None = None, rules: str = "current", at_ms: int = 0
) -> ContractSpec:
    """The pair's spec (downloaded with the candles, built-in or generic), with config overrides and the fees
    (``period_fees``: the config's, else those of the rules' period at ``at_ms``)."""
    fees = period_fees(sub.fees, rules, at_ms)
    return resolve_contract(sub.pair, sub.contract, fees, downloaded)  # kektrade.data.contracts (issue 12)


def period_fees(fees: FeesConfig, rules: str, at_ms: int) -> FeesConfig:
    """The fee rates the config sets; those it leaves out from the fee schedule of the rule set
    (``backtest.rules``) in force at ``at_ms`` (the first traded candle)."""
    period = fees_at(margin_rules(rules), at_ms)
    given = fees.model_fields_set
    return FeesConfig(
        taker=fees.taker if "taker" in given else period.taker,
        maker=fees.maker if "maker" in given else period.maker,
    )


def sim_settings(config: KektradeConfig, sub: SubaccountConfig) -> SimSettings:
    """Matching settings of the subaccount's simulated venue."""
    bt = config.backtest
    return SimSettings(limit_fill=bt.limit_fill, slippage_bps=bt.slippage_bps, rules=bt.rules)


def market_arrays(frame: pd.DataFrame, data: MarketData, tf_ms: int) -> MarketArrays:
    """Compact columns of the frame for the simulator (``array.array``); mark columns where present."""
    o, h, lo, c = (_doubles(frame[col].to_numpy(dtype="float64")) for col in ("open", "high", "low", "close"))
    times = array("q")
    times.frombytes(np.ascontiguousarray(date_ms(frame), dtype="int64").tobytes())
    arrays = MarketArrays(time_ms=times, open=o, high=h, low=lo, close=c, timeframe_ms=tf_ms)
    if "volume" in frame.columns:
        arrays.volume = _doubles(frame["volume"].to_numpy(dtype="float64"))
    if "mark_close" in frame.columns:
        marks = [frame[c].to_numpy(dtype=float) for c in ("mark_open", "mark_high", "mark_low", "mark_close")]
        trades = [frame[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close")]
        filled = [_doubles(np.where(np.isnan(m), t, m)) for m, t in zip(marks, trades, strict=True)]
        arrays.mark_open, arrays.mark_high, arrays.mark_low, arrays.mark_close = filled
    if data.funding is not None and len(data.funding):
        arrays.funding_time_ms = _ms_times(data.funding)
        arrays.funding_rate = data.funding["rate"].astype(float).tolist()
    return arrays


def _doubles(values: np.ndarray) -> array[float]:
    """An ``array('d')`` filled in one copy from a float64 buffer."""
    out = array("d")
    out.frombytes(np.ascontiguousarray(values, dtype="float64").tobytes())
    return out


def _ms_times(frame: pd.DataFrame) -> list[int]:
    return [int(t) for t in date_ms(frame).tolist()]


def indicator_base(candles: pd.DataFrame) -> pd.DataFrame:
    """The frame handed to ``populate_indicators``: the loaded candles, never changed by the strategy.

    With copy-on-write (always on from pandas 3) a shallow copy shares the candle columns among every
    subaccount on the market until a strategy writes to one (then that column alone is copied); without
    it, a deep copy.
    """
    return candles.copy(deep=not _copy_on_write())


def _copy_on_write() -> bool:
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return pd.get_option("mode.copy_on_write") is True


#: price columns a strategy reads that the simulator's market arrays also hold
SHARED_COLUMNS = ("open", "high", "low", "close", "volume")


def shared_columns(frame: pd.DataFrame, arrays: MarketArrays) -> dict[str, Any]:
    """Strategy columns (``self.c``) to take from the market arrays: float columns left exactly as loaded.

    Equal values (NaN where NaN) and the same kind (float) as the array the column would be converted to,
    so a strategy reads the same numbers from one shared array instead of its own copy.
    """
    out: dict[str, Any] = {}
    for name in SHARED_COLUMNS:
        shared = getattr(arrays, name, None)
        if name not in frame.columns or shared is None or frame[name].dtype != np.float64:
            continue
        values = frame[name].to_numpy()
        if len(values) == len(shared) and np.array_equal(values, np.asarray(shared, dtype="float64"), equal_nan=True):
            out[name] = shared
    return out


def first_trade_index(frame: pd.DataFrame, start_ms: int | None, warmup: int) -> int:
    """The first candle that is ticked: after the warm-up and not before the backtest start."""
    index = warmup
    if start_ms is not None:
        times = _ms_times(frame)
        index = max(index, int(np.searchsorted(np.asarray(times), start_ms)))
    return index


def prepare_instance(
    config: KektradeConfig,
    sub: SubaccountConfig,
    index: int,
    provider: DataProvider,
    strategies_dir: Path,
    mode: str = "backtest",
    shared_arrays: dict[tuple[Any, ...], MarketArrays] | None = None,
) -> PreparedInstance:
    """Load the strategy and data, compute indicators once for the whole search space.

    ``shared_arrays`` (backtests): subaccounts on the same candles share one copy of the market arrays
    (the simulator only reads them; live runs append to theirs, so they pass none).
    """
    where = f"subaccounts[{index}]"
    strategy = load_strategy_class(sub.strategy, strategies_dir)()
    undeclared = strategy.undeclared_parameters(sub.parameters)  # honest (issue 13): typos are refused
    if undeclared:
        raise BuildError(f"{where}.parameters: {undeclared}")
    space = strategy.resolve_space(sub.parameters)
    warmup = int(getattr(strategy, "startup_candle_count", 0))
    data = provider.get(sub.pair, sub.timeframe, warmup_candles=warmup)
    metadata = {
        "pair": sub.pair,
        "timeframe": sub.timeframe,
        "subaccount": sub.id,
        "venue": sub.venue,
        "mode": mode,
        "is_backtest": mode == "backtest",
        "is_trial": mode == "trial",
        "is_live": mode == "live",
    }
    frame = strategy.populate_indicators(indicator_base(data.candles), metadata, space)
    if not isinstance(frame, pd.DataFrame) or len(frame) != len(data.candles):
        raise BuildError(
            f"{where}.strategy: {sub.strategy}.populate_indicators must return the DataFrame with one row per candle"
        )
    start_ms = parse_utc_ms(config.backtest.start, "backtest.start") if config.backtest.start else None
    first = first_trade_index(frame, start_ms, warmup)
    if first >= len(frame):
        raise BuildError(
            f"{where}: no candles to trade after the {warmup}-candle warm-up "
            f"({len(frame)} candles loaded for {sub.pair} {sub.timeframe})"
        )
    stamps = date_ms(frame)
    key = (sub.pair, sub.timeframe, data.source, int(stamps[0]), int(stamps[-1]), len(frame))
    if shared_arrays is not None and key in shared_arrays:
        arrays = shared_arrays[key]
    else:
        arrays = market_arrays(frame, data, timeframe_ms(sub.timeframe))
        if shared_arrays is not None:
            shared_arrays[key] = arrays
    # backtests: unchanged price columns are read from the (shared) market arrays, not converted per strategy
    strategy.bind_columns(Columns(frame, shared_columns(frame, arrays) if shared_arrays is not None else None))
    return PreparedInstance(
        sub,
        index,
        strategy,
        frame,
        arrays,
        contract_spec(sub, data.contract, config.backtest.rules, int(stamps[first])),
        space,
        first,
        metadata,
        config.data.funding_rate,
    )


def fixed_parameter(prepared: PreparedInstance) -> dict[str, Any]:
    """The one parameter set of a non-optimized instance; every search-space entry must be fixed."""
    open_keys = sorted(k for k, v in prepared.space.items() if len(v) != 1)
    if open_keys:
        raise BuildError(
            f"subaccounts[{prepared.index}].parameters: {prepared.sub.strategy} has a search space for "
            f"{', '.join(open_keys)}; fix them in 'parameters' or enable 'optimization'"
        )
    return {k: v[0] for k, v in prepared.space.items()}


def make_venue(
    prepared: PreparedInstance,
    settings: SimSettings,
    journal: Journal | None,
    subaccount_id: str | None = None,
    realistic: dict[str, Any] | None = None,
) -> SimExchange:
    """A simulated venue for the prepared instance (the real one in a backtest, or a virtual one)."""
    sub = prepared.sub
    return simulated_venue(
        sub.venue_info.builder,
        prepared.spec,
        prepared.arrays,
        realistic=realistic,
        initial_balance=sub.initial_balance,
        leverage=sub.leverage,
        margin_mode=sub.margin_mode,
        settings=settings,
        journal=journal,
        subaccount_id=subaccount_id or sub.id,
        funding_rate=prepared.funding_rate,
    )


def realistic_options(config: KektradeConfig, sub: SubaccountConfig) -> dict[str, Any] | None:
    """The realistic venue's options (``backtest.realistic``) for a subaccount on that venue."""
    return config.backtest.realistic.model_dump() if sub.venue_info.builder == "sim_realistic" else None


def make_provider(config: KektradeConfig) -> DataProvider:
    """The DataProvider for the config's data section and backtest range."""
    d, bt = config.data, config.backtest
    start = parse_utc_ms(bt.start, "backtest.start") if bt.start else None
    end = parse_utc_ms(bt.end, "backtest.end") if bt.end else None
    return DataProvider(
        d.source,
        start,
        end,
        synthetic=d.synthetic.model_dump(),
        download=d.download.model_dump(),
        files={pair: f.model_dump() for pair, f in d.files.items()},
        cache_dir=Path(config.history_dir) / "data",
        funding_rate=d.funding_rate,
    )
