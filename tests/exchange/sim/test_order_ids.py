"""Order ids are the decimal count of orders placed: "1", "2", ... across every thousand and after a resume."""

from __future__ import annotations

from kektrade.domain.types import OrderType
from kektrade.exchange.sim.state import export_state, restore_state
from tests.exchange.sim.simkit import make_sim


def test_ids_count_up_in_decimal_across_thousands() -> None:
    sim = make_sim([(100.0, 101.0, 99.0, 100.0)] * 3)
    sim.step(0)
    ids = [sim.open_order(OrderType.LIMIT, 0.001, 90.0).id for _ in range(2_105)]
    sim.cancel_all_orders()
    assert ids == [str(n) for n in range(1, 2_106)]


def test_a_restored_venue_goes_on_from_its_count() -> None:
    sim = make_sim([(100.0, 101.0, 99.0, 100.0)] * 3)
    sim.step(0)
    sim.open_order(OrderType.LIMIT, 0.001, 90.0)
    state = export_state(sim)
    for count in (998, 999_998, 1_000_999, 12_345_678_999):
        other = make_sim([(100.0, 101.0, 99.0, 100.0)] * 3)
        other.step(0)
        restore_state(other, state | {"next_order_id": count})
        assert [other.open_order(OrderType.LIMIT, 0.001, 90.0).id for _ in range(3)] == [
            str(count + k) for k in (1, 2, 3)
        ]
