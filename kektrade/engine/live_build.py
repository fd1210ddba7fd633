"""Build a paper or live session: history through ccxt, instances positioned after it, resume applied.

The session is the same ``Engine`` as a backtest's, with a ``LiveSource`` for its candles. Instances
with ``optimization.enabled`` get a live optimizer exactly as in a backtest; with ``live.warm_start``
the history reaches back over the optimizer's lookback and its virtual exchanges are played over it
before the first live candle, so the first selection happens at the first re-optimization boundary.

Resume (``--run-id``) restores each instance from its saved state (paper: the simulator's state; live:
the account is re-read) and **replays** the virtual exchanges: the history is fetched again from the
original run's first candle, the virtual exchanges run over it again, and the selections up to the resume
point are recomputed silently (they are already in the run database and in the restored instance). The
virtual exchanges are a pure function of the candles, so the optimizer is then in exactly the state an
uninterrupted run would have.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kektrade.config.model_root import KektradeConfig
from kektrade.config.model_subaccount import SubaccountConfig
from kektrade.data.market import MARK_COLUMNS, DataError, MarketData
from kektrade.data.provider import DataProvider
from kektrade.domain.journal import IntentRecorded, Journal, SavePointJournal
from kektrade.domain.specs import ContractSpec
from kektrade.domain.timeframes import duration_ms, timeframe_ms
from kektrade.engine.build import BuildError, PreparedInstance, fixed_parameter, prepare_instance, sim_settings
from kektrade.engine.engine import Engine, SnapshotSink
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.live import (
    OHLCV,
    CandleFeed,
    ExchangeFactory,
    LiveSlot,
    LiveSource,
    Stream,
    candles_frame,
    closed_until_ms,
    tail_rows,
)
from kektrade.engine.live_marks import ExchangeExtras
from kektrade.engine.live_venue import LiveVenue
from kektrade.engine.resume import ResumeRecord, apply_resume
from kektrade.engine.session import OptimizerFactory, Session, equity_sample_ms
from kektrade.engine.tagging import TradeTags
from kektrade.engine.venues import check_live_exchange, live_venue, simulated_venue
from kektrade.exchange.live.errors import check_credentials
from kektrade.exchange.live.markets import fetch_contract_spec
from kektrade.exchange.live.ohlcv import exchange_clock_offset_ms, fetch_ohlcv_range, make_exchange
from kektrade.exchange.sim.exchange import SimExchange

log = logging.getLogger("kektrade.engine")

ClientKey = tuple[str, bool]


def public_exchange_factory(config: KektradeConfig) -> ExchangeFactory:
    """ccxt clients without credentials (enough for paper runs; live accounts need the control layer's)."""

    def factory(exchange_id: str, testnet: bool, subaccount: str | None) -> Any:
        return make_exchange(exchange_id, testnet=testnet, api_base=config.live.api_base)

    return factory


def exchange_id_of(config: KektradeConfig, sub: SubaccountConfig) -> str:
    """The ccxt exchange a subaccount's candles (and, when live, orders) come from."""
    info = sub.venue_info
    return info.exchange if info.exchange is not None else config.live.paper_exchange


class _HistoryLoader:
    """The DataProvider loader of one exchange: closed candles before now, as far back as each stream needs,
    with the exchange's contract spec, mark candles and funding history (issue 11)."""

    def __init__(
        self, client: Any, exchange_id: str, first_ms: dict[Stream, int], extra: dict[Stream, int],
        extras: ExchangeExtras,
    ) -> None:  # fmt: skip
        self.client, self.exchange_id = client, exchange_id
        self.first_ms = first_ms  # resume: the original run's first candle per stream
        self.extra = extra  # candles beyond the warm-up (the optimizer's lookback, for the warm start)
        self.extras = extras
        self.specs: dict[str, ContractSpec | None] = {}

    def __call__(self, source: str, pair: str, timeframe: str, *args: Any, **kwargs: Any) -> MarketData:
        step = timeframe_ms(timeframe)
        until = closed_until_ms(int(self.client.fetch_time()), step)
        warmup = int(kwargs.get("warmup_candles", 0))
        keep = max(tail_rows(warmup), warmup + self.extra.get((pair, timeframe), 0))
        since = self.first_ms.get((pair, timeframe), until - keep * step)
        rows = fetch_ohlcv_range(self.client, pair, timeframe, since, until)
        if not rows:
            raise DataError(f"live:{self.exchange_id}: no closed {pair} {timeframe} candles before now")
        spec = self._spec(pair)
        candles = self.extras.with_marks(pair, timeframe, candles_frame(rows), since, until)
        funding = self.extras.funding_history(pair, int(rows[0][0]), until)
        return MarketData(pair, timeframe, candles, funding, (), f"live:{self.exchange_id}", spec)

    def _spec(self, pair: str) -> ContractSpec | None:
        """The exchange's contract spec of ``pair`` (fees, funding interval, risk tiers); None, with a
        warning, when the exchange does not describe it (the built-in or generic spec is used then)."""
        if pair not in self.specs:
            try:
                self.specs[pair] = fetch_contract_spec(self.client, pair)
            except Exception as exc:  # a market ccxt cannot describe must not stop a paper run
                self.extras.notice(f"live:{self.exchange_id} {pair}: no contract spec from the exchange "
                                   f"({type(exc).__name__}: {exc}); using the built-in or generic one")
                self.specs[pair] = None
        return self.specs[pair]


def _lookback_candles(config: KektradeConfig, sub: SubaccountConfig) -> int:
    """Candles the warm start plays the virtual exchanges over (0 without optimization or warm start)."""
    if not (sub.optimization.enabled and config.live.warm_start):
        return 0
    return -(-duration_ms(sub.optimization.lookback) // timeframe_ms(sub.timeframe)) + 1


def build_live_session(
    config: KektradeConfig,
    run_id: str,
    journal: Journal | None = None,
    on_snapshot: SnapshotSink | None = None,
    exchange_factory: ExchangeFactory | None = None,
    resume: Mapping[str, ResumeRecord] | None = None,
    optimizer_factory: OptimizerFactory | None = None,
) -> Session:
    """Paper and live instances on recent candles, positioned after the history (or at the resume point)."""
    factory = exchange_factory or public_exchange_factory(config)
    resume = resume or {}
    # the run database moves from resume point to resume point (engine/live.py), order intents written ahead;
    # in front of it the trade analysis remembers stop/take-profit orders and selections
    save_points = SavePointJournal(journal, immediate=(IntentRecorded,)) if journal is not None else None
    tags = TradeTags(save_points)
    journal = tags
    subs = [(i, s) for i, s in enumerate(config.subaccounts) if s.enabled]
    _check_subaccounts(subs)
    clients: dict[ClientKey, Any] = {}
    providers: dict[ClientKey, DataProvider] = {}
    extras: dict[ClientKey, ExchangeExtras] = {}
    streams: dict[ClientKey, list[Stream]] = {}
    first_ms: dict[ClientKey, dict[Stream, int]] = {}
    extra: dict[ClientKey, dict[Stream, int]] = {}
    for _index, sub in subs:
        key = (exchange_id_of(config, sub), sub.testnet)
        stream = (sub.pair, sub.timeframe)
        saved = resume[sub.id].saved if sub.id in resume else None
        if saved and saved.get("history_first_ms") is not None:
            first = first_ms.setdefault(key, {})
            first[stream] = min(int(saved["history_first_ms"]), first.get(stream, int(saved["history_first_ms"])))
        want = extra.setdefault(key, {})
        want[stream] = max(want.get(stream, 0), _lookback_candles(config, sub))
        if key not in clients:
            clients[key] = factory(key[0], key[1], None)
        if stream not in streams.setdefault(key, []):
            streams[key].append(stream)
    for key, client in clients.items():
        extras[key] = ExchangeExtras(client, key[0])
        loader = _HistoryLoader(client, key[0], first_ms.get(key, {}), extra.get(key, {}), extras[key])
        providers[key] = DataProvider("live", loader=loader)
    slots: list[LiveSlot] = []
    optimizers: list[Any] = []
    for index, sub in subs:
        key = (exchange_id_of(config, sub), sub.testnet)
        mode = "paper" if sub.is_paper else "live"
        prepared = prepare_instance(config, sub, index, providers[key], Path(config.strategies_dir), mode)
        venue = _venue(config, sub, prepared, journal, factory, key, run_id, extras[key].has_funding(sub.pair))
        slot, opt = _slot(config, prepared, venue, journal, providers[key], resume.get(sub.id), optimizer_factory)
        slots.append(slot)
        if opt is not None:
            optimizers.append(opt)
    feeds = [
        CandleFeed(clients[k], providers[k], streams[k], config.live.poll_interval_s, extras=extras[k]) for k in clients
    ]
    live = any(not s.is_paper for _, s in subs)
    source = LiveSource(
        slots, feeds, mode="live" if live else "paper", testnet=any(s.testnet for _, s in subs),
        poll_interval_s=config.live.poll_interval_s, save_every=config.live.save_state_every,
        cancel_orders_on_exit=config.live.cancel_orders_on_exit, save_points=save_points,
    )  # fmt: skip
    instances = [s.inst for s in slots]
    engine = Engine(instances, source, run_id=run_id, journal=journal, on_snapshot=on_snapshot, hooks=optimizers)
    return Session(config, run_id, instances, engine, optimizers, tags=tags)


def _check_subaccounts(subs: list[tuple[int, SubaccountConfig]]) -> None:
    for _index, sub in subs:  # an exchange ccxt cannot trade is refused before any history is fetched
        check_live_exchange(sub.venue_info, sub.id)
    for index, sub in subs:
        if not sub.is_realtime:
            raise BuildError(
                f"subaccounts[{index}].venue: {sub.venue!r} is a backtest venue; paper and live runs cannot "
                "include backtest venues"
            )


def _venue(
    config: KektradeConfig,
    sub: SubaccountConfig,
    prepared: PreparedInstance,
    journal: Journal | None,
    factory: ExchangeFactory,
    key: ClientKey,
    run_id: str,
    real_funding: bool = False,
) -> SimExchange | LiveVenue:
    """The simulator (paper) or the live account behind the engine's venue view (live).

    Paper: with ``real_funding`` the exchange's settlements (polled) are charged, else the constant
    ``data.funding_rate`` on the contract's interval."""
    info = sub.venue_info
    if info.simulated:  # the base simulated venue's rules, on live candles
        return simulated_venue(
            info.builder, prepared.spec, prepared.arrays, initial_balance=sub.initial_balance,
            leverage=sub.leverage, margin_mode=sub.margin_mode, settings=sim_settings(config, sub), journal=journal,
            subaccount_id=sub.id, funding_rate=None if real_funding else prepared.funding_rate,
        )  # fmt: skip
    client = factory(key[0], key[1], sub.id)
    exchange_clock_offset_ms(client)  # logged once when off; requests are signed with the exchange's time
    check_credentials(client, sub.id)  # a refused key stops the run here, with the exchange's reason
    live = config.live
    return live_venue(
        info, client, sub.pair, prepared.arrays, journal, sub.id, leverage=sub.leverage, margin_mode=sub.margin_mode,
        run_id=run_id, found_orders=live.orders_found_on_start, retry_attempts=live.retry_attempts,
        retry_max_wait_s=live.retry_max_wait_s,
    )  # fmt: skip


def _slot(
    config: KektradeConfig,
    prepared: PreparedInstance,
    venue: SimExchange | LiveVenue,
    journal: Journal | None,
    provider: DataProvider,
    record: ResumeRecord | None,
    optimizer_factory: OptimizerFactory | None,
) -> tuple[LiveSlot, Any]:
    """The instance (positioned after its history or at its resume point), its loop state and optimizer."""
    sub, frame = prepared.sub, prepared.frame
    n = len(frame)
    optimize = sub.optimization.enabled and optimizer_factory is not None
    parameter: dict[str, Any] = {} if optimize else fixed_parameter(prepared)  # nothing live before a selection
    inst = StrategyInstance(
        sub.id, prepared.strategy, frame, venue, parameter, prepared.metadata,  # type: ignore[arg-type]
        n - 1, journal, equity_sample_ms(config, prepared.arrays.timeframe_ms), sub.on_error_cancel_orders,
    )  # fmt: skip
    inst.complete_until_ms = prepared.arrays.time_ms[-1] + prepared.arrays.timeframe_ms
    optimizer = None
    if optimize and optimizer_factory is not None:
        lookback = _lookback_candles(config, sub)
        books_from = max(n - lookback, prepared.first_index) if lookback else n
        saved = record.saved if record is not None else None
        if saved and saved.get("optimizer_first_ms") is not None:  # resume: the original run's first candle
            books_from = bisect.bisect_left(prepared.arrays.time_ms, int(saved["optimizer_first_ms"]))
        optimizer = optimizer_factory(config, dataclasses.replace(prepared, first_index=books_from), inst, journal)
    last_ms = apply_resume(inst, record) if record is not None else None
    start = n if last_ms is None else bisect.bisect_right(prepared.arrays.time_ms, last_ms)
    if optimizer is not None and last_ms is not None:
        optimizer.replay_until_ms = last_ms + prepared.arrays.timeframe_ms
    inst.next_index = start
    inst.first_index = max(start - 1, 0)
    if isinstance(venue, LiveVenue):
        venue.set_clock(start - 1)
        for difference in venue.reconcile(record):  # before the first tick: what changed while we were away
            log.info("instance %s: reconciled: %s", sub.id, difference)
        venue.step(start - 1)
    else:
        venue.set_clock(start - 1)
        venue.sync_funding(restored=record is not None)  # the funding clock after a restore (issue 11)
    columns = [c for c in (*OHLCV, *MARK_COLUMNS) if c in frame.columns]
    slot = LiveSlot(
        inst, frame[columns].copy(), prepared.space, tail_rows(prepared.strategy.startup_candle_count),
        provider.subscribe(sub.pair, sub.timeframe), (sub.pair, sub.timeframe),
    )  # fmt: skip
    slot.saved_index = start
    if optimizer is not None:
        slot.on_frame = optimizer.follow_frame
    slot.bind(frame)
    log.info(
        "instance %s: %s on %s %s (%s), %d candles of history%s%s", sub.id, sub.strategy, sub.pair, sub.timeframe,
        sub.venue, n, f", resuming: {n - start} candles to catch up" if record is not None else "",
        f", live optimization over {len(optimizer.combos)} combinations" if optimizer is not None else "",
    )  # fmt: skip
    return slot, optimizer
