"""The audit outbox: messages wait in the database until the repository has them.

A message is added in the session of what it describes (`add`), so both are committed together or
not at all. The sender takes the right to send with a lease on the one `audit_sender` row (a
conditional UPDATE, the same on SQLite and PostgreSQL), so two processes never send the same
message; a sender that died leaves a lease that runs out. After a failure nobody tries again before
the back-off has passed (2, 4, 8 ... seconds, at most five minutes) unless told to (`audit flush`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mediastation.store.db import Database
from mediastation.store.models import AuditOutboxRow, AuditSenderRow

SENDER_ROW = 1
MAX_BACKOFF = 300.0


def backoff_seconds(failures: int) -> float:
    """The wait after the `failures`-th failure in a row: doubling from 2 s, capped at 5 minutes."""
    return min(MAX_BACKOFF, 2.0 ** max(1, failures))


@dataclass(frozen=True)
class Waiting:
    id: int
    event: str
    message: str


@dataclass(frozen=True)
class Status:
    waiting: int
    oldest: datetime | None
    sent: int
    failures: int
    next_attempt_at: datetime | None
    last_error: str
    last_sent_at: datetime | None
    sending: str

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"waiting": self.waiting, "oldest": iso(self.oldest), "sent": self.sent, "failures": self.failures,
                "next_attempt_at": iso(self.next_attempt_at), "last_error": self.last_error or None,
                "last_sent_at": iso(self.last_sent_at), "sending": self.sending or None}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; every time here is UTC."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


class Outbox:
    def __init__(self, database: Database) -> None:
        self.database = database

    @staticmethod
    def add(session: Session, *, station: str, event: str, message: str) -> None:
        session.add(AuditOutboxRow(created_at=_now(), station=station, event=event, message=message))

    def record(self, *, station: str, event: str, message: str) -> None:
        """A message of its own (an event with nothing else to write)."""
        with self.database.session() as session:
            self.add(session, station=station, event=event, message=message)

    def waiting(self, limit: int) -> list[Waiting]:
        with self.database.session() as session:
            rows = session.execute(select(AuditOutboxRow.id, AuditOutboxRow.event, AuditOutboxRow.message)
                                   .where(AuditOutboxRow.sent_at.is_(None)).order_by(AuditOutboxRow.id)
                                   .limit(limit)).all()
        return [Waiting(row.id, row.event, row.message) for row in rows]

    def has_waiting(self) -> bool:
        with self.database.session() as session:
            return session.scalar(select(AuditOutboxRow.id).where(AuditOutboxRow.sent_at.is_(None)).limit(1)) is not None

    def mark_sent(self, ids: list[int], owner: str) -> None:
        now = _now()
        with self.database.session() as session:
            session.execute(update(AuditOutboxRow).where(AuditOutboxRow.id.in_(ids)).values(sent_at=now))
            session.execute(update(AuditSenderRow).where(AuditSenderRow.id == SENDER_ROW).values(
                failures=0, next_attempt_at=None, last_error="", last_sent_at=now))

    def status(self) -> Status:
        with self.database.session() as session:
            waiting, oldest = session.execute(select(func.count(), func.min(AuditOutboxRow.created_at))
                                              .where(AuditOutboxRow.sent_at.is_(None))).one()
            sent = session.scalar(select(func.count()).select_from(AuditOutboxRow)
                                  .where(AuditOutboxRow.sent_at.is_not(None))) or 0
            sender = session.get(AuditSenderRow, SENDER_ROW)
        lease = _aware(sender.lease_until)
        sending = sender.owner if sender.owner and lease and lease > _now() else ""
        return Status(waiting=waiting or 0, oldest=_aware(oldest), sent=sent, failures=sender.failures,
                      next_attempt_at=_aware(sender.next_attempt_at), last_error=sender.last_error,
                      last_sent_at=_aware(sender.last_sent_at), sending=sending)

    # -- the right to send ---------------------------------------------------------------------

    def claim(self, owner: str, *, lease_seconds: float, force: bool) -> bool:
        """Take the sender's lease unless another process holds it (or, without `force`, unless the
        back-off after the last failure has not passed yet)."""
        now = _now()
        free = (AuditSenderRow.owner == "") | (AuditSenderRow.lease_until.is_(None)) | (AuditSenderRow.lease_until < now) \
            | (AuditSenderRow.owner == owner)
        condition = free if force else free & ((AuditSenderRow.next_attempt_at.is_(None))
                                               | (AuditSenderRow.next_attempt_at <= now))
        with self.database.session() as session:
            result = session.execute(update(AuditSenderRow).where(AuditSenderRow.id == SENDER_ROW, condition)
                                     .values(owner=owner, lease_until=now + timedelta(seconds=lease_seconds)))
            return result.rowcount == 1

    def release(self, owner: str) -> None:
        with self.database.session() as session:
            session.execute(update(AuditSenderRow).where(AuditSenderRow.id == SENDER_ROW,
                                                         AuditSenderRow.owner == owner)
                            .values(owner="", lease_until=None))

    def failed(self, owner: str, error: str) -> datetime:
        """Note a failed attempt; returns when the next one is due."""
        with self.database.session() as session:
            sender = session.get(AuditSenderRow, SENDER_ROW)
            failures = sender.failures + 1
            due = _now() + timedelta(seconds=backoff_seconds(failures))
            session.execute(update(AuditSenderRow).where(AuditSenderRow.id == SENDER_ROW).values(
                failures=failures, next_attempt_at=due, last_error=error[:2000]))
        return due
