"""A local fake of the Telegram Bot API (the subset a polling command bot uses), on 127.0.0.1.

Methods: getMe, setMyCommands, getMyCommands, deleteWebhook, getUpdates (a queue with offset semantics and
a short long-poll), sendMessage (recorded). Requests are ``POST /bot<token>/<method>`` with form or JSON
bodies; answers are ``{"ok": true, "result": ...}`` or an error envelope with the matching HTTP status
(401 for a wrong token, 400 for bad parameters, 404 for an unknown method).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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
        raw = handler.rfile.read(length).decode() if length else ""
        if "json" in (handler.headers.get("Content-Type") or ""):
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
        with self._cond:
            message = {
                "message_id": self._next_message_id,
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": str(params["text"]),
            }
            self._next_message_id += 1
            self.sent.append(message)
            self._cond.notify_all()
        return message

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

    def messages_to(self, chat_id: int) -> list[str]:
        """Texts sent to ``chat_id`` so far."""
        with self._cond:
            return [m["text"] for m in self.sent if m["chat"]["id"] == chat_id]

    def acknowledged(self) -> int:
        """The highest update_id the bot has confirmed (through a later offset)."""
        with self._cond:
            return self._acked

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
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
