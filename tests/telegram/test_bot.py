"""The real python-telegram-bot Application (through TelegramBot) against the fake Bot API and a real run."""

from __future__ import annotations

import html
import itertools
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from kektrade.control.facade import RunController
from kektrade.telegram.bot import TelegramBot, TelegramStartError
from kektrade.telegram.commands import COMMANDS
from tests.frontkit import RUN_ID

from .conftest import CHAT, STRANGER, TOKEN
from .fake_bot_api import FakeBotApi


def make_bot(controller: RunController, api: FakeBotApi, notify: list[str], **options: float) -> TelegramBot:
    """A bot on the fake API with a 1 s long poll (fast stop)."""
    options.setdefault("poll_timeout_s", 1.0)
    return TelegramBot(controller, TOKEN, [CHAT], notify, base_url=api.base_url, **options)


@pytest.fixture
def bot(controller: RunController, api: FakeBotApi) -> Iterator[TelegramBot]:
    """A started bot without notifications."""
    tg = make_bot(controller, api, [])
    tg.start()
    yield tg
    tg.stop()


def ask(api: FakeBotApi, text: str, chat: int = CHAT) -> str:
    """Send ``text`` from ``chat`` and return the bot's next reply."""
    before = len(api.messages_to(chat))
    api.inject_command(chat, text)
    api.wait_for(lambda: len(api.messages_to(chat)) > before)
    return api.messages_to(chat)[before]


def test_start_registers_commands_and_polls(bot: TelegramBot, api: FakeBotApi) -> None:
    api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls))
    methods = [c.method for c in api.calls]
    assert methods[:4] == ["getMe", "setMyCommands", "deleteWebhook", "getUpdates"]
    assert [c["command"] for c in api.commands] == [name for name, _ in COMMANDS]


def test_status_lists_the_subaccounts(bot: TelegramBot, api: FakeBotApi) -> None:
    reply = ask(api, "/status")
    assert f"BACKTEST run {RUN_ID}" in reply
    assert "sma_btc [running] BTC/USDT:USDT" in reply and "mm_eth [running] ETH/USDT:USDT" in reply
    assert "account equity" in reply


def test_pause_reaches_the_engine(
    bot: TelegramBot, api: FakeBotApi, controller: RunController, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kektrade")
    assert ask(api, "/pause sma_btc") == "pause sma_btc: sent"
    assert "command PauseInstance sma_btc" in caplog.text
    controller.start()
    assert controller.wait(60)
    status = {row.id: row.status for row in controller.snapshot().subaccounts}
    assert status == {"sma_btc": "paused", "mm_eth": "finished"}
    assert ask(api, "/resume sma_btc") == "the run has ended; nothing to resume"


def last_to(api: FakeBotApi, chat: int = CHAT) -> dict[str, Any]:
    """The latest message sent to ``chat`` (with its keyboard)."""
    return api.sent_to(chat)[-1]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, callback data) of a message's inline keyboard."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def press(api: FakeBotApi, message: dict[str, Any], data: str) -> str:
    """Press an inline button and return the message text after the bot edited it."""
    edits = message.get("edits", 0)
    api.press_button(CHAT, message["message_id"], data)
    api.wait_for(lambda: message.get("edits", 0) > edits)
    return str(message["text"])


def test_flatten_asks_with_buttons(bot: TelegramBot, api: FakeBotApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kektrade")
    reply = ask(api, "/flatten sma_btc")
    assert "Flatten sma_btc?" in reply
    question = last_to(api)
    assert question["parse_mode"] == "HTML"
    assert buttons(question) == [("Flatten sma_btc", "flatten:sma_btc"), ("No", "cancel")]
    assert "command FlattenPosition" not in caplog.text
    assert press(api, question, "cancel") == "cancelled; nothing was sent"
    assert "command FlattenPosition" not in caplog.text
    assert ask(api, "/flatten").startswith("name a subaccount or 'all'")
    ask(api, "/flatten all")
    question = last_to(api)
    assert press(api, question, "flatten:all") == "flatten all: sent"
    assert "command FlattenPosition all" in caplog.text
    assert api.answered_callbacks, "the button press was acknowledged"
    assert ask(api, "/flatten sma_btc confirm") == "flatten sma_btc: sent"  # typed confirmation still works
    assert "command FlattenPosition sma_btc" in caplog.text


def test_stop_asks_then_stops_the_run(bot: TelegramBot, api: FakeBotApi, controller: RunController) -> None:
    assert "Stop the run?" in ask(api, "/stop")
    question = last_to(api)
    assert [data for _, data in buttons(question)] == ["stop", "cancel"]
    assert press(api, question, "stop").startswith("stop: sent")
    controller.start()
    assert controller.wait(60)
    assert controller.snapshot().state == "stopped"
    assert ask(api, "/stop") == "the run has ended; nothing to stop"


def test_stopentry_and_startentry_reach_the_engine(
    bot: TelegramBot, api: FakeBotApi, controller: RunController, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kektrade")
    assert ask(api, "/stopentry sma_btc") == "stopentry sma_btc: sent"
    assert ask(api, "/startentry") == "startentry all: sent"
    controller.start()
    assert controller.wait(60)
    assert "command AllowEntries sma_btc" in caplog.text and "AllowEntries sma_btc applied" in caplog.text
    assert "AllowEntries all applied" in caplog.text


def test_bad_arguments_are_explained(bot: TelegramBot, api: FakeBotApi) -> None:
    assert ask(api, "/pause nope") == "unknown subaccount 'nope'; subaccounts: sma_btc, mm_eth"
    assert ask(api, "/cancel").startswith("name a subaccount or 'all'")
    assert ask(api, "/bogus") == "unknown command /bogus; see /help"
    assert "/flatten" in ask(api, "/help")


def test_unauthorized_chat_is_refused_and_not_logged(
    bot: TelegramBot, api: FakeBotApi, controller: RunController, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    reply = ask(api, "/pause all secret-words", chat=STRANGER)
    assert reply.startswith("Not authorized")
    assert f"refused a command from chat {STRANGER}" in caplog.text
    assert "secret-words" not in caplog.text
    assert "command pause" not in caplog.text


def test_results_after_the_run(bot: TelegramBot, api: FakeBotApi, controller: RunController) -> None:
    assert ask(api, "/results").startswith("still running")
    controller.start()
    assert controller.wait(60)
    reply = ask(api, "/results")
    assert reply.startswith("<pre>") and reply.endswith("</pre>")
    assert (
        html.unescape(reply.removeprefix("<pre>").removesuffix("</pre>"))
        == controller.results_text()[: len(reply) - 11]
    )
    assert "sma_btc" in reply


def test_orders_and_fills_after_the_run(bot: TelegramBot, api: FakeBotApi, controller: RunController) -> None:
    controller.start()
    assert controller.wait(60)
    snap = controller.snapshot()
    orders = ask(api, "/orders mm_eth")
    count = sum(1 for o in snap.orders if o.subaccount == "mm_eth")
    assert orders.startswith(f"<pre>{count} open order(s) on mm_eth:")
    fills = ask(api, "/fills sma_btc").removeprefix("<pre>").removesuffix("</pre>")
    assert fills.startswith("latest ") and all(" sma_btc " in line for line in fills.splitlines()[1:])


def test_fill_notifications_arrive_coalesced(
    controller: RunController, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tg = make_bot(controller, api, ["fills", "status"], min_interval_s=0.5)  # 2 s in production
    tg.start()
    controller.start()
    assert controller.wait(60)
    tg.stop()
    assert not tg.running
    sent = api.messages_to(CHAT)
    text = "\n".join(sent)
    total_fills = sum(row.fills for row in controller.snapshot().subaccounts)
    assert total_fills > 20
    assert re.search(r"UTC (sma_btc|mm_eth) (buy|sell) [0-9.]+ @ ", text)
    assert re.search(r"… \d+ earlier fill\(s\) not shown", text)  # a flood is summarised
    assert f"run {RUN_ID}: running -> finished" in text  # status lines are never dropped
    assert "sma_btc: running -> finished" in text
    assert len(sent) < total_fills / 5  # batched, not one message per fill
    times = [c.at_s for c in api.calls if c.method == "sendMessage"]
    assert len(times) == len(sent)
    gaps = [b - a for a, b in itertools.pairwise(times[:-1])]  # the last one may be the flush at stop
    assert all(gap >= 0.45 for gap in gaps), gaps
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_stop_acknowledges_processed_updates(controller: RunController, api: FakeBotApi) -> None:
    tg = make_bot(controller, api, [])
    tg.start()
    last = 0
    for _ in range(2):
        last = api.inject_command(CHAT, "/help")
    api.wait_for(lambda: len(api.messages_to(CHAT)) == 2)
    tg.stop(timeout_s=10)
    assert not tg.running
    assert api.acknowledged() == last
    final = [c for c in api.calls if c.method == "getUpdates"][-1]
    assert int(final.params["offset"]) == last + 1 and int(final.params["timeout"]) == 0


def test_bad_token_fails_start_without_showing_it(
    controller: RunController, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tg = TelegramBot(controller, "999:WRONG-token", [CHAT], [], base_url=api.base_url, poll_timeout_s=1)
    with pytest.raises(TelegramStartError, match="rejected the bot token") as info:
        tg.start(timeout_s=10)
    assert "WRONG" not in str(info.value)
    assert not tg.running
    assert api.calls == [] and api.rejected == [(401, "getMe")]
    assert all("WRONG" not in r.getMessage() and "WRONG" not in (r.exc_text or "") for r in caplog.records)
