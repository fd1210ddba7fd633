"""A file-source run without funding or mark data says so at start."""

from __future__ import annotations

import json
from typing import Any

from kektrade.config import parse_config
from kektrade.control.notices import data_notices


def test_file_source_without_funding_or_mark(config_dict: dict[str, Any]) -> None:
    config_dict["data"] = {
        "source": "file",
        "files": {
            "BTC/USDT:USDT": {"path": "btc.csv"},
            "ETH/USDT:USDT": {"path": "eth.csv", "mark_path": "eth-mark.csv", "funding_path": "eth-fund.csv"},
            "BTC/USD:BTC": {"path": "inv.csv", "mark_path": "inv-mark.csv"},
        },
    }
    notes = data_notices(parse_config(json.dumps(config_dict)))
    assert notes == [
        "data.files['BTC/USD:BTC']: no funding_path, so this backtest charges no funding at all",
        "data.files['BTC/USDT:USDT']: no funding_path, so this backtest charges no funding at all",
        "data.files['BTC/USDT:USDT']: no mark_path, so the last price stands in for the mark price "
        "(unrealized PnL and liquidations use it)",
    ]
    config_dict["data"]["funding_rate"] = 0.0001
    assert "a constant funding rate of 0.0001 per interval" in data_notices(parse_config(json.dumps(config_dict)))[0]


def test_synthetic_source_says_nothing(config_dict: dict[str, Any]) -> None:
    assert data_notices(parse_config(json.dumps(config_dict))) == []
