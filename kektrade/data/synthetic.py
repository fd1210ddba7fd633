"""A deterministic synthetic perpetual market: regimes, fat tails, volatility clustering, funding.

The path is simulated at 1 minute and resampled for coarser timeframes, so highs and lows always come
from the path. Volatility follows GARCH(1,1) on hourly returns (each hour's 60 minute shocks are
Student-t); regimes (up / down / range) switch hourly with persistence; each minute's high and low are
drawn from the exact extreme distribution of a Brownian bridge between its open and close.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kektrade.data.market import MarketData, ms_to_dates
from kektrade.data.resample import resample
from kektrade.domain.specs import builtin_spec
from kektrade.domain.timeframes import MINUTE_MS, align_down, align_up, timeframe_ms

DEFAULT_START_PRICES = {"BTC": 42_000.0, "ETH": 2_300.0}
HOUR_MS = 60 * MINUTE_MS
FUNDING_INTERVAL_MS = 8 * HOUR_MS
REGIMES = ("range", "up", "down")
_DRIFT_PER_DAY = np.array([0.0, 0.03, -0.03])  # log drift per regime
_VOL_SCALE = np.array([0.7, 1.0, 1.15])  # range markets are quieter, sell-offs wilder
_STAY_PROB = 0.985  # hourly: a regime lasts ~2.8 days on average
_HOURLY_VAR = (0.03 / math.sqrt(24)) ** 2  # ~3 % daily volatility
_GARCH_ALPHA, _GARCH_BETA = 0.08, 0.90
_T_DF = 4.0


@dataclass(frozen=True)
class SyntheticPath:
    """The raw 1-minute simulation: log prices at minute boundaries plus the hourly regime labels."""

    log_close: np.ndarray  # n + 1 values: the open of minute 0, then each minute's close
    log_high: np.ndarray
    log_low: np.ndarray
    abs_shock: np.ndarray  # |standardized minute return|, drives volume
    regimes: np.ndarray  # per hour: index into REGIMES


def pair_seed(seed: int, pair: str) -> list[int]:
    """Entropy for numpy's generator from the seed and a stable hash of the pair (never ``hash()``)."""
    return [int(seed) & 0xFFFFFFFF, zlib.crc32(pair.encode("utf-8"))]


def default_start_price(pair: str) -> float:
    """BTC 42000, ETH 2300, anything else 1.0."""
    return DEFAULT_START_PRICES.get(pair.split("/", maxsplit=1)[0].upper(), 1.0)


def tick_for(pair: str, price: float) -> float:
    """The built-in tick size of the pair, else six significant digits at ``price``."""
    spec = builtin_spec(pair)
    if spec is not None:
        return spec.tick_size
    return 10.0 ** (math.floor(math.log10(price)) - 5)


def simulate_regimes(rng: np.random.Generator, hours: int) -> np.ndarray:
    """A persistent Markov chain of regime indices, one per hour."""
    stay = rng.random(hours) < _STAY_PROB
    draws = rng.integers(0, len(REGIMES), hours)
    segment = np.cumsum(~stay)  # a new segment starts whenever the chain leaves its state
    first = np.r_[0, np.flatnonzero(~stay)]
    states = draws[first]
    return states[segment]


def _hourly_sigma(rng: np.random.Generator, unit_hour_shock: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """GARCH(1,1) hourly volatility driven by the realized (standardized) hourly shocks."""
    omega = _HOURLY_VAR * (1 - _GARCH_ALPHA - _GARCH_BETA)
    var = _HOURLY_VAR * rng.uniform(0.5, 1.5)
    sigma = np.empty(unit_hour_shock.size)
    for h, shock in enumerate(unit_hour_shock.tolist()):
        s = math.sqrt(var)
        sigma[h] = s
        ret = s * shock
        var = omega + _GARCH_ALPHA * ret * ret + _GARCH_BETA * var
    return sigma * scale


def _bridge_excursion(rng: np.random.Generator, up: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """How far a Brownian bridge climbs above its higher end, for end-to-end moves ``up`` (>= 0 or < 0)."""
    uniform = rng.random(up.size)
    move = np.abs(up)
    peak = 0.5 * (move + np.sqrt(move * move - 2.0 * sigma * sigma * np.log1p(-uniform)))
    return peak - move


def generate_path(seed: int, pair: str, minutes: int) -> SyntheticPath:
    """Simulate ``minutes`` one-minute log returns for ``pair``, deterministic from ``seed``."""
    rng = np.random.default_rng(pair_seed(seed, pair))
    hours = max(1, -(-minutes // 60))
    regimes = simulate_regimes(rng, hours)
    t_scale = math.sqrt((_T_DF - 2) / _T_DF)
    shocks = rng.standard_t(_T_DF, size=hours * 60) * t_scale
    hourly_unit = shocks.reshape(hours, 60).sum(axis=1) / math.sqrt(60)
    sigma_min = np.repeat(_hourly_sigma(rng, hourly_unit, _VOL_SCALE[regimes]) / math.sqrt(60), 60)[:minutes]
    drift = np.repeat(_DRIFT_PER_DAY[regimes] / 1440.0, 60)[:minutes]
    shocks = shocks[:minutes]
    returns = drift + sigma_min * shocks
    log_close = np.concatenate(([0.0], np.cumsum(returns)))
    top = np.maximum(log_close[:-1], log_close[1:]) + _bridge_excursion(rng, returns, sigma_min)
    bottom = np.minimum(log_close[:-1], log_close[1:]) - _bridge_excursion(rng, returns, sigma_min)
    return SyntheticPath(log_close, top, bottom, np.abs(shocks), regimes)


def _round_to(values: np.ndarray, tick: float, how: str) -> np.ndarray:
    """Round prices to the tick (``how``: round / ceil / floor) without float dust."""
    steps = values / tick
    if how == "ceil":
        steps = np.ceil(steps)
    elif how == "floor":
        steps = np.floor(steps)
    else:
        steps = np.round(steps)
    decimals = max(0, -math.floor(math.log10(tick)) + 1)
    return np.round(steps * tick, decimals)


def _candles_1m(
    path: SyntheticPath, rng: np.random.Generator, start_ms: int, price: float, tick: float
) -> pd.DataFrame:
    """The 1-minute OHLCV frame of a simulated path, on the tick grid, open == previous close."""
    n = path.log_high.size
    closes = np.maximum(_round_to(price * np.exp(path.log_close), tick, "round"), tick)
    opens, closes = closes[:-1], closes[1:]
    highs = np.maximum(_round_to(price * np.exp(path.log_high), tick, "ceil"), np.maximum(opens, closes))
    lows = np.minimum(_round_to(price * np.exp(path.log_low), tick, "floor"), np.minimum(opens, closes))
    lows = np.maximum(lows, tick)
    notional = 150_000.0 * (0.4 + 1.2 * path.abs_shock) * rng.lognormal(0.0, 0.35, n)
    volume = np.round(notional / closes, 3)
    dates = ms_to_dates(start_ms + MINUTE_MS * np.arange(n, dtype="int64"))
    return pd.DataFrame(
        {"date": dates, "open": opens, "high": highs, "low": lows, "close": closes, "volume": volume}
    )


def _funding(path: SyntheticPath, rng: np.random.Generator, start_ms: int, end_ms: int) -> pd.DataFrame:
    """8-hourly rates at 00/08/16 UTC: ~0.0001 plus the trailing 8h trend and noise, clipped to ±0.0075."""
    times = np.arange(align_up(start_ms, FUNDING_INTERVAL_MS), end_ms, FUNDING_INTERVAL_MS, dtype="int64")
    minute = ((times - start_ms) // MINUTE_MS).clip(0, path.log_close.size - 1)
    back = (minute - 480).clip(0, None)
    trend = path.log_close[minute] - path.log_close[back]
    draws = rng.normal(0.0, 0.00004, times.size)
    noise = np.empty(times.size)
    level = 0.0
    for i, draw in enumerate(draws.tolist()):  # AR(1) noise: funding is sticky
        level = 0.7 * level + draw
        noise[i] = level
    rates = np.clip(0.0001 + 0.004 * trend + noise, -0.0075, 0.0075)
    return pd.DataFrame({"date": ms_to_dates(times), "rate": np.round(rates, 8)})


def synthetic_market(
    pair: str,
    timeframe: str,
    start_ms: int,
    days: float,
    seed: int,
    start_price: float | None = None,
    funding: bool = True,
) -> MarketData:
    """A deterministic synthetic market of ``days`` days from ``start_ms`` (aligned down to the timeframe)."""
    step = timeframe_ms(timeframe)
    if days <= 0:
        raise ValueError(f"data.synthetic.days: must be greater than 0 (got {days})")
    price = start_price if start_price is not None else default_start_price(pair)
    if price <= 0:
        raise ValueError(f"data.synthetic.start_price: must be greater than 0 (got {price})")
    start_ms = align_down(int(start_ms), step)
    end_ms = align_down(start_ms + int(days * 86_400_000), step)
    minutes = max(1, (end_ms - start_ms) // MINUTE_MS)
    path = generate_path(seed, pair, minutes)
    rng = np.random.default_rng([*pair_seed(seed, pair), 1])
    candles = _candles_1m(path, rng, start_ms, price, tick_for(pair, price))
    if step != MINUTE_MS:
        candles = resample(candles, timeframe, MINUTE_MS)
    rates = _funding(path, rng, start_ms, start_ms + minutes * MINUTE_MS) if funding else None
    return MarketData(pair, timeframe, candles, rates, (), f"synthetic(seed={seed})")
