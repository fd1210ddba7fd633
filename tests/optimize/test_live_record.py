"""The live optimizer's record is exact: data end, stand-aside hand-back, what is live, spans, reasons, counts."""

import logging
import math
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kektrade.analysis.metrics import compute_metrics, trade_stats
from kektrade.analysis.trades import round_trips
from kektrade.control.facade import RunController
from kektrade.domain.types import FillKind
from kektrade.engine.commands import ApplyParameters, StandAside
from kektrade.engine.instance import InstanceStatus
from kektrade.engine.results import walk_forward_table
from kektrade.optimize.live import LiveOptimizer
from kektrade.optimize.scoring import score
from kektrade.optimize.trials import VirtualBook
from kektrade.optimize.walkforward import live_state, median_of
from tests.engine.kit import config, run
from tests.optimize.test_live_optimizer import hold_sub, synthetic

DAY = 86_400_000
START = 1_704_067_200_000  # 2024-01-01


def test_no_selection_after_the_data_ends_and_the_instance_finishes(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub()], data=synthetic(3.5, 3)))  # ends 01-04 11:00
    opt = controller.session.optimizers[0]
    inst = controller.session.instances[0]
    last_open = inst.time_of(inst.length - 1)
    assert [s["time_ms"] for s in opt.selections] == [START + DAY, START + 2 * DAY, START + 3 * DAY]
    assert all(s["time_ms"] <= last_open for s in opt.selections)
    assert inst.status is InstanceStatus.FINISHED
    # another instance running on (the engine keeps calling on_time) adds no selection either
    assert opt.on_time(START + 30 * DAY) == [] and len(opt.selections) == 3
    assert controller.results["extra"]["optimization"]["hold"]["walk_forward"]["windows"] == 3
    controller.close()


def _driven(tmp_path: Path, **opt: Any) -> tuple[RunController, Any, Any, Any]:
    cfg = config(tmp_path, [hold_sub(**opt)], data=synthetic(4, 3))
    controller = RunController(cfg)
    session = controller.build()
    return controller, session.engine, session.instances[0], session.optimizers[0]


def _combo(opt: Any, side: int) -> int:
    return next(k for k, c in enumerate(opt.combos) if c["side"] == side and c["dummy"] == 1)


def test_switching_back_from_standing_aside_closes_the_leftover_and_stops_stay(tmp_path: Path) -> None:
    controller, engine, inst, opt = _driven(tmp_path, stand_aside="cancel_orders", switch_policy="flatten")
    engine.apply(opt._command(_combo(opt, 1)))  # long
    engine._advance_all(inst.time_of(inst.first_index + 3))
    assert inst.venue.contracts > 0
    stop = inst.venue.open_order("stop_market", -inst.venue.contracts, trigger_price=1.0, reduce_only=True)
    command = opt._command(None)
    assert isinstance(command, StandAside) and not command.flatten
    engine.apply(command)
    assert inst.status is InstanceStatus.STANDING_ASIDE and inst.venue.contracts > 0
    assert [o.id for o in inst.venue.get_open_orders()] == [stop.id]  # the protective stop stays
    back = opt._command(_combo(opt, -1))  # a short selection after standing aside
    assert isinstance(back, ApplyParameters) and back.flatten_first
    engine.apply(back)
    engine._advance_all(inst.time_of(inst.first_index + 6))
    assert inst.venue.contracts < 0  # the long was closed before the short opened: no long under a short pick
    closes = [f for f in inst.venue.fills if f.realized_pnl != 0]
    assert closes, "the leftover long must be closed by a fill"
    controller.close()


def test_what_is_live_is_shown_never_a_set_that_was_not_live(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub(min_score=10.0)], data=synthetic(3, 3)))
    entry = controller.results["subaccounts"][0]
    assert entry["parameters"] is None
    assert entry["live_text"] == "none since 2024-01-02 00:00" and entry["live_since"] == "2024-01-02 00:00"
    controller.close()


def test_front_ends_show_no_parameters_while_nothing_is_live(tmp_path: Path) -> None:
    from kektrade.engine.views import subaccount_row

    controller, engine, inst, opt = _driven(tmp_path)
    assert subaccount_row(inst).parameters == {}  # before the first selection: nothing is live
    engine.apply(opt._command(_combo(opt, 1)))
    assert subaccount_row(inst).parameters == opt.combos[_combo(opt, 1)]
    engine.apply(opt._command(None))
    assert subaccount_row(inst).parameters == {} and inst.status is InstanceStatus.STANDING_ASIDE
    controller.close()


class _Record:
    def __init__(self, picks: list[tuple[int, dict[str, Any] | None]]) -> None:
        self.selections = [{"time_ms": t, "parameters": p} for t, p in picks]


def test_live_state_after_a_none_is_none_since_then() -> None:
    a = {"side": 1}
    state = live_state(_Record([(START, a), (START + DAY, None), (START + 2 * DAY, None)]))
    assert state == {"parameters": None, "since": "2024-01-02 00:00", "text": "none since 2024-01-02 00:00"}
    state = live_state(_Record([(START, None), (START + DAY, a), (START + 2 * DAY, a)]))
    assert state["parameters"] == a and state["since"] == "2024-01-02 00:00"
    assert live_state(_Record([]))["parameters"] is None


def test_fixed_median_is_one_combination_at_rank_ceil_half() -> None:
    assert median_of([9, 8, 7, 6]) == 8  # rank 2 of 4
    assert median_of([9, 8, 7]) == 8  # rank 2 of 3
    assert median_of([5]) == 5


def test_fixed_combinations_are_measured_on_the_span_live_optimization_traded(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub(lookback="2d")], data=synthetic(6, 4)))
    opt = controller.session.optimizers[0]
    inst = controller.session.instances[0]
    wf = controller.results["extra"]["optimization"]["hold"]["walk_forward"]
    start = opt.selections[0]["time_ms"]
    assert wf["span"]["start"] == "2024-01-03 00:00"
    finals = opt.executor.final_equity() if opt._final is None else opt._final
    at = opt.times.index(start)  # the sample taken at the first selection
    span_returns = {k: finals[k] / opt.equity[k][at] - 1.0 for k in finals}
    best = max(span_returns.values())
    assert wf["fixed"]["best"]["return"] == pytest.approx(best)
    assert wf["median_fixed_return"] == wf["fixed"]["median"]["return"]
    ranked = sorted(span_returns.values(), reverse=True)
    assert wf["median_fixed_return"] == pytest.approx(ranked[(len(ranked) - 1) // 2])
    market = inst.venue.market
    first = market.time_ms.index(start)
    bh = market.close[inst.venue.candle_index] / market.open[first] - 1.0
    assert wf["buy_and_hold_return"] == pytest.approx(bh)
    # the flat combination (side 0) made nothing on any span; the whole-run figure would differ for the others
    assert sum(1 for r in span_returns.values() if r == 0.0) == 2
    controller.close()


def test_an_infinite_score_never_wins(tmp_path: Path) -> None:
    controller, _engine, _inst, opt = _driven(tmp_path, objective="profit_factor")
    one_lucky = _combo(opt, 1)
    steady = _combo(opt, -1)
    opt.scores_at = lambda _b: [(one_lucky, math.inf, 1), (steady, 3.0, 60)] + [
        (k, math.nan, 0) for k in range(len(opt.combos)) if k not in (one_lucky, steady)
    ]
    command = opt._select(START + DAY)
    assert isinstance(command, ApplyParameters) and opt.selections[-1]["combination"] == steady
    assert opt._ruled_out(one_lucky, math.inf, 1) == "infinite score"
    controller.close()


def test_one_metrics_module_for_scores_and_the_results_table() -> None:
    rng = np.random.default_rng(4)
    times = np.cumsum(rng.choice([3_600_000, 3_600_000, 7_200_000], size=200)).tolist()  # irregular: median basis
    equity = (1000 * np.cumprod(1 + rng.normal(0, 0.01, size=200))).tolist()
    metrics = compute_metrics(times, equity, [], equity[0])
    assert score("sharpe", times, equity, []) == pytest.approx(metrics.sharpe)
    assert score("sortino", times, equity, []) == pytest.approx(metrics.sortino)
    pnls = [5.0, -2.0, 3.0, -1.0]
    assert score("profit_factor", times, equity, pnls) == trade_stats(pnls)[1] == pytest.approx(8 / 3)
    # annualisation basis: sqrt(samples per 365-day year) at the median spacing (hourly here)
    rets = np.diff(equity) / np.asarray(equity[:-1])
    by_hand = rets.mean() / rets.std(ddof=1) * math.sqrt(365 * 24)
    assert score("sharpe", times, equity, []) == pytest.approx(by_hand)


def test_none_says_why_in_the_record_and_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kektrade.optimize")
    controller = run(tmp_path, config(tmp_path, [hold_sub(min_score=10.0, min_trades=0)], data=synthetic(3, 3)))
    report = controller.results["extra"]["optimization"]["hold"]
    why = report["selections"][0]["why_none"]
    scores = [c["score"] for c in why["candidates"] if c["score"] is not None]
    assert why["best_score"] == max(scores) < 10.0
    assert why["ruled_out"] == {"min_score": 6}
    assert all(c["ruled_out"].startswith("min_score (") for c in why["candidates"])
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "none: standing aside; best score" in text and "ruled out by min_score" in text
    controller.close()


def test_min_trades_is_named_as_the_reason(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub(min_trades=50)], data=synthetic(3, 3)))
    why = controller.results["extra"]["optimization"]["hold"]["selections"][0]["why_none"]
    assert why["ruled_out"] == {"min_trades": 6}
    assert why["candidates"][0]["ruled_out"].startswith("min_trades (0 < 50)")
    controller.close()


def test_walk_forward_table_counts_windows_none_windows_and_switches(tmp_path: Path) -> None:
    controller = run(tmp_path, config(tmp_path, [hold_sub()], data=synthetic(8, 11)))
    picks = [s["parameters"] for s in controller.session.optimizers[0].selections]
    switches = sum(1 for a, b in pairwise(picks) if a != b)
    nones = sum(1 for p in picks if p is None)
    table = walk_forward_table(controller.results)
    assert f"{len(picks)} windows ({nones} none), {switches} switches" in table
    assert "same span" in table and "reading: PBO" in table
    controller.close()


def test_the_optimizer_counts_the_results_tables_trades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """min_trades and profit factor see round trips net of fees and funding, not closing fills."""
    fills: dict[int, list[Any]] = {}
    scored: dict[int, list[tuple[int, float, int]]] = {}
    read_closes, score_window = VirtualBook._closes, LiveOptimizer.scores_at

    def keep_fills(book: VirtualBook, k: int) -> list[tuple[int, float]]:
        fills.setdefault(k, []).extend(book.venues[k].fills)  # the book drops them once read
        return read_closes(book, k)

    def keep_scores(opt: LiveOptimizer, boundary_ms: int) -> list[tuple[int, float, int]]:
        scored[boundary_ms] = score_window(opt, boundary_ms)
        return scored[boundary_ms]

    monkeypatch.setattr(VirtualBook, "_closes", keep_fills)
    monkeypatch.setattr(LiveOptimizer, "scores_at", keep_scores)
    sub = {**hold_sub(objective="profit_factor", min_trades=0), "strategy": "ScaleStrategy"}
    controller = run(tmp_path, config(tmp_path, [sub], data=synthetic(3, 3)))
    assert len(scored) == len(controller.session.optimizers[0].selections) >= 2
    for k, seen in fills.items():
        trips = round_trips(seen)
        closing = [f for f in seen if f.kind is not FillKind.FUNDING and f.realized_pnl != 0.0]
        assert len(trips) >= 5 and len(closing) == 2 * len(trips)  # each trip closes in two halves
        for boundary, scores in scored.items():
            # a fill at the boundary itself happens on the candle opening there: not known yet when selecting
            window = [t.pnl for t in trips if boundary - DAY < (t.exit_time_ms or 0) < boundary]
            ((value, trades),) = [(v, n) for j, v, n in scores if j == k]
            assert trades == len(window) > 0
            assert value == trade_stats(window)[1] or (math.isnan(value) and math.isnan(trade_stats(window)[1]))
    controller.close()
