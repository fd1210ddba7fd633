"""Loading candle, mark and funding files: formats, column mapping, time units, real files, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kektrade.data.files import (
    attach_mark,
    detect_format,
    load_candles_file,
    load_funding_file,
    load_mark_file,
)
from kektrade.data.market import DataError, date_ms

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
ROWS = "10,11,9,10.5,1.5\n10.5,12,10,11,2\n11,11.5,10.5,11.2,0\n"


def real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real data file {name} not available")
    return path


def write_csv(tmp_path: Path, header: str, stamps: list[str], name: str = "XRP.csv") -> Path:
    lines = [header] + [f"{stamp},{row}" for stamp, row in zip(stamps, ROWS.splitlines(), strict=True)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "stamps",
    [
        [str(T0 + i * 60_000) for i in range(3)],  # ms
        [str(T0 // 1000 + i * 60) for i in range(3)],  # s
        [str((T0 + i * 60_000) * 1_000_000) for i in range(3)],  # ns
        ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"],  # ISO with zone
        ["2024-01-01 00:00:00", "2024-01-01 00:01:00", "2024-01-01 00:02:00"],  # naive: taken as UTC
        ["2024-01-01T01:00:00+01:00", "2024-01-01T01:01:00+01:00", "2024-01-01T01:02:00+01:00"],
    ],
)
def test_csv_time_units_are_detected(tmp_path: Path, stamps: list[str]) -> None:
    path = write_csv(tmp_path, "date,open,high,low,close,volume", stamps)
    candles = load_candles_file(path)
    assert str(candles["date"].dtype) == "datetime64[ms, UTC]"
    assert date_ms(candles).tolist() == [T0, T0 + 60_000, T0 + 120_000]
    assert candles["close"].tolist() == [10.5, 11.0, 11.2]
    assert all(candles[c].dtype == np.float64 for c in ("open", "high", "low", "close", "volume"))


def test_explicit_time_unit_overrides_detection(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "date,open,high,low,close,volume", ["0", "60", "120"])
    assert date_ms(load_candles_file(path, time_unit="s")).tolist() == [0, 60_000, 120_000]
    with pytest.raises(DataError, match=r"time_unit must be one of"):
        load_candles_file(path, time_unit="minutes")


def test_column_mapping(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "Timestamp,O,H,L,C,Vol", [str(T0 + i * 60_000) for i in range(3)])
    mapping = {"date": "Timestamp", "open": "O", "high": "H", "low": "L", "close": "C", "volume": "Vol"}
    candles = load_candles_file(path, columns=mapping)
    assert list(candles.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert candles["high"].tolist() == [11.0, 12.0, 11.5]


def test_missing_column_error_names_file_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "XRP.csv"
    path.write_text("date,open,high,low,volume\n1704067200000,1,2,0.5,3\n")
    with pytest.raises(DataError) as info:
        load_candles_file(path)
    assert str(info.value) == "XRP.csv: missing column 'close' (columns: date, open, high, low, volume)"
    with pytest.raises(DataError, match=r"missing column 'Close' \(mapped from 'close'\)"):
        load_candles_file(path, columns={"close": "Close"})
    with pytest.raises(DataError, match=r"columns: unknown name 'clsoe'"):
        load_candles_file(path, columns={"clsoe": "close"})


def test_bad_row_and_bad_values_are_named(tmp_path: Path) -> None:
    path = tmp_path / "XRP.csv"
    path.write_text("date,open,high,low,close,volume\n1704067200000,1,2,0.5,1.5,3\n1704067260000,1,1.2,0.5,1.5,3\n")
    with pytest.raises(DataError, match=r"XRP.csv: row 2 \(2024-01-01 00:01\), column 'close': is outside"):
        load_candles_file(path)
    path.write_text("date,open,high,low,close,volume\n1704067200000,1,2,0.5,abc,3\n")
    with pytest.raises(DataError, match=r"XRP.csv: column 'close' is not numeric"):
        load_candles_file(path)
    path.write_text("date,open,high,low,close,volume\nyesterday,1,2,0.5,1,3\n")
    with pytest.raises(DataError, match=r"XRP.csv: cannot read column 'date'"):
        load_candles_file(path)


def test_unsorted_rows_are_refused_unless_repaired(tmp_path: Path) -> None:
    stamps = [str(T0 + 120_000), str(T0), str(T0)]
    path = write_csv(tmp_path, "date,open,high,low,close,volume", stamps)
    with pytest.raises(DataError, match=r"XRP.csv: row 2 \(2024-01-01 00:00\): dates go backwards"):
        load_candles_file(path)
    candles = load_candles_file(path, repair=True)
    assert date_ms(candles).tolist() == [T0, T0 + 120_000]
    assert candles["close"].tolist() == [11.2, 10.5]  # of a date given twice, the last row in the file is kept
    assert isinstance(candles.index, pd.RangeIndex)


def test_format_detection() -> None:
    assert detect_format(Path("a.CSV")) == "csv"
    assert detect_format(Path("a.parquet")) == "parquet"
    assert detect_format(Path("a.feather")) == "feather"
    assert detect_format(Path("a.dat"), "csv") == "csv"
    with pytest.raises(DataError, match=r"a.dat: cannot tell the format from the suffix '.dat'"):
        detect_format(Path("a.dat"))
    with pytest.raises(DataError, match=r"format must be one of"):
        detect_format(Path("a.csv"), "json")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no such file"):
        load_candles_file(tmp_path / "nope.csv")


def test_real_feather_and_parquet_files_load(tmp_path: Path) -> None:
    xrp = load_candles_file(real("XRP_USDT_USDT-5m-futures.feather"))
    assert len(xrp) == 1999
    assert xrp["date"].iloc[0] == pd.Timestamp("2021-11-15 00:00", tz="UTC")
    assert 1.0 < xrp["close"].min() < xrp["close"].max() < 1.25
    unittest_btc = load_candles_file(real("UNITTEST_BTC-1m.feather"))
    assert len(unittest_btc) == 13_681
    copy = tmp_path / "copy.parquet"  # parquet written by us with a datetime64[ns] naive column
    xrp.assign(date=xrp["date"].dt.tz_localize(None).astype("datetime64[ns]")).to_parquet(copy)
    assert load_candles_file(copy).equals(xrp)


def test_year_of_btc_loads_whole_and_in_order() -> None:
    candles = load_candles_file(real("btcusdt-1m-2024.parquet"))  # its speed is measured in bench/, not here
    assert len(candles) == 527_040
    stamps = date_ms(candles)
    assert (stamps[1:] - stamps[:-1] == 60_000).all()


def test_freqtrade_funding_layout_rate_in_open() -> None:
    funding = load_funding_file(real("XRP_USDT_USDT-8h-funding_rate.feather"))
    assert list(funding.columns) == ["date", "rate"]
    assert len(funding) == 91
    # settlement stamps carry a few ms of exchange jitter; they are rounded to the minute
    assert (date_ms(funding) % 60_000 == 0).all()
    assert funding["date"].iloc[0] == pd.Timestamp("2021-11-18 00:00", tz="UTC")
    assert funding["rate"].min() == pytest.approx(-0.00219, abs=1e-5)


def test_date_rate_funding_layout(tmp_path: Path) -> None:
    path = tmp_path / "funding.csv"
    path.write_text("date,rate\n2024-01-01T08:00:00Z,-0.0002\n2024-01-01T00:00:00Z,0.0001\n")
    funding = load_funding_file(path)
    assert date_ms(funding).tolist() == [T0, T0 + 28_800_000]
    assert funding["rate"].tolist() == [0.0001, -0.0002]
    path.write_text("date,fee\n2024-01-01T08:00:00Z,-0.0002\n")
    with pytest.raises(DataError, match=r"funding.csv: missing column 'rate'"):
        load_funding_file(path)


def test_mark_file_attaches_with_nan_where_missing() -> None:
    candles = load_candles_file(real("XRP_USDT_USDT-1h-futures.feather"))
    mark = load_mark_file(real("XRP_USDT_USDT-1h-mark.feather"))  # its volume is NaN: ignored
    assert list(mark.columns) == ["date", "mark_open", "mark_high", "mark_low", "mark_close"]
    merged = attach_mark(candles, mark)
    assert len(merged) == len(candles)
    overlap = merged["date"].isin(mark["date"])
    assert overlap.any() and not overlap.all()  # the mark file covers only part of the candles
    assert merged.loc[overlap, "mark_close"].notna().all()
    assert merged.loc[~overlap, "mark_close"].isna().all()
