"""SQLAlchemy tables. Changing one needs a migration in `migrations/versions/`."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, MetaData, String, Text
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
    """A resumable piece of long work (an export or an import): its stage and what it recorded."""

    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(64), default="")
    station: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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
