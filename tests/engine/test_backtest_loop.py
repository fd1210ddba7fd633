"""The backtest loop's timing rules, the error path, pausing, results.json and the run database."""

import json
import logging
from pathlib import Path

import pytest

from kektrade.control.history import fill_from_entry
from kektrade.domain.types import FillKind
from kektrade.engine.commands import PauseInstance, ResumeInstance
from kektrade.engine.instance import InstanceStatus
from kektrade.persistence.database import open_run_database
from tests.engine.kit import config, run

SUB = {"id": "probe", "strategy": "ProbeStrategy", "pair": "BTC/USDT:USDT", "timeframe": "1h"}


def test_warmup_is_not_ticked_and_every_candle_through_the_last_is(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [SUB]))
    inst = controller.session.instances[0]
    ticks = inst.variables["ticks"]
    assert ticks[0] == 3  # startup_candle_count
    assert ticks == list(range(3, inst.length))
    assert inst.venue.candle_index == inst.length - 1  # the last candle was simulated too
    assert inst.status is InstanceStatus.FINISHED
    controller.close()


def test_orders_from_tick_i_fill_at_the_open_of_candle_i_plus_1(tmp_path: Path) -> None:
    sub = dict(SUB, parameters={"script": {"5": 0.01, "9": -0.01}})
    controller = run(tmp_path, config(tmp_path, [sub]))
    inst = controller.session.instances[0]
    market = inst.venue.market
    trades = [f for f in inst.venue.fills if f.kind is FillKind.TRADE]
    assert [(f.time_ms, f.price) for f in trades] == [
        (market.time_ms[6], market.open[6]),
        (market.time_ms[10], market.open[10]),
    ]
    controller.close()


def test_an_order_placed_at_the_last_tick_never_fills(tmp_path: Path) -> None:
    cfg = config(tmp_path, [dict(SUB, parameters={"script": {"47": 0.01}})])
    controller = run(tmp_path, cfg)
    inst = controller.session.instances[0]
    assert inst.length == 48
    assert inst.venue.fills == [] and len(inst.venue.get_open_orders()) == 1
    controller.close()


def test_backtest_start_moves_the_first_traded_candle(tmp_path: Path) -> None:
    cfg = config(tmp_path, [SUB], backtest={"start": "2024-01-02"})
    controller = run(tmp_path, cfg)
    inst = controller.session.instances[0]
    assert inst.time_of(inst.variables["ticks"][0]) == 1_704_153_600_000  # 2024-01-02 00:00 UTC
    controller.close()


def test_a_failing_strategy_pauses_only_its_instance(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    subs = [
        {
            "id": "boom",
            "strategy": "BoomStrategy",
            "pair": "BTC/USDT:USDT",
            "timeframe": "1h",
            "parameters": {"boom_at": 10},
        },
        dict(SUB, id="steady"),
    ]
    with caplog.at_level(logging.ERROR, logger="kektrade.engine"):
        controller = run(tmp_path, config(tmp_path, subs))
    boom, steady = controller.session.instances
    assert boom.status is InstanceStatus.FAILED and "boom" in (boom.error or "")
    assert len(boom.venue.get_open_orders()) == 1  # kept: on_error_cancel_orders is false
    assert boom.venue.candle_index == boom.length - 1  # still simulated after the failure
    assert steady.status is InstanceStatus.FINISHED and steady.variables["ticks"][-1] == steady.length - 1
    assert "Traceback" in caplog.text and "RuntimeError: boom" in caplog.text
    with open_run_database(tmp_path / "run" / "run.sqlite") as db:
        assert [s.status for s in db.status_changes("boom")][-1] == "failed"
    controller.close()


def test_on_error_cancel_orders(tmp_path: Path) -> None:
    sub = {
        "id": "boom",
        "strategy": "BoomStrategy",
        "pair": "BTC/USDT:USDT",
        "timeframe": "1h",
        "parameters": {"boom_at": 10},
        "on_error_cancel_orders": True,
    }
    controller = run(tmp_path, config(tmp_path, [sub]))
    assert controller.session.instances[0].venue.get_open_orders() == []
    controller.close()


def test_paused_instance_is_simulated_but_not_ticked(tmp_path: Path) -> None:
    from kektrade.control.facade import RunController

    cfg = config(tmp_path, [SUB])
    controller = RunController(cfg)
    session = controller.build()
    inst = session.instances[0]
    inst.advance(10)
    session.engine.apply(PauseInstance("probe"))
    inst.advance(20)
    assert inst.variables["ticks"][-1] == 9 and inst.venue.candle_index == 19
    session.engine.apply(ResumeInstance("probe"))
    inst.advance(21)
    assert inst.variables["ticks"][-1] == 20
    controller.close()


def test_results_json_and_database(tmp_path: Path) -> None:
    sub = dict(SUB, parameters={"script": {"5": 0.01, "9": -0.01}})
    controller = run(tmp_path, config(tmp_path, [sub]))
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    assert doc["schema"] == "kektrade.results/1"
    entry = doc["subaccounts"][0]
    assert "fills" not in entry  # in the run database's fill table, not a second time in results.json
    in_memory = controller.results["subaccounts"][0]["fills"]  # type: ignore[index]
    assert [(f["side"], f["kind"]) for f in in_memory] == [
        ("buy", "trade"),
        ("buy", "funding"),
        ("sell", "trade"),
    ]  # held through the 08:00 settlement
    assert entry["metrics"]["trades"] == 1
    assert entry["final_position"]["contracts"] == 0
    assert {"total_return", "sharpe", "max_drawdown", "buy_and_hold_return"} <= set(doc["account"]["metrics"])
    with open_run_database(tmp_path / "run" / "run.sqlite") as db:
        assert db.load_results() == doc
        stored = [(f.time_ms, f.kind, f.contracts, f.price, f.fee, f.realized_pnl) for f in db.fills("probe")]
        expected = [fill_from_entry(f) for f in in_memory]
        assert stored == [(f.time_ms, f.kind, f.contracts, f.price, f.fee, f.realized_pnl) for f in expected]
        events = [e.event for e in db.order_events("probe")]
        assert events == ["placed", "filled", "placed", "filled"]
        times, equity, _ = db.equity("probe")
        assert len(times) == len(equity) > 10
    controller.close()


def test_equity_sampled_every_candle_when_asked(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [SUB], persistence={"equity_sample": "candle"}))
    inst = controller.session.instances[0]
    steps = {b - a for a, b in zip(inst.times_ms, inst.times_ms[1:], strict=False)}
    assert steps == {3_600_000} and len(inst.times_ms) == inst.length - inst.first_index
    controller.close()


def test_equity_sampled_hourly_on_minute_candles(tmp_path: Path) -> None:
    sub = dict(SUB, timeframe="1m")
    controller = run(tmp_path, config(tmp_path, [sub]))
    inst = controller.session.instances[0]
    steps = {b - a for a, b in zip(inst.times_ms, inst.times_ms[1:-1], strict=False)}
    assert steps == {3_600_000}
    controller.close()


def test_subaccounts_on_the_same_candles_share_one_copy_of_the_market(tmp_path: Path) -> None:
    script = {"parameters": {"script": {"5": 0.01, "9": -0.01}}}
    subs = [
        dict(SUB, id="a", **script),
        dict(SUB, id="b", **script),
        dict(SUB, id="eth", pair="ETH/USDT:USDT"),
    ]
    controller = run(tmp_path, config(tmp_path, subs))
    a, b, eth = controller.session.instances
    assert a.venue.market is b.venue.market and a.venue.market is not eth.venue.market
    fills = [[(f.time_ms, f.contracts, f.price) for f in i.venue.fills if f.kind is FillKind.TRADE] for i in (a, b)]
    assert fills[0] == fills[1] and len(fills[0]) == 2  # sharing changes nothing
    controller.close()
