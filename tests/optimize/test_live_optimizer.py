"""Selection (best, none, ties), switch policies, no look-ahead, executors, and the walk-forward report."""

from pathlib import Path
from typing import Any

import pytest

from kektrade.control.facade import RunController
from kektrade.engine.instance import InstanceStatus
from kektrade.optimize.executor import InlineExecutor, ProcessExecutor
from kektrade.optimize.live import LiveOptimizer
from kektrade.optimize.wiring import optimizer_factory
from tests.engine.kit import config, run


def hold_sub(**opt: Any) -> dict[str, Any]:
    options = {
        "enabled": True,
        "reoptimize_every": "1d",
        "lookback": "1d",
        "objective": "return",
        "min_trades": 0,
        "workers": 1,
    }
    options.update(opt)
    return {
        "id": "hold",
        "strategy": "HoldStrategy",
        "pair": "BTC/USDT:USDT",
        "timeframe": "1h",
        "leverage": 1,
        "optimization": options,
    }


def synthetic(days: int, seed: int) -> dict[str, Any]:
    return {"source": "synthetic", "synthetic": {"seed": seed, "start": "2024-01-01", "days": days}}


def first_day_direction(controller: RunController) -> int:
    inst = controller.session.instances[0]
    closes, times = inst.venue.market.close, inst.venue.market.time_ms
    boundary = times[0] - times[0] % 86_400_000 + 86_400_000
    last = max(i for i, t in enumerate(times) if t < boundary)
    return 1 if closes[last] > closes[inst.first_index] else -1


def test_selects_the_best_combination_and_ties_go_to_the_first(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub()], data=synthetic(4, 3)))
    opt = controller.session.optimizers[0]
    first = opt.selections[0]
    # holding long or short for a day: the winner is the side the market went; 'dummy' 1 and 2 tie
    assert first["parameters"]["side"] == first_day_direction(controller)
    assert first["parameters"]["dummy"] == 1
    board = controller.session.instances[0].leaderboard
    assert board[0][0]["dummy"] == 1 and board[1][0]["dummy"] == 2 and board[0][1] == board[1][1]
    controller.close()


def test_none_qualifies_means_standing_aside(tmp_path: Path) -> None:
    sub = hold_sub(min_score=10.0)  # a 1000 % day: never
    controller = run(tmp_path, config(tmp_path, [sub], data=synthetic(3, 3)))
    opt = controller.session.optimizers[0]
    inst = controller.session.instances[0]
    assert all(s["parameters"] is None for s in opt.selections) and opt.selections
    assert inst.status is InstanceStatus.FINISHED  # the data ended: standing aside to the end is a finished run
    assert inst.venue.fills == [] and inst.venue.contracts == 0
    (row,) = controller.snapshot().subaccounts  # the front ends say why: the best score and its criterion
    assert row.optimizer_note is not None and row.optimizer_note.startswith("none: best score")
    assert "min_score" in row.optimizer_note and row.parameters in ({}, None)
    controller.close()


def test_first_selection_waits_for_a_full_lookback(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub(lookback="2d")], data=synthetic(4, 3)))
    opt = controller.session.optimizers[0]
    assert opt.selections[0]["time_ms"] == 1_704_067_200_000 + 2 * 86_400_000
    controller.close()


def _switching_run(tmp_path: Path, policy: str) -> tuple[RunController, LiveOptimizer]:
    controller = run(tmp_path, config(tmp_path, [hold_sub(switch_policy=policy)], data=synthetic(8, 11)))
    return controller, controller.session.optimizers[0]


@pytest.mark.parametrize("policy", ["flatten", "handover"])
def test_switch_policies(tmp_path: Path, policy: str) -> None:
    controller, opt = _switching_run(tmp_path, policy)
    inst = controller.session.instances[0]
    last_open = inst.time_of(inst.length - 1)  # a flatten ordered at the last candle cannot fill
    changes = [
        s
        for a, s in zip(opt.selections, opt.selections[1:], strict=False)
        if s["parameters"] != a["parameters"] and s["time_ms"] <= last_open
    ]
    assert changes, "the seed must produce at least one change of selection"
    closing = [f for f in inst.venue.fills if f.realized_pnl != 0 and f.kind.value == "trade"]
    if policy == "flatten":
        # every change closes the position at the next open (a reduce-only market order)
        assert len(closing) >= len(changes)
    else:
        # handover: the new parameter set inherits the position; only a change of side trades it
        side_changes = [
            s
            for a, s in zip(opt.selections, opt.selections[1:], strict=False)
            if s["parameters"] and a["parameters"] and s["parameters"]["side"] != a["parameters"]["side"]
        ]
        assert len(closing) <= len(side_changes) + 1
    controller.close()


def test_virtual_exchanges_never_see_a_candle_before_the_real_one(tmp_path: Path) -> None:
    cfg = config(tmp_path, [hold_sub()], data=synthetic(3, 3))
    controller = RunController(cfg)
    session = controller.build()
    inst, opt = session.instances[0], session.optimizers[0]
    book = opt.executor.book
    for clock in range(
        inst.time_of(inst.first_index) + 3_600_000, inst.time_of(inst.length - 1), 5 * 3_600_000
    ):
        session.engine._advance_all(clock)
        opt.on_time(clock)
        assert book.next_index == inst.next_index
        assert all(v.candle_index <= inst.venue.candle_index for v in book.venues.values())
    controller.close()


def test_process_executor_matches_the_inline_one(tmp_path: Path) -> None:
    results = []
    for executor in (InlineExecutor(), ProcessExecutor(2)):
        cfg = config(tmp_path, [hold_sub()], data=synthetic(3, 5))
        controller = RunController(cfg)
        session = controller.build()
        inst = session.instances[0]
        opt = session.optimizers[0]
        opt.executor.close()
        fresh = optimizer_factory(cfg, _prepared(cfg, tmp_path), inst, None, executor)
        session.engine.hooks = [fresh]
        session.engine.run()
        results.append(([s["parameters"] for s in fresh.selections], fresh.report()["walk_forward"]))
        controller.close()
    assert results[0] == results[1]


def _prepared(cfg: Any, tmp_path: Path) -> Any:
    from kektrade.engine.build import make_provider, prepare_instance

    return prepare_instance(cfg, cfg.subaccounts[0], 0, make_provider(cfg), Path(cfg.strategies_dir))


def test_walk_forward_report(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub()], data=synthetic(4, 3)))
    report = controller.results["extra"]["optimization"]["hold"]
    wf = report["walk_forward"]
    assert report["combinations"] == 6
    fixed = wf["fixed"]
    assert fixed["best"]["return"] >= fixed["median"]["return"] >= fixed["worst"]["return"]
    assert {"live_optimized_return", "buy_and_hold_return", "fixed_better_than_live"} <= set(wf)
    curves = report["curves"]
    assert len(curves["times_ms"]) == len(curves["live"]) == len(curves["best"])
    controller.close()


def test_lookback_shorter_than_warmup_is_a_config_error(tmp_path: Path) -> None:
    from kektrade.optimize.space import OptimizationConfigError

    sub = hold_sub(lookback="1h")
    sub["strategy"] = "HoldStrategy"
    cfg = config(tmp_path, [sub], data=synthetic(2, 3))
    controller = RunController(cfg)
    with pytest.raises(OptimizationConfigError, match=r"holds fewer than two candles|warm-up"):
        controller.build()


@pytest.mark.parametrize("chunk_s", [0.0, 10.0])
def test_selections_do_not_depend_on_how_time_is_chunked(tmp_path: Path, chunk_s: float) -> None:
    cfg = config(tmp_path, [hold_sub()], data=synthetic(5, 9))
    reference = run(tmp_path, cfg)
    expected = [s["parameters"] for s in reference.session.optimizers[0].selections]
    reference.close()
    controller = RunController(cfg)
    session = controller.build()
    session.engine.chunk_s = chunk_s  # 0: one tiny chunk after another; 10: the whole run in a few
    session.engine.chunk_ms = 3_600_000 * (1 if chunk_s == 0 else 500)
    session.engine.run()
    assert [s["parameters"] for s in session.optimizers[0].selections] == expected
    controller.close()
