"""The strategy check finds look-ahead (reads, indicators, decisions) and too short warm-ups, and nothing else."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kektrade import cli
from kektrade.config import parse_config
from kektrade.control.facade import RunController
from kektrade.engine.build import BuildError
from kektrade.engine.preflight import check_config
from kektrade.strategy.check import FULL

STRATEGIES = textwrap.dedent(
    '''
    from kektrade.strategy.base import Strategy


    class CrossBaseStrategy(Strategy):
        startup_candle_count = 19

        def populate_indicators(self, dataframe, metadata, parameters):
            dataframe["sma20"] = dataframe["close"].rolling(20).mean()
            return dataframe

        def signal(self, dataframe, index):
            return self.c.close[index] > self.c.sma20[index]

        def tick(self, dataframe, index, metadata, parameter, variables, account):
            want = 1 if self.signal(dataframe, index) else -1
            if account.contracts * want <= 0:
                account.close_position() if account.contracts else None
                account.open_order("market", want * 0.01)


    class CleanStrategy(CrossBaseStrategy):
        """Close against its trailing SMA: no look-ahead, warm-up exactly enough."""


    class PeekStrategy(CrossBaseStrategy):
        """Trades tomorrow's close today (reads self.c.close[index + 1])."""

        def signal(self, dataframe, index):
            return self.c.close[index + 1] > self.c.close[index]


    class FramePeekStrategy(CrossBaseStrategy):
        """The same peek through the dataframe argument, which the read probe does not watch."""

        def signal(self, dataframe, index):
            close = dataframe["close"]
            return close.iloc[index + 1] > close.iloc[index]


    class ShiftStrategy(CrossBaseStrategy):
        """An indicator built with shift(-1): the next candle's close."""

        def populate_indicators(self, dataframe, metadata, parameters):
            dataframe = super().populate_indicators(dataframe, metadata, parameters)
            dataframe["next_close"] = dataframe["close"].shift(-1)
            return dataframe


    class ScheduledStrategy(CrossBaseStrategy):
        """Ticked only where close crosses its SMA (as it trades): clean."""

        def tick_on(self, dataframe, parameter):
            above = dataframe["close"] > dataframe["sma20"]
            return above != above.shift(1, fill_value=False)


    class ScheduleFromTheFutureStrategy(CrossBaseStrategy):
        """Ticked on the candle before the close crosses its SMA: the selection itself looks ahead."""

        def tick_on(self, dataframe, parameter):
            above = dataframe["close"] > dataframe["sma20"]
            return (above != above.shift(1, fill_value=False)).shift(-1, fill_value=False)


    class ShortWarmupStrategy(CrossBaseStrategy):
        """SMA(20) and EMA(50) with a warm-up of 5 candles."""

        startup_candle_count = 5

        def populate_indicators(self, dataframe, metadata, parameters):
            dataframe = super().populate_indicators(dataframe, metadata, parameters)
            dataframe["ema50"] = dataframe["close"].ewm(span=50, adjust=False).mean()
            return dataframe
    '''
)


def write_config(tmp_path: Path, strategy: str, **opt: Any) -> Path:
    folder = tmp_path / "strategies"
    folder.mkdir(exist_ok=True)
    (folder / "checked.py").write_text(STRATEGIES)
    sub: dict[str, Any] = {"id": "s", "strategy": strategy, "pair": "BTC/USDT:USDT", "timeframe": "1h"}
    if opt:
        sub["optimization"] = opt
    doc = {
        "metastrategy_id": "check_test",
        "strategies_dir": str(folder),
        "history_dir": str(tmp_path / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 3, "start": "2024-01-01", "days": 40}},
        "subaccounts": [sub],
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return path


def full_report(tmp_path: Path, strategy: str) -> Any:
    config = parse_config(write_config(tmp_path, strategy).read_text())
    (result,) = check_config(config, FULL)
    assert result.report is not None, result.error
    return result.report


def test_a_clean_strategy_passes_both_checks(tmp_path: Path) -> None:
    report = full_report(tmp_path, "CleanStrategy")
    assert report.lookahead == [] and report.warmup == []
    assert report.cuts >= 8 and report.ticked > 900


def test_reading_the_next_close_is_flagged_at_the_first_ticked_candle(tmp_path: Path) -> None:
    report = full_report(tmp_path, "PeekStrategy")
    reads = [f for f in report.lookahead if f.kind == "read"]
    assert [f.name for f in reads] == ["close"]
    assert reads[0].candle == 19  # the first traded candle after the 19-candle warm-up
    assert "close[20]" in reads[0].detail and reads[0].time == "2024-01-01 19:00"


def test_peeking_through_the_dataframe_is_caught_by_the_decision_probe(tmp_path: Path) -> None:
    report = full_report(tmp_path, "FramePeekStrategy")
    kinds = {f.kind for f in report.lookahead}
    assert kinds and kinds <= {"decision", "error"}
    assert all(f.candle >= 19 for f in report.lookahead)


def test_an_indicator_from_the_future_is_named_with_its_first_candle(tmp_path: Path) -> None:
    report = full_report(tmp_path, "ShiftStrategy")
    (finding,) = report.lookahead
    assert finding.kind == "indicator" and finding.name == "next_close"
    # the earliest cut is where the replaced future first shows: the value at the cut itself changes
    assert "when the candles after" in finding.detail and f"after {finding.candle} " in finding.detail


def test_a_tick_schedule_from_the_past_passes(tmp_path: Path) -> None:
    report = full_report(tmp_path, "ScheduledStrategy")
    assert report.lookahead == []


def test_a_tick_schedule_from_the_future_is_named_with_its_first_candle(tmp_path: Path) -> None:
    report = full_report(tmp_path, "ScheduleFromTheFutureStrategy")
    found = [f for f in report.lookahead if f.kind == "schedule"]
    assert [f.name for f in found] == ["tick_on"]
    assert f"after {found[0].candle} " in found[0].detail  # the candle before a cross, seen at its own cut
    assert found[0].detail.startswith(("selects", "drops"))


def test_a_too_short_warm_up_names_the_columns_and_the_count_that_is_enough(tmp_path: Path) -> None:
    report = full_report(tmp_path, "ShortWarmupStrategy")
    needed = {w.column: w.needed for w in report.warmup}
    assert needed["sma20"] == 19  # a 20-candle mean needs the 19 candles before it, exactly
    assert needed["ema50"] is not None and needed["ema50"] > 100  # 1e-4 relative: about 50 * ln(1e4) / 2
    assert report.enough_candles == needed["ema50"]
    text = "\n".join(report.lines())
    assert f"set startup_candle_count to at least {needed['ema50']}" in text


def test_the_enough_count_is_enough(tmp_path: Path) -> None:
    first = full_report(tmp_path, "ShortWarmupStrategy")
    source = STRATEGIES.replace("startup_candle_count = 5", f"startup_candle_count = {first.enough_candles}")
    (tmp_path / "strategies" / "checked.py").write_text(source)
    config = parse_config((tmp_path / "config.json").read_text())
    (result,) = check_config(config, FULL)
    assert result.report is not None and result.report.warmup == []


def test_kektrade_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", str(write_config(tmp_path, "CleanStrategy"))]) == 0
    assert "look-ahead: pass" in capsys.readouterr().out
    assert cli.main(["check", str(write_config(tmp_path, "PeekStrategy"))]) == 1
    out = capsys.readouterr().out
    assert "look-ahead: FAIL" in out and "read close at candle 19 (2024-01-01 19:00)" in out


def test_a_backtest_warns_and_records_the_cheap_check(tmp_path: Path) -> None:
    config = parse_config(write_config(tmp_path, "PeekStrategy").read_text())
    controller = RunController(config)
    session = controller.build()
    check = session.checks["s"]
    assert check["lookahead"] == "fail" and check["findings"][0]["name"] == "close"
    session.engine.run()
    assert session.results()["extra"]["strategy_checks"]["s"]["lookahead"] == "fail"
    controller.close()


def test_an_optimization_of_a_failing_strategy_is_refused_unless_allowed(tmp_path: Path) -> None:
    opt = {"enabled": True, "lookback": "2d", "workers": 1}
    source = STRATEGIES + textwrap.dedent(
        '''

        class PeekOptStrategy(PeekStrategy):
            def get_search_space(self):
                return {"k": [1, 2]}
        '''
    )
    path = write_config(tmp_path, "PeekOptStrategy", **opt)
    (tmp_path / "strategies" / "checked.py").write_text(source)
    with pytest.raises(BuildError, match=r"subaccounts\[0\]\.optimization: PeekOptStrategy looks ahead: read close"):
        RunController(parse_config(path.read_text())).build()
    allowed = write_config(tmp_path, "PeekOptStrategy", **opt, allow_lookahead=True)
    (tmp_path / "strategies" / "checked.py").write_text(source)
    controller = RunController(parse_config(allowed.read_text()))
    assert controller.build().checks["s"]["lookahead"] == "fail"
    controller.close()


def test_the_results_table_carries_the_warning(tmp_path: Path) -> None:
    from kektrade.engine.results import results_table

    config = parse_config(write_config(tmp_path, "PeekStrategy").read_text())
    controller = RunController(config)
    session = controller.build()
    session.engine.run()
    table = results_table(session.results())
    assert "WARNING s: PeekStrategy looks ahead (read close at 2024-01-01 19:00)" in table
    controller.close()


def test_the_shipped_strategies_pass_the_full_check(tmp_path: Path) -> None:
    doc = json.loads((Path(__file__).resolve().parents[2] / "configs" / "demo.json").read_text())
    doc["data"]["synthetic"]["days"] = 8
    doc["strategies_dir"] = str(Path(__file__).resolve().parents[2] / "strategies")
    doc["history_dir"] = str(tmp_path / "history")
    results = check_config(parse_config(json.dumps(doc)), FULL)
    assert [r.subaccount for r in results] == ["sma_btc", "mm_eth", "breakout_btcusd"]
    for result in results:
        assert result.report is not None, result.error
        assert result.report.lookahead == [], (result.subaccount, result.report.lines())
        assert result.report.warmup == [], (result.subaccount, result.report.lines())


def test_watched_columns_note_the_first_read_past_the_ticked_candle() -> None:
    from kektrade.strategy.lookahead import _Clock, _Watched

    clock = _Clock()
    column = _Watched("close", [1.0, 2.0, 3.0, 4.0, 5.0], clock)
    clock.index = 2
    assert column[2] == 3.0 and column[0:3] == [1.0, 2.0, 3.0] and column[-3] == 3.0
    assert clock.reads == {}
    assert column[-1] == 5.0  # the last element of a backtest's column is the future
    assert clock.reads == {"close": (2, 4)}
    clock.reads.clear()
    assert column[1:4] == [2.0, 3.0, 4.0] and clock.reads == {"close": (2, 3)}
    clock.reads.clear()
    assert max(column) == 5.0 and clock.reads == {"close": (2, 4)}
    clock.reads.clear()
    clock.index = -1  # outside tick (populate_indicators) nothing is watched
    assert column[4] == 5.0 and clock.reads == {}


def test_the_check_leaves_the_traded_strategy_untouched(tmp_path: Path) -> None:
    source = STRATEGIES + textwrap.dedent(
        '''

        class SelfStateStrategy(CleanStrategy):
            """Keeps a tick count on self (against the docs): the check must not add to it."""

            def __init__(self):
                super().__init__()
                self.ticks = []

            def tick(self, dataframe, index, metadata, parameter, variables, account):
                self.ticks.append(index)
                super().tick(dataframe, index, metadata, parameter, variables, account)
        '''
    )
    path = write_config(tmp_path, "SelfStateStrategy")
    (tmp_path / "strategies" / "checked.py").write_text(source)
    controller = RunController(parse_config(path.read_text()))
    session = controller.build()
    inst = session.instances[0]
    assert inst.strategy.ticks == []  # the check ticked its own copies
    session.engine.run()
    assert inst.strategy.ticks == list(range(inst.first_index, inst.length))
    controller.close()


def test_indicators_that_return_nothing_on_short_histories_count_as_not_warmed_up(tmp_path: Path) -> None:
    source = STRATEGIES + textwrap.dedent(
        '''

        import pandas_ta as ta


        class TaWarmupStrategy(CleanStrategy):
            """pandas_ta's SMA(30) returns None for fewer than 30 candles."""

            startup_candle_count = 5

            def populate_indicators(self, dataframe, metadata, parameters):
                dataframe["ta_sma30"] = ta.sma(dataframe["close"], length=30)
                return super().populate_indicators(dataframe, metadata, parameters)
        '''
    )
    path = write_config(tmp_path, "TaWarmupStrategy")
    (tmp_path / "strategies" / "checked.py").write_text(source)
    (result,) = check_config(parse_config(path.read_text()), FULL)
    assert result.report is not None
    assert {w.column: w.needed for w in result.report.warmup} == {"sma20": 19, "ta_sma30": 29}
