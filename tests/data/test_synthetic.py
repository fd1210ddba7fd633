"""The synthetic market: determinism, statistical sanity, invariants, timeframe and length, speed."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib

import numpy as np
import pandas as pd
import pytest

from kektrade.data.market import date_ms
from kektrade.data.synthetic import (
    REGIMES,
    default_start_price,
    generate_path,
    pair_seed,
    simulate_regimes,
    synthetic_market,
    tick_for,
)

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
M = 60_000


def test_same_seed_gives_identical_frames_and_other_seeds_or_pairs_differ() -> None:
    a = synthetic_market("BTC/USDT:USDT", "5m", T0, 5, seed=7)
    b = synthetic_market("BTC/USDT:USDT", "5m", T0, 5, seed=7)
    pd.testing.assert_frame_equal(a.candles, b.candles, check_exact=True)
    assert a.funding is not None and b.funding is not None
    pd.testing.assert_frame_equal(a.funding, b.funding, check_exact=True)
    c = synthetic_market("BTC/USDT:USDT", "5m", T0, 5, seed=8)
    assert not np.array_equal(a.candles["close"].to_numpy(), c.candles["close"].to_numpy())
    d = synthetic_market("ETH/USDT:USDT", "5m", T0, 5, seed=7, start_price=42_000.0)
    assert not np.array_equal(a.candles["close"].to_numpy(), d.candles["close"].to_numpy())


def test_pair_seed_is_stable_across_processes() -> None:
    assert pair_seed(42, "BTC/USDT:USDT") == [42, zlib.crc32(b"BTC/USDT:USDT")]  # not hash()
    code = (
        "from kektrade.data.synthetic import synthetic_market as s;"
        "print(s('XRP/USDT:USDT', '1h', 1704067200000, 2, 42).candles['close'].tolist())"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": salt}).stdout
        for salt in ("1", "2")
    }
    here = synthetic_market("XRP/USDT:USDT", "1h", T0, 2, 42).candles["close"].tolist()
    assert outputs == {f"{here}\n"}


def test_one_minute_invariants() -> None:
    data = synthetic_market("BTC/USDT:USDT", "1m", T0, 2, seed=1)
    c = data.candles
    assert len(c) == 2 * 1440
    assert np.all(np.diff(date_ms(c)) == M) and date_ms(c)[0] == T0
    assert np.array_equal(c["open"].to_numpy()[1:], c["close"].to_numpy()[:-1])  # open == previous close
    assert c["open"].iloc[0] == 42_000.0
    assert (c["high"] >= c[["open", "close"]].max(axis=1)).all()
    assert (c["low"] <= c[["open", "close"]].min(axis=1)).all()
    assert (c["high"] > c[["open", "close"]].max(axis=1)).mean() > 0.5  # wicks come from the path
    ticks = c[["open", "high", "low", "close"]].to_numpy() / 0.1  # BTC/USDT:USDT tick
    assert np.allclose(ticks, np.round(ticks), atol=1e-6)
    assert (c["volume"] > 0).all()
    assert data.gaps == () and data.source == "synthetic(seed=1)"


def test_coarser_timeframes_have_the_right_length_and_alignment() -> None:
    for timeframe, step in (("5m", 5 * M), ("1h", 60 * M), ("1d", 1440 * M)):
        data = synthetic_market("ETH/USDT:USDT", timeframe, T0 + 7 * M, 10, seed=3)
        stamps = date_ms(data.candles)
        assert len(stamps) == 10 * 1440 * M // step
        assert stamps[0] % step == 0 and np.all(np.diff(stamps) == step)
        assert data.timeframe == timeframe


def test_fat_tails_volatility_clustering_and_volume_link() -> None:
    c = synthetic_market("BTC/USDT:USDT", "1m", T0, 30, seed=11).candles
    returns = np.diff(np.log(c["close"].to_numpy()))
    assert pd.Series(returns).kurt() + 3 > 3.5  # Pearson kurtosis > 3: fat tails
    abs_returns = pd.Series(np.abs(returns))
    assert abs_returns.autocorr(1) > 0.05
    hourly = abs_returns.groupby(np.arange(abs_returns.size) // 60).sum()
    assert hourly.autocorr(1) > 0.2  # volatility clusters across hours (GARCH)
    volume = c["volume"].to_numpy()[1:] * c["close"].to_numpy()[1:]
    assert np.corrcoef(np.abs(returns), volume)[0, 1] > 0.2


def test_regimes_persist_and_both_trends_appear_over_60_days() -> None:
    path = generate_path(42, "BTC/USDT:USDT", 60 * 1440)
    regimes = path.regimes
    assert set(regimes.tolist()) == {0, 1, 2}
    switches = int(np.count_nonzero(np.diff(regimes)))
    assert 3 <= switches <= 60  # persistent: regimes last days, not hours
    hourly = np.diff(path.log_close[::60])
    up, down = REGIMES.index("up"), REGIMES.index("down")
    assert hourly[regimes[: hourly.size] == up].mean() > 0 > hourly[regimes[: hourly.size] == down].mean()


def test_simulate_regimes_is_a_persistent_chain() -> None:
    states = simulate_regimes(np.random.default_rng(0), 20_000)
    assert states.shape == (20_000,)
    assert np.mean(states[1:] == states[:-1]) > 0.98


def test_funding_series_shape_and_range() -> None:
    data = synthetic_market("BTC/USDT:USDT", "1h", T0, 60, seed=5)
    funding = data.funding
    assert funding is not None
    stamps = date_ms(funding)
    assert len(stamps) == 60 * 3
    assert set(((stamps // M) % 1440 // 60).tolist()) == {0, 8, 16}
    assert funding["rate"].abs().max() <= 0.0075
    assert 0.00002 < funding["rate"].mean() < 0.0002
    closes = data.candles.set_index("date")["close"]
    trend = np.log(closes.reindex(funding["date"], method="ffill").to_numpy())
    trailing = trend[1:] - trend[:-1]
    assert np.corrcoef(trailing, funding["rate"].to_numpy()[1:])[0, 1] > 0.2  # correlated with the trend
    assert synthetic_market("BTC/USDT:USDT", "1h", T0, 2, seed=5, funding=False).funding is None


def test_prices_and_ticks_per_base_coin() -> None:
    assert default_start_price("BTC/USD:BTC") == 42_000.0
    assert default_start_price("ETH/USDT:USDT") == 2_300.0
    assert default_start_price("DOGE/USDT:USDT") == 1.0
    assert tick_for("ETH/USDT:USDT", 2300) == 0.01
    assert tick_for("SOL/USDT:USDT", 150.0) == pytest.approx(0.001)
    sol = synthetic_market("SOL/USDT:USDT", "1m", T0, 1, seed=2, start_price=150.0).candles
    assert sol["open"].iloc[0] == 150.0


def test_bad_arguments_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"data.synthetic.days: must be greater than 0"):
        synthetic_market("BTC/USDT:USDT", "1m", T0, 0, seed=1)
    with pytest.raises(ValueError, match=r"data.synthetic.start_price"):
        synthetic_market("BTC/USDT:USDT", "1m", T0, 1, seed=1, start_price=-1)
    with pytest.raises(ValueError, match=r"unsupported timeframe"):
        synthetic_market("BTC/USDT:USDT", "7m", T0, 1, seed=1)


def test_a_year_of_minutes() -> None:
    """A full year of 1m candles (how fast belongs to bench/, not to a test on a shared machine)."""
    data = synthetic_market("BTC/USDT:USDT", "1m", T0, 365, seed=9)
    assert len(data.candles) == 525_600
