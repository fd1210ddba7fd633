"""A run folder written at schema 2 (data/v2_run, see its README) stays readable, and its config run again
today gives the same fills, order events, equity and results — now stored columnar and in results.json."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kektrade.config import parse_config
from kektrade.control.facade import RunController, RunPaths
from kektrade.control.history import fill_from_entry, subaccount_fills
from kektrade.control.stored import StoredRunController
from kektrade.domain.journal import OrderRecorded
from kektrade.persistence import columnar
from kektrade.persistence.database import open_run_database
from kektrade.persistence.models import SCHEMA_VERSION

FIXTURE = Path(__file__).parent / "data" / "v2_run"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def old_folder(tmp_path: Path) -> Path:
    """A copy of the schema-2 folder (opening it migrates the file)."""
    folder = tmp_path / "2026-12-01_20-05-57_v2fixture"
    shutil.copytree(FIXTURE, folder)
    return folder


def raw(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db_path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_schema_2_folder_reads_as_before(old_folder: Path) -> None:
    db_path = old_folder / "run.sqlite"
    fills_sql = 'SELECT time_ms, contracts, price, fee, order_id FROM "fill" ORDER BY time_ms, id'
    stored_fills = raw(db_path, fills_sql)
    events = raw(db_path, 'SELECT event, order_id, status FROM "order_event" ORDER BY id')
    assert raw(db_path, "SELECT value FROM run_meta WHERE key = 'schema_version'") == [("2",)]
    with open_run_database(db_path) as db:
        assert db.get_meta("schema_version") == SCHEMA_VERSION  # migrated: nothing to alter
        assert [(f.time_ms, f.contracts, f.price, f.fee, f.order_id) for f in db.fills("mm")] == stored_fills
        assert [(e.event, e.order.id, str(e.order.status)) for e in db.order_events("mm")] == events
        assert db.load_results() == json.loads((old_folder / "results.json").read_text())
    assert len(stored_fills) == 305 and len(events) == 906
    shown = StoredRunController(old_folder)  # `kektrade show`: fills from the results it stored then
    assert shown.snapshot().subaccounts[0].fills == 305
    assert len(shown.snapshot().recent_fills["mm"]) == 100


def run_again(folder: Path, tmp_path: Path) -> RunController:
    """The fixture's config run by today's code into ``tmp_path/run`` (a backtest: columnar fills)."""
    doc = json.loads((folder / "config.json").read_text())
    doc["strategies_dir"] = str(REPO / "strategies")
    doc["history_dir"] = str(tmp_path / "history")
    controller = RunController(parse_config(json.dumps(doc)))
    controller.build()
    run = tmp_path / "run"
    run.mkdir()
    controller.attach(RunPaths(folder.name, run, run / "run.sqlite"))
    controller.start()
    assert controller.wait(300)
    controller.close()
    assert controller.error is None
    return controller


def comparable(results: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(results))
    out["extra"].pop("wall_time_s")
    for venue in out["extra"].get("venues", {}).values():  # how the venue is described grew since (issue 11/12:
        venue.pop("rules", None)  # the formulas, the fees in force, the period's fee years): text, not results
        venue.pop("contract", None)
    for entry in out["subaccounts"]:
        entry.pop("fills", None)
    return out


def arrivals_aside(events: list[OrderRecorded]) -> list[OrderRecorded]:
    """Order events with the arrival time blanked (the one field a later simulator rule changed)."""
    return [e.replace(order=e.order.replace(active_from_ms=0)) for e in events]


def test_the_same_config_gives_the_same_results_stored_the_new_way(old_folder: Path, tmp_path: Path) -> None:
    controller = run_again(old_folder, tmp_path)
    new_db, old_db = tmp_path / "run" / "run.sqlite", old_folder / "run.sqlite"
    old_results = json.loads((old_folder / "results.json").read_text())
    new_results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert comparable(new_results) == comparable(old_results)  # every value of results.json but the fills
    assert "fills" not in new_results["subaccounts"][0]
    with open_run_database(new_db) as new, open_run_database(old_db) as old:
        assert new.fills("mm") == old.fills("mm")
        # an amended order now re-enters the book like a new one (issue 12): its arrival time is the amendment's
        assert arrivals_aside(new.order_events("mm")) == arrivals_aside(old.order_events("mm"))
        assert new.equity_samples("mm") == old.equity_samples("mm")
        assert new.load_results() == new_results  # read from results.json: no second copy
        assert new.get_meta("results") is None and new.get_meta("results_file") == "results.json"
    # the fills results.json used to hold are the ones stored now, field for field
    old_entries = [fill_from_entry(f) for f in old_results["subaccounts"][0]["fills"]]
    new_fills = subaccount_fills("mm", new_results, new_db)
    assert [(f.time_ms, f.kind, f.contracts, f.price, f.fee, f.realized_pnl, f.order_id) for f in new_fills] == [
        (f.time_ms, f.kind, f.contracts, f.price, f.fee, f.realized_pnl, f.order_id) for f in old_entries
    ]
    assert controller.results is not None and len(controller.results["subaccounts"][0]["fills"]) == 305
    assert raw(new_db, 'SELECT COUNT(*) FROM "fill"') == [(0,)]  # a backtest's fills are columnar
    assert columnar.count_rows(columnar.table_dir(new_db, "fill")) == 305
    shutil.copy(old_folder / "config.json", tmp_path / "run" / "config.json")
    shown = StoredRunController(tmp_path / "run")  # `kektrade show` of the new folder: fills from the parts
    assert shown.snapshot().subaccounts[0].fills == 305
    assert shown.snapshot().recent_fills == StoredRunController(old_folder).snapshot().recent_fills
