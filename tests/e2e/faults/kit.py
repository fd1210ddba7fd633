"""Building blocks of the fault suite: the real ccxt client through the proxy, a LiveVenue, and checks.

The checks compare kektrade's view with the fake exchange's own state (its order book and execution
list), never with kektrade's code.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import ccxt

from kektrade.domain.journal import Journal
from kektrade.engine.live_venue import LiveVenue
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from kektrade.exchange.live.ohlcv import make_exchange
from kektrade.exchange.live.retry import RetryPolicy
from kektrade.exchange.sim.settings import MarketArrays
from tests.fakes.bybit_trading import API_KEY, API_SECRET, MINUTE_MS, T0_MS, FakeBybitExchange

SYMBOL = "BTCUSDT"
PAIR = "BTC/USDT:USDT"
TIMEOUT_MS = 2_000  # ccxt's request timeout in the suite (a held connection costs this long)


def fast_policy(attempts: int = 4) -> RetryPolicy:
    """Retries with tiny backoff (Retry-After still honoured), so faults clear quickly."""
    return RetryPolicy(attempts=attempts, base_delay_s=0.01, max_delay_s=0.05, max_total_s=5.0)


def client(base_url: str) -> ccxt.Exchange:
    """The real sync ccxt bybit client pointed at ``base_url`` (the proxy), with the fake's keys."""
    exchange = make_exchange("bybit", api_base=base_url)
    exchange.apiKey, exchange.secret = API_KEY, API_SECRET
    exchange.timeout = TIMEOUT_MS
    return exchange


def price_at(n: int) -> tuple[float, float, float, float]:
    """The deterministic candle ``n`` (OHLC): a zig-zag around 100 so limit orders fill now and then."""
    base = 100.0 + (n % 7) - 3 + 0.1 * (n % 3)
    return base, base + 1.5, base - 1.5, base + (0.5 if n % 2 else -0.5)


def ensure_candles(fake: FakeBybitExchange, count: int) -> None:
    """Make the fake's market hold at least ``count`` candles (idempotent)."""
    sim = fake.sims[SYMBOL]
    while len(sim.market) < count:
        fake.push_candle(SYMBOL, *price_at(len(sim.market)))


def fresh_account(fake: FakeBybitExchange) -> FakeBybitExchange:
    """``fake`` reset to a fresh 10,000 USDT account (leverage 10) with 4 closed candles of ``price_at``."""
    fake.reset_trading()
    fake.open_account(SYMBOL, 10_000.0, leverage=10)
    ensure_candles(fake, 4)
    return fake


def arrays_until(count: int) -> MarketArrays:
    """kektrade's candle columns for the first ``count`` candles of ``price_at``."""
    rows = [price_at(n) for n in range(count)]
    return MarketArrays(
        [T0_MS + n * MINUTE_MS for n in range(count)], [r[0] for r in rows], [r[1] for r in rows],
        [r[2] for r in rows], [r[3] for r in rows], timeframe_ms=MINUTE_MS,
    )  # fmt: skip


def venue(base_url: str, journal: Journal | None, count: int, run_id: str = "run", attempts: int = 4) -> LiveVenue:
    """A LiveVenue over CcxtSubaccount over ccxt over ``base_url``, with candle columns for ``count``."""
    account = CcxtSubaccount(client(base_url), PAIR, retry=fast_policy(attempts))
    return LiveVenue(account, arrays_until(count), journal, "s1", run_id=run_id)


def exchange_orders(fake: FakeBybitExchange) -> list[Any]:
    """Every order the fake accepted for the symbol."""
    return list(fake.orders[SYMBOL])


def duplicates(fake: FakeBybitExchange) -> int:
    """Orders beyond the first per client id, plus orders without a client id."""
    links = Counter(o.client_id for o in exchange_orders(fake))
    return sum(n - 1 for link, n in links.items() if link) + links.get(None, 0)


def exchange_exec_ids(fake: FakeBybitExchange) -> list[str]:
    """The fake's execution ids (as its execution/list reports them)."""
    return [f"{SYMBOL}-{k}" for k in range(len(fake.sims[SYMBOL].fills))]


def mismatches(fake: FakeBybitExchange, live: LiveVenue) -> list[str]:
    """Differences between the venue's view and the fake's state (open orders, fills, position)."""
    out = []
    sim = fake.sims[SYMBOL]
    exchange_open = sorted(o.id for o in sim.get_open_orders())
    venue_open = sorted(o.id for o in live.cached_orders)
    if exchange_open != venue_open:
        out.append(f"open orders: exchange {exchange_open} != kektrade {venue_open}")
    if sorted(live._exec_ids) != sorted(exchange_exec_ids(fake)):
        out.append(f"executions: exchange {len(sim.fills)} != kektrade {len(live._exec_ids)}")
    position = live.cached_position
    if position is None or abs(position.contracts - sim.contracts) > 1e-9:
        out.append(f"position: exchange {sim.contracts} != kektrade {position and position.contracts}")
    return out
