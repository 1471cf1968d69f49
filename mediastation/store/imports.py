"""Import jobs and the outcome of every file of the medium (R-G1, R-G5).

An import job is a row of the one job queue (`jobs`, kind "import"; mediastation/jobs/), keyed by
the medium's content (every path with its SHA-256) and the operator's mapping: the same disc with
the same mapping is the same job, so a run interrupted at any point resumes it, and a finished job
is answered from here without storing or billing anything again. Its files are `import_files`.
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
from mediastation.store.models import Base, Job, utcnow

FINAL_OUTCOMES = frozenset({"imported", "already_present", "skipped", "rejected", "unreconciled"})
OUTCOMES = FINAL_OUTCOMES | {"pending", "failed"}


class ImportFileRow(Base):
    __tablename__ = "import_files"

    job_id: Mapped[str] = mapped_column(String(40), ForeignKey("jobs.job_id"), primary_key=True)
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
    options: dict[str, Any]  # the `import run` options that make this job again (a worker's takeover)

    def params(self) -> dict[str, Any]:
        return {**self.options, "source": self.source, "operator": self.operator, "payer": self.payer,
                "accession": self.accession, "medium_fingerprint": self.medium_fingerprint,
                "mapping_fingerprint": self.mapping_fingerprint, "medium": self.medium, "mapping": self.mapping_json}


@dataclass(frozen=True)
class ImportJob:
    """An import job as the import workflow reads it (a view of its `jobs` row)."""

    job_id: str
    state: str
    stage: str
    station: str
    source: str
    medium: str
    operator: str
    payer: str | None
    accession: str | None
    mapping_json: dict[str, Any]
    result_json: dict[str, Any]
    invoice_lines: list[str]
    runs: int
    created_at: datetime | None
    medium_fingerprint: str = ""

    @classmethod
    def of(cls, row: Job) -> ImportJob:
        params = row.params or {}
        record = (row.stages or {}).get("record") or {}
        return cls(job_id=row.job_id, state=row.state, stage=row.stage or "", station=row.station or "",
                   source=params.get("source", ""), medium=params.get("medium", ""),
                   operator=params.get("operator", ""), payer=params.get("payer"), accession=params.get("accession"),
                   mapping_json=params.get("mapping", {}), result_json=dict(row.result or {}),
                   invoice_lines=list((record.get("state") or {}).get("invoice_lines", [])), runs=row.attempts or 0,
                   created_at=row.created_at, medium_fingerprint=row.subject or "")


class ImportRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def get(self, job_id: str) -> ImportJob | None:
        with self.database.session() as session:
            row = session.get(Job, job_id.strip().upper())
            return ImportJob.of(row) if row is not None and row.kind == "import" else None

    def open_job(self, new: NewJob, files: Iterable[NewFile]) -> tuple[ImportJob, bool]:
        """The job for this medium and mapping, queued with its files on the first run; (job, created).
        It needs the station that made it: the medium is in that station's drive."""
        job_id = job_id_for(new.medium_fingerprint, new.mapping_fingerprint)
        existing = self.get(job_id)
        if existing is not None:
            return existing, False
        try:
            with self.database.session() as session:
                row = Job(job_id=job_id, kind="import", state="queued", stage="inventory", station=new.station,
                          subject=new.medium_fingerprint, owner="", lease_until=None, needs={"station": new.station},
                          params=new.params(), stages={}, result=None, error=None, attempts=0,
                          cancel_requested=False)
                session.add(row)
                session.flush()
                now = utcnow()
                rows = [{"job_id": job_id, **f.__dict__, "updated_at": now} for f in files]
                if rows:  # one executemany: ORM objects for 2,000 files cost half a second
                    session.execute(insert(ImportFileRow), rows)
                made = ImportJob.of(row)
            return made, True
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

    def save(self, job_id: str, *, stage: str | None = None, result: dict[str, Any] | None = None,
             invoice_lines: list[str] | None = None) -> ImportJob:
        """The stage the import is at, its result document and its invoice lines (its state is the
        job queue's: mediastation/jobs/queue.py)."""
        with self.database.session() as session:
            row = session.get(Job, job_id)
            if row is None:
                raise KeyError(job_id)
            if stage is not None:
                row.stage = stage
            if result is not None:
                row.result = dict(result)
            if invoice_lines is not None:
                record = {"done": True, "seconds": 0.0, "state": {"invoice_lines": list(invoice_lines)}}
                row.stages = {**(row.stages or {}), "record": record}
            return ImportJob.of(row)

    def list(self, *, limit: int = 100) -> list[ImportJob]:
        with self.database.session() as session:
            rows = session.scalars(select(Job).where(Job.kind == "import").order_by(Job.created_at.desc())
                                   .limit(limit)).all()
            return [ImportJob.of(row) for row in rows]

    def studies_imported_from(self, medium_fingerprint: str, *, except_job: str) -> set[str]:
        """Study Instance UIDs other import jobs of the same medium (the job's subject) brought into
        the archive: one medium's study is billed once, whatever the runs it took."""
        if not medium_fingerprint:
            return set()
        with self.database.session() as session:
            return set(session.scalars(
                select(ImportFileRow.study_instance_uid).join(Job, Job.job_id == ImportFileRow.job_id)
                .where(Job.kind == "import", Job.subject == medium_fingerprint, Job.job_id != except_job,
                       ImportFileRow.outcome == "imported", ImportFileRow.study_instance_uid.is_not(None))
                .distinct()).all())

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
