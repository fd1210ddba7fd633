"""Resampling truth tables, gap detection and reporting, and the real freqtrade gap files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kektrade.data.files import load_candles_file
from kektrade.data.market import DataError, Gap, date_ms, ms_to_dates
from kektrade.data.resample import detect_gaps, gap_summary, infer_step_ms, report_gaps, resample

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a boundary of every timeframe
M = 60_000


def real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real data file {name} not available")
    return path


def minutes(rows: dict[int, tuple[float, float, float, float, float]]) -> pd.DataFrame:
    """1m candles keyed by minute offset from T0: (open, high, low, close, volume)."""
    keys = sorted(rows)
    data = np.array([rows[k] for k in keys], dtype="float64")
    return pd.DataFrame({"date": ms_to_dates(T0 + M * np.array(keys, dtype="int64")), "open": data[:, 0],
                         "high": data[:, 1], "low": data[:, 2], "close": data[:, 3], "volume": data[:, 4]})


def as_rows(frame: pd.DataFrame) -> list[tuple[int, float, float, float, float, float]]:
    stamps = (date_ms(frame) - T0) // M
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy().tolist()
    return [(int(s), *v) for s, v in zip(stamps, values, strict=True)]


def test_truth_table_1m_to_5m() -> None:
    src = minutes({
        0: (10, 11, 9, 10.5, 1), 1: (10.5, 12, 10, 11, 2), 2: (11, 11, 10.2, 10.4, 1),
        3: (10.4, 10.6, 10.1, 10.5, 1), 4: (10.5, 10.9, 10.3, 10.8, 3),  # complete bin 0
        5: (10.8, 13, 10.7, 12.5, 4), 8: (12.5, 12.6, 8, 9, 5),  # bin 5 with minutes 6, 7, 9 missing
        # bin 10 has no minute at all: it must be absent, not forward-filled
        15: (9, 9.5, 8.5, 9.2, 1), 16: (9.2, 9.3, 9.1, 9.2, 1), 17: (9.2, 9.4, 9, 9.3, 1),
        18: (9.3, 9.3, 9.2, 9.25, 1), 19: (9.25, 9.6, 9.2, 9.5, 2),  # complete bin 15 ends the data
    })
    assert as_rows(resample(src, "5m")) == [
        (0, 10, 12, 9, 10.8, 8),
        (5, 10.8, 13, 8, 9, 9),
        (15, 9, 9.6, 8.5, 9.5, 6),
    ]


def test_partial_last_bin_is_dropped_but_complete_one_kept() -> None:
    full = {i: (10, 11, 9, 10, 1) for i in range(10)}
    assert [r[0] for r in as_rows(resample(minutes(full), "5m"))] == [0, 5]
    del full[9]  # the data now ends at 00:08: bin 5 may still be forming
    assert [r[0] for r in as_rows(resample(minutes(full), "5m"))] == [0]
    del full[8], full[7]
    full[9] = (10, 11, 9, 10, 1)  # last minute present, middle ones missing: complete enough
    assert [r[0] for r in as_rows(resample(minutes(full), "5m"))] == [0, 5]


def test_bins_align_to_utc_epoch_not_to_the_first_row() -> None:
    src = minutes({i: (10, 11, 9, 10, 1) for i in range(3, 60)})  # starts at 00:03
    out = resample(src, "15m")
    assert ((date_ms(out) - T0) // M).tolist() == [0, 15, 30, 45]
    assert out["volume"].tolist() == [12.0, 15.0, 15.0, 15.0]  # the first bin is built from what exists
    hourly = resample(src, "1h")
    assert ((date_ms(hourly) - T0) // M).tolist() == [0]


def test_mark_columns_aggregate_skipping_missing_marks() -> None:
    src = minutes({i: (10, 11, 9, 10, 1) for i in range(10)})
    nan = np.nan
    src["mark_open"] = [10, 10.1, nan, 10.3, 10.4, nan, nan, nan, nan, nan]
    src["mark_high"] = [10.5, 10.9, nan, 10.4, 10.6, nan, nan, nan, nan, nan]
    src["mark_low"] = [9.8, 10, nan, 10.2, 10.1, nan, nan, nan, nan, nan]
    src["mark_close"] = [10.1, 10.2, nan, 10.35, 10.45, nan, nan, nan, nan, nan]
    out = resample(src, "5m")
    assert out.loc[0, ["mark_open", "mark_high", "mark_low", "mark_close"]].tolist() == [10, 10.9, 9.8, 10.45]
    assert out.loc[1, ["mark_open", "mark_high", "mark_low", "mark_close"]].isna().all()
    assert out.loc[1, "close"] == 10


def test_same_timeframe_is_returned_and_coarser_source_rejected() -> None:
    src = minutes({0: (10, 11, 9, 10, 1), 5: (10, 11, 9, 10, 1)})
    assert resample(src, "5m").equals(src)
    with pytest.raises(DataError, match=r"cannot resample candles 300s apart to 1m"):
        resample(src, "1m")
    assert infer_step_ms(src) == 5 * M
    assert resample(src.iloc[:0], "15m", M).empty


def test_detect_gaps_truth_table() -> None:
    src = minutes({0: (10, 11, 9, 10, 1), 1: (10, 11, 9, 10, 1), 4: (10, 11, 9, 10, 1),
                   5: (10, 11, 9, 10, 1), 6: (10, 11, 9, 10, 1), 10: (10, 11, 9, 10, 1)})
    assert detect_gaps(src, M) == (Gap(T0 + 2 * M, T0 + 4 * M, 2), Gap(T0 + 7 * M, T0 + 10 * M, 3))
    assert detect_gaps(src.iloc[:2], M) == ()
    assert gap_summary(detect_gaps(src, M)) == (
        "5 missing candles in 2 gaps; largest: 2024-01-01 00:07 (3), 2024-01-01 00:02 (2)"
    )


def test_report_gaps_logs_a_warning_and_nothing_when_complete(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        report_gaps((Gap(T0, T0 + 3 * M, 3),), "file:x.csv BTC/USDT:USDT")
        report_gaps((), "complete")
    assert [r.getMessage() for r in caplog.records] == [
        "file:x.csv BTC/USDT:USDT: 3 missing candles in 1 gaps; largest: 2024-01-01 00:00 (3) (not filled)"
    ]


def test_unittest_btc_gaps_are_reported_not_filled() -> None:
    src = load_candles_file(real("UNITTEST_BTC-1m.feather"))
    gaps = detect_gaps(src, M)
    # freqtrade's README says "538 missing minutes": 538 is the number of gaps; 717 minutes are missing
    assert len(gaps) == 538
    assert sum(g.missing_candles for g in gaps) == 717
    span = (date_ms(src)[-1] - date_ms(src)[0]) // M + 1
    assert span - len(src) == 717
    out = resample(src, "5m")
    assert len(out) < span // 5 + 1  # no fake candles: bins with no minute are absent
    assert out["volume"].sum() == pytest.approx(src["volume"].sum(), rel=1e-12)  # data ends at 22:59
    assert np.all(np.diff(date_ms(out)) % (5 * M) == 0)


def test_xrp_eth_1m_resampled_equals_the_exchanges_5m_file() -> None:
    ours = resample(load_candles_file(real("XRP_ETH-1m.feather")), "5m")
    theirs = load_candles_file(real("XRP_ETH-5m.feather"))
    assert len(detect_gaps(theirs, 5 * M)) == 6
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-12)


def test_resampling_a_year_of_btc() -> None:
    src = load_candles_file(real("btcusdt-1m-2024.parquet"))
    out = resample(src, "5m")
    assert len(out) == 527_040 // 5
    assert out["high"].max() == src["high"].max()
    assert out["volume"].sum() == pytest.approx(src["volume"].sum())
