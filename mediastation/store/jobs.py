"""Resumable jobs (exports, imports): each stage's outcome is saved before the next starts."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from mediastation.store.db import Database
from mediastation.store.models import Job
from mediastation.store.requests import ID_ALPHABET


def new_job_id(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(ID_ALPHABET) for _ in range(8))


class JobRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def create(self, kind: str, *, prefix: str, station: str, detail: dict[str, Any]) -> Job:
        with self.database.session() as session:
            job = Job(job_id=new_job_id(prefix), kind=kind, state="running", stage="", station=station,
                      detail=detail)
            session.add(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self.database.session() as session:
            return session.get(Job, job_id)

    def for_request(self, kind: str, request_id: str) -> list[Job]:
        """Jobs of `kind` for a release request, oldest first (the detail holds the request id)."""
        with self.database.session() as session:
            jobs = session.scalars(select(Job).where(Job.kind == kind).order_by(Job.created_at)).all()
        return [job for job in jobs if job.detail.get("request_id") == request_id]

    def save(self, job_id: str, *, state: str | None = None, stage: str | None = None,
             detail: dict[str, Any] | None = None) -> Job:
        """Record a stage's outcome; the detail is replaced as a whole (JSON columns are not tracked)."""
        with self.database.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise KeyError(job_id)
            if state is not None:
                job.state = state
            if stage is not None:
                job.stage = stage
            if detail is not None:
                job.detail = dict(detail)
        return job
