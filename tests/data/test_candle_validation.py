"""Issue 12, finding 6 (absurd candles) and finding 3 (a coarser mark series): candle and mark files are
checked row by row with errors naming file, row and column; ``repair`` fixes instead of refusing."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kektrade.data.files import load_candles_file, load_mark_file, mark_at_timeframe
from kektrade.data.market import DataError, date_ms, ms_to_dates
from kektrade.data.provider import load_market_data

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
HEADER = "date,open,high,low,close,volume"


def write(tmp_path: Path, rows: list[str], name: str = "BTC.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def row(k: int, o: object, h: object, lo: object, c: object, v: object = 1) -> str:
    return f"{T0 + k * 60_000},{o},{h},{lo},{c},{v}"


GOOD = [row(0, 100, 101, 99, 100.5), row(1, 100.5, 102, 100, 101)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row(2, 101, "inf", 100, 101), r"row 3 \(2024-01-01 00:02\), column 'high': is not a finite number \(got inf"),
        (row(2, 101, 102, 100, "nan"), r"row 3 .*column 'close': is not a finite number \(got nan\)"),
        (row(2, 101, 102, 100, 101, "nan"), r"row 3 .*column 'volume': is not a finite number"),
        (row(2, 0, 102, 0, 101), r"row 3 .*column 'open': must be > 0 \(got 0.0\)"),
        (row(2, -1, 102, -2, 101), r"row 3 .*column 'open': must be > 0"),
        (row(2, 1e-300, 1e-300, 1e-300, 1e-300), r"row 3 .*column 'open': is outside \[1e-12, 1e\+12\] \(got 1e-300\)"),
        (row(2, 1e300, 1e300, 1e300, 1e300), r"row 3 .*column 'open': is outside \[1e-12, 1e\+12\]"),
        (row(2, 101, 99, 100, 99.5), r"row 3 .*column 'high': is below low \(got 99.0\)"),
        (row(2, 103, 102, 100, 101), r"row 3 .*column 'open': is outside \[low, high\] \(got 103.0\)"),
        (row(2, 101, 102, 100, 99), r"row 3 .*column 'close': is outside \[low, high\] \(got 99.0\)"),
        (row(2, 101, 102, 100, 101, -5), r"row 3 .*column 'volume': must be >= 0"),
    ],
)
def test_bad_values_are_refused_naming_file_row_and_column(tmp_path: Path, bad: str, message: str) -> None:
    path = write(tmp_path, [*GOOD, bad, row(3, 101, 102, 100, 101)])
    with pytest.raises(DataError, match=rf"^BTC.csv: {message}"):
        load_candles_file(path)


def test_a_date_given_twice_with_different_values_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, [*GOOD, row(1, 100.5, 102, 100, 101.5)])
    with pytest.raises(DataError, match=r"BTC.csv: row 3 \(2024-01-01 00:01\): the date of row 2 .* "
                                        r"again with a different 'close'"):
        load_candles_file(path)


def test_an_exact_repeat_is_dropped_silently(tmp_path: Path) -> None:
    candles = load_candles_file(write(tmp_path, [*GOOD, GOOD[1]]))
    assert date_ms(candles).tolist() == [T0, T0 + 60_000]


def test_dates_going_backwards_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD[1], GOOD[0]])
    with pytest.raises(DataError, match=r"BTC.csv: row 2 \(2024-01-01 00:00\): dates go backwards \(after row 1"):
        load_candles_file(path)


def test_repair_mode_fixes_every_kind(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = [
        row(3, 101, 102, 100, 101),  # out of order
        *GOOD,
        row(1, 100.5, 102, 100, 101.5),  # the date of row 3 again, different close: the last one is kept
        row(2, 1e-300, 1e-300, 1e-300, 1e-300),  # unusable: dropped (a gap)
        row(4, 101, 102, "inf", 101),  # unusable: dropped
        row(5, 103, 102, 100, 101),  # open above high: high widened to 103
    ]
    with caplog.at_level(logging.WARNING):
        candles = load_candles_file(write(tmp_path, rows), repair=True)
    assert date_ms(candles).tolist() == [T0, T0 + 60_000, T0 + 180_000, T0 + 300_000]
    assert candles["close"].tolist() == [100.5, 101.5, 101.0, 101.0]
    assert candles["high"].tolist()[-1] == 103.0
    text = caplog.text
    assert "dropped 2 row(s)" in text and "widened high/low" in text and "sorted" in text and "kept the last" in text


def test_the_repair_option_reaches_the_file_source(tmp_path: Path) -> None:
    path = write(tmp_path, [*GOOD, row(2, 101, "inf", 100, 101)])
    file = {"path": str(path), "timeframe": "1m"}
    with pytest.raises(DataError, match="column 'high'"):
        load_market_data("file", "BTC/USDT:USDT", "1m", None, None, file=file)
    data = load_market_data("file", "BTC/USDT:USDT", "1m", None, None, file={**file, "repair": True})
    assert len(data.candles) == 2


def test_mark_files_are_checked_like_candle_files(tmp_path: Path) -> None:
    path = write(tmp_path, [*GOOD, row(2, 101, 102, 100, "inf")], "mark.csv")
    with pytest.raises(DataError, match=r"mark.csv: row 3 .*column 'close': is not a finite number"):
        load_mark_file(path)


def _five_minute_file(tmp_path: Path) -> Path:
    """5m candles 00:00-16:00 at 100, with one dip to 90 in the 15:25 candle."""
    lines = []
    for k in range(16 * 12):
        low = 90 if k == 15 * 12 + 5 else 99.5
        lines.append(f"{T0 + k * 300_000},100,100.5,{low},100,1")
    path = tmp_path / "BTC-5m.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def test_a_mark_series_coarser_than_the_candles_is_refused(tmp_path: Path) -> None:
    """The issue's case: 8h mark candles on 5m candles. Merged as they were, the 08:00 mark candle (low 90,
    reached at 15:25) sat on the 08:00 5m candle and liquidated a 20x long at 08:00: look-ahead."""
    mark = tmp_path / "BTC-8h-mark.csv"
    rows = [f"{T0},100,100.5,99.5,100,0", f"{T0 + 8 * 3_600_000},100,100.5,90,100,0"]
    mark.write_text("\n".join([HEADER, *rows]) + "\n")
    file = {"path": str(_five_minute_file(tmp_path)), "timeframe": "5m", "mark_path": str(mark)}
    with pytest.raises(DataError, match=r"BTC-8h-mark.csv: mark candles every 8h are coarser than the 5m candles"):
        load_market_data("file", "BTC/USDT:USDT", "5m", None, None, file=file)


def test_a_finer_mark_series_is_aggregated_to_the_candles(tmp_path: Path) -> None:
    mark = tmp_path / "BTC-1m-mark.csv"
    lines = [f"{T0 + k * 60_000},{100 + k},{101 + k},{99 + k},{100.5 + k},0" for k in range(10)]
    mark.write_text("\n".join([HEADER, *lines]) + "\n")
    file = {"path": str(_five_minute_file(tmp_path)), "timeframe": "5m", "mark_path": str(mark)}
    data = load_market_data("file", "BTC/USDT:USDT", "5m", None, None, file=file)
    first = data.candles.iloc[0]
    # 00:00-00:04 from the 1m marks: first open, max high, min low, last close
    assert (first["mark_open"], first["mark_high"], first["mark_low"], first["mark_close"]) == (100, 105, 99, 104.5)
    second = data.candles.iloc[1]
    assert (second["mark_open"], second["mark_close"]) == (105, 109.5)
    assert np.isnan(data.candles.iloc[2]["mark_close"])  # no mark candles after 00:10: the trade price stands in


def test_mark_at_timeframe_refuses_a_spacing_that_does_not_divide() -> None:
    mark = pd.DataFrame({"date": ms_to_dates(np.array([T0, T0 + 120_000])), "mark_open": [1.0, 1.0],
                         "mark_high": [1.0, 1.0], "mark_low": [1.0, 1.0], "mark_close": [1.0, 1.0]})
    with pytest.raises(DataError, match=r"m.csv: mark candles every 2m do not divide the 5m candles"):
        mark_at_timeframe(mark, 300_000, "m.csv")
