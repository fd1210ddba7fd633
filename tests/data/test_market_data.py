"""MarketData invariants: well-formed frames pass, each broken rule raises DataError naming source and row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kektrade.data.market import DataError, Gap, MarketData, empty_candles, ms_to_dates

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def frame(rows: list[tuple[float, float, float, float, float]], step_ms: int = 60_000) -> pd.DataFrame:
    """Candles from (open, high, low, close, volume) rows, one minute apart from T0."""
    data = np.array(rows, dtype="float64").reshape(-1, 5)
    dates = ms_to_dates(T0 + step_ms * np.arange(len(rows), dtype="int64"))
    return pd.DataFrame({"date": dates, "open": data[:, 0], "high": data[:, 1], "low": data[:, 2],
                         "close": data[:, 3], "volume": data[:, 4]})


def make(candles: pd.DataFrame, funding: pd.DataFrame | None = None) -> MarketData:
    return MarketData("BTC/USDT:USDT", "1m", candles, funding, (), "test.csv")


def test_valid_frame_is_accepted_with_its_properties() -> None:
    data = make(frame([(10, 11, 9, 10.5, 1), (10.5, 10.5, 10.5, 10.5, 0)]))
    assert data.start_ms == T0 and data.end_ms == T0 + 60_000
    assert not data.has_mark
    assert str(data.candles["date"].dtype) == "datetime64[ms, UTC]"


def test_empty_frame_is_valid() -> None:
    data = make(empty_candles())
    assert data.start_ms is None and data.end_ms is None


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ((10, 10.2, 9, 10.5, 1), "high >= max(open, close)"),  # high below close
        ((10, 11, 10.1, 10.5, 1), "low <= min(open, close)"),  # low above open
        ((-1, 11, -2, 10.5, 1), "0 < low"),  # negative price
        ((10, 11, 9, float("nan"), 1), "close=nan"),  # missing price
    ],
)
def test_broken_ohlc_names_source_and_first_bad_row(row: tuple[float, ...], needle: str) -> None:
    rows = [(10, 11, 9, 10, 1), (10, 11, 9, 10, 1), row, row]
    with pytest.raises(DataError) as info:
        make(frame(rows))  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("test.csv: row 2 (2024-01-01 00:02)")
    assert needle in message


def test_negative_volume_is_rejected() -> None:
    with pytest.raises(DataError, match=r"row 1 .*volume must be >= 0"):
        make(frame([(10, 11, 9, 10, 1), (10, 11, 9, 10, -5)]))


def test_unsorted_or_duplicated_dates_are_rejected() -> None:
    candles = frame([(10, 11, 9, 10, 1)] * 3)
    candles.loc[2, "date"] = candles.loc[0, "date"]
    with pytest.raises(DataError, match=r"dates not strictly increasing at row 2"):
        make(candles)


def test_wrong_date_dtype_and_missing_column_are_rejected() -> None:
    candles = frame([(10, 11, 9, 10, 1)])
    with pytest.raises(DataError, match=r"column 'date' must be datetime64\[ms, UTC\]"):
        make(candles.assign(date=candles["date"].astype("datetime64[ns, UTC]")))
    with pytest.raises(DataError, match=r"test.csv: missing column 'volume'"):
        make(candles.drop(columns=["volume"]))


def test_mark_columns_may_be_nan_but_not_inconsistent() -> None:
    candles = frame([(10, 11, 9, 10, 1), (10, 11, 9, 10, 1)])
    marks = {"mark_open": [10.0, np.nan], "mark_high": [10.5, np.nan], "mark_low": [9.5, np.nan],
             "mark_close": [10.1, np.nan]}
    assert make(candles.assign(**marks)).has_mark
    marks["mark_high"] = [10.0, np.nan]  # below mark_close
    with pytest.raises(DataError, match=r"row 0 .*mark candle"):
        make(candles.assign(**marks))


def test_funding_rates_must_be_finite() -> None:
    funding = pd.DataFrame({"date": ms_to_dates(np.array([T0, T0 + 28_800_000])), "rate": [0.0001, np.nan]})
    with pytest.raises(DataError, match=r"test.csv \(funding\): row 1 .*finite"):
        make(frame([(10, 11, 9, 10, 1)]), funding)


def test_gap_is_a_value() -> None:
    assert Gap(1, 2, 3) == Gap(1, 2, 3)
