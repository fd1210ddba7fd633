"""The Telegram front end: a python-telegram-bot Application polling on its own thread and event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from kektrade.control.facade import RunController
from kektrade.engine.snapshot import EngineSnapshot
from kektrade.telegram.commands import COMMANDS, ChatCommands, Reply
from kektrade.telegram.formatting import split_html
from kektrade.telegram.logtail import LogTail
from kektrade.telegram.notifier import EventTracker, Outbox

log = logging.getLogger("kektrade.telegram")
REDACTED = "***"
# loggers whose records may carry the token (request URLs, the bot's set-up messages)
TOKEN_LOGGERS = (
    "httpx",
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.ext.Updater",
    "telegram.ext.Application",
    "telegram.request.BaseRequest",
)


def keyboard(buttons: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One row of inline buttons (label, callback data)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]])


class TelegramStartError(RuntimeError):
    """The bot could not start (bad token, unreachable API); the message never contains the token."""


class _TokenRedactor(logging.Filter):
    """Replaces the bot token in records of the HTTP client and the library (URLs contain the token)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, REDACTED), None
        if record.exc_info and record.exc_text is None and record.exc_info[0] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info).replace(self.token, REDACTED)
        return True

    def install(self) -> None:
        """Add the filter to the loggers that may see the token."""
        for name in TOKEN_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def remove(self) -> None:
        """Take the filter off again."""
        for name in TOKEN_LOGGERS:
            logging.getLogger(name).removeFilter(self)


class TelegramBot:
    """Serves the allowed chats' commands and pushes notifications of a run to them."""

    def __init__(
        self,
        controller: RunController,
        token: str,
        chat_ids: Iterable[int],
        notify: Iterable[str],
        base_url: str | None = None,
        min_interval_s: float = 2.0,
        poll_timeout_s: float = 10.0,
        config_path: Path | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        if not token:
            raise TelegramStartError("the Telegram bot needs a token (KEKTRADE_TELEGRAM_TOKEN)")
        self.controller = controller
        self.chat_ids = frozenset(chat_ids)
        self.log_tail = LogTail(secrets=[token, *secrets])
        self.commands = ChatCommands(controller, self.log_tail, config_path)
        self.commands.reloader.apply_notify = self._set_notify
        self.tracker = EventTracker(notify)
        self.outbox = Outbox(sorted(self.chat_ids), min_interval_s)
        self.base_url = base_url
        self.poll_timeout_s = poll_timeout_s
        self._token = token
        self._redactor = _TokenRedactor(token)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._ready = threading.Event()
        self._active = False
        self._tracker_lock = threading.Lock()
        self.error: BaseException | None = None

    def __repr__(self) -> str:
        return f"TelegramBot(chats={sorted(self.chat_ids)})"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout_s: float = 30.0) -> None:
        """Start polling on a background thread; returns once the bot is up, raises if it cannot start."""
        if self._thread is not None:
            raise RuntimeError("the Telegram bot is already started")
        self._redactor.install()
        self.log_tail.attach()
        self._thread = threading.Thread(target=self._run, name="kektrade-telegram", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            self.stop()
            raise TelegramStartError(f"the Telegram bot did not start within {timeout_s:g} s")
        if self.error is not None:
            self._thread.join(timeout_s)
            self._redactor.remove()
            self.log_tail.detach()
            raise TelegramStartError(self._describe(self.error)) from None
        with self._tracker_lock:  # the baseline: notifications are about what changes from now on
            self.tracker.update(self.controller.snapshot())
        self._active = True
        self.controller.subscribe(self._on_snapshot)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Send what is queued, stop polling (acknowledging processed updates) and end the thread."""
        self._active = False
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("the Telegram bot did not stop within %g s", timeout_s)
        self._redactor.remove()
        self.log_tail.detach()

    @property
    def running(self) -> bool:
        """True while the bot thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, InvalidToken):
            return "Telegram rejected the bot token (check KEKTRADE_TELEGRAM_TOKEN)"
        return f"the Telegram bot failed: {type(exc).__name__}: {str(exc).replace(self._token, REDACTED)}"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by start() or logged; the token is never in the text
            self.error = exc
            if self._ready.is_set():
                log.error("%s", self._describe(exc))
        finally:
            self._ready.set()
            loop.close()

    async def _main(self) -> None:
        self._stop, self._wake = asyncio.Event(), asyncio.Event()
        app = self._build_application()
        await app.initialize()
        try:
            await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
            await app.updater.start_polling(timeout=int(self.poll_timeout_s))  # type: ignore[union-attr]
            await app.start()
            log.info("Telegram bot @%s serving %d chat(s)", app.bot.username, len(self.chat_ids))
            self._ready.set()
            sender = asyncio.create_task(self._send_loop(app))
            await self._stop.wait()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await self._flush(app)
            await app.updater.stop()  # type: ignore[union-attr]
            await app.stop()
        finally:
            await app.shutdown()
            log.info("Telegram bot stopped")

    def _build_application(self) -> Application:
        builder = Application.builder().token(self._token)
        if self.base_url:
            builder = builder.base_url(self.base_url)
        read_timeout = self.poll_timeout_s + 10
        app = builder.get_updates_read_timeout(read_timeout).build()
        for name, _ in COMMANDS:
            app.add_handler(CommandHandler(name, self._on_command))
        app.add_handler(MessageHandler(filters.COMMAND, self._on_command))
        app.add_handler(CallbackQueryHandler(self._on_button))
        return app

    # -- commands --------------------------------------------------------------------------------

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or not message.text:
            return
        if chat.id not in self.chat_ids:
            log.warning("refused a command from chat %d (not in telegram.chat_ids)", chat.id)
            await message.reply_text("Not authorized: this chat is not in telegram.chat_ids.")
            return
        words = message.text.split()
        command = words[0].lstrip("/").split("@", 1)[0].lower()
        log.info("telegram command /%s from chat %d", command, chat.id)
        reply = await asyncio.to_thread(self.commands.answer, command, words[1:])  # may read the history
        await self._send_reply(message, reply)

    async def _send_reply(self, message: Message, reply: Reply) -> None:
        if reply.photo is not None:
            await message.reply_photo(reply.photo, caption=reply.html[:1024], parse_mode=ParseMode.HTML)
            return
        pieces = split_html(reply.html)
        for n, piece in enumerate(pieces, 1):
            markup = keyboard(reply.buttons) if n == len(pieces) and reply.buttons else None
            await message.reply_text(piece, parse_mode=ParseMode.HTML, reply_markup=markup)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline button (a confirmation): act through the controller, then edit the question."""
        query, chat = update.callback_query, update.effective_chat
        if query is None or chat is None:
            return
        if chat.id not in self.chat_ids:
            log.warning("refused a button from chat %d (not in telegram.chat_ids)", chat.id)
            await query.answer("Not authorized")
            return
        log.info("telegram button %s from chat %d", query.data, chat.id)
        outcome = await asyncio.to_thread(self.commands.press, str(query.data or ""))
        await query.answer()
        await query.edit_message_text(outcome, parse_mode=ParseMode.HTML)

    def _set_notify(self, kinds: Sequence[str]) -> None:
        """/reload: new notification kinds from the next snapshot on."""
        with self._tracker_lock:
            self.tracker.notify = set(kinds)

    # -- notifications ---------------------------------------------------------------------------

    def _on_snapshot(self, snap: EngineSnapshot) -> None:
        """Controller listener (engine thread): compute the changes, queue them, wake the sender."""
        if not self._active:
            return
        with self._tracker_lock:
            lines = self.tracker.update(snap)
        if not lines:
            return
        self.outbox.add(lines)
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    async def _send_loop(self, app: Application) -> None:
        assert self._wake is not None
        while True:
            wait = self.outbox.next_due_in()
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                self._wake.clear()
                continue
            await self._send_due(app)

    async def _send_due(self, app: Application) -> None:
        for chat_id, text in self.outbox.due():
            try:
                await app.bot.send_message(chat_id, text)
            except RetryAfter as exc:
                delay = exc.retry_after if isinstance(exc.retry_after, int | float) else 5.0
                self.outbox.defer(chat_id, text, float(delay))
            except TelegramError as exc:
                log.warning("Telegram notification to chat %d failed: %s", chat_id, type(exc).__name__)

    async def _flush(self, app: Application) -> None:
        """Send what is still queued, once, without waiting for the rate limit."""
        self.outbox.release()
        await self._send_due(app)
