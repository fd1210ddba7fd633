"""/reload: re-read the config file, validate it, apply what can change while the run goes on.

Safe while running: the bot's notification kinds (``telegram.notify``). Every other change (subaccounts,
parameters, data, venues, web, TUI) is listed with the advice to restart, and nothing of it is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from kektrade.control.facade import RunController
from kektrade.control.reload import reread_config
from kektrade.telegram.formatting import escape

SAFE_PREFIX = "telegram.notify"


class ConfigReloader:
    """Compares the config file with the running config; ``apply_notify`` takes new notification kinds."""

    def __init__(self, controller: RunController, path: Path | None) -> None:
        self.controller = controller
        self.path = path
        self.apply_notify: Callable[[Sequence[str]], None] | None = None

    def reload(self) -> str:
        """Re-read and validate the file; apply the safe part; the HTML answer."""
        if self.path is None:
            return "reload is not available: the bot does not know the config file"
        found = reread_config(self.controller.config, self.path)
        if found.config is None:
            problem = escape(found.error)
            return f"<b>not reloaded</b>: the config has errors; the run keeps its config\n<pre>{problem}</pre>"
        if not found.changes:
            return f"{escape(self.path.name)}: no changes"
        applied = [c for c in found.changes if c == SAFE_PREFIX] if self.apply_notify is not None else []
        if applied and self.apply_notify is not None:
            self.apply_notify(list(found.config.telegram.notify))
        rest = [c for c in found.changes if c not in applied]
        lines = [f"<b>reloaded</b> {escape(self.path.name)}"]
        if applied:
            kinds = ", ".join(found.config.telegram.notify) or "nothing"
            lines.append(f"applied: telegram.notify (now {escape(kinds)})")
        if rest:
            lines.append("not applied while running (restart with --run-id to use them): " + escape(", ".join(rest)))
        return "\n".join(lines)
