"""SQLAlchemy tables. Changing one needs a migration in `migrations/versions/`."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Job(Base):
    """One piece of long work (an export, an import, an electronic transfer) in the queue that every
    station of the database shares (mediastation/jobs/).

    `owner` holds the job while `lease_until` is in the future; a worker renews it as it works, and
    another takes over a job whose lease ran out. `stages` keeps each stage's typed outcome (the
    pipeline's pydantic models, as JSON) so a resumed job starts after its last saved stage.
    `subject` is what the job is about (a request id, a medium's fingerprint), for look-ups.
    """

    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), index=True)
    stage: Mapped[str] = mapped_column(String(64), default="")
    station: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(200), default="", index=True)
    owner: Mapped[str] = mapped_column(String(200), default="")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    needs: Mapped[dict] = mapped_column(JSON, default=dict)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    stages: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ReleaseRequestRow(Base):
    """A release request as received, with the decision the rules gave it (R10, R13)."""

    __tablename__ = "release_requests"

    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[str] = mapped_column(String(40))
    patient_hetu: Mapped[str] = mapped_column(String(16), index=True)
    patient_name: Mapped[str] = mapped_column(String(200))
    destination: Mapped[str] = mapped_column(String(300))
    decision: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    state: Mapped[str] = mapped_column(String(32))
    request_json: Mapped[dict] = mapped_column(JSON)
    decision_json: Mapped[dict] = mapped_column(JSON)
    added_by: Mapped[str] = mapped_column(String(100))
    station: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class DisclosureRow(Base):
    """One entry of the disclosure log. Append-only: the database refuses UPDATE and DELETE.

    `content_json` is what the hash chain covers; the other columns are copies for look-ups.
    `prev_hash` is unique, so two stations appending at once cannot fork the chain: the second
    insert fails and is retried on the new head.
    """

    __tablename__ = "disclosures"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    patient_hetu: Mapped[str] = mapped_column(String(16), index=True)
    request_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    recorded_at: Mapped[str] = mapped_column(String(40))
    content_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditOutboxRow(Base):
    """One DICOM audit message (PS3.15 A.5) waiting for, or already given to, the audit repository.

    Written in the same transaction as what it describes (mediastation/audit/), so an event is never
    recorded without its message nor the other way round; `message` is the whole RFC 5424 syslog
    message as it will be sent. Sent in `id` order; `sent_at` is set once the repository took it.
    """

    __tablename__ = "audit_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    station: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)


class AuditSenderRow(Base):
    """The one sender at a time of a database's audit outbox (a lease, like a job's), and its back-off:
    after a failed attempt nobody tries again before `next_attempt_at` unless told to (`audit flush`)."""

    __tablename__ = "audit_sender"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(200), default="")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DeskUserRow(Base):
    """A person who signs in at the desk (docs/desk.md): roles, an argon2id password hash, the count
    of wrong passwords since the last good one and the moment a lock ends, the language they chose,
    and the SHA-256 of their API token (the token itself is shown once and never stored)."""

    __tablename__ = "desk_users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    roles: Mapped[list] = mapped_column(JSON, default=list)
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="")
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeskSessionRow(Base):
    """A signed-in browser. The key is the SHA-256 of the cookie's session id, so the table alone
    (a backup, a read-only leak) does not let anyone sign in; `csrf_token` must come back with every
    unsafe request of the session; `last_seen` ends it after [desk] session_idle_minutes."""

    __tablename__ = "desk_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
