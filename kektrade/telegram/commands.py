"""The bot's commands: text arguments in, a reply out; every action goes through the RunController."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kektrade.control.facade import RunController
from kektrade.telegram.formatting import fills_text, orders_text, status_text

CONFIRM_WORD = "confirm"

COMMANDS: tuple[tuple[str, str], ...] = (
    ("status", "Mode, state, progress, equity and one line per subaccount"),
    ("orders", "Open orders: /orders [id]"),
    ("fills", "Latest fills: /fills [id]"),
    ("pause", "Pause trading: /pause [id|all]"),
    ("resume", "Resume trading: /resume [id|all]"),
    ("flatten", "Cancel orders and close the position: /flatten id|all (asks to confirm)"),
    ("cancel", "Cancel open orders: /cancel id|all"),
    ("results", "The results table once the run has finished"),
    ("help", "This list"),
)


class UsageError(ValueError):
    """A command with a bad or missing argument; its message is the reply."""


def help_text() -> str:
    """The /help answer."""
    lines = [f"/{name} - {description}" for name, description in COMMANDS]
    return "kektrade commands:\n" + "\n".join(lines)


class ChatCommands:
    """Answers the bot's commands against one RunController (thread-safe: it only reads and queues)."""

    def __init__(self, controller: RunController) -> None:
        self.controller = controller
        self._handlers: dict[str, Callable[[Sequence[str]], str]] = {
            "status": lambda args: status_text(self.controller.snapshot(), self.controller.run_id),
            "orders": lambda args: orders_text(self.controller.snapshot(), self._target(args, optional=True)),
            "fills": lambda args: fills_text(self.controller.snapshot(), self._target(args, optional=True)),
            "pause": lambda args: self._steer("pause", args, optional=True),
            "resume": lambda args: self._steer("resume", args, optional=True),
            "cancel": lambda args: self._steer("cancel", args, optional=False),
            "flatten": self._flatten,
            "results": lambda args: self._results(),
            "help": lambda args: help_text(),
        }

    def answer(self, command: str, args: Sequence[str]) -> str:
        """The reply to ``/command args`` (usage errors are replies too)."""
        handler = self._handlers.get(command)
        if handler is None:
            return f"unknown command /{command}; see /help"
        try:
            return handler(args)
        except UsageError as exc:
            return str(exc)

    def _ids(self) -> list[str]:
        return [row.id for row in self.controller.snapshot().subaccounts]

    def _target(self, args: Sequence[str], optional: bool) -> str | None:
        """The subaccount named by the first argument; None for ``all`` (or nothing, when optional)."""
        if not args:
            if optional:
                return None
            raise UsageError(f"name a subaccount or 'all'; subaccounts: {', '.join(self._ids()) or '-'}")
        name = args[0]
        if name.lower() == "all":
            return None
        if name not in self._ids():
            raise UsageError(f"unknown subaccount {name!r}; subaccounts: {', '.join(self._ids()) or '-'}")
        return name

    def _steer(self, action: str, args: Sequence[str], optional: bool) -> str:
        target = self._target(args, optional)
        if self.controller.finished:
            return f"the run has ended; nothing to {action}"
        send = {
            "pause": self.controller.pause,
            "resume": self.controller.resume,
            "cancel": self.controller.cancel_orders,
            "flatten": self.controller.flatten,
        }[action]
        send(target)
        return f"{action} {target or 'all'}: sent"

    def _flatten(self, args: Sequence[str]) -> str:
        target = self._target(args, optional=False)
        name = target or "all"
        if len(args) < 2 or args[1].lower() != CONFIRM_WORD:
            what = "every subaccount" if target is None else name
            return (
                f"Flatten {what}: cancels the open orders and closes the position at market.\n"
                f"To do it, send: /flatten {name} {CONFIRM_WORD}"
            )
        return self._steer("flatten", args, optional=False)

    def _results(self) -> str:
        if not self.controller.finished:
            return "still running; /results answers once the run has finished"
        if self.controller.error is not None:
            return f"the run failed: {type(self.controller.error).__name__}"
        return self.controller.results_text() or "no results"
