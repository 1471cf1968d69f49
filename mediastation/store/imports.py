"""Import jobs and the outcome of every file of the medium (R-G1, R-G5).

A job is keyed by the medium's content (every path with its SHA-256) and the operator's mapping:
the same disc with the same mapping is the same job, so a run interrupted at any point resumes
it, and a finished job is answered from here without storing or billing anything again.
Per-file outcomes are written in batches as the store progresses; a file is `pending` until the
archive confirmed it (or the station decided otherwise).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from mediastation.store.db import Database
from mediastation.store.models import Base, utcnow

FINAL_OUTCOMES = frozenset({"imported", "already_present", "skipped", "rejected", "unreconciled"})
OUTCOMES = FINAL_OUTCOMES | {"pending", "failed"}


class ImportJobRow(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (UniqueConstraint("medium_fingerprint", "mapping_fingerprint", name="uq_import_jobs_medium_mapping"),)

    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    medium_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    mapping_fingerprint: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    medium: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(32), default="")
    operator: Mapped[str] = mapped_column(String(100))
    payer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    accession: Mapped[str | None] = mapped_column(String(64), nullable=True)
    station: Mapped[str] = mapped_column(String(200), default="")
    mapping_json: Mapped[dict] = mapped_column(JSON, default=dict)
    result_json: Mapped[dict] = mapped_column(JSON, default=dict)
    invoice_lines: Mapped[list] = mapped_column(JSON, default=list)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ImportFileRow(Base):
    __tablename__ = "import_files"

    job_id: Mapped[str] = mapped_column(String(40), ForeignKey("import_jobs.job_id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    patient_key: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    study_instance_uid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    transfer_syntax: Mapped[str | None] = mapped_column(String(64), nullable=True)
    converted_from: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


def job_id_for(medium_fingerprint: str, mapping_fingerprint: str) -> str:
    """The same medium with the same mapping is always the same job."""
    digest = hashlib.sha256(f"{medium_fingerprint}:{mapping_fingerprint}".encode()).hexdigest()
    return f"I-{digest[:16].upper()}"


@dataclass(frozen=True)
class NewFile:
    seq: int
    path: str
    size: int
    sha256: str | None
    kind: str
    patient_key: str | None
    sop_instance_uid: str | None
    study_instance_uid: str | None
    outcome: str
    reason: str


@dataclass(frozen=True)
class FileUpdate:
    seq: int
    outcome: str
    reason: str = ""
    status: int | None = None
    transfer_syntax: str | None = None
    converted_from: str | None = None


@dataclass(frozen=True)
class NewJob:
    medium_fingerprint: str
    mapping_fingerprint: str
    source: str
    medium: str
    operator: str
    payer: str | None
    accession: str | None
    station: str
    mapping_json: dict[str, Any]


class ImportRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def get(self, job_id: str) -> ImportJobRow | None:
        with self.database.session() as session:
            return session.get(ImportJobRow, job_id.strip().upper())

    def open_job(self, new: NewJob, files: Iterable[NewFile]) -> tuple[ImportJobRow, bool]:
        """The job for this medium and mapping, created with its files on the first run; (row, created)."""
        job_id = job_id_for(new.medium_fingerprint, new.mapping_fingerprint)
        existing = self.get(job_id)
        if existing is not None:
            return existing, False
        try:
            with self.database.session() as session:
                row = ImportJobRow(job_id=job_id, state="running", stage="inventory", result_json={},
                                   invoice_lines=[], runs=0, **new.__dict__)
                session.add(row)
                session.flush()
                now = utcnow()
                rows = [{"job_id": job_id, **f.__dict__, "updated_at": now} for f in files]
                if rows:  # one executemany: ORM objects for 2,000 files cost half a second
                    session.execute(insert(ImportFileRow), rows)
            return row, True
        except IntegrityError:  # another station opened the same job at the same moment
            existing = self.get(job_id)
            if existing is None:
                raise
            return existing, False

    def files(self, job_id: str) -> list[ImportFileRow]:
        with self.database.session() as session:
            return list(session.scalars(select(ImportFileRow).where(ImportFileRow.job_id == job_id)
                                        .order_by(ImportFileRow.seq)).all())

    def record(self, job_id: str, updates: list[FileUpdate]) -> None:
        """Several files' outcomes in one transaction."""
        if not updates:
            return
        unknown = {u.outcome for u in updates} - OUTCOMES
        if unknown:
            raise ValueError(f"unknown outcome(s) {sorted(unknown)}")
        now = utcnow()
        rows = [{"job_id": job_id, "seq": u.seq, "outcome": u.outcome, "reason": u.reason[:300], "status": u.status,
                 "transfer_syntax": u.transfer_syntax, "converted_from": u.converted_from, "updated_at": now}
                for u in updates]
        with self.database.session() as session:
            session.execute(update(ImportFileRow), rows)  # bulk UPDATE by primary key

    def save(self, job_id: str, *, state: str | None = None, stage: str | None = None,
             result: dict[str, Any] | None = None, invoice_lines: list[str] | None = None,
             new_run: bool = False) -> ImportJobRow:
        with self.database.session() as session:
            row = session.get(ImportJobRow, job_id)
            if row is None:
                raise KeyError(job_id)
            if state is not None:
                row.state = state
            if stage is not None:
                row.stage = stage
            if result is not None:
                row.result_json = dict(result)
            if invoice_lines is not None:
                row.invoice_lines = list(invoice_lines)
            if new_run:
                row.runs = (row.runs or 0) + 1
        return row

    def list(self, *, limit: int = 100) -> list[ImportJobRow]:
        with self.database.session() as session:
            return list(session.scalars(select(ImportJobRow).order_by(ImportJobRow.created_at.desc()).limit(limit)).all())

    def imported_elsewhere(self, sop_instance_uids: Iterable[str], *, except_job: str) -> set[str]:
        """SOP Instance UIDs another import job already brought into the archive (for the receipt)."""
        uids = list(set(sop_instance_uids))
        found: set[str] = set()
        with self.database.session() as session:
            for start in range(0, len(uids), 500):
                chunk = uids[start:start + 500]
                found.update(session.scalars(
                    select(ImportFileRow.sop_instance_uid).where(ImportFileRow.sop_instance_uid.in_(chunk),
                                                                 ImportFileRow.outcome == "imported",
                                                                 ImportFileRow.job_id != except_job)).all())
        return found
