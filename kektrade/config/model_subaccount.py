"""The subaccount config (one strategy on one pair on one venue) and the partial ``defaults`` object."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from kektrade.config.base import StrictModel
from kektrade.config.model_sections import Duration, ExecutorConfig, Timeframe
from kektrade.domain.timeframes import duration_ms, timeframe_ms
from kektrade.domain.venues import DEFAULT_VENUE, VENUES, VenueInfo, VenueKind, venue_info, venue_names

#: Venues simulated by kektrade on historical candles (from the venue registry, domain/venues.py).
BACKTEST_VENUES = tuple(venue_names(VenueKind.BACKTEST))
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PAIR_PATTERN = re.compile(r"^([A-Z0-9]+)/([A-Z0-9]+):([A-Z0-9]+)$")
_ENV_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def check_id(text: str) -> str:
    """Validate an id: 1-64 letters, digits, '_' or '-'."""
    if not ID_PATTERN.match(text):
        raise ValueError(f"must be 1-64 letters, digits, '_' or '-' (got {text!r})")
    return text


def split_pair(pair: str) -> tuple[str, str, str]:
    """(base, quote, settle) of a ccxt perpetual symbol ``BASE/QUOTE:SETTLE``; ValueError otherwise."""
    match = _PAIR_PATTERN.match(pair)
    if not match:
        raise ValueError(
            f"must be a ccxt perpetual symbol BASE/QUOTE:SETTLE such as 'BTC/USDT:USDT' (linear) "
            f"or 'BTC/USD:BTC' (inverse) (got {pair!r})"
        )
    base, quote, settle = match.groups()
    if settle not in (base, quote):
        raise ValueError(f"settle currency must be the quote (linear) or the base (inverse) (got {pair!r})")
    return base, quote, settle


def _check_pair(pair: str) -> str:
    split_pair(pair)
    return pair


def _check_venue(venue: str) -> str:
    venue_info(venue)  # ValueError listing the registered venues
    return venue


def _check_env(prefix: str) -> str:
    if not _ENV_PATTERN.match(prefix):
        raise ValueError(f"must be an environment variable prefix like 'KEKTRADE_MAIN' (got {prefix!r})")
    return prefix


def default_credentials_env(subaccount_id: str) -> str:
    """The default environment prefix of a subaccount: ``KEKTRADE_<ID upper-cased, '-' -> '_'>``."""
    return "KEKTRADE_" + subaccount_id.upper().replace("-", "_")


Id = Annotated[str, AfterValidator(check_id)]
Pair = Annotated[str, AfterValidator(_check_pair)]
Venue = Annotated[str, AfterValidator(_check_venue)]
EnvPrefix = Annotated[str, AfterValidator(_check_env)]
Leverage = Annotated[float, Field(gt=0, le=200)]
Balance = Annotated[float, Field(gt=0)]
MarginMode = Literal["isolated", "cross"]


class FeesConfig(StrictModel):
    """Trading fee rates (fractions of the order value; negative maker = rebate); null = the exchange's."""

    taker: float | None = Field(
        default=None, ge=-0.01, le=0.01,
        description="Taker fee rate; null = the exchange's from its market data (Bybit's base tier 0.055 % when none).",
    )
    maker: float | None = Field(
        default=None, ge=-0.01, le=0.01,
        description="Maker fee rate (negative = rebate); null = the exchange's (Bybit's base tier 0.02 % when none).",
    )


class OptimizationConfig(StrictModel):
    """Live optimization: periodically re-pick the strategy parameters from the search space."""

    enabled: bool = Field(default=False, description="Re-optimize the parameters while running.")
    reoptimize_every: Duration = Field(default="1d", description="Time between optimizations (duration).")
    lookback: Duration = Field(default="7d", description="History each optimization scores on (duration).")
    objective: Literal["return", "sharpe", "sortino", "calmar", "profit_factor"] = Field(
        default="sharpe", description="Score that ranks parameter combinations."
    )
    min_trades: int = Field(default=1, ge=0, description="Combinations with fewer trades are not eligible.")
    min_score: float | None = Field(
        default=None,
        description=(
            "Minimum score to trade, in the objective's units: return as a fraction over the lookback "
            "(0.01 = +1 %), sharpe/sortino annualised over a 365-day year (1.0), calmar annualised return / "
            "max drawdown (2.0), profit_factor gross profit / gross loss (1.3); null = any finite score."
        ),
    )
    switch_policy: Literal["flatten", "handover"] = Field(
        default="flatten", description="On a parameter switch: flatten the position, or hand it over."
    )
    stand_aside: Literal["flatten", "cancel_orders"] = Field(
        default="flatten", description="When no combination is eligible: flatten, or only cancel orders."
    )
    leaderboard_size: int = Field(
        default=10, ge=1, le=100, description="Best combinations kept per optimization."
    )
    max_combinations: int = Field(default=1000, ge=1, description="Upper bound on the expanded search space.")
    align_utc: bool = Field(
        default=True, description="Run optimizations on UTC boundaries of reoptimize_every."
    )
    workers: int | None = Field(default=None, ge=1, description="Worker processes; null = number of CPUs.")
    executor: ExecutorConfig = Field(
        default_factory=ExecutorConfig,
        description="Where the virtual exchanges run: local worker processes, or a Dask cluster.",
    )
    pbo_blocks: int = Field(
        default=16,
        ge=4,
        le=24,
        multiple_of=2,
        description="Blocks of the PBO (CSCV) overfitting diagnostic: even, 4-24; 16 gives 12,870 splits.",
    )
    allow_lookahead: bool = Field(
        default=False,
        description="Optimize even when the backtest's look-ahead check flags the strategy (not recommended).",
    )

    @property
    def reoptimize_every_ms(self) -> int:
        """``reoptimize_every`` in milliseconds."""
        return duration_ms(self.reoptimize_every)

    @property
    def lookback_ms(self) -> int:
        """``lookback`` in milliseconds."""
        return duration_ms(self.lookback)


class RiskTierConfig(StrictModel):
    """One rung of a risk-limit ladder (Bybit's /v5/market/risk-limit row)."""

    limit_value: float = Field(gt=0, description="Largest position value of the tier (settle coin), inclusive.")
    mmr: float = Field(gt=0, lt=1, description="Maintenance margin rate of the tier (fraction).")
    max_leverage: float = Field(gt=0, description="Highest leverage allowed in the tier.")
    imr: float | None = Field(default=None, gt=0, le=1, description="Initial margin rate; null = 1 / max_leverage.")
    deduction: float | None = Field(
        default=None, ge=0, description="MM deduction; null = derived from the ladder as Bybit does."
    )


class ContractOverrides(StrictModel):
    """Contract-spec overrides for pairs without built-in specs (null = keep the spec's value)."""

    tick_size: float | None = Field(default=None, gt=0, description="Price increment.")
    lot_step: float | None = Field(default=None, gt=0, description="Quantity increment.")
    min_qty: float | None = Field(default=None, gt=0, description="Smallest order quantity.")
    max_qty: float | None = Field(default=None, gt=0, description="Largest order quantity.")
    max_leverage: float | None = Field(default=None, gt=0, description="Highest allowed leverage.")
    funding_interval: Duration | None = Field(default=None, description="Time between fundings (duration).")
    contract_size: float | None = Field(default=None, gt=0, description="Base coin per contract (linear).")
    risk_tiers: list[RiskTierConfig] | None = Field(
        default=None,
        min_length=1,
        description="Risk-limit ladder, lowest tier first (limit values increasing); null = the pair's own.",
    )

    @model_validator(mode="after")
    def _ladder_in_order(self) -> ContractOverrides:
        tiers = self.risk_tiers or []
        for n in range(1, len(tiers)):
            if tiers[n].limit_value <= tiers[n - 1].limit_value:
                raise ValueError(f"risk_tiers[{n}].limit_value: must be above the tier before it")
            if tiers[n].mmr < tiers[n - 1].mmr:
                raise ValueError(f"risk_tiers[{n}].mmr: must not be below the tier before it")
        return self

    @property
    def funding_interval_ms(self) -> int | None:
        """``funding_interval`` in milliseconds, or None."""
        return None if self.funding_interval is None else duration_ms(self.funding_interval)


#: One description per subaccount field, shared by SubaccountConfig and SubaccountDefaults.
DESCRIPTIONS = {
    "id": "Unique name of the subaccount (letters, digits, '_' or '-').",
    "strategy": "Strategy class name, found under strategies_dir.",
    "pair": "ccxt symbol BASE/QUOTE:SETTLE ('BTC/USDT:USDT' linear, 'BTC/USD:BTC' inverse).",
    "timeframe": "Candle timeframe the strategy runs on.",
    "venue": "Where the subaccount trades (the venue registry): "
    + "; ".join(f"{v.name} ({v.kind.value})" for v in VENUES.values())
    + "; or ccxt:<exchange id> (live, any ccxt exchange with swap markets, not covered by tests).",
    "testnet": "Use the venue's testnet (live venues).",
    "initial_balance": "Starting wallet in the settle currency (backtests; inverse pairs must set it).",
    "leverage": "Leverage, in (0, 200].",
    "margin_mode": "Margin mode: isolated or cross.",
    "fees": "Fee rates.",
    "parameters": "Fixed strategy parameters; they replace the search-space entries.",
    "optimization": "Live optimization options.",
    "contract": "Contract-spec overrides for pairs without built-in specs.",
    "on_error_cancel_orders": "When the strategy raises it pauses; also cancel its open orders.",
    "enabled": "Run this subaccount.",
    "credentials_env": (
        "Env prefix P of P_API_KEY and P_API_SECRET; null = KEKTRADE_ + id upper-cased, '-' -> '_'."
    ),
}


def _d(name: str) -> Any:
    return Field(default=None, description=DESCRIPTIONS[name])


class SubaccountDefaults(StrictModel):
    """Fields every subaccount starts from (any subaccount field except id); nested objects merge per key."""

    strategy: str | None = _d("strategy")
    pair: Pair | None = _d("pair")
    timeframe: Timeframe | None = _d("timeframe")
    venue: Venue | None = _d("venue")
    testnet: bool | None = _d("testnet")
    initial_balance: Balance | None = _d("initial_balance")
    leverage: Leverage | None = _d("leverage")
    margin_mode: MarginMode | None = _d("margin_mode")
    fees: FeesConfig | None = _d("fees")
    parameters: dict[str, Any] | None = _d("parameters")
    optimization: OptimizationConfig | None = _d("optimization")
    contract: ContractOverrides | None = _d("contract")
    on_error_cancel_orders: bool | None = _d("on_error_cancel_orders")
    enabled: bool | None = _d("enabled")
    credentials_env: EnvPrefix | None = _d("credentials_env")


class SubaccountConfig(StrictModel):
    """One subaccount after merging ``defaults``: a strategy instance on one pair and one venue."""

    id: Id = Field(description=DESCRIPTIONS["id"])
    strategy: str = Field(min_length=1, description=DESCRIPTIONS["strategy"])
    pair: Pair = Field(description=DESCRIPTIONS["pair"])
    timeframe: Timeframe = Field(default="5m", description=DESCRIPTIONS["timeframe"])
    venue: Venue = Field(default=DEFAULT_VENUE, description=DESCRIPTIONS["venue"])
    testnet: bool = Field(default=False, description=DESCRIPTIONS["testnet"])
    initial_balance: Balance = Field(default=10000.0, description=DESCRIPTIONS["initial_balance"])
    leverage: Leverage = Field(default=1.0, description=DESCRIPTIONS["leverage"])
    margin_mode: MarginMode = Field(default="isolated", description=DESCRIPTIONS["margin_mode"])
    fees: FeesConfig = Field(default_factory=FeesConfig, description=DESCRIPTIONS["fees"])
    parameters: dict[str, Any] = Field(default_factory=dict, description=DESCRIPTIONS["parameters"])
    optimization: OptimizationConfig = Field(
        default_factory=OptimizationConfig, description=DESCRIPTIONS["optimization"]
    )
    contract: ContractOverrides = Field(
        default_factory=ContractOverrides, description=DESCRIPTIONS["contract"]
    )
    on_error_cancel_orders: bool = Field(default=False, description=DESCRIPTIONS["on_error_cancel_orders"])
    enabled: bool = Field(default=True, description=DESCRIPTIONS["enabled"])
    credentials_env: EnvPrefix | None = Field(default=None, description=DESCRIPTIONS["credentials_env"])

    @model_validator(mode="before")
    @classmethod
    def _default_credentials_env(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("credentials_env") is None and isinstance(data.get("id"), str):
            return {**data, "credentials_env": default_credentials_env(data["id"])}
        return data

    @property
    def base(self) -> str:
        """Base currency of the pair ("BTC" in "BTC/USDT:USDT")."""
        return split_pair(self.pair)[0]

    @property
    def quote(self) -> str:
        """Quote currency of the pair."""
        return split_pair(self.pair)[1]

    @property
    def settle(self) -> str:
        """Settle (margin) currency of the pair."""
        return split_pair(self.pair)[2]

    @property
    def is_inverse(self) -> bool:
        """True for coin-margined pairs (settle == base)."""
        return self.settle == self.base

    @property
    def venue_info(self) -> VenueInfo:
        """The registered venue and its capabilities."""
        return venue_info(self.venue)

    @property
    def is_backtest(self) -> bool:
        """True when the venue is simulated by kektrade (backtest venues and paper: no API keys needed)."""
        return self.venue_info.simulated

    @property
    def is_paper(self) -> bool:
        """True for a paper venue: live candles, orders filled by the simulator."""
        return self.venue_info.kind is VenueKind.PAPER

    @property
    def is_realtime(self) -> bool:
        """True when the subaccount runs on live candles (paper or a live venue)."""
        return self.venue_info.realtime

    @property
    def timeframe_ms(self) -> int:
        """The candle timeframe in milliseconds."""
        return timeframe_ms(self.timeframe)

    @property
    def credentials_prefix(self) -> str:
        """The environment prefix of this subaccount's API key and secret."""
        return self.credentials_env or default_credentials_env(self.id)
