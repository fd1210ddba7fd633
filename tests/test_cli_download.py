"""`kektrade download` through the real ccxt client against the local Bybit v5 fake, and offline errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kektrade import cli
from kektrade.control.download import network_cause
from kektrade.data.market import date_ms
from kektrade.data.synthetic import synthetic_market
from tests.fakes.bybit_v5 import FakeBybit

from .test_cli import project

__all__ = ["project"]
T0 = 1_704_067_200_000  # 2024-01-01
H8 = 8 * 3_600_000


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    """The fake with 6 days of 15m candles, mark candles and funding for BTCUSDT."""
    market = synthetic_market("BTC/USDT:USDT", "15m", T0, 6.0, seed=4)
    c = market.candles
    rows = np.column_stack([date_ms(c), c[["open", "high", "low", "close", "volume"]].to_numpy()]).tolist()
    with FakeBybit() as server:
        server.state.now_ms = T0 + 30 * 86_400_000
        server.state.add_klines("BTCUSDT", rows, interval="15")
        server.state.add_klines("BTCUSDT", [r[:5] for r in rows], interval="15", mark=True)
        server.state.add_funding("BTCUSDT", [(T0 + i * H8, 0.0001) for i in range(18)])
        yield server


def download_config(project: Path, api_base: str | None = None) -> Path:
    """The project's config on the download source, one BTC subaccount, 2024-01-02 .. 01-05."""
    config: dict[str, Any] = json.loads((project / "config.json").read_text())
    config["subaccounts"] = config["subaccounts"][:1]
    config["data"] = {"source": "download", "download": {"exchange": "bybit", "api_base": api_base}}
    path = project / "dl.json"
    path.write_text(json.dumps(config))
    return path


def free_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_download_fills_the_cache_then_runs_offline(
    project: Path, fake: FakeBybit, capsys: pytest.CaptureFixture[str]
) -> None:
    download_config(project)
    assert cli.main(["download", "dl.json", "--api-base", fake.base_url]) == 0
    out = capsys.readouterr().out
    assert "BTC/USDT:USDT 15m: 288 candles, mark prices, funding" in out  # 3 days of 15m candles
    assert any((project / "history" / "data").rglob("15m.parquet"))
    download_config(project, api_base=f"http://127.0.0.1:{free_port()}")  # nothing to fetch: the cache serves
    assert cli.main(["dl.json", "--no-tui"]) == 0


def test_offline_download_names_the_cause(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    download_config(project, api_base=f"http://127.0.0.1:{free_port()}")
    assert cli.main(["download", "dl.json"]) == 1
    err = capsys.readouterr().err
    assert "error: download BTC/USDT:USDT 15m from http://127.0.0.1:" in err
    assert "the connection was refused" in err
    assert cli.main(["dl.json", "--no-tui"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach http://127.0.0.1:" in err and "the connection was refused" in err


def test_download_needs_a_download_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["download", "config.json"]) == 1
    assert "only 'download' configs fetch candles" in capsys.readouterr().err


def test_network_cause_reads_the_exception_chain() -> None:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except OSError as inner:
            raise RuntimeError("bybit GET https://api.bybit.com/v5/market/time") from inner
    except RuntimeError as exc:
        assert network_cause(exc) == "the host name could not be resolved (offline, or no DNS)"
