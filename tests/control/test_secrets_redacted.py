"""Planted secrets never appear anywhere a run writes or serves.

The secrets are planted where users keep them (the environment and ``.env``) and leak the ways real runs
leak them: an exchange error quoting the API key (the Bybit fake's "error sign!" text with a wrong secret),
a strategy exception carrying a key, a strategy printing and logging the Telegram token, an order's client
id. Then every output is searched: stderr and stdout of the CLI, every file of the run folder (database and
WAL included), every snapshot the engine published, the web page's routes, the Telegram answers and
notifications, the results and the error.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from kektrade.config.secrets import SecretRedactor
from kektrade.control.facade import RunController, RunPaths
from kektrade.control.viewing import LiveView, RunCatalog
from kektrade.engine.snapshot import EngineSnapshot
from kektrade.persistence.database import open_run_database
from kektrade.telegram.commands import ChatCommands
from kektrade.telegram.notifier import NOTIFY_KINDS, EventTracker
from kektrade.web.server import WebServer
from tests.engine.kit import config
from tests.engine.live_kit import PAIR, SYMBOL, push, write_strategies
from tests.fakes.bybit_trading import FakeBybitExchange

API_KEY = "PLANTEDkey7f3a9c2b"
API_SECRET = "PLANTEDsecret-91b2/x+y"  # '/' and '+' change in URLs and some JSON encoders
TOKEN = "123456789:PLANTEDtelegramToken_zz"
SECRETS = (API_KEY, API_SECRET, TOKEN)
HANG_DETECTOR_S = 600
SYNTHETIC = {"source": "synthetic", "synthetic": {"seed": 2, "start": "2024-01-01", "days": 5}}

LEAKY = '''
import logging
import os
from kektrade.domain.types import OrderType
from kektrade.strategy.base import Strategy

log = logging.getLogger("kektrade.strategy.leaky")


class LeakyStrategy(Strategy):
    """Leaks every secret it can reach, then raises with the API key in the message."""

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        planted = dict(os.environ)  # the planted secrets: from the environment and ./.env only
        if os.path.exists(".env"):
            for line in open(".env").read().splitlines():
                name, _, value = line.partition("=")
                planted[name] = value.strip("'")
        key, token = planted["KEKTRADE_LEAK_API_KEY"], planted["KEKTRADE_TELEGRAM_TOKEN"]
        if index == 20:
            print("my token is", token)
            log.warning("using key %s and secret %s", key, planted["KEKTRADE_LEAK_API_SECRET"])
            variables["note"] = key
            account.open_order(OrderType.LIMIT, 0.01, price=1.0, client_id="cid-" + key)
        if index == 40:
            raise RuntimeError("exchange said: error sign! origin_string[1700000000000" + key + "5000]")
'''


def assert_clean(text: str, where: str) -> None:
    """No planted secret (in any form the redactor knows) in ``text``."""
    for secret in SECRETS:
        for form in {secret, json.dumps(secret)[1:-1], secret.replace("/", "%2F")}:
            assert form not in text, f"{where} leaks {secret!r}"


def folder_text(folder: Path) -> str:
    """Every byte of every file under ``folder`` (database, WAL, log, results, copies), as text."""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file())


def strings_in(value: Any) -> list[str]:
    """Every string inside a snapshot (dataclasses, dicts, tuples, lists), keys included."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in strings_in(getattr(value, f.name))]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings_in(k) + strings_in(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings_in(v)]
    return []


def test_snapshots_web_telegram_results_and_database_never_show_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("KEKTRADE_LEAK_API_KEY", "KEKTRADE_LEAK_API_SECRET", "KEKTRADE_TELEGRAM_TOKEN")
    for name, value in zip(names, SECRETS, strict=True):
        monkeypatch.setenv(name, value)
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "leaky.py").write_text(textwrap.dedent(LEAKY))
    sub = {"id": "leak", "strategy": "LeakyStrategy", "pair": "BTC/USDT:USDT", "timeframe": "1h"}
    controller = RunController(config(tmp_path, [sub], data=SYNTHETIC))
    controller.use_redactor(SecretRedactor(SECRETS))
    published: list[EngineSnapshot] = []
    controller.subscribe(published.append)
    controller.build()
    folder = tmp_path / "run"
    folder.mkdir()
    controller.attach(RunPaths("r", folder, folder / "run.sqlite"))
    controller.start()
    assert controller.wait(120) and controller.error is None
    snap = controller.snapshot()
    (row,) = snap.subaccounts
    assert row.status == "failed" and row.error is not None and "***" in row.error  # the leak path ran
    for k, s in enumerate([*published, snap]):
        for text in strings_in(s):
            assert_clean(text, f"snapshot {k}")
    web = WebServer(RunCatalog([LiveView(controller)]), port=0)
    web.start()
    try:
        run = controller.run_id
        paths = ["/", f"/runs/{run}/", "/api/runs"] + [
            f"/api/runs/{run}/{name}?sub=leak" for name in ("info", "results", "candles", "fills", "equity", "trades")
        ] + [f"/api/runs/{run}/{name}" for name in ("orders", "switches")]  # fmt: skip
        for path in paths:
            answer = httpx.get(web.url.rstrip("/") + path, timeout=30, follow_redirects=True)
            assert answer.status_code in (200, 400), (path, answer.status_code, answer.text[:200])
            assert_clean(answer.text, f"web {path}")
    finally:
        web.stop()
    chat = ChatCommands(controller)
    for command in ("status", "orders", "fills", "results", "help", "balance", "profit", "trades", "live", "logs"):
        assert_clean(chat.answer(command, []).html, f"telegram /{command}")
    tracker = EventTracker(NOTIFY_KINDS)
    for s in published:
        for event in tracker.update(s):
            assert_clean(str(event), "telegram notification")
    assert_clean(json.dumps(controller.results), "results")
    controller.close()
    with open_run_database(folder / "run.sqlite") as db:
        failed = [s for s in db.status_changes("leak") if s.status == "failed"]
        assert failed and "***" in failed[0].message
        assert any(e.order.client_id == "cid-***" for e in db.order_events("leak"))
    assert_clean(folder_text(folder), "run folder")


def cli(cwd: Path, env: dict[str, str], *args: str, boot: str = "") -> subprocess.CompletedProcess[str]:
    """``kektrade ARGS --no-tui`` in a subprocess (``boot``: code run first, to point ccxt at the fake)."""
    code = f"import sys\n{boot}\nfrom kektrade.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args, "--no-tui"],
        cwd=cwd,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("KEKTRADE_")}, "NO_PROXY": "127.0.0.1", **env},
        capture_output=True,
        text=True,
        timeout=HANG_DETECTOR_S,
        check=False,
    )


def test_cli_backtest_with_a_leaky_strategy_writes_and_prints_no_secret(tmp_path: Path) -> None:
    strategies = write_strategies(tmp_path)
    (strategies / "leaky.py").write_text(textwrap.dedent(LEAKY))
    doc = {
        "metastrategy_id": "leak",
        "strategies_dir": str(strategies),
        "history_dir": str(tmp_path / "history"),
        "data": SYNTHETIC,
        "subaccounts": [{"id": "leak", "strategy": "LeakyStrategy", "pair": "BTC/USDT:USDT", "timeframe": "1h"}],
    }
    (tmp_path / "leak.json").write_text(json.dumps(doc))
    (tmp_path / ".env").write_text(f"KEKTRADE_TELEGRAM_TOKEN={TOKEN}\nKEKTRADE_LEAK_API_SECRET='{API_SECRET}'\n")
    done = cli(tmp_path, {"KEKTRADE_LEAK_API_KEY": API_KEY}, "leak.json", "--log-level", "debug")
    assert done.returncode == 0, done.stderr
    assert "my token is ***" in done.stdout and "using key *** and secret ***" in done.stderr
    assert "error sign! origin_string[1700000000000***5000]" in done.stderr
    assert_clean(done.stdout, "stdout")
    assert_clean(done.stderr, "stderr")
    assert_clean(folder_text(tmp_path / "history"), "run folder")


def test_cli_live_run_with_a_wrong_secret_never_prints_the_key(tmp_path: Path) -> None:
    wrong_secret = "PLANTEDwrongSecret0000"
    with FakeBybitExchange(api_key=API_KEY, api_secret="the-right-secret") as fake:
        fake.open_account(SYMBOL, 10_000.0, leverage=2.0)
        push(fake, 10)
        doc = {
            "metastrategy_id": "wrong",
            "strategies_dir": str(write_strategies(tmp_path)),
            "history_dir": str(tmp_path / "history"),
            "defaults": {"pair": PAIR, "timeframe": "1m", "leverage": 2, "strategy": "LiveProbe"},
            "subaccounts": [{"id": "p", "venue": "bybit_linear"}],
            "live": {"poll_interval_s": 0.05},
        }
        (tmp_path / "wrong.json").write_text(json.dumps(doc))
        boot = (  # the real ccxt client, pointed at the fake instead of api.bybit.com
            "import kektrade.control.live as live\nfrom kektrade.exchange.live import ohlcv\n"
            "live.make_exchange = lambda e, testnet=False, api_base=None: "
            f"ohlcv.make_exchange(e, api_base={fake.base_url!r})"
        )
        env = {"KEKTRADE_P_API_KEY": API_KEY, "KEKTRADE_P_API_SECRET": wrong_secret}
        done = cli(tmp_path, env, "wrong.json", boot=boot)
    assert done.returncode == 1, done.stderr
    assert "error sign! origin_string[" in done.stderr and "***" in done.stderr  # the exchange's text, redacted
    for text, where in ((done.stderr, "stderr"), (done.stdout, "stdout")):
        assert_clean(text, where)
        assert wrong_secret not in text
    if (tmp_path / "history").exists():
        assert_clean(folder_text(tmp_path / "history"), "run folder")
