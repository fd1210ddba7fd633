"""Top-level config sections other than subaccounts: backtest, data, persistence, front ends, live."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from kektrade.config.base import StrictModel, check_duration, check_iso, iso_to_ms
from kektrade.domain.timeframes import TIMEFRAMES, duration_ms

IsoText = Annotated[str, AfterValidator(check_iso)]
Duration = Annotated[str, AfterValidator(check_duration)]


def _check_timeframe(text: str) -> str:
    if text not in TIMEFRAMES:
        raise ValueError(f"must be one of {', '.join(TIMEFRAMES)} (got {text!r})")
    return text


Timeframe = Annotated[str, AfterValidator(_check_timeframe)]


class ExecutorConfig(StrictModel):
    """Where an optimization's virtual exchanges run: worker processes on this machine, or a Dask cluster."""

    kind: Literal["processes", "dask"] = Field(
        default="processes",
        description=(
            "processes: optimization.workers processes on this machine; dask: a Dask distributed cluster "
            "(needs the dask extra: pip install 'kektrade[dask]')."
        ),
    )
    address: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "Dask scheduler address (tcp://host:8786); null = a local Dask cluster of optimization.workers "
            "processes. Only with kind dask."
        ),
    )
    timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Dask: how long to wait for a worker (at start, or once every worker is gone) before failing.",
    )

    @model_validator(mode="after")
    def _address_needs_dask(self) -> ExecutorConfig:
        if self.address is not None and self.kind != "dask":
            raise ValueError("address is a Dask scheduler address: set kind to 'dask' or remove it")
        return self


class RealisticConfig(StrictModel):
    """Options of the "backtest_perpetual_realistic" venue (latency, partial fills, intra-candle path)."""

    latency_ms: int = Field(
        default=250, ge=0, description="Delay between placing an order and the venue seeing it."
    )
    partial_fill_volume_share: float = Field(
        default=0.1, gt=0, le=1, description="Share of a candle's volume a resting order may fill."
    )
    trade_through_ticks: int = Field(
        default=1, ge=0, description="Ticks the price must trade through a limit price before it fills."
    )
    path_points: int = Field(default=12, ge=4, description="Points of the simulated intra-candle price path.")
    seed: int = Field(default=0, description="Seed of the venue's randomness (deterministic runs).")


class BacktestConfig(StrictModel):
    """The simulated period and the fill rules of backtest venues."""

    start: IsoText | None = Field(
        default=None, description="First candle (ISO date/datetime, UTC); null = data start."
    )
    end: IsoText | None = Field(
        default=None, description="End of the period (exclusive, UTC); null = data end."
    )
    limit_fill: Literal["trade_through", "touch"] = Field(
        default="trade_through",
        description="When a limit order fills: price trades through it, or merely touches it.",
    )
    slippage_bps: float = Field(
        default=0.0, ge=0, description="Slippage in basis points on market and stop-market fills."
    )
    realistic: RealisticConfig = Field(
        default_factory=RealisticConfig, description="Options of the realistic backtest venue."
    )
    rules: Literal["current", "before_2025_09", "classic"] = Field(
        default="current",
        description=(
            "Bybit's margin rules of the period: current (MM and cross IM on the mark price, from 2025-09-02) "
            "before_2025_09 (on the entry price, classic isolated liquidation formula) or classic (the classic "
            "contract account: also its cross liquidation formula; docs/venues.md). Fee rates "
            "the subaccount's fees leave out are the period's base tier at the first traded candle."
        ),
    )

    @property
    def start_ms(self) -> int | None:
        """``start`` as epoch milliseconds, or None."""
        return None if self.start is None else iso_to_ms(self.start)

    @property
    def end_ms(self) -> int | None:
        """``end`` as epoch milliseconds, or None."""
        return None if self.end is None else iso_to_ms(self.end)

    @model_validator(mode="after")
    def _end_after_start(self) -> BacktestConfig:
        if self.start_ms is not None and self.end_ms is not None and self.end_ms <= self.start_ms:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class SyntheticDataConfig(StrictModel):
    """Seeded synthetic candles (offline demo and tests)."""

    seed: int = Field(default=42, description="Random seed of the generated price path.")
    start: IsoText = Field(
        default="2024-01-01", description="First generated candle (ISO date/datetime, UTC)."
    )
    days: float = Field(default=60.0, gt=0, description="Number of days to generate.")
    start_price: float | None = Field(
        default=None, gt=0, description="First price; null = per base coin (BTC 42000, ETH 2300, else 1.0)."
    )
    funding: bool = Field(default=True, description="Generate a funding-rate series too.")

    @property
    def start_ms(self) -> int:
        """``start`` as epoch milliseconds."""
        return iso_to_ms(self.start)


class FileSourceConfig(StrictModel):
    """A candle file for one pair (CSV, Parquet or Feather; freqtrade layouts work)."""

    path: str = Field(description="Path of the candle file (relative to the working directory).")
    format: Literal["auto", "csv", "parquet", "feather"] = Field(
        default="auto", description="File format; auto = from the file extension."
    )
    timeframe: Timeframe = Field(default="1m", description="The file's own candle timeframe.")
    columns: dict[str, str] = Field(
        default_factory=dict, description="Our column name (date/open/high/low/close/volume) -> the file's."
    )
    time_unit: Literal["auto", "ms", "s", "ns", "iso"] = Field(
        default="auto", description="Unit of the date column; auto = guessed from the values."
    )
    mark_path: str | None = Field(
        default=None, description="Optional file of mark-price candles (same format rules)."
    )
    funding_path: str | None = Field(
        default=None,
        description="Optional file of funding rates: columns date + rate, or freqtrade's (rate in open).",
    )
    repair: bool = Field(
        default=False,
        description=(
            "Repair bad candle rows instead of refusing the file: drop unusable rows, widen high/low to "
            "open/close, sort, keep the last of a date given twice (docs/data.md)."
        ),
    )

    @model_validator(mode="after")
    def _known_columns(self) -> FileSourceConfig:
        allowed = ("date", "open", "high", "low", "close", "volume")
        unknown = sorted(set(self.columns) - set(allowed))
        if unknown:
            raise ValueError(f"columns: unknown column {unknown[0]!r}; use {', '.join(allowed)}")
        return self


class DownloadConfig(StrictModel):
    """Where candles are downloaded from when data.source is "download"."""

    exchange: str = Field(default="bybit", description="ccxt exchange id to download from.")
    testnet: bool = Field(default=False, description="Download from the exchange's testnet.")
    api_base: str | None = Field(
        default=None,
        description="Base URL replacing the exchange's API hosts (a mirror, a proxy or a local fake); null = default.",
    )


class DataConfig(StrictModel):
    """Where candles, mark prices and funding rates come from."""

    source: Literal["synthetic", "file", "download"] = Field(
        default="synthetic", description="Candle source: seeded synthetic data, local files, or a download."
    )
    synthetic: SyntheticDataConfig = Field(
        default_factory=SyntheticDataConfig, description="Options of the synthetic source."
    )
    files: dict[str, FileSourceConfig] = Field(
        default_factory=dict, description="Pair (e.g. 'BTC/USDT:USDT') -> candle file, for source 'file'."
    )
    download: DownloadConfig = Field(
        default_factory=DownloadConfig, description="Options of the download source."
    )
    funding_rate: float | None = Field(
        default=None, description="Constant funding rate per interval when no series is given; null = 0."
    )


def _check_equity_sample(text: str) -> str:
    if text != "candle":
        duration_ms(text)
    return text


class PersistenceConfig(StrictModel):
    """How the run database is written."""

    batch_interval_s: float = Field(
        default=1.0, gt=0, description="Seconds between database batches (the most that a crash can lose)."
    )
    equity_sample: Annotated[str, AfterValidator(_check_equity_sample)] = Field(
        default="1h", description="How often the equity series is stored: a duration like '1h', or 'candle'."
    )


class TuiConfig(StrictModel):
    """The terminal user interface."""

    theme: str = Field(
        default="kektrade-dark", description="Theme name (a file in themes_dir or a built-in theme)."
    )
    themes_dir: str = Field(default="themes", description="Folder of theme files.")
    refresh_hz: float = Field(default=4.0, ge=1, le=30, description="Screen refreshes per second.")


class WebConfig(StrictModel):
    """The read-only web page."""

    enabled: bool = Field(default=False, description="Serve the web page.")
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8765, ge=1, le=65535, description="TCP port to listen on.")


NotifyKind = Literal["fills", "selections", "errors", "liquidations", "status"]
DEFAULT_NOTIFY: tuple[NotifyKind, ...] = ("selections", "errors", "liquidations", "status")


class TelegramConfig(StrictModel):
    """The Telegram bot (token only from the environment variable KEKTRADE_TELEGRAM_TOKEN)."""

    enabled: bool = Field(default=False, description="Run the Telegram bot.")
    chat_ids: list[int] = Field(default_factory=list, description="Chats allowed to talk to the bot.")
    notify: list[NotifyKind] = Field(
        default_factory=lambda: list(DEFAULT_NOTIFY),
        description="Events pushed to the chats: fills, selections, errors, liquidations, status.",
    )


class LiveConfig(StrictModel):
    """Options of live venues."""

    cancel_orders_on_exit: bool = Field(default=True, description="Cancel open orders when kektrade stops.")
    poll_interval_s: float = Field(default=5.0, gt=0, description="Seconds between polls of the venue.")
    paper_exchange: str = Field(
        default="bybit", description="ccxt exchange whose public candles paper subaccounts trade on."
    )
    save_state_every: int = Field(
        default=1, ge=1, description="Candles between saved instance states (resume points); also at exit."
    )
    api_base: str | None = Field(
        default=None,
        description="Replace the exchange's API base URL (e.g. http://127.0.0.1:8080 for a local fake or a "
        "proxy); null = the exchange's own (testnet when the subaccount says testnet).",
    )
    warm_start: bool = Field(
        default=True,
        description="Live optimization: play the virtual exchanges over the lookback before the start, so the "
        "first selection happens at the first re-optimization boundary instead of a full lookback later.",
    )
    orders_found_on_start: Literal["adopt", "cancel"] = Field(
        default="adopt",
        description="Open orders found on the exchange at start that the run did not place: 'adopt' manages "
        "them like its own, 'cancel' cancels them. The run's own orders are always adopted.",
    )
    retry_attempts: int = Field(
        default=5, ge=1, le=20, description="Tries of one exchange call on transient faults (timeouts, 5xx, 429)."
    )
    retry_max_wait_s: float = Field(
        default=30.0, gt=0, le=600, description="Most seconds one exchange call waits between its retries in total."
    )
