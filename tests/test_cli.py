"""The kektrade command, run in-process in a temporary project folder (and once as a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kektrade import __version__, cli
from kektrade.config import config_json_schema
from kektrade.runs import Run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(
    tmp_path: Path, strategy_dir: Path, config_dict: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """tmp_path as the working directory, with strategies/ and config.json."""
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("KEKTRADE_"):
            monkeypatch.delenv(name)
    (tmp_path / "config.json").write_text(json.dumps(config_dict))
    return tmp_path


def run_ids(project: Path) -> list[str]:
    history = project / "history"
    return sorted(p.name for p in history.iterdir()) if history.exists() else []


def test_run_creates_folder_and_database(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config.json", "--no-tui", "--log-level", "debug"]) == 0
    (run_id,) = run_ids(project)
    folder = project / "history" / run_id
    assert run_id.endswith("_test_meta")
    assert (folder / "config.json").read_text() == (project / "config.json").read_text()
    assert sorted(p.name for p in (folder / "strategies").iterdir()) == ["alpha.py", "beta.py"]
    assert (folder / "run.sqlite").is_file()
    assert json.loads((folder / "results.json").read_text())["run"]["run_id"] == run_id
    log = (folder / "kektrade.log").read_text()
    assert f"starting run {run_id}" in log and f"run {run_id} finished" in log
    out = capsys.readouterr()
    assert f"starting run {run_id}" in out.err  # --no-tui logs to stderr
    assert "ACCOUNT" in out.out  # the results table


def test_resume_by_run_id(project: Path) -> None:
    assert cli.main(["config.json", "--no-tui"]) == 0
    (run_id,) = run_ids(project)
    data = json.loads((project / "config.json").read_text())
    data["description"] = "a small fix"
    (project / "config.json").write_text(json.dumps(data))
    assert cli.main(["config.json", "--no-tui", "--run-id", run_id]) == 0
    assert run_ids(project) == [run_id]
    log = (project / "history" / run_id / "kektrade.log").read_text()
    assert "resuming run" in log and "config.json differs from the run's config.json" in log
    assert "a small fix" not in (project / "history" / run_id / "config.json").read_text()
    data["metastrategy_id"] = "other"
    (project / "config.json").write_text(json.dumps(data))
    assert cli.main(["config.json", "--run-id", run_id]) == 2


def test_unknown_run_id_lists_recent(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config.json", "--no-tui"]) == 0
    (run_id,) = run_ids(project)
    assert cli.main(["config.json", "--run-id", "nope"]) == 2
    assert f"no run 'nope' in history/; recent runs: {run_id}" in capsys.readouterr().err


def test_bad_config_exits_2_and_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((project / "config.json").read_text())
    data["subaccounts"][0]["levrage"] = 2
    data["backtest"]["limit_fill"] = "toch"
    (project / "config.json").write_text(json.dumps(data))
    assert cli.main(["config.json"]) == 2
    err = capsys.readouterr().err
    assert "subaccounts[0].levrage: unknown key, did you mean 'leverage'?" in err
    assert "backtest.limit_fill: must be one of 'trade_through', 'touch' (got 'toch')" in err
    assert "Traceback" not in err
    assert not (project / "history").exists()


def test_unknown_strategy_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((project / "config.json").read_text())
    data["subaccounts"][0]["strategy"] = "SmaRsii"
    (project / "config.json").write_text(json.dumps(data))
    assert cli.main(["validate", "config.json"]) == 2
    assert cli.main(["config.json"]) == 2
    err = capsys.readouterr().err
    assert (
        "subaccounts[0].strategy: no strategy 'SmaRsii' in strategies/; found: AlphaStrategy, BetaStrategy"
        in err
    )
    assert not (project / "history").exists()


def test_strategy_import_error_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "strategies" / "beta.py").write_text("class BetaStrategy(Strategy):\n    pass\n")
    assert cli.main(["config.json"]) == 2
    assert "NameError: name 'Strategy' is not defined" in capsys.readouterr().err


def test_validate_and_missing_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "config.json"]) == 0
    assert capsys.readouterr().out == "ok: 3 subaccounts\n"
    assert cli.main(["validate", "missing.json"]) == 2
    assert "missing.json: config file not found" in capsys.readouterr().err
    (project / "broken.json").write_text('{"metastrategy_id": "x",}')
    assert cli.main(["validate", "broken.json"]) == 2
    assert "broken.json:1:25: invalid JSON" in capsys.readouterr().err


def test_live_config_without_credentials_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live = {
        "metastrategy_id": "live",
        "subaccounts": [
            {"id": "x", "strategy": "AlphaStrategy", "pair": "BTC/USDT:USDT", "venue": "bybit_linear"}
        ],
    }
    (project / "live.json").write_text(json.dumps(live))
    assert cli.main(["validate", "live.json"]) == 0  # validation needs no secrets
    assert cli.main(["live.json", "--no-tui"]) == 2
    assert "needs KEKTRADE_X_API_KEY and KEKTRADE_X_API_SECRET" in capsys.readouterr().err
    (project / ".env").write_text("KEKTRADE_X_API_KEY=key-123456\nKEKTRADE_X_API_SECRET=sec-654321\n")
    from kektrade.config import Secrets, load_config

    # with the keys in .env the credentials check passes (the run itself is tested against the local
    # Bybit fake in tests/control and tests/engine: this test must not reach the internet)
    Secrets.from_environment({}, project / ".env").require_for(load_config(project / "live.json"))


def test_runtime_failure_exits_1_with_traceback_in_log(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(controller: object, run: Run, no_tui: bool, secrets: object = None, config: object = None) -> int:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(cli, "start_main_job", failing)
    assert cli.main(["config.json"]) == 1
    err = capsys.readouterr().err
    assert "error: engine exploded (traceback in history/" in err and "Traceback" not in err
    (run_id,) = run_ids(project)
    log = (project / "history" / run_id / "kektrade.log").read_text()
    assert "Traceback" in log and "RuntimeError: engine exploded" in log


def test_schema_runs_version_help(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == config_json_schema()
    assert cli.main(["runs"]) == 0
    assert capsys.readouterr().out == "no runs in history/\n"
    assert cli.main(["config.json", "--no-tui"]) == 0
    assert cli.main(["runs"]) == 0
    assert run_ids(project)[0] in capsys.readouterr().out
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"kektrade {__version__}"
    assert cli.main(["--help"]) == 0
    assert "kektrade validate CONFIG.json" in capsys.readouterr().out
    assert cli.main([]) == 2
    assert cli.main(["config.json", "--log-level", "LOUD"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_subprocess(tmp_path: Path) -> None:
    exe = REPO / ".venv" / "bin" / "kektrade"
    if not exe.exists():
        pytest.skip("console script not installed")
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, f"kektrade {__version__}")
    (tmp_path / "bad.json").write_text('{"metastrategy_id": "x", "subaccounts": [{"id": "a"}]}')
    done = subprocess.run(
        [sys.executable, "-m", "kektrade", "validate", "bad.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "subaccounts[0].strategy: required key missing" in done.stderr


def test_web_page_is_served_while_the_run_goes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = json.loads((project / "config.json").read_text())
    data["web"] = {"enabled": True, "host": "127.0.0.1", "port": port}
    (project / "config.json").write_text(json.dumps(data))
    assert cli.main(["config.json", "--no-tui"]) == 0
    assert f"http://127.0.0.1:{port}/" in capsys.readouterr().err
    with socket.socket() as again:  # stopped with the run: the port is free again
        again.bind(("127.0.0.1", port))
