"""``kektrade download CONFIG``: fill the candle cache of a download-source config ahead of a run.

Each traded (pair, timeframe) is downloaded into ``<history_dir>/data`` (the cache the run reads) with a
progress callback per market. Network failures are turned into one sentence naming the cause (no
connection, name not resolved, refused, timed out, HTTP error) and the URL that failed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kektrade.config import KektradeConfig
from kektrade.data.cache import download_market_data
from kektrade.data.market import DataError, MarketData

ProgressFactory = Callable[[str], Callable[[int, int], None]]


class DownloadFailed(RuntimeError):
    """A download could not complete; the message names the market, the source and the cause."""


@dataclass(frozen=True, slots=True)
class Market:
    """One (pair, timeframe) to download."""

    pair: str
    timeframe: str

    @property
    def label(self) -> str:
        """``BTC/USDT:USDT 5m``."""
        return f"{self.pair} {self.timeframe}"


def markets_of(config: KektradeConfig) -> list[Market]:
    """The distinct (pair, timeframe) of the enabled subaccounts, in config order."""
    seen: dict[tuple[str, str], Market] = {}
    for sub in config.subaccounts:
        if sub.enabled:
            seen.setdefault((sub.pair, sub.timeframe), Market(sub.pair, sub.timeframe))
    return list(seen.values())


def _ms(value: object, name: str) -> int:
    if value is None:
        raise DownloadFailed(f"backtest.{name}: required to know what to download")
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


def network_cause(exc: BaseException) -> str:
    """The root cause of a network failure in words (the exception chain's innermost useful error)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for err in reversed(chain):
        if isinstance(err, socket.gaierror):
            return "the host name could not be resolved (offline, or no DNS)"
        if isinstance(err, ConnectionRefusedError):
            return "the connection was refused (nothing listens at that address)"
        if isinstance(err, TimeoutError | socket.timeout):
            return "the connection timed out"
    text = " ".join(str(exc).split())
    if "NameResolutionError" in text or "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name could not be resolved (offline, or no DNS)"
    if "Connection refused" in text:
        return "the connection was refused (nothing listens at that address)"
    if "timed out" in text.lower():
        return "the connection timed out"
    return f"{type(exc).__name__}: {text[:300]}"


def download_config_data(config: KektradeConfig, progress: ProgressFactory | None = None) -> list[MarketData]:
    """Download every market of ``config`` into the run's candle cache; DownloadFailed names the cause."""
    if config.data.source != "download":
        raise DownloadFailed(f"data.source is {config.data.source!r}: only 'download' configs fetch candles")
    options = config.data.download
    start = _ms(config.backtest.start, "start")
    end = _ms(config.backtest.end, "end")
    cache = Path(config.history_dir) / "data"
    where = options.api_base or f"{options.exchange}'s default API" + (" (testnet)" if options.testnet else "")
    found: list[MarketData] = []
    for market in markets_of(config):
        report = progress(market.label) if progress is not None else None
        try:
            found.append(
                download_market_data(options.exchange, market.pair, market.timeframe, start, end, cache,
                                     testnet=options.testnet, api_base=options.api_base, on_progress=report)
            )  # fmt: skip
        except DataError:
            raise
        except Exception as exc:  # ccxt's network and exchange errors, socket errors
            raise DownloadFailed(
                f"download {market.label} from {where} failed: {network_cause(exc)}"
                f" [{type(exc).__name__}: {' '.join(str(exc).split())[:200]}]"
            ) from exc
    return found
