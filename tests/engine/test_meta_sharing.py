"""Meta-strategies: subaccounts on one market hold it once, and a snapshot's work does not grow with the run."""

from __future__ import annotations

import textwrap
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from kektrade.control.facade import RunController
from tests.engine.kit import config

OWN_CLOSE = '''
from kektrade.strategy.base import Strategy


class HeikinClose(Strategy):
    """Replaces the close column with the candle's mid (a strategy may rewrite price columns)."""

    def populate_indicators(self, dataframe, metadata, parameters):
        dataframe["close"] = (dataframe["open"] + dataframe["close"]) / 2
        return dataframe
'''


def sub(sid: str, timeframe: str = "5m", strategy: str = "ProbeStrategy") -> dict[str, Any]:
    return {"id": sid, "strategy": strategy, "pair": "BTC/USDT:USDT", "timeframe": timeframe}


def build(tmp_path: Path, subs: list[dict[str, Any]], **top: Any) -> Any:
    cfg = config(tmp_path, subs, **top)
    (Path(cfg.strategies_dir) / "own_close.py").write_text(textwrap.dedent(OWN_CLOSE))
    return RunController(cfg).build()


def test_subaccounts_on_one_market_share_its_arrays_and_columns(tmp_path: Path) -> None:
    a, b, c = build(tmp_path, [sub("a"), sub("b"), sub("c", "15m")]).instances
    assert a.venue.market is b.venue.market  # one copy of the simulator's arrays
    assert a.venue.market is not c.venue.market  # another timeframe: its own
    for inst in (a, b):  # the strategy's price columns are those arrays, not a conversion of its own
        for name in ("open", "high", "low", "close", "volume"):
            assert inst.strategy.c[name] is getattr(inst.venue.market, name)
    assert a.strategy.c.close is b.strategy.c.close
    # the indicator frames share the loaded candle columns (copy-on-write), not copies
    assert np.shares_memory(a.frame["close"].to_numpy(), b.frame["close"].to_numpy())
    assert not np.shares_memory(a.frame["close"].to_numpy(), c.frame["close"].to_numpy())


def test_a_strategy_that_rewrites_a_price_column_gets_its_own(tmp_path: Path) -> None:
    plain, own = build(tmp_path, [sub("plain"), sub("own", strategy="HeikinClose")]).instances
    market = plain.venue.market
    assert own.venue.market is market  # the simulator still trades the real prices
    assert own.strategy.c.close is not market.close
    mid = (np.asarray(market.open) + np.asarray(market.close)) / 2
    assert list(own.strategy.c.close) == mid.tolist()
    assert plain.strategy.c.close is market.close
    assert plain.frame["close"].tolist() == list(market.close)  # the neighbour's rewrite did not leak


class CountingList(list):  # type: ignore[type-arg]
    """A list that counts the elements read from it (by index or slice)."""

    reads = 0

    def __getitem__(self, key: Any) -> Any:
        got = super().__getitem__(key)
        CountingList.reads += len(got) if isinstance(key, slice) else 1
        return got


def test_snapshot_work_does_not_grow_with_the_run(tmp_path: Path) -> None:
    session = build(tmp_path, [sub("a", "1m"), sub("b", "1m"), sub("c", "5m")], persistence={"equity_sample": "candle"})
    engine = session.engine
    for inst in engine.instances:  # the equity samples the snapshots' account series reads
        inst.times_ms, inst.equity_quote = CountingList(), CountingList()
    first = engine.instances[0].time_of(engine.instances[0].next_index)
    reads, sizes = [], []
    for k in range(1, 41):  # 40 snapshots, 60 candles of market time apart
        engine.run_until(first + k * 3_600_000)
        new = sum(len(inst.times_ms) for inst in engine.instances)
        CountingList.reads = 0
        snap = engine.snapshot()
        reads.append((CountingList.reads, new))
        sizes.append((len(snap.equity_times_ms), max(len(f) for f in snap.recent_fills.values())))
    # a snapshot reads the samples recorded since the previous one (each new time is looked up in every
    # subaccount's series: a few reads per sample and subaccount), never the whole history
    per_step = [r for r, _ in reads[1:]]
    added = [n2 - n1 for (_, n1), (_, n2) in pairwise(reads)]
    bound = len(engine.instances) + 3
    assert all(r <= bound * a + 10 for r, a in zip(per_step, added, strict=True))
    assert max(per_step[-10:]) <= max(per_step[:10])  # late snapshots cost what early ones did
    assert all(n <= 4_001 and f <= 100 for n, f in sizes)  # bounded series and fill lists
