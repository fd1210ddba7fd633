"""Who may ask: the ``Host`` header check (DNS rebinding) and the per-run token for remote viewing.

- Bound to a loopback address, only ``Host: 127.0.0.1 | localhost | [::1]`` (any port) is answered.
- Bound elsewhere, a token is required. It is accepted as ``Authorization: Bearer <token>`` or
  ``X-Kektrade-Token: <token>``, or through a one-time link ``/?login=<code>`` that sets a session cookie
  (HttpOnly, SameSite=Strict) and redirects to the same path without the code; a used code is void.
  ``Host`` must then be an IP literal, a loopback name, the bound name, or one of ``allowed_hosts``.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
from collections.abc import Iterable

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
COOKIE = "kektrade_session"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port, lower-case (``[::1]:80`` -> ``::1``)."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class AccessGuard:
    """Decides per request whether the Host and the credentials are acceptable."""

    def __init__(self, bind_host: str, token: str | None = None, allowed_hosts: Iterable[str] = ()) -> None:
        self.local = is_loopback(bind_host)
        self.token = token if token is not None else (None if self.local else secrets.token_urlsafe(24))
        names = {host_name(h) for h in allowed_hosts} | LOOPBACK_NAMES
        if not self.local and bind_host not in ("0.0.0.0", "::", ""):
            names.add(host_name(bind_host))
        self.allowed = frozenset(names)
        self._codes: set[str] = set()
        self._sessions: set[str] = set()
        self._lock = threading.Lock()

    @property
    def needs_token(self) -> bool:
        """True when requests must carry the token (or a session from a login link)."""
        return self.token is not None

    def host_ok(self, header: str | None) -> bool:
        """The ``Host`` header names this server (see the module docstring)."""
        if not header:
            return False
        name = host_name(header)
        if name in self.allowed:
            return True
        return not self.local and _is_ip(name)

    def login_code(self) -> str:
        """A new one-time code for a ``/?login=<code>`` link."""
        code = secrets.token_urlsafe(18)
        with self._lock:
            self._codes.add(code)
        return code

    def redeem(self, code: str) -> str | None:
        """Use up ``code``: a new session cookie value, None when the code is unknown or used."""
        with self._lock:
            if code not in self._codes:
                return None
            self._codes.discard(code)
            session = secrets.token_urlsafe(24)
            self._sessions.add(session)
            return session

    def authorized(self, header_token: str | None, cookie: str | None) -> bool:
        """The token matches, or the cookie is a live session (always True without a token)."""
        if self.token is None:
            return True
        if header_token is not None and hmac.compare_digest(header_token.encode(), self.token.encode()):
            return True
        with self._lock:
            return cookie is not None and cookie in self._sessions
