"""Candles from an exchange for paper and live runs: the feed, each instance's growing history, the source.

A ``CandleFeed`` worker thread polls each (pair, timeframe) through the sync ccxt client every
``live.poll_interval_s`` and publishes closed candles (close time <= the exchange's time) through the
``DataProvider``; after each poll it marks, per stream, the time before which every candle is known
(``complete_until``), gaps included. ``LiveSource`` is the engine's candle source for such runs: on the
engine thread it moves published candles into each instance's history (``LiveSlot``), recomputes
indicators, and raises the instance's ``complete_until_ms`` — the engine (engine/engine.py) then runs the
new candles through the same kernel and hooks as a backtest, the live optimizer included.

Indicators: an instance keeps its whole history since the run's first candle (so the virtual exchanges
and a resume see the same rows), and recomputes indicators on the last ``window`` rows for each batch of
new candles. Each recomputation is checked against the values already computed for the last processed
rows: when a recursive indicator (EMA, RSI, ...) still depends on where the window starts, the window
doubles (up to the whole history) and the column is named in a warning — so live values equal the
backtest's on the same candles to 1e-9.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kektrade.data.market import MARK_COLUMNS, date_ms, ms_to_dates
from kektrade.data.provider import DataProvider
from kektrade.domain.journal import SavePointJournal
from kektrade.domain.timeframes import timeframe_ms
from kektrade.engine.instance import StrategyInstance
from kektrade.engine.live_marks import ExchangeExtras, add_settlements
from kektrade.engine.live_venue import LiveVenue
from kektrade.engine.resume import capture_state, state_record
from kektrade.exchange.live.ohlcv import fetch_ohlcv_range
from kektrade.strategy.columns import Columns

if TYPE_CHECKING:
    from kektrade.engine.engine import Engine

log = logging.getLogger("kektrade.engine")

OHLCV = ["date", "open", "high", "low", "close", "volume"]
#: relative tolerance of the indicator-window check (values must not depend on where the window starts)
WINDOW_RTOL = 1e-9
#: processed rows compared after each recomputation
CHECK_ROWS = 3


def tail_rows(startup_candle_count: int) -> int:
    """Initial indicator window of an instance: max(5 x startup_candle_count, 1000) rows."""
    return max(5 * int(startup_candle_count), 1000)


def closed_until_ms(now_ms: int, tf_ms: int) -> int:
    """Candles opening before this time are closed at ``now_ms`` (close time <= now)."""
    return (now_ms // tf_ms) * tf_ms


def candles_frame(rows: Sequence[Sequence[float]]) -> pd.DataFrame:
    """ccxt OHLCV rows ``[ms, o, h, l, c, v]`` as a candle frame with UTC dates."""
    frame = pd.DataFrame([list(r[:6]) for r in rows], columns=OHLCV)
    frame["date"] = ms_to_dates(frame["date"].astype("int64").to_numpy())
    return frame.astype({c: "float64" for c in OHLCV[1:]})


Stream = tuple[str, str]


class CandleFeed:
    """Polls closed candles of some (pair, timeframe) streams of one exchange on a worker thread."""

    def __init__(
        self,
        client: Any,
        provider: DataProvider,
        streams: Sequence[Stream],
        poll_interval_s: float,
        wake: threading.Event | None = None,
        extras: ExchangeExtras | None = None,
    ) -> None:
        self.client = client
        self.extras = extras  # the exchange's mark candles and funding, polled with the candles (issue 11)
        self.provider = provider
        self.poll_interval_s = poll_interval_s
        self.wake = wake or threading.Event()  # the engine's wake-up event once the source starts
        self.last_ms: dict[Stream, int] = {}
        #: per stream: every candle opening before this time has been published (read by the engine thread)
        self.complete_until: dict[Stream, int] = {}
        for pair, tf in streams:
            end = provider.get(pair, tf).end_ms
            self.last_ms[(pair, tf)] = end if end is not None else 0
            self.complete_until[(pair, tf)] = self.last_ms[(pair, tf)] + timeframe_ms(tf)
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

    def _pairs_with_new_candles(self, now_ms: int) -> list[str]:
        """The pairs of the streams with a closed candle not fetched yet."""
        return [
            pair for (pair, tf), last in self.last_ms.items()
            if closed_until_ms(now_ms, timeframe_ms(tf)) > last + timeframe_ms(tf)
        ]  # fmt: skip

    def poll_once(self) -> int:
        """Fetch and publish every closed candle newer than the last one seen (with its mark candle, after the
        funding settlements published by now); returns how many."""
        now_ms = int(self.client.fetch_time())
        if self.extras is not None:  # before the candles: a settlement is known before the candle after it
            self.extras.poll_funding(now_ms, self._pairs_with_new_candles(now_ms))
        published = 0
        for (pair, tf), last in self.last_ms.items():
            step = timeframe_ms(tf)
            until = closed_until_ms(now_ms, step)
            if until <= last + step:
                continue
            rows = fetch_ohlcv_range(self.client, pair, tf, last + step, until, closed_by_ms=now_ms)
            if rows:
                frame = candles_frame(rows)
                if self.extras is not None:
                    frame = self.extras.poll_marks(pair, tf, frame, last + step, until, now_ms)
                fresh = self.provider.publish(pair, tf, frame)
                self.last_ms[(pair, tf)] = max(last, int(rows[-1][0]))
                published += len(fresh)
            # published before marked: a reader that sees the mark finds the candles in its inbox
            self.complete_until[(pair, tf)] = max(self.complete_until[(pair, tf)], until)
        self.wake.set()
        return published


@dataclass
class LiveSlot:
    """One instance on live candles: its raw history, indicator window, column cache and inbox."""

    inst: StrategyInstance
    raw: pd.DataFrame
    space: dict[str, list[Any]]
    window: int
    inbox: Any  # queue.Queue[pd.DataFrame] from DataProvider.subscribe
    stream: Stream
    cache: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False
    saved_index: int = 0  # next_index at the last saved resume point
    retry_at: float = 0.0
    warned: set[str] = field(default_factory=set)
    window_warned: set[str] = field(default_factory=set)
    on_frame: Callable[[pd.DataFrame], None] | None = None  # the virtual exchanges follow the frame

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
        if self.on_frame is not None:
            self.on_frame(frame)

    def append(self, fresh: pd.DataFrame) -> int:
        """Append candles newer than the last one held (older and repeated ones are ignored)."""
        market = self.inst.venue.market
        last = market.time_ms[-1] if len(market) else -1
        stamps = date_ms(fresh)
        rows = fresh[stamps > last]
        if rows.empty:
            return 0
        volumes = rows["volume"] if "volume" in rows.columns else [0.0] * len(rows)
        marks = _mark_tuples(rows)
        for t, o, h, lo, c, v, mark in zip(
            stamps[stamps > last].tolist(), rows["open"], rows["high"], rows["low"], rows["close"], volumes, marks,
            strict=True,
        ):  # fmt: skip
            market.append(int(t), float(o), float(h), float(lo), float(c), mark=mark, volume=float(v))
        self.raw = pd.concat([self.raw, rows.reindex(columns=list(self.raw.columns))], ignore_index=True)
        self.dirty = True
        return len(rows)

    def recompute(self) -> None:
        """Indicators for the new rows, on a window proven long enough (see the module docstring)."""
        inst = self.inst
        old = inst.frame
        done = len(old)
        while True:
            start = max(len(self.raw) - self.window, 0)
            part = self._populate(self.raw.iloc[start:].reset_index(drop=True))
            part.index = pd.RangeIndex(start, start + len(part))
            if start == 0 or self._window_holds(old, part, done):
                break
            self.window = min(2 * self.window, len(self.raw))
        new_rows = part.loc[done:].reindex(columns=list(old.columns.union(part.columns, sort=False)))
        frame = pd.concat([old, new_rows], ignore_index=True) if done else part.reset_index(drop=True)
        self.bind(frame)
        self.dirty = False

    def _populate(self, raw: pd.DataFrame) -> pd.DataFrame:
        inst = self.inst
        frame = inst.strategy.populate_indicators(raw.copy(), inst.metadata, self.space)
        if not isinstance(frame, pd.DataFrame) or len(frame) != len(raw):
            raise ValueError(f"{type(inst.strategy).__name__}.populate_indicators must return one row per candle")
        return frame

    def _window_holds(self, old: pd.DataFrame, part: pd.DataFrame, done: int) -> bool:
        """The last processed rows equal their earlier values (the window's start no longer matters)."""
        rows = range(max(done - CHECK_ROWS, part.index[0]), done)
        for name in part.columns:
            if name not in old.columns or name in OHLCV or len(rows) == 0:
                continue
            before, now = old[name].iloc[rows.start : rows.stop], part[name].loc[rows.start : rows.stop - 1]
            if _numeric(before) and _numeric(now) and not _close(before.to_numpy(), now.to_numpy()):
                if name not in self.window_warned:
                    self.window_warned.add(name)
                    log.warning(
                        "instance %s: indicator %r still depends on where its %d-row window starts; "
                        "recomputing on a longer window (raise startup_candle_count to say how much history "
                        "it needs)", self.inst.id, name, self.window,
                    )  # fmt: skip
                return False
        return True


def _mark_tuples(rows: pd.DataFrame) -> list[tuple[float, float, float, float] | None]:
    """Each row's mark OHLC, or None (the trade prices stand in) where it has none."""
    if MARK_COLUMNS[-1] not in rows.columns:
        return [None] * len(rows)
    values = rows[list(MARK_COLUMNS)].to_numpy(dtype="float64")
    return [None if np.isnan(v).any() else (float(v[0]), float(v[1]), float(v[2]), float(v[3])) for v in values]


def _numeric(values: pd.Series) -> bool:
    return values.dtype.kind in "fiu"


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = a.astype("float64"), b.astype("float64")
    same_nan = np.isnan(a) == np.isnan(b)
    both = ~np.isnan(a) & ~np.isnan(b)
    return bool(same_nan.all() and np.allclose(a[both], b[both], rtol=WINDOW_RTOL, atol=0.0))


class LiveSource:
    """The engine's candle source for paper and live runs (see the module docstring)."""

    finite = False

    def __init__(
        self,
        slots: Sequence[LiveSlot],
        feeds: Sequence[CandleFeed],
        *,
        mode: str = "paper",
        testnet: bool = False,
        poll_interval_s: float = 5.0,
        save_every: int = 1,
        cancel_orders_on_exit: bool = True,
        save_points: SavePointJournal | None = None,
    ) -> None:
        self.slots = list(slots)
        self.save_points = save_points  # committed after each round of saved states
        self.feeds = list(feeds)
        self.mode, self.testnet = mode, testnet
        self.poll_interval_s = poll_interval_s
        self.save_every = max(int(save_every), 1)
        self.cancel_orders_on_exit = cancel_orders_on_exit
        #: False: the feeds are not started on threads; a test calls ``feed.poll_once()`` and ``Engine.step()``
        self.poll_feeds = True
        self._feed_of = {s.stream: f for f in feeds for s in slots if s.stream in f.complete_until}

    def start(self, engine: Engine) -> None:
        """Share the engine's wake-up event with the feeds, then start polling (unless driven by hand)."""
        for feed in self.feeds:
            feed.wake = engine.wake
            if self.poll_feeds:
                feed.start()

    def wait(self, engine: Engine, timeout_s: float) -> int:
        """Wait for new candles (or a command), move them into the instances; the newest complete time."""
        if timeout_s > 0:
            engine.wake.wait(min(timeout_s, self.poll_interval_s))
        engine.wake.clear()
        now = time.monotonic()
        for slot in self.slots:
            if now >= slot.retry_at:
                self._drain(slot, now)
        marks = [s.inst.complete_until_ms for s in self.slots]
        return max(marks, default=0)

    def _drain(self, slot: LiveSlot, now: float) -> None:
        feed = self._feed_of.get(slot.stream)
        mark = feed.complete_until.get(slot.stream, 0) if feed is not None else 0  # read before the inbox
        try:
            if feed is not None and feed.extras is not None:
                add_settlements(slot, feed.extras)
            while not slot.inbox.empty():
                slot.append(slot.inbox.get_nowait())
            if slot.dirty:
                slot.recompute()
        except Exception as exc:  # one failing instance never stops the others; retried next poll
            slot.retry_at = now + self.poll_interval_s
            slot.inst.error = f"{type(exc).__name__}: {exc}"
            log.exception("instance %s: preparing new candles failed; retrying", slot.inst.id)
            return
        slot.inst.complete_until_ms = max(slot.inst.complete_until_ms, mark)

    def after_chunk(self, engine: Engine) -> None:
        """Once an instance processed ``save_every`` candles: save every instance's resume point, commit."""
        if any(s.inst.next_index - s.saved_index >= self.save_every for s in self.slots):
            self.save_all(engine)

    def save_all(self, engine: Engine) -> None:
        """Journal every instance's resume point and commit them with everything recorded since the last.

        With a ``SavePointJournal`` the run database then moves from one resume point to the next in one
        transaction: a crash never leaves rows of candles a resumed run processes again.
        """
        for slot in self.slots:
            slot.saved_index = slot.inst.next_index
            if engine.journal is not None:
                state = capture_state(slot.inst, (id(v) for v in slot.cache.values()), slot.warned)
                engine.journal.record(state_record(slot.inst, state))
        if self.save_points is not None:
            self.save_points.commit()

    def close(self, engine: Engine) -> None:
        """Stop the feeds; cancel live orders if configured; save every instance's state."""
        for feed in self.feeds:
            feed.stop()
        for slot in self.slots:
            venue = slot.inst.venue
            try:
                if isinstance(venue, LiveVenue):
                    if self.cancel_orders_on_exit:
                        with venue.manual():
                            cancelled = venue.cancel_all_orders()
                        log.info("instance %s: %d open orders cancelled on exit", slot.inst.id, cancelled)
                    for difference in venue.final_sync():  # the database agrees with the exchange at the end
                        log.info("instance %s: final re-read: %s", slot.inst.id, difference)
            except Exception:
                log.exception("instance %s: the shutdown steps on the exchange failed", slot.inst.id)
        self.save_all(engine)


#: (exchange id, testnet, subaccount id or None for public market data) -> a sync ccxt client.
ExchangeFactory = Callable[[str, bool, str | None], Any]
