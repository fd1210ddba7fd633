"""The new commands through the real client and the fake Bot API: reports, chart photo, logs, reload, live."""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from kektrade.control.facade import RunController
from kektrade.telegram.bot import TelegramBot
from kektrade.telegram.commands import COMMANDS
from tests.frontkit import tiny_config

from .conftest import CHAT, TOKEN
from .fake_bot_api import FakeBotApi
from .test_bot import ask, make_bot


@pytest.fixture
def config_file(tmp_path: Path, controller: RunController) -> Path:
    """The running config written to a file (what /reload reads)."""
    path = tmp_path / "bot.json"
    path.write_text(json.dumps(tiny_config(tmp_path)))
    return path


@pytest.fixture
def bot(controller: RunController, api: FakeBotApi, config_file: Path) -> Iterator[TelegramBot]:
    """A started bot that knows the config file."""
    tg = TelegramBot(controller, TOKEN, [CHAT], ["fills"], base_url=api.base_url, poll_timeout_s=1.0,
                     config_path=config_file, secrets=["SUPER-SECRET"])  # fmt: skip
    tg.start()
    yield tg
    tg.stop()


def test_help_lists_every_command(bot: TelegramBot, api: FakeBotApi) -> None:
    text = ask(api, "/help")
    for name, _ in COMMANDS:
        assert f"/{name} - " in text
    for name in ("balance", "profit", "daily", "weekly", "monthly", "performance", "trades", "logs", "live",
                 "stopentry", "startentry", "reload", "chart", "stop"):  # fmt: skip
        assert f"/{name}" in text


def test_reports_after_the_run(bot: TelegramBot, api: FakeBotApi, controller: RunController) -> None:
    controller.start()
    assert controller.wait(60)
    snap = controller.snapshot()
    balance = ask(api, "/balance")
    for sub in snap.subaccounts:
        assert f"\n{sub.id} " in balance
    assert api.sent_to(CHAT)[-1]["parse_mode"] == "HTML"
    profit = ask(api, "/profit")
    mm = next(line for line in profit.splitlines() if line.startswith("mm_eth"))
    series = snap.equity_by_subaccount["mm_eth"]
    assert mm.split()[2] == f"{100 * (series[-1] / series[0] - 1):+.2f}%"
    fills = next(s for s in controller.results["subaccounts"] if s["id"] == "mm_eth")["fills"]  # type: ignore[index]
    positions = [0.0] + [f["position_after"] for f in fills if f["kind"] != "funding"]
    closed = sum(1 for a, b in itertools.pairwise(positions) if a and (not b or (a > 0) != (b > 0)))
    assert mm.split()[5] == str(closed)
    assert "Daily profit" in ask(api, "/daily 2")
    assert "Weekly" in ask(api, "/weekly") and "Monthly" in ask(api, "/monthly 1")
    assert ask(api, "/daily x") == "expected a number, got 'x'"
    assert "mm_eth" in ask(api, "/performance")
    trades = ask(api, "/trades mm_eth 3")
    assert f"latest 3 of {closed} closed trades" in trades
    assert ask(api, "/trades").startswith("name a subaccount")
    assert ask(api, "/live") == "no subaccount is live-optimized"


def test_chart_arrives_as_a_png_photo(bot: TelegramBot, api: FakeBotApi, controller: RunController) -> None:
    controller.start()
    assert controller.wait(60)
    caption = ask(api, "/chart")
    photo = api.sent_to(CHAT)[-1]["photo"]
    assert isinstance(photo, bytes) and photo[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", photo[16:24]) == (800, 400)
    assert "returns in %" in caption and "account (blue)" in caption and "drawdown (red)" in caption


def test_logs_show_recent_lines_without_secrets(
    bot: TelegramBot, api: FakeBotApi, controller: RunController, info_logging: None
) -> None:
    import logging

    logging.getLogger("kektrade.test").info("the key is SUPER-SECRET and the token %s", TOKEN)
    ask(api, "/pause mm_eth")
    text = ask(api, "/logs 5")
    assert "control: command PauseInstance mm_eth" in text
    assert "the key is *** and the token ***" in text
    assert "SUPER-SECRET" not in text and TOKEN not in text


def test_reload_applies_notify_and_lists_the_rest(
    bot: TelegramBot, api: FakeBotApi, config_file: Path, tmp_path: Path
) -> None:
    assert ask(api, "/reload") == "bot.json: no changes"
    config = json.loads(config_file.read_text())
    config["telegram"] = {"notify": ["errors", "status"]}
    config["subaccounts"][0]["parameters"]["sma"] = 20
    config_file.write_text(json.dumps(config))
    text = ask(api, "/reload")
    assert "applied: telegram.notify (now errors, status)" in text
    assert "not applied while running" in text and "subaccounts" in text
    assert bot.tracker.notify == {"errors", "status"}
    config_file.write_text('{"metastrategy_id": 5}')
    text = ask(api, "/reload")
    assert text.startswith("<b>not reloaded</b>") and "metastrategy_id" in text
    assert bot.tracker.notify == {"errors", "status"}


def test_reload_without_a_config_file(controller: RunController, api: FakeBotApi) -> None:
    tg = make_bot(controller, api, [])
    tg.start()
    try:
        assert ask(api, "/reload").startswith("reload is not available")
    finally:
        tg.stop()
