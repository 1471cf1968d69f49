"""Sending the outbox: the oldest waiting messages first, in batches, each batch marked sent only
once the repository took it whole; nothing is lost while the repository is down, and nothing
goes twice (one sender at a time holds the lease, mediastation/audit/outbox.py)."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediastation.audit.outbox import Outbox
from mediastation.audit.syslog import Endpoint, SyslogError, send_batch
from mediastation.store.db import Database

if TYPE_CHECKING:
    from mediastation.config import AuditSection

BATCH = 200
LEASE_SECONDS = 60.0
RETRY_PAUSE = 0.2


@dataclass(frozen=True)
class Flushed:
    sent: int
    waiting: int
    error: str | None = None
    skipped: str | None = None  # why nothing was tried: another sender, or the back-off
    retry_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "waiting": self.waiting, "error": self.error, "skipped": self.skipped,
                "retry_at": self.retry_at.isoformat() if self.retry_at else None}


def endpoint(section: "AuditSection", home: Path) -> Endpoint | None:
    """The repository [audit] names; None when audit is off (`host` empty)."""
    if not section.host:
        return None

    def path(value: str) -> Path | None:
        return Path(value.replace("{home}", str(home))).expanduser() if value else None

    return Endpoint(host=section.host, port=section.port, transport=section.transport, ca=path(section.ca),
                    cert=path(section.cert), key=path(section.key), timeout=section.timeout)


def sender_id(station: str) -> str:
    return f"{station}@{socket.gethostname()}:{os.getpid()}"


def _send(target: Endpoint, messages: list[str]) -> None:
    """One batch, tried a second time at once when the first try was not confirmed: rsyslog under
    load now and then answers a close with a broken record and keeps nothing of that connection
    (seen on the 2-core test machine; the messages were not in its log, so sending again is right)."""
    try:
        send_batch(target, messages)
    except SyslogError:
        time.sleep(RETRY_PAUSE)
        send_batch(target, messages)


def flush(database: Database, target: Endpoint, *, owner: str, force: bool = False,
          budget_seconds: float | None = None, batch: int = BATCH) -> Flushed:
    """Send what waits, oldest first, until nothing is left, the repository fails, or
    `budget_seconds` have passed (a command on its way out does not wait long for a slow repository)."""
    outbox = Outbox(database)
    if not outbox.has_waiting():
        return Flushed(0, 0)
    if not outbox.claim(owner, lease_seconds=LEASE_SECONDS, force=force):
        status = outbox.status()
        why = f"{status.sending} is sending" if status.sending else "waiting after the last failure"
        return Flushed(0, status.waiting, status.last_error or None, why, status.next_attempt_at)
    sent = 0
    started = time.monotonic()
    try:
        while True:
            waiting = outbox.waiting(batch)
            if not waiting:
                break
            try:
                _send(target, [item.message for item in waiting])
            except SyslogError as exc:
                due = outbox.failed(owner, str(exc))
                return Flushed(sent, outbox.status().waiting, str(exc), retry_at=due)
            outbox.mark_sent([item.id for item in waiting], owner)
            sent += len(waiting)
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                break
            outbox.claim(owner, lease_seconds=LEASE_SECONDS, force=True)  # renew for the next batch
    finally:
        outbox.release(owner)
    return Flushed(sent, outbox.status().waiting)
