"""Build a paper or live session: history through ccxt, instances positioned after it, resume applied."""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from kektrade.config.model_root import KektradeConfig
from kektrade.config.model_subaccount import SubaccountConfig
from kektrade.data.market import MARK_COLUMNS, DataError, MarketData
from kektrade.data.provider import DataProvider
from kektrade.domain.journal import Journal
from kektrade.domain.timeframes import timeframe_ms
from kektrade.engine.backtest import SnapshotSink
from kektrade.engine.build import (
    BuildError,
    PreparedInstance,
    fixed_parameter,
    prepare_instance,
    sim_settings,
)
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.live import (
    OHLCV,
    CandleFeed,
    ExchangeFactory,
    LiveEngine,
    LiveSlot,
    candles_frame,
    closed_until_ms,
    tail_rows,
)
from kektrade.engine.live_venue import LiveVenue
from kektrade.engine.resume import ResumeRecord, apply_resume
from kektrade.engine.session import Session, equity_sample_ms
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from kektrade.exchange.live.ohlcv import fetch_ohlcv_range, make_exchange
from kektrade.exchange.sim.exchange import SimExchange

log = logging.getLogger("kektrade.engine")

LIVE_EXCHANGES = {"bybit": "bybit", "bybit_linear": "bybit", "bybit_inverse": "bybit"}
ClientKey = tuple[str, bool]


def public_exchange_factory(exchange_id: str, testnet: bool, subaccount: str | None) -> Any:
    """A ccxt client without credentials (enough for paper runs; live accounts need the control layer's)."""
    return make_exchange(exchange_id, testnet=testnet)


def exchange_id_of(config: KektradeConfig, sub: SubaccountConfig, index: int) -> str:
    """The ccxt exchange a subaccount's candles (and, when live, orders) come from."""
    if sub.is_paper:
        return config.live.paper_exchange
    found = LIVE_EXCHANGES.get(sub.venue)
    if found is None:
        raise BuildError(
            f"subaccounts[{index}].venue: live trading supports Bybit ('bybit_linear', 'bybit_inverse') "
            f"only (got {sub.venue!r}); use 'paper' to trade other exchanges' candles on paper"
        )
    return found


class _HistoryLoader:
    """The DataProvider loader of one exchange: recent closed candles, from before the resume point."""

    def __init__(self, client: Any, exchange_id: str, resume_ms: dict[tuple[str, str], int]) -> None:
        self.client, self.exchange_id, self.resume_ms = client, exchange_id, resume_ms

    def __call__(self, source: str, pair: str, timeframe: str, *args: Any, **kwargs: Any) -> MarketData:
        step = timeframe_ms(timeframe)
        until = closed_until_ms(int(self.client.fetch_time()), step)
        keep = tail_rows(int(kwargs.get("warmup_candles", 0)))
        since = min(until, self.resume_ms.get((pair, timeframe), until)) - keep * step
        rows = fetch_ohlcv_range(self.client, pair, timeframe, since, until)
        if not rows:
            raise DataError(f"live:{self.exchange_id}: no closed {pair} {timeframe} candles before now")
        return MarketData(pair, timeframe, candles_frame(rows), None, (), f"live:{self.exchange_id}")


def build_live_session(
    config: KektradeConfig,
    run_id: str,
    journal: Journal | None = None,
    on_snapshot: SnapshotSink | None = None,
    exchange_factory: ExchangeFactory | None = None,
    resume: Mapping[str, ResumeRecord] | None = None,
) -> Session:
    """Paper and live instances on recent candles, positioned after the history (or at the resume point)."""
    factory = exchange_factory or public_exchange_factory
    resume = resume or {}
    subs = [(i, s) for i, s in enumerate(config.subaccounts) if s.enabled]
    _check_subaccounts(config, subs)
    clients: dict[ClientKey, Any] = {}
    providers: dict[ClientKey, DataProvider] = {}
    streams: dict[ClientKey, list[tuple[str, str]]] = {}
    resume_ms: dict[ClientKey, dict[tuple[str, str], int]] = {}
    for index, sub in subs:
        key = (exchange_id_of(config, sub, index), sub.testnet)
        last = resume[sub.id].last_candle_ms if sub.id in resume else None
        if last is not None:
            stream = resume_ms.setdefault(key, {})
            stream[(sub.pair, sub.timeframe)] = min(last, stream.get((sub.pair, sub.timeframe), last))
    for index, sub in subs:
        key = (exchange_id_of(config, sub, index), sub.testnet)
        if key not in clients:
            clients[key] = factory(key[0], key[1], None)
            loader = _HistoryLoader(clients[key], key[0], resume_ms.get(key, {}))
            providers[key] = DataProvider("live", loader=loader)
        if (sub.pair, sub.timeframe) not in streams.setdefault(key, []):
            streams[key].append((sub.pair, sub.timeframe))
    slots = []
    for index, sub in subs:
        key = (exchange_id_of(config, sub, index), sub.testnet)
        mode = "paper" if sub.is_paper else "live"
        prepared = prepare_instance(config, sub, index, providers[key], Path(config.strategies_dir), mode)
        venue = _venue(config, sub, prepared, journal, factory, key)
        slots.append(_slot(config, prepared, venue, journal, providers[key], resume.get(sub.id)))
    wake = threading.Event()
    feeds = [CandleFeed(clients[k], providers[k], streams[k], config.live.poll_interval_s, wake) for k in clients]
    live = any(not s.is_paper for _, s in subs)
    engine = LiveEngine(
        slots, feeds, wake, run_id=run_id, journal=journal, mode="live" if live else "paper",
        testnet=any(s.testnet for _, s in subs), poll_interval_s=config.live.poll_interval_s,
        save_every=config.live.save_state_every, cancel_orders_on_exit=config.live.cancel_orders_on_exit,
        on_snapshot=on_snapshot,
    )  # fmt: skip
    return Session(config, run_id, [s.inst for s in slots], engine, [])


def _check_subaccounts(config: KektradeConfig, subs: list[tuple[int, SubaccountConfig]]) -> None:
    for index, sub in subs:
        if not sub.is_realtime:
            raise BuildError(
                f"subaccounts[{index}].venue: {sub.venue!r} is a backtest venue; paper and live runs cannot "
                "include backtest venues"
            )
        if sub.optimization.enabled:
            raise BuildError(
                f"subaccounts[{index}].optimization.enabled: live optimization runs in backtests only in this "
                "version; fix the parameters for paper and live runs"
            )


def _venue(
    config: KektradeConfig,
    sub: SubaccountConfig,
    prepared: PreparedInstance,
    journal: Journal | None,
    factory: ExchangeFactory,
    key: ClientKey,
) -> SimExchange | LiveVenue:
    """The simulator (paper) or the live account behind the engine's venue view (live)."""
    if sub.is_paper:  # the base simulated venue's rules, on live candles
        return SimExchange(
            prepared.spec, prepared.arrays, initial_balance=sub.initial_balance, leverage=sub.leverage,
            margin_mode=sub.margin_mode, settings=sim_settings(config, sub), journal=journal,
            subaccount_id=sub.id, funding_rate=prepared.funding_rate,
        )  # fmt: skip
    account = CcxtSubaccount(factory(key[0], key[1], sub.id), sub.pair)
    try:
        account.set_margin_mode(sub.margin_mode)
        account.set_leverage(sub.leverage)
    except Exception as exc:  # e.g. a position open in the other mode: trade with the account's settings
        log.warning("subaccount %s: setting margin mode/leverage on the exchange failed: %s", sub.id, exc)
    return LiveVenue(account, prepared.arrays, journal, sub.id)


def _slot(
    config: KektradeConfig,
    prepared: PreparedInstance,
    venue: SimExchange | LiveVenue,
    journal: Journal | None,
    provider: DataProvider,
    record: ResumeRecord | None,
) -> LiveSlot:
    """The instance, positioned after its history or at its resume point, and its loop state."""
    sub, frame = prepared.sub, prepared.frame
    n = len(frame)
    inst = StrategyInstance(
        sub.id, prepared.strategy, frame, cast(SimExchange, venue), fixed_parameter(prepared), prepared.metadata,
        n - 1, journal, equity_sample_ms(config, prepared.arrays.timeframe_ms), sub.on_error_cancel_orders,
    )  # fmt: skip
    last_ms = apply_resume(inst, record) if record is not None else None
    start = n if last_ms is None else bisect.bisect_right(prepared.arrays.time_ms, last_ms)
    inst.next_index = start
    inst.first_index = max(start - 1, 0)
    if isinstance(venue, LiveVenue):
        venue.step(start - 1)
    else:
        venue.set_clock(start - 1)
    columns = [c for c in (*OHLCV, *MARK_COLUMNS) if c in frame.columns]
    slot = LiveSlot(inst, frame[columns].copy(), prepared.space, tail_rows(prepared.strategy.startup_candle_count),
                    provider.subscribe(sub.pair, sub.timeframe))  # fmt: skip
    slot.bind(frame)
    pending = n - start
    log.info(
        "instance %s: %s on %s %s (%s), %d candles of history%s", sub.id, sub.strategy, sub.pair, sub.timeframe,
        sub.venue, n, f", resuming: {pending} candles to catch up" if record is not None else "",
    )  # fmt: skip
    return slot
