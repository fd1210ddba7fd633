"""The exchange's real mark price and funding for paper runs (issue 11), beside the trade candles.

``ExchangeExtras`` holds, for one exchange client, which streams have mark-price candles and the funding
settlements of each pair. The history loader attaches the exchange's mark candles (same timeframe as the trade
candles, so no mark is used before its candle closed) and its funding history; the candle feed then polls
both with every poll, through ccxt's unified calls (``fetch_ohlcv(price="mark")``,
``fetch_funding_rate_history``), so it works for bybit, okx and binanceusdm alike. A settlement is appended
only once the exchange lists it, and the simulator settles it at the first candle opening at or after its
time, at that candle's mark open: as of the time each value was known.

Nothing here stops a run: an exchange without mark candles or funding history gets a notice (a warning in
the run's log) and the last price stands in for the mark, a constant ``data.funding_rate`` for funding; a
failed poll is logged and tried again at the next poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kektrade.data.files import attach_mark
from kektrade.data.market import MARK_COLUMNS, ms_to_dates
from kektrade.domain.timeframes import align_up
from kektrade.exchange.live.ohlcv import fetch_funding_range, fetch_ohlcv_range

log = logging.getLogger("kektrade.engine")

Stream = tuple[str, str]
#: how far back a funding poll looks for settlements the exchange listed late
LATE_SETTLEMENT_MS = 7 * 86_400_000
#: settlements are looked for at every whole hour (covers 1 h, 4 h and 8 h intervals, and an exchange that
#: shortens one), with each new candle for this long after it, until the settlement is listed
FUNDING_GRID_MS = 3_600_000
FUNDING_GRACE_MS = 10 * 60_000


def mark_frame(rows: Sequence[Sequence[float]]) -> pd.DataFrame:
    """ccxt mark OHLCV rows as ``date`` + mark OHLC columns."""
    data = np.array([list(r[:5]) for r in rows], dtype="float64").reshape(-1, 5)
    frame: dict[str, Any] = {"date": ms_to_dates(data[:, 0].astype("int64"))}
    for k, name in enumerate(MARK_COLUMNS, start=1):
        frame[name] = data[:, k]
    return pd.DataFrame(frame)


class ExchangeExtras:
    """Mark candles and funding settlements of one exchange for paper runs (see the module docstring)."""

    def __init__(self, client: Any, exchange_id: str) -> None:
        self.client, self.exchange_id = client, exchange_id
        self.marks: dict[Stream, bool] = {}  # stream -> the exchange serves its mark candles
        self._funding: dict[str, list[tuple[int, float]]] = {}  # pair -> settlements (time ms, rate), growing
        self._since: dict[str, int] = {}  # history start of the pair: polls before any settlement start here
        self._due: dict[str, int] = {}  # pair -> when the next settlement may be listed (polls wait until then)
        self._lock = threading.Lock()
        self.notices: list[str] = []
        self._warned: set[str] = set()

    def notice(self, text: str, key: str | None = None) -> None:
        """Log a warning the run's log and front ends show, once per ``key`` (default: the text)."""
        if (key or text) in self._warned:
            return
        self._warned.add(key or text)
        self.notices.append(text)
        log.warning("%s", text)

    # -- with the history ------------------------------------------------------------------------------------

    def with_marks(self, pair: str, timeframe: str, candles: pd.DataFrame, since: int, until: int) -> pd.DataFrame:
        """History candles with the exchange's mark candles attached; unchanged (with a notice) without them."""
        where = f"live:{self.exchange_id} {pair} {timeframe}"
        rows: list[list[float]] = []
        if self.client.has.get("fetchMarkOHLCV"):
            try:
                rows = fetch_ohlcv_range(self.client, pair, timeframe, since, until, price="mark")
            except Exception as exc:  # an exchange error or a network failure: the run goes on without marks
                log.debug("%s: mark candles failed", where, exc_info=True)
                self.notice(f"{where}: mark-price candles unavailable ({type(exc).__name__}: {exc}); the last "
                            "price stands in for the mark price")
                rows = []
            else:
                if not rows:
                    self.notice(f"{where}: the exchange serves no mark-price candles; the last price stands in "
                                "for the mark price")
        else:
            self.notice(f"{where}: ccxt has no mark-price candles for {self.exchange_id}; the last price stands "
                        "in for the mark price")
        self.marks[(pair, timeframe)] = bool(rows)
        return attach_mark(candles, mark_frame(rows)) if rows else candles

    def funding_history(self, pair: str, since: int, until: int) -> pd.DataFrame | None:
        """Settlements of ``pair`` in [since, until) as ``date`` + ``rate`` (the pair is then polled); None,
        with a notice, when the exchange has no funding history."""
        if pair not in self._funding:
            rates = self._fetch_funding(pair, since, until, first=True)
            if rates is None:
                return None
            with self._lock:
                self._funding[pair], self._since[pair] = rates, since
                self._due[pair] = align_up((rates[-1][0] if rates else since - 1) + 1, FUNDING_GRID_MS)
        rows = [(t, r) for t, r in self.settlements(pair) if since <= t < until]
        times = np.array([t for t, _ in rows], dtype="int64")
        return pd.DataFrame({"date": ms_to_dates(times), "rate": np.array([r for _, r in rows], dtype="float64")})

    def has_funding(self, pair: str) -> bool:
        """True when the exchange's funding settlements of ``pair`` are followed."""
        return pair in self._funding

    def settlements(self, pair: str) -> list[tuple[int, float]]:
        """A copy of the settlements of ``pair`` known so far, oldest first."""
        with self._lock:
            return list(self._funding.get(pair, ()))

    # -- with every poll -------------------------------------------------------------------------------------

    def poll_marks(self, pair: str, timeframe: str, candles: pd.DataFrame, since: int, until: int, now_ms: int
                   ) -> pd.DataFrame:
        """Polled trade candles with their closed mark candles (NaN, so the last price, where none came)."""
        if not self.marks.get((pair, timeframe)):
            return candles
        where = f"live:{self.exchange_id} {pair} {timeframe}"
        try:
            rows = fetch_ohlcv_range(self.client, pair, timeframe, since, until, price="mark", closed_by_ms=now_ms)
        except Exception as exc:  # never stops the feed: the trade prices stand in for these candles
            log.warning("%s: mark-price poll failed (%s: %s); the last price stands in for these candles' mark",
                        where, type(exc).__name__, exc)
            rows = []
        merged = attach_mark(candles, mark_frame(rows))
        missing = int(merged[MARK_COLUMNS[-1]].isna().sum())
        if missing:
            self.notice(f"{where}: {missing} candle(s) came without a closed mark-price candle; the last price "
                        "stands in for their mark price", key=f"missing-mark:{where}")
        return merged

    def poll_funding(self, now_ms: int, pairs: Sequence[str]) -> int:
        """Fetch the settlements of ``pairs`` (those with a new candle) newer than the last known one, up to
        now, when one may be due (from each whole hour until it is listed, or for ``FUNDING_GRACE_MS``);
        returns how many came."""
        added = 0
        for pair in dict.fromkeys(pairs):
            if pair not in self._funding or now_ms < self._due[pair]:
                continue
            known = self.settlements(pair)
            last = known[-1][0] if known else self._since[pair] - 1
            # from the last known settlement (one listed late is still found), at most a week back
            rates = self._fetch_funding(pair, max(last + 1, now_ms - LATE_SETTLEMENT_MS), now_ms + 1)
            fresh = [(t, r) for t, r in rates or () if t > last]
            with self._lock:
                self._funding[pair].extend(fresh)
            added += len(fresh)
            if fresh or now_ms >= self._due[pair] + FUNDING_GRACE_MS:
                self._due[pair] = align_up(now_ms + 1, FUNDING_GRID_MS)  # the next whole hour
        return added

    def _fetch_funding(self, pair: str, since: int, until: int, first: bool = False) -> list[tuple[int, float]] | None:
        """Settlements in [since, until), or None when the exchange has none or the read failed."""
        where = f"live:{self.exchange_id} {pair}"
        if not self.client.has.get("fetchFundingRateHistory"):
            self.notice(f"{where}: ccxt has no funding history for {self.exchange_id}; a constant "
                        "data.funding_rate (if set) is charged instead")
            return None
        try:
            return fetch_funding_range(self.client, pair, since, until)
        except Exception as exc:  # logged; the feed tries again at its next poll
            if first:
                self.notice(f"{where}: funding history unavailable ({type(exc).__name__}: {exc}); a constant "
                            "data.funding_rate (if set) is charged instead")
            else:
                log.warning("%s: funding poll failed (%s: %s); trying again at the next poll", where,
                            type(exc).__name__, exc)
            return None


def add_settlements(slot: Any, extras: ExchangeExtras) -> int:
    """Append the pair's settlements newer than the instance's series to its market (on the engine thread) and
    re-arm the simulator's funding clock; returns how many were added."""
    pair = slot.stream[0]
    if not extras.has_funding(pair):
        return 0
    venue = slot.inst.venue
    market = venue.market
    last = market.funding_time_ms[-1] if len(market.funding_time_ms) else -1
    fresh = [(t, r) for t, r in extras.settlements(pair) if t > last]
    for t, rate in fresh:
        market.funding_time_ms.append(int(t))
        market.funding_rate.append(float(rate))
    sync = getattr(venue, "sync_funding", None)  # simulated venues; a live account settles its own funding
    if fresh and sync is not None:
        sync()
    return len(fresh)
