"""Progress of long work on stderr: a bar on a terminal, plain lines otherwise (logs, CI, cron)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import click


class Progress:
    """Called by workflows as `progress(done, total, what)`; never writes to stdout (JSON lives there)."""

    def __init__(self, label: str, *, stream: TextIO | None = None, interval: float = 2.0) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.interval = interval
        self._last = 0.0
        self._last_done = -1
        self._finished: tuple[str, int | None] | None = None

    def __call__(self, done: int, total: int | None, what: str = "") -> None:
        finished = total is not None and done >= total
        if finished and self._finished == (what, total):
            return
        if finished:
            self._finished = (what, total)
        now = time.monotonic()
        if not finished and now - self._last < (0.1 if self.interactive else self.interval):
            return
        self._last = now
        if done == self._last_done and not finished:
            return
        self._last_done = done
        line = self._line(done, total, what)
        if self.interactive:
            click.echo(f"\r\x1b[2K{line}", file=self.stream, nl=finished)
        else:
            click.echo(line, file=self.stream)

    def _line(self, done: int, total: int | None, what: str) -> str:
        if total:
            width = 30
            filled = int(width * min(done, total) / total)
            bar = "#" * filled + "-" * (width - filled)
            return f"{self.label} [{bar}] {done}/{total} {what}".rstrip()
        return f"{self.label} {done} {what}".rstrip()
