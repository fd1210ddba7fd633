"""MarketMakerStrategy on hand-made candles: post-only skewed quotes, amendments, the position cap."""

from __future__ import annotations

from typing import Any

import pytest

from kektrade.domain.types import Order, OrderStatus, OrderType, RejectReason
from kektrade.exchange.sim.exchange import SimExchange
from tests.strategies.kit import engine_run, make_run, module_of

FLAT = (40_000, 40_000, 40_000, 40_000)
DIP = (40_000, 40_000, 39_000, 40_000)  # closes at its open: open -> low -> high -> close, bids fill
POP = (40_000, 41_000, 40_000, 40_000)  # closes at its open too, but only the high reaches the asks
# balance 100,000 at 40,000 and leverage 1: cap 0.5 BTC, quotes 0.125 BTC
PARAM = {"half_spread_bps": 10, "skew": 1.0, "cap_pct": 0.2, "quote_pct": 0.05, "ema": 3}


def mm_run(rows: list[tuple[float, ...]], **overrides: Any) -> Any:
    return make_run("MarketMakerStrategy", rows, {**PARAM, **overrides}, maker_fee=0.0)


def quotes(venue: SimExchange) -> dict[str, Order]:
    return {o.side: o for o in venue.get_open_orders()}


def test_first_quotes_are_post_only_limits_half_spread_around_the_fair_price() -> None:
    run = mm_run([FLAT] * 4)
    run.until(2)
    assert run.venue.get_open_orders() == []  # EMA(3) not warm before candle 2
    run.until(3)
    bid, ask = quotes(run.venue)["buy"], quotes(run.venue)["sell"]
    assert (bid.type, bid.post_only, bid.contracts, bid.price) == (OrderType.LIMIT, True, 0.125, 39_960.0)
    assert (ask.type, ask.post_only, ask.contracts, ask.price) == (OrderType.LIMIT, True, -0.125, 40_040.0)
    before = len(run.journal.records)
    run.until(4)
    assert run.events(before) == []  # nothing moved: no amendment, no new order


def test_a_long_inventory_lowers_both_quotes_and_they_are_amended_in_place() -> None:
    run = mm_run([FLAT, FLAT, FLAT, DIP, FLAT])
    run.until(3)
    ids = {side: o.id for side, o in quotes(run.venue).items()}
    before = len(run.journal.records)
    run.until(4)  # the dip fills the bid at 39,960 (maker); the tick re-quotes
    fill = run.venue.fills[0]
    assert (fill.contracts, fill.price, fill.is_maker) == (0.125, 39_960.0, True)
    # inventory 0.125 / 0.5 = 0.25 -> centre 40,000 x (1 - 0.25 x 0.001) = 39,990
    now = quotes(run.venue)
    assert (now["buy"].price, now["sell"].price) == (39_950.0, 40_030.0)
    assert now["sell"].id == ids["sell"]  # the ask was amended, not re-placed
    events = [(e.event, e.order.side) for e in run.events(before)]
    assert events == [("filled", "buy"), ("placed", "buy"), ("amended", "sell")]


def test_a_short_inventory_raises_both_quotes() -> None:
    run = mm_run([FLAT, FLAT, FLAT, POP, FLAT])
    run.until(4)
    assert run.venue.contracts == -0.125
    now = quotes(run.venue)
    assert (now["buy"].price, now["sell"].price) == (39_970.0, 40_050.0)


def test_without_skew_the_quotes_stay_centred_on_the_fair_price() -> None:
    run = mm_run([FLAT, FLAT, FLAT, DIP, FLAT], skew=0.0)
    run.until(4)
    assert run.venue.contracts == 0.125
    now = quotes(run.venue)
    assert (now["buy"].price, now["sell"].price) == (39_960.0, 40_040.0)


def test_the_position_never_passes_the_cap_and_there_is_no_bid_at_the_cap() -> None:
    run = mm_run([FLAT, FLAT, FLAT] + [DIP] * 5, quote_pct=0.06)  # quotes 0.15, cap 0.5
    sizes = []
    for i in range(8):
        run.step(i)
        bid = quotes(run.venue).get("buy")
        sizes.append(bid.contracts if bid else None)
        assert run.venue.contracts <= 0.5 + 1e-9
    assert [f.contracts for f in run.venue.fills] == [0.15, 0.15, 0.15, 0.05]  # the last bid cut to 0.05
    assert sizes[2:] == [0.15, 0.15, 0.15, 0.05, None, None]
    assert run.venue.contracts == pytest.approx(0.5)
    assert quotes(run.venue)["sell"].contracts == -0.15  # still offering to sell down the inventory


def test_quotes_stay_passive_when_the_fair_price_is_beyond_the_last_close() -> None:
    run = mm_run([FLAT, FLAT, (40_000, 40_000, 39_800, 39_800)])
    run.until(3)
    ema = run.frame["ema3"].iloc[2]
    assert ema == pytest.approx(39_933.333, abs=1e-3)  # the EMA lags: EMA - 10 bps = 39,893.4 > close
    bid = quotes(run.venue)["buy"]
    assert (bid.price, bid.status) == (39_799.9, OrderStatus.NEW)  # one tick under the last close
    assert quotes(run.venue)["sell"].price == 39_973.3  # 39,933.33 + 39.93 rounded up


def test_quote_prices_round_to_the_tick_on_the_passive_side() -> None:
    mod = module_of(mm_run([FLAT]).strategy)
    bid, ask = mod.quote_prices(40_000.03, 40_000.0, 10.0, 0.0, 0.0, 0.1)
    assert (bid, ask) == (39_960.0, 40_040.1)  # 39,960.03 rounds down, 40,040.03 up
    bid, ask = mod.quote_prices(2_000.0, 2_000.0, 5.0, 0.5, -1.0, 0.05)
    assert (bid, ask) == (1_999.5, 2_001.5)  # short inventory: centre 2,000.5, half-spread 1.0


class NoAmendSim(SimExchange):
    """A venue that refuses every amendment (as a live venue may), leaving the order unchanged."""

    def edit_order(
        self,
        order_id: str,
        price: float | None = None,
        contracts: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        order = next(o for o in self.get_open_orders() if o.id == order_id)
        order.reject_reason = "amend refused: test venue"
        return order


def test_a_refused_amendment_falls_back_to_cancel_and_place() -> None:
    run = make_run(
        "MarketMakerStrategy", [FLAT, FLAT, FLAT, DIP, FLAT], PARAM, venue_cls=NoAmendSim, maker_fee=0.0
    )
    run.until(3)
    old_ask = quotes(run.venue)["sell"]
    before = len(run.journal.records)
    run.until(4)
    events = [(e.event, e.order.side, e.order.price) for e in run.events(before)]
    assert events == [
        ("filled", "buy", 39_960.0),
        ("placed", "buy", 39_950.0),
        ("cancelled", "sell", 40_040.0),
        ("placed", "sell", 40_030.0),
    ]
    assert old_ask.status is OrderStatus.CANCELLED
    assert [o.price for o in run.venue.get_open_orders()] == [39_950.0, 40_030.0]


@pytest.mark.parametrize("runner", ["loop", "engine"])
def test_a_quote_the_next_open_gaps_through_is_cancelled_not_filled(runner: str) -> None:
    rows = [FLAT, FLAT, FLAT, (39_900, 39_950, 39_850, 39_900)]
    if runner == "engine":
        run = engine_run("MarketMakerStrategy", rows, PARAM, maker_fee=0.0)
    else:
        run = mm_run(rows)
        run.until(4)
    assert run.venue.fills == []  # post-only: cancelled at the open of candle 3, never a fill
    cancelled = [e.order for e in run.events() if e.event == "cancelled"]
    assert [(o.side, o.price, o.reject_reason) for o in cancelled] == [
        ("buy", 39_960.0, RejectReason.POST_ONLY_WOULD_TAKE.value)
    ]
