"""Regenerate the README's figures from a real run, so they cannot go stale.

Runs the demo config headless (the results table comes from its output), then opens the stored run with
``kektrade show RUNID`` in tmux at 120x40 and 80x24 and copies the screens. Each figure replaces the text
between ``<!-- figure:NAME -->`` and ``<!-- /figure:NAME -->`` in README.md.

    .venv/bin/python scripts/readme_figures.py [--config configs/demo.json] [--readme README.md]

Needs tmux for the TUI screens (without it only the results table is updated).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEKTRADE = ROOT / ".venv" / "bin" / "kektrade"


def run_demo(config: Path) -> tuple[str, str]:
    """Run ``config`` headless; (run id, results table)."""
    done = subprocess.run(
        [str(KEKTRADE), str(config), "--no-tui"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    found = re.search(r"starting run (\S+)", done.stderr)
    if found is None:
        raise SystemExit(f"no run id in the output:\n{done.stderr[-2000:]}")
    table = done.stdout.strip("\n")
    table = table.split("\n\nFAILED")[0]
    return found.group(1), table


def tmux_screen(run_id: str, size: tuple[int, int], keys: list[str], until: str = "") -> str:
    """``kektrade show RUNID`` in a detached tmux session of ``size``; the screen after ``keys`` (and ``until``)."""
    session = f"kektrade-figures-{uuid.uuid4().hex[:8]}"
    width, height = size
    command = f"cd {ROOT} && {KEKTRADE} show {run_id}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command],
                   check=True)  # fmt: skip
    try:
        screen = _wait(session, lambda s: "Results" in s)
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", session, key], check=True)
            time.sleep(1.5)
            screen = _capture(session)
        if until:
            time.sleep(1.0)
            screen = _wait(session, lambda s: until in s)
        return screen.rstrip("\n")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)


def _capture(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def _wait(session: str, ok: object, timeout_s: float = 60.0) -> str:
    deadline = time.monotonic() + timeout_s
    screen = ""
    while time.monotonic() < deadline:
        screen = _capture(session)
        if ok(screen):  # type: ignore[operator]
            return screen
        time.sleep(0.2)
    raise SystemExit(f"the TUI never showed its results; last screen:\n{screen}")


def replace_figure(readme: str, name: str, body: str) -> str:
    """The README with the ``name`` figure's block replaced by ``body`` (a fenced text block)."""
    pattern = re.compile(rf"(<!-- figure:{name} -->\n).*?(\n<!-- /figure:{name} -->)", re.S)
    if not pattern.search(readme):
        raise SystemExit(f"README has no <!-- figure:{name} --> block")
    return pattern.sub(lambda m: m.group(1) + "```text\n" + body + "\n```" + m.group(2), readme)


def main() -> int:
    """Run the demo, capture the figures, rewrite the README."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/demo.json"))
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args()
    run_id, table = run_demo(args.config)
    readme = replace_figure(args.readme.read_text(encoding="utf-8"), "results", table)
    if shutil.which("tmux"):
        readme = replace_figure(readme, "tui-main", tmux_screen(run_id, (120, 40), ["Escape", "Down"]))
        readme = replace_figure(readme, "tui-small", tmux_screen(run_id, (80, 24), ["Escape", "Down"]))
        detail = tmux_screen(run_id, (80, 24), ["Escape", "Down", "Enter", "3"], until="closed,")
        readme = replace_figure(readme, "tui-detail", detail)
    else:
        print("tmux not found: the TUI figures are unchanged", file=sys.stderr)
    args.readme.write_text(readme, encoding="utf-8")
    print(f"README figures regenerated from run {run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
