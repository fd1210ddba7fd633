"""Issue 12, risk tiers for every pair: the contract (tick, lot, min qty, contract size, risk ladder) comes
from the exchange when candles are downloaded (cached with them), from the config for file data, and the
results name which ladder was used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from kektrade.config.model_subaccount import ContractOverrides, FeesConfig
from kektrade.data.cache import CONTRACT_FILE, cache_folder, download_market_data
from kektrade.data.contracts import resolve_contract
from kektrade.domain.specs import GENERIC_SOURCE, builtin_spec
from kektrade.domain.types import OrderType, RiskTier
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from kektrade.exchange.sim.summary import venue_summary
from tests.fakes.bybit_v5 import FakeBybit, RecordedRequest

T0 = 1_704_067_200_000
M = 60_000
NOW = T0 + 86_400_000
LADDER = [  # SOLUSDT as the exchange would answer /v5/market/risk-limit (two tiers)
    {"id": 1, "symbol": "SOLUSDT", "riskLimitValue": "200000", "maintenanceMargin": "0.01",
     "initialMargin": "0.02", "isLowestRisk": 1, "maxLeverage": "50", "mmDeduction": ""},
    {"id": 2, "symbol": "SOLUSDT", "riskLimitValue": "400000", "maintenanceMargin": "0.02",
     "initialMargin": "0.04", "isLowestRisk": 0, "maxLeverage": "25", "mmDeduction": "2000"},
]


def risk_limit(_state: object, request: RecordedRequest) -> dict[str, Any]:
    rows = [r for r in LADDER if r["symbol"] == request.query.get("symbol", r["symbol"])]
    return {"category": "linear", "list": rows, "nextPageCursor": ""}


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    """SOLUSDT: tick 0.001, lot 0.1, min 0.1, hourly funding, a two-tier ladder; 200 flat 1m candles."""
    with FakeBybit() as server:
        server.state.now_ms = NOW
        server.state.add_instrument("SOLUSDT", "linear", "SOL", "USDT", "USDT", tick="0.001", qty_step="0.1",
                                    min_qty="0.1", funding_interval_min=60)
        server.state.add_klines("SOLUSDT", [[T0 + k * M, 100, 101, 99, 100, 5] for k in range(200)])
        server.route("GET", "/v5/market/risk-limit", risk_limit)
        yield server


def download(fake: FakeBybit, tmp_path: Path) -> Any:
    return download_market_data("bybit", "SOL/USDT:USDT", "1m", T0, T0 + 200 * M, tmp_path,
                                api_base=fake.base_url, now_ms=NOW)


def test_a_download_brings_the_pairs_contract_and_caches_it(fake: FakeBybit, tmp_path: Path) -> None:
    data = download(fake, tmp_path)
    spec = data.contract
    assert spec is not None
    assert (spec.tick_size, spec.lot_step, spec.min_qty, spec.funding_interval_ms) == (0.001, 0.1, 0.1, 3_600_000)
    assert spec.risk_tiers == (RiskTier(200_000, 0.01, 0.02, 50, 0.0), RiskTier(400_000, 0.02, 0.04, 25, 2_000.0))
    assert spec.source == "bybit market data of SOL/USDT:USDT (ccxt), its leverage tiers"
    assert (cache_folder(tmp_path, "bybit", "SOL/USDT:USDT") / CONTRACT_FILE).exists()
    fake.clear_requests()
    again = download(fake, tmp_path)
    assert fake.requests == [] and again.contract == spec  # from the cache, without the network


def test_without_tiers_from_the_exchange_the_fallback_is_named(tmp_path: Path) -> None:
    with FakeBybit() as server:  # no risk-limit endpoint
        server.state.now_ms = NOW
        server.state.add_klines("BTCUSDT", [[T0 + k * M, 100, 101, 99, 100, 5] for k in range(10)])
        data = download_market_data("bybit", "BTC/USDT:USDT", "1m", T0, T0 + 10 * M, tmp_path,
                                    api_base=server.base_url, now_ms=NOW)
    builtin = builtin_spec("BTCUSDT")
    assert data.contract is not None and builtin is not None
    assert data.contract.risk_tiers == builtin.risk_tiers
    assert data.contract.source.endswith("no leverage tiers: the built-in Bybit ladder")


def test_the_simulator_trades_the_downloaded_ladder(fake: FakeBybit, tmp_path: Path) -> None:
    """A 300,000 USDT SOL position (1,000 @ 300) sits in the downloaded second tier: MMR 2 %, deduction 2,000."""
    data = download(fake, tmp_path)
    spec = resolve_contract("SOL/USDT:USDT", ContractOverrides(), FeesConfig(), data.contract)
    arrays = MarketArrays([T0 + k * M for k in range(3)], [300.0] * 3, [300.0] * 3, [300.0] * 3, [300.0] * 3, M)
    sim = SimExchange(spec, arrays, initial_balance=1e6, leverage=20)
    sim.step(0)
    assert sim.open_order(OrderType.MARKET, 1_000.0).reject_reason is None
    sim.step(1)
    position = sim.get_position()
    # MM = value x MMR - deduction of tier 2, + the fee to close at the bankruptcy price 285
    assert position.maintenance_margin == pytest.approx(300_000 * 0.02 - 2_000 + 1_000 * 285 * 0.00055, rel=1e-12)
    summary = venue_summary(sim)
    assert summary["contract"]["source"] == "bybit market data of SOL/USDT:USDT (ccxt), its leverage tiers"
    assert summary["contract"]["risk_tiers"] == 2
    assert summary["rules"]["name"] == "current" and summary["rules"]["period"] == "from 2025-09-02"


def test_a_ladder_in_the_config_for_file_data() -> None:
    overrides = ContractOverrides(
        tick_size=0.0001, lot_step=1.0, contract_size=10.0,
        risk_tiers=[{"limit_value": 50_000, "mmr": 0.01, "max_leverage": 50},
                    {"limit_value": 100_000, "mmr": 0.025, "max_leverage": 20}],
    )
    spec = resolve_contract("DOGE/USDT:USDT", overrides, FeesConfig())
    # deduction of tier 2 derived as Bybit does: 50,000 x (2.5 % - 1 %) = 750; IMR = 1 / max leverage
    assert spec.risk_tiers == (RiskTier(50_000, 0.01, 0.02, 50, 0.0), RiskTier(100_000, 0.025, 0.05, 20, 750.0))
    assert (spec.tick_size, spec.lot_step, spec.contract_size) == (0.0001, 1.0, 10.0)
    assert spec.source.startswith("config: contract.risk_tiers (2 tiers); instrument from generic")
    assert spec.source.endswith("config overrides: tick_size, lot_step, contract_size")
    plain = resolve_contract("DOGE/USDT:USDT", ContractOverrides(), FeesConfig())
    assert plain.source == GENERIC_SOURCE


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([{"limit_value": 100, "mmr": 0.01, "max_leverage": 50}, {"limit_value": 100, "mmr": 0.02, "max_leverage": 25}],
         r"risk_tiers\[1\].limit_value: must be above the tier before it"),
        ([{"limit_value": 100, "mmr": 0.02, "max_leverage": 50}, {"limit_value": 200, "mmr": 0.01, "max_leverage": 25}],
         r"risk_tiers\[1\].mmr: must not be below the tier before it"),
        ([{"limit_value": 100, "mmr": 1.5, "max_leverage": 50}], r"mmr"),
    ],
)
def test_a_bad_ladder_in_the_config_is_refused_naming_the_tier(tiers: list, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ContractOverrides(risk_tiers=tiers)


def test_the_rules_setting_reaches_the_summary() -> None:
    spec = builtin_spec("BTCUSDT")
    assert spec is not None
    arrays = MarketArrays([T0], [1.0], [1.0], [1.0], [1.0], M)
    sim = SimExchange(spec, arrays, initial_balance=1.0, settings=SimSettings(rules="before_2025_09"))
    summary = venue_summary(sim)
    assert summary["rules"]["name"] == "before_2025_09"
    assert {"years": "2022", "taker": 0.0006, "maker": 0.0001} in summary["rules"]["fees_of_the_period"]
    assert summary["contract"]["source"].startswith("built-in: Bybit instruments-info and risk-limit snapshot")
