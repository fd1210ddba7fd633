"""A local fake of the Telegram Bot API (the subset a polling command bot uses), on 127.0.0.1.

Methods: getMe, setMyCommands, getMyCommands, deleteWebhook, getUpdates (a queue with offset semantics and
a short long-poll), sendMessage and sendPhoto (recorded, with parse mode, inline keyboard and the photo's
bytes), answerCallbackQuery and editMessageText (inline buttons). HTML text is checked the way Telegram
does: only its tags, properly nested. Requests are ``POST /bot<token>/<method>`` with form, JSON or
multipart bodies; answers are ``{"ok": true, "result": ...}`` or an error envelope with the matching HTTP status
(401 for a wrong token, 400 for bad parameters, 404 for an unknown method).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "kektrade test", "username": "kektrade_test_bot"}
MAX_LONG_POLL_S = 0.5  # long polls are cut short so that the server and the client stop quickly


class ApiError(Exception):
    """An error answer: HTTP status and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    at_s: float  # time.monotonic() on arrival


class FakeBotApi:
    """The fake's state: updates waiting, messages sent, commands set, every call made."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.base_url = ""
        self.calls: list[Call] = []
        self.sent: list[dict[str, Any]] = []
        self.rejected: list[tuple[int, str]] = []  # (HTTP status, method) of requests refused
        self.commands: list[dict[str, str]] = []
        self.answered_callbacks: list[str] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id = 1
        self._acked = 0  # highest update_id confirmed by an offset
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- server ----------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on a free port; returns the base URL to give the bot (``http://127.0.0.1:<port>/bot``)."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                api._serve(self)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-bot-api", daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/bot"
        return self.base_url

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        status, body = 200, {}
        try:
            method, params = self._parse(handler)
            with self._cond:
                self.calls.append(Call(method, params, time.monotonic()))
            result = self._dispatch(method, params)
            body = {"ok": True, "result": result}
        except ApiError as exc:
            with self._cond:
                self.rejected.append((exc.status, handler.path.rpartition("/")[2]))
            status, body = exc.status, {"ok": False, "error_code": exc.status, "description": exc.description}
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a cancelled long poll)
            return

    def _parse(self, handler: BaseHTTPRequestHandler) -> tuple[str, dict[str, Any]]:
        prefix, _, method = handler.path.rpartition("/")
        if not prefix.startswith("/bot"):
            raise ApiError(404, "Not Found")
        if prefix.removeprefix("/bot") != self.token:
            raise ApiError(401, "Unauthorized")
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type") or ""
        if content_type.startswith("multipart/form-data"):
            return method, _multipart(content_type, body)
        raw = body.decode()
        if "json" in content_type:
            return method, json.loads(raw or "{}")
        return method, {k: _value(v[-1]) for k, v in parse_qs(raw).items()}

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": lambda p: BOT_USER,
            "setMyCommands": self._set_commands,
            "getMyCommands": lambda p: self.commands,
            "deleteWebhook": lambda p: True,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "answerCallbackQuery": self._answer_callback,
            "editMessageText": self._edit_message,
        }
        if method not in handlers:
            raise ApiError(404, f"Not Found: method {method!r}")
        return handlers[method](params)

    # -- methods ---------------------------------------------------------------------------------

    def _set_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: parameter commands is required")
        self.commands = commands
        return True

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout_s = min(float(params.get("timeout") or 0), MAX_LONG_POLL_S)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            if offset:
                self._acked = max(self._acked, offset - 1)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return list(self._updates)

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params or not str(params.get("text") or ""):
            raise ApiError(400, "Bad Request: chat_id and text are required")
        return self._record(params, text=str(params["text"]))

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if "chat_id" not in params or not isinstance(photo, bytes):
            raise ApiError(400, "Bad Request: chat_id and an uploaded photo are required")
        return self._record(params, text=str(params.get("caption") or ""), photo=photo)

    def _record(self, params: dict[str, Any], text: str, photo: bytes | None = None) -> dict[str, Any]:
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        if params.get("parse_mode") == "HTML":
            _check_html(text)
        with self._cond:
            message = {
                "message_id": self._next_message_id,
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": text,
                "parse_mode": params.get("parse_mode"),
                "reply_markup": params.get("reply_markup"),
                "photo": photo,
            }
            self._next_message_id += 1
            self.sent.append(message)
            self._cond.notify_all()
        return {k: v for k, v in message.items() if k not in ("photo", "parse_mode") and v is not None}

    def _answer_callback(self, params: dict[str, Any]) -> bool:
        with self._cond:
            self.answered_callbacks.append(str(params.get("callback_query_id")))
            self._cond.notify_all()
        return True

    def _edit_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("parse_mode") == "HTML":
            _check_html(str(params.get("text") or ""))
        with self._cond:
            found = [m for m in self.sent if m["message_id"] == int(params.get("message_id") or 0)]
            if not found:
                raise ApiError(400, "Bad Request: message to edit not found")
            found[0]["text"] = str(params.get("text") or "")
            found[0]["reply_markup"] = params.get("reply_markup")
            found[0]["edits"] = found[0].get("edits", 0) + 1
            self._cond.notify_all()
            return {k: v for k, v in found[0].items() if k not in ("photo", "parse_mode", "edits") and v is not None}

    # -- test helpers ----------------------------------------------------------------------------

    def inject_command(self, chat_id: int, text: str) -> int:
        """Queue a message ``text`` (starting with /command) from ``chat_id``; returns its update_id."""
        command = text.split(maxsplit=1)[0]
        with self._cond:
            update_id = self._next_update_id
            self._next_update_id += 1
            message = {
                "message_id": 10_000 + update_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "tester"},
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
            }
            self._updates.append({"update_id": update_id, "message": message})
            self._cond.notify_all()
        return update_id

    def press_button(self, chat_id: int, message_id: int, data: str) -> str:
        """Queue a callback query: the user pressed the inline button ``data`` under ``message_id``."""
        with self._cond:
            update_id = self._next_update_id
            self._next_update_id += 1
            message = next(m for m in self.sent if m["message_id"] == message_id)
            query_id = f"cb{update_id}"
            shown = {k: v for k, v in message.items() if k not in ("photo", "parse_mode", "edits") and v is not None}
            self._updates.append({
                "update_id": update_id,
                "callback_query": {
                    "id": query_id, "chat_instance": "ci", "data": data, "message": shown,
                    "from": {"id": chat_id, "is_bot": False, "first_name": "tester"},
                },
            })  # fmt: skip
            self._cond.notify_all()
        return query_id

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """The messages sent to ``chat_id`` so far (text, parse mode, keyboard, photo, edits)."""
        with self._cond:
            return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def messages_to(self, chat_id: int) -> list[str]:
        """Texts sent to ``chat_id`` so far."""
        with self._cond:
            return [m["text"] for m in self.sent if m["chat"]["id"] == chat_id]

    def acknowledged(self) -> int:
        """The highest update_id the bot has confirmed (through a later offset)."""
        with self._cond:
            return self._acked

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
        """Wait until ``predicate()`` holds (checked whenever a message is sent, and every 50 ms)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"condition not met within {timeout_s} s; sent: {self.sent}")
                self._cond.wait(min(left, 0.05))


def _value(text: str) -> Any:
    """A form value: JSON for structured parameters (commands, reply_markup), else the string."""
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "blockquote",
}


def _check_html(text: str) -> None:
    """Telegram's HTML rules: only its tags, nested properly, ``&`` and ``<`` escaped elsewhere."""
    stack: list[str] = []
    for match in re.finditer(r"<(/?)([a-zA-Z-]*)[^>]*>|&(#?\w+);|<|&", text):
        closing, tag, entity = match.group(1), match.group(2), match.group(3)
        if match.group(0) in ("<", "&"):
            raise ApiError(400, f"Bad Request: can't parse entities: unescaped {match.group(0)!r}")
        if entity is not None:
            if entity not in ("lt", "gt", "amp", "quot") and not entity.startswith("#"):
                raise ApiError(400, f"Bad Request: can't parse entities: unsupported entity &{entity};")
            continue
        if tag.lower() not in ALLOWED_TAGS:
            raise ApiError(400, f"Bad Request: can't parse entities: unsupported start tag {tag!r}")
        if closing:
            if not stack or stack.pop() != tag.lower():
                raise ApiError(400, f"Bad Request: can't parse entities: unexpected end tag {tag!r}")
        else:
            stack.append(tag.lower())
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: unclosed tag {stack[-1]!r}")


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Fields of a multipart/form-data body: files as bytes, other fields as form values."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        fields[str(name)] = payload if part.get_filename() else _value(payload.decode())
    return fields
