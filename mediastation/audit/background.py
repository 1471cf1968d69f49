"""The sender of a long-running process (`worker`, `serve`): a thread that keeps sending the outbox.

A command sends what waits before it exits (mediastation/cli/context.py); a worker or the desk runs
for days, and a job may take an hour, so their events (and those a command left behind while the
repository was down) go from this thread while they run: soon after they were recorded (it looks
every `interval` seconds, or at once when nudged), and after a failure not before the outbox's
back-off has passed (2, 4, 8 ... s, at most five minutes: mediastation/audit/outbox.py), so a
repository that is down is not hammered and the station's database not written every second.
The lease on the outbox keeps it from sending what another process sends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone

from mediastation.audit.sender import Flushed

INTERVAL = 1.0  # seconds between looks at the outbox: one indexed SELECT when nothing waits


class BackgroundSender:
    def __init__(self, send: Callable[[], Flushed], *, interval: float = INTERVAL,
                 announce: Callable[[str], None] = lambda _text: None) -> None:
        self._send = send
        self.interval = interval
        self.announce = announce
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-sender", daemon=True)
        self.failing = False

    def start(self) -> "BackgroundSender":
        self._thread.start()
        return self

    def nudge(self) -> None:
        """Look now (e.g. after a job: its messages go before the next one starts); not while the
        back-off after a failure runs."""
        if not self.failing:
            self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Finish the send at hand and end the thread (the command's own send at exit does the rest)."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            pause = self.send_once()
            self._wake.wait(pause)
            self._wake.clear()

    def send_once(self) -> float:
        """One attempt; the seconds until the next (longer while the back-off after a failure runs)."""
        try:
            result = self._send()
        except Exception as exc:  # noqa: BLE001 - the thread must outlive a database or network hiccup
            result = Flushed(0, 0, f"{exc.__class__.__name__}: {exc}")
        if result.error and not self.failing:
            self.announce(f"audit: {result.waiting} message(s) wait for the repository ({result.error}); "
                          "sent again after a pause that doubles up to five minutes")
        elif self.failing and result.sent:
            self.announce(f"audit: the repository takes messages again ({result.sent} sent)")
        if result.error:
            self.failing = True
        elif result.sent or not result.waiting:
            self.failing = False
        if result.retry_at is not None:
            wait = (result.retry_at - datetime.now(timezone.utc)).total_seconds()
            return max(self.interval, min(wait, 300.0))
        return self.interval
