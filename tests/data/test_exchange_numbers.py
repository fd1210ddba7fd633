"""Issue 11: each exchange's fees, funding interval and risk tiers come from its market data (real ccxt parsers
on Binance USDⓈ-M and OKX payloads), and the results say whose formulas the simulator used."""

from __future__ import annotations

import ccxt
import pytest

from kektrade.config.model_subaccount import ContractOverrides, FeesConfig
from kektrade.data.contracts import resolve_contract
from kektrade.domain.specs import FORMULAS, contract_summary, spec_from_dict, spec_to_dict
from kektrade.exchange.live.markets import spec_from_market
from tests.data.exchange_markets import BINANCE_BRACKETS, BINANCE_BTCUSDT, OKX_BTC_USDT_SWAP, binance_spec, okx_spec


def test_binance_spec_carries_its_fees_brackets_and_maintenance_amounts() -> None:
    spec = binance_spec()
    assert spec.formulas == "binance"
    assert (spec.taker_fee, spec.maker_fee) == (0.0005, 0.0002)  # Binance's regular tier, from ccxt's market
    assert (spec.tick_size, spec.lot_step, spec.min_qty, spec.max_qty) == (0.1, 0.001, 0.001, 1000.0)
    assert [(t.limit_value, t.mmr, t.max_leverage, t.deduction) for t in spec.risk_tiers] == [
        (cap, mmr, lev, cum) for _floor, cap, mmr, lev, cum in BINANCE_BRACKETS
    ]
    assert spec.max_leverage == 125


def test_x4_binance_maintenance_amounts_derived_when_the_brackets_lack_them() -> None:
    # X4: cum(n) = floor(n) x (MMR(n) - MMR(n-1)) + cum(n-1) gives 0/50/950/11,450/131,450/481,450/2,981,450
    derived = [t.deduction for t in binance_spec(with_cum=False).risk_tiers]
    assert derived == pytest.approx([0, 50, 950, 11_450, 131_450, 481_450, 2_981_450], abs=1e-6)


def test_x16_okx_counts_contracts_converted_to_coin_and_tiers_by_size() -> None:
    spec = okx_spec()
    assert spec.formulas == "okx" and spec.tiers_by_size
    assert spec.contract_size == 0.01
    # lotSz 0.01 contracts of 0.01 BTC: 0.0001 BTC; 0.37 BTC is 37 contracts, a whole number of lots
    assert spec.lot_step == pytest.approx(0.0001) and spec.min_qty == pytest.approx(0.0001)
    assert 0.37 / spec.contract_size == pytest.approx(37)
    # tier limits of 100 and 500 contracts are 1 and 5 BTC; OKX has no deduction
    assert [(t.limit_value, t.mmr, t.imr, t.max_leverage, t.deduction) for t in spec.risk_tiers] == [
        (1.0, 0.004, 0.01, 100, 0.0), (5.0, 0.006, 0.015, 50, 0.0)
    ]
    assert (spec.taker_fee, spec.maker_fee) == (0.0005, 0.0002)
    assert spec.funding_interval_ms == 8 * 3_600_000
    assert spec.tier_for(1.0, 1e9).mmr == 0.004 and spec.tier_for(1.5, 1.0).mmr == 0.006  # size, not value


def test_config_fees_override_the_exchanges_and_null_keeps_them() -> None:
    spec = binance_spec()
    kept = resolve_contract(spec.symbol, ContractOverrides(), FeesConfig(), spec)
    assert (kept.taker_fee, kept.maker_fee) == (0.0005, 0.0002)
    vip = resolve_contract(spec.symbol, ContractOverrides(), FeesConfig(taker=0.0004, maker=0.00016), spec)
    assert (vip.taker_fee, vip.maker_fee) == (0.0004, 0.00016)
    assert vip.formulas == "binance"


def test_results_name_the_exchange_whose_formulas_were_used() -> None:
    summary = contract_summary(okx_spec())
    assert summary["formulas"] == "okx"
    assert summary["formulas_summary"] == FORMULAS["okx"] and "MMR + taker fee" in summary["formulas_summary"]
    assert summary["source"].startswith("okx market data of BTC/USDT:USDT")
    assert (summary["taker_fee"], summary["maker_fee"]) == (0.0005, 0.0002)


def test_cached_spec_round_trips_with_its_formulas() -> None:
    spec = okx_spec()
    assert spec_from_dict(spec_to_dict(spec)) == spec
    with pytest.raises(ValueError, match="formulas 'kraken'"):
        spec_from_dict({**spec_to_dict(spec), "formulas": "kraken"})


def test_binance_without_signed_brackets_falls_back_to_its_own_snapshot() -> None:
    # Binance serves its brackets only to signed requests: a download without keys gets the X4 snapshot
    exchange = ccxt.binanceusdm()
    market = exchange.parse_market(BINANCE_BTCUSDT)
    spec = spec_from_market(market, None, exchange_id="binanceusdm")
    assert spec.source.endswith("no leverage tiers: the built-in Binance BTCUSDT brackets (snapshot of 2024-10-24)")
    assert [(t.limit_value, t.mmr, t.max_leverage) for t in spec.risk_tiers] == [
        (cap, mmr, lev) for _floor, cap, mmr, lev, _cum in BINANCE_BRACKETS
    ]
    assert [t.deduction for t in spec.risk_tiers] == pytest.approx([c for *_, c in BINANCE_BRACKETS], abs=1e-6)
    # an exchange the simulator has no ladder for gets the generic one, never Bybit's
    okx_market = ccxt.okx().parse_market(OKX_BTC_USDT_SWAP)
    assert spec_from_market(okx_market, None, exchange_id="okx").source.endswith("the generic one-tier ladder")
