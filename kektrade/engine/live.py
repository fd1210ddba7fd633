"""The live loop: strategies on live candles, on a simulated venue (paper) or a live account (live).

A ``CandleFeed`` worker thread polls each (pair, timeframe) through the sync ccxt client every
``live.poll_interval_s`` and publishes closed candles (close time <= the exchange's time) through the
``DataProvider``. The engine thread, the one owner of trading state, takes them from its subscriptions:
each instance appends them to its frame and market arrays, recomputes its indicators on a bounded tail,
then for each new candle steps its venue (paper: the simulator matches orders placed earlier; live: the
account is re-read) and calls ``tick``. Candles missed during a disconnect are fetched on the next poll
and processed in order; repeated candles are ignored. Commands and snapshots work as in the backtest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from kektrade.data.market import date_ms, ms_to_dates
from kektrade.data.provider import DataProvider
from kektrade.domain.journal import Journal
from kektrade.domain.timeframes import timeframe_ms
from kektrade.engine.backtest import BacktestEngine, SnapshotSink, order_rows, subaccount_row
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.live_venue import LiveVenue
from kektrade.engine.resume import capture_state, state_record
from kektrade.engine.snapshot import EngineSnapshot, OrderRow, Progress, SubaccountRow
from kektrade.exchange.live.ohlcv import fetch_ohlcv_range
from kektrade.strategy.columns import Columns

log = logging.getLogger("kektrade.engine")

OHLCV = ["date", "open", "high", "low", "close", "volume"]


def tail_rows(startup_candle_count: int) -> int:
    """Rows an instance keeps for its indicators: max(5 x startup_candle_count, 1000)."""
    return max(5 * int(startup_candle_count), 1000)


def closed_until_ms(now_ms: int, tf_ms: int) -> int:
    """Candles opening before this time are closed at ``now_ms`` (close time <= now)."""
    return (now_ms // tf_ms) * tf_ms


def candles_frame(rows: Sequence[Sequence[float]]) -> pd.DataFrame:
    """ccxt OHLCV rows ``[ms, o, h, l, c, v]`` as a candle frame with UTC dates."""
    frame = pd.DataFrame([list(r[:6]) for r in rows], columns=OHLCV)
    frame["date"] = ms_to_dates(frame["date"].astype("int64").to_numpy())
    return frame.astype({c: "float64" for c in OHLCV[1:]})


class CandleFeed:
    """Polls closed candles of some (pair, timeframe) streams of one exchange on a worker thread."""

    def __init__(
        self,
        client: Any,
        provider: DataProvider,
        streams: Sequence[tuple[str, str]],
        poll_interval_s: float,
        wake: threading.Event,
    ) -> None:
        self.client = client
        self.provider = provider
        self.poll_interval_s = poll_interval_s
        self.wake = wake
        self.last_ms: dict[tuple[str, str], int] = {}
        for pair, tf in streams:
            end = provider.get(pair, tf).end_ms
            self.last_ms[(pair, tf)] = end if end is not None else 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    def start(self) -> None:
        """Start polling on a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="kektrade-candle-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # network down, exchange hiccup: try again next interval
                self.errors += 1
                log.warning(
                    "candle poll failed (%s: %s); retrying in %.1fs", type(exc).__name__, exc, self.poll_interval_s
                )
            self._stop.wait(self.poll_interval_s)

    def poll_once(self) -> int:
        """Fetch and publish every closed candle newer than the last one seen; returns how many."""
        now_ms = int(self.client.fetch_time())
        published = 0
        for (pair, tf), last in self.last_ms.items():
            step = timeframe_ms(tf)
            until = closed_until_ms(now_ms, step)
            if until <= last + step:
                continue
            rows = fetch_ohlcv_range(self.client, pair, tf, last + step, until)
            if not rows:
                continue
            fresh = self.provider.publish(pair, tf, candles_frame(rows))
            self.last_ms[(pair, tf)] = max(last, int(rows[-1][0]))
            published += len(fresh)
        if published:
            self.wake.set()
        return published


@dataclass
class LiveSlot:
    """One instance in the live loop: its raw candles, indicator inputs and column cache."""

    inst: StrategyInstance
    raw: pd.DataFrame
    space: dict[str, list[Any]]
    keep: int
    inbox: Any  # queue.Queue[pd.DataFrame] from DataProvider.subscribe
    cache: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False
    since_save: int = 0
    retry_at: float = 0.0
    warned: set[str] = field(default_factory=set)

    def bind(self, frame: pd.DataFrame) -> None:
        """Use ``frame`` as the indicator frame; cached column lists are updated in place."""
        fresh = Columns(frame)
        for name, values in list(self.cache.items()):
            if name not in frame.columns:
                continue
            column = fresh[name]
            try:
                values[:] = column  # same object: strategies may hold it (e.g. in variables)
            except TypeError:  # the column changed kind (list <-> array): a new object then
                self.cache[name] = column
        self.inst.frame = frame
        self.inst.strategy.bind_columns(Columns(frame, self.cache))

    def append(self, fresh: pd.DataFrame) -> int:
        """Append candles newer than the last one held (older and repeated ones are ignored)."""
        market = self.inst.venue.market
        last = market.time_ms[-1] if len(market) else -1
        stamps = date_ms(fresh)
        rows = fresh[stamps > last]
        if rows.empty:
            return 0
        volumes = rows["volume"] if "volume" in rows.columns else [0.0] * len(rows)
        for t, o, h, lo, c, v in zip(
            stamps[stamps > last].tolist(), rows["open"], rows["high"], rows["low"], rows["close"], volumes,
            strict=True,
        ):  # fmt: skip
            market.append(int(t), float(o), float(h), float(lo), float(c), volume=float(v))
        self.raw = pd.concat([self.raw, rows.reindex(columns=list(self.raw.columns))], ignore_index=True)
        self.dirty = True
        return len(rows)

    def trim(self) -> None:
        """Drop the oldest processed rows once the tail holds twice what it keeps."""
        inst = self.inst
        extra = len(self.raw) - self.keep
        if len(self.raw) <= 2 * self.keep or inst.next_index < len(self.raw):
            return
        self.raw = self.raw.iloc[extra:].reset_index(drop=True)
        market = inst.venue.market
        lists = {
            id(v): v
            for v in (
                market.time_ms,
                market.open,
                market.high,
                market.low,
                market.close,
                market.mark_open,
                market.mark_high,
                market.mark_low,
                market.mark_close,
                market.volume,
            )
        }
        for values in lists.values():
            del values[:extra]
        inst.venue.set_clock(inst.venue._i - extra)  # the same candle, at its new index
        inst.next_index -= extra
        inst.first_index = max(inst.first_index - extra, 0)
        self.dirty = True

    def recompute(self) -> None:
        """Indicators on the tail (called once per batch of new candles)."""
        inst = self.inst
        frame = inst.strategy.populate_indicators(self.raw.copy(), inst.metadata, self.space)
        if not isinstance(frame, pd.DataFrame) or len(frame) != len(self.raw):
            raise ValueError(f"{type(inst.strategy).__name__}.populate_indicators must return one row per candle")
        self.bind(frame)
        self.dirty = False


def process(slot: LiveSlot) -> int:
    """Step the venue and tick every pending candle of one instance, in order; returns how many."""
    inst = slot.inst
    if slot.dirty:
        slot.recompute()
    before = inst.next_index
    done = inst.advance(inst.length)
    slot.since_save += done
    return done if inst.next_index > before else 0


class LiveEngine(BacktestEngine):
    """Runs instances on live candles until stopped; commands and snapshots as in the backtest engine."""

    def __init__(
        self,
        slots: Sequence[LiveSlot],
        feeds: Sequence[CandleFeed],
        wake: threading.Event,
        *,
        run_id: str = "",
        journal: Journal | None = None,
        mode: str = "paper",
        testnet: bool = False,
        poll_interval_s: float = 5.0,
        save_every: int = 1,
        cancel_orders_on_exit: bool = True,
        on_snapshot: SnapshotSink | None = None,
    ) -> None:
        super().__init__([s.inst for s in slots], run_id, journal, on_snapshot=on_snapshot)
        self.slots = list(slots)
        self.feeds = list(feeds)
        self.wake = wake
        self.mode, self.testnet = mode, testnet
        self.poll_interval_s = poll_interval_s
        self.save_every = max(int(save_every), 1)
        self.cancel_orders_on_exit = cancel_orders_on_exit
        self.total = 0

    def send(self, command: Any) -> None:
        """Queue a command and wake the loop."""
        super().send(command)
        self.wake.set()

    def run(self) -> str:
        """Catch up, then process live candles until a stop command; returns the final state."""
        self.state = "running"
        self._t0 = time.perf_counter()
        try:
            self._step_all()  # catch-up: candles since the last processed one (resume)
            self._publish()
            for feed in self.feeds:
                feed.start()
            while not self.stop_event.is_set():
                self.wake.wait(min(0.25, self.poll_interval_s))
                self.wake.clear()
                self._drain()
                self._step_all()
                self._apply_commands()
                self._maybe_publish()
        except Exception:
            self.state = "failed"
            log.exception("live engine failed")
            raise
        finally:
            for feed in self.feeds:
                feed.stop()
            self._shutdown()
        self.run_seconds = time.perf_counter() - self._t0
        self.state = "stopped"
        self._publish()
        return self.state

    def _drain(self) -> None:
        for slot in self.slots:
            while not slot.inbox.empty():
                slot.trim()
                slot.append(slot.inbox.get_nowait())

    def _step_all(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.inst.next_index >= slot.inst.length or now < slot.retry_at:
                continue
            try:
                self.done += process(slot)
            except Exception as exc:  # one failing instance never stops the others; retried next poll
                slot.retry_at = now + self.poll_interval_s
                slot.inst.error = f"{type(exc).__name__}: {exc}"
                log.exception("instance %s: processing candles failed; retrying", slot.inst.id)
            if slot.since_save >= self.save_every:
                self.save_state(slot)
        self.total = self.done

    def save_state(self, slot: LiveSlot) -> None:
        """Journal one instance's resume point."""
        slot.since_save = 0
        if self.journal is None:
            return
        state = capture_state(slot.inst, (id(v) for v in slot.cache.values()), slot.warned)
        self.journal.record(state_record(slot.inst, state))

    def _shutdown(self) -> None:
        """Cancel live orders if configured, then save every instance's state."""
        for slot in self.slots:
            venue = slot.inst.venue
            try:
                if isinstance(venue, LiveVenue) and self.cancel_orders_on_exit:
                    cancelled = venue.cancel_all_orders()
                    log.info("instance %s: %d open orders cancelled on exit", slot.inst.id, cancelled)
                self.save_state(slot)
            except Exception:
                log.exception("instance %s: shutdown step failed", slot.inst.id)

    def progress(self) -> Progress:
        """Candles processed (a live run has no end: done == total)."""
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        return Progress(self.done, self.done, self.done / elapsed, None, elapsed)

    def snapshot(self) -> EngineSnapshot:
        """The current state; live accounts are shown from their cached views (no network)."""
        rows: list[SubaccountRow] = []
        orders: list[OrderRow] = []
        for inst in self.instances:
            if isinstance(inst.venue, LiveVenue):
                rows.append(live_row(inst, inst.venue))
                orders.extend(_order_rows(inst.id, inst.venue))
            else:
                rows.append(subaccount_row(inst))
                orders.extend(order_rows(inst))
        snap = super().snapshot()
        return replace(snap, mode=self.mode, testnet=self.testnet, subaccounts=tuple(rows), orders=tuple(orders))


def live_row(inst: StrategyInstance, venue: LiveVenue) -> SubaccountRow:
    """The front-end row of a live instance from its cached views."""
    pos = venue.cached_position
    equity = venue.equity()
    mark = pos.mark_price if pos else 0.0
    return SubaccountRow(
        id=inst.id, venue=str(inst.metadata.get("venue", "")), pair=venue.spec.symbol,
        strategy=type(inst.strategy).__name__, parameters=dict(inst.parameter), status=inst.status.value,
        contracts=pos.contracts if pos else 0.0, entry_price=pos.entry_price if pos else 0.0, mark_price=mark,
        liquidation_price=pos.liquidation_price if pos else 0.0,
        unrealized_pnl=pos.unrealized_pnl if pos else 0.0, equity=equity,
        equity_quote=equity * mark if venue.spec.is_inverse else equity, settle_currency=venue.spec.settle,
        error=inst.error, fills=len(venue.fills),
    )  # fmt: skip


def _order_rows(subaccount: str, venue: LiveVenue) -> list[OrderRow]:
    return [
        OrderRow(subaccount, o.id, o.side, o.type.value, o.price, o.trigger_price, o.contracts, o.filled,
                 o.reduce_only, o.post_only, o.created_ms, o.status.value)
        for o in venue.cached_orders
    ]  # fmt: skip


#: (exchange id, testnet, subaccount id or None for public market data) -> a sync ccxt client.
ExchangeFactory = Callable[[str, bool, str | None], Any]
