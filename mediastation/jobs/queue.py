"""The job queue in the shared database: enqueue, claim with a lease, save each stage, finish.

Claiming is a compare-and-set on the row: a worker may take a job that is queued, or running with a
lease that ran out (its worker died). On PostgreSQL the candidates are read with
`SELECT ... FOR UPDATE SKIP LOCKED`, so workers of several stations claiming at once never wait on
each other's rows nor take the same one. On SQLite, where one writer holds the whole database, the
conditional UPDATE is the claim: it starts the write transaction (waiting up to busy_timeout, never
"database is locked" at once, because no read transaction is held across it) and changes the row
only if it is still claimable.

Every save is conditional on the owner: a worker that lost its lease (it stalled, another took the
job over) cannot overwrite what the new owner saved; it learns it from the save and stops.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from mediastation.jobs.model import (
    LIVE_STATES,
    Capabilities,
    JobConflict,
    JobNotFound,
    JobState,
    JobView,
    LeaseLost,
    Needs,
    StageRecord,
    can_serve,
    gone_from_this_host,
)
from mediastation.store.db import Database
from mediastation.store.models import Job

CLAIM_BATCH = 20  # candidates looked at per claim; the rest stay for other workers


def now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes (stored as UTC)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def view(row: Job) -> JobView:
    return JobView(
        job_id=row.job_id, kind=row.kind, state=JobState(row.state), stage=row.stage or "", station=row.station or "",
        subject=row.subject or "", owner=row.owner or "", lease_until=_aware(row.lease_until),
        needs=Needs.model_validate(row.needs or {}), params=dict(row.params or {}),
        stages={name: StageRecord.model_validate(record) for name, record in (row.stages or {}).items()},
        result=row.result, error=row.error, attempts=row.attempts or 0, cancel_requested=bool(row.cancel_requested),
        created_at=_aware(row.created_at), updated_at=_aware(row.updated_at))


class JobQueue:
    """The jobs table as a queue. Every method is one short transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # -- reading -------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobView | None:
        with self.database.session() as session:
            row = session.get(Job, job_id.strip())
            return view(row) if row is not None else None

    def require(self, job_id: str) -> JobView:
        job = self.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id!r}; `mediastation jobs list` lists them", details={"job_id": job_id})
        return job

    def list(self, *, states: list[str] | None = None, kind: str | None = None, limit: int = 100) -> list[JobView]:
        query = select(Job).order_by(Job.created_at.desc()).limit(limit)
        if states:
            query = query.where(Job.state.in_(states))
        if kind:
            query = query.where(Job.kind == kind)
        with self.database.session() as session:
            return [view(row) for row in session.scalars(query).all()]

    def for_subject(self, kind: str, subject: str) -> list[JobView]:
        """Jobs of `kind` about `subject` (a request id, a medium), oldest first."""
        with self.database.session() as session:
            rows = session.scalars(select(Job).where(Job.kind == kind, Job.subject == subject)
                                   .order_by(Job.created_at, Job.job_id)).all()
            return [view(row) for row in rows]

    # -- making --------------------------------------------------------------------------------

    def enqueue(self, job_id: str, *, kind: str, station: str, subject: str, params: dict[str, Any],
                needs: Needs = Needs(), stages: dict[str, Any] | None = None) -> tuple[JobView, bool]:
        """Insert a queued job; (the job, True) or, when that id exists already, (it, False)."""
        try:
            with self.database.session() as session:
                row = Job(job_id=job_id, kind=kind, state=JobState.QUEUED.value, stage="", station=station[:200],
                          subject=subject[:200], owner="", lease_until=None, needs=needs.model_dump(exclude_none=True),
                          params=params, stages=stages or {}, result=None, error=None, attempts=0,
                          cancel_requested=False)
                session.add(row)
                session.flush()
                made = view(row)
            return made, True
        except IntegrityError:
            existing = self.get(job_id)
            if existing is None:
                raise
            return existing, False

    # -- claiming ------------------------------------------------------------------------------

    def claim(self, owner: str, capabilities: Capabilities, *, lease_seconds: float) -> JobView | None:
        """The oldest job this worker can serve: queued, or running under a lease that ran out."""
        moment = now()
        claimable = or_(Job.state == JobState.QUEUED.value,
                        and_(Job.state == JobState.RUNNING.value, Job.lease_until < moment))
        query = (select(Job).where(claimable, Job.kind.in_(sorted(capabilities.kinds)))
                 .order_by(Job.created_at, Job.job_id).limit(CLAIM_BATCH))
        with self.database.session() as session:
            if self.database.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            candidates = [(row.job_id, row.kind, Needs.model_validate(row.needs or {}))
                          for row in session.scalars(query).all()]
            for job_id, kind, needs in candidates:
                if not can_serve(kind, needs, capabilities):
                    continue
                if self._take(session, job_id, owner, lease_seconds, moment):
                    return view(session.get(Job, job_id, populate_existing=True))
        return None

    def claim_id(self, job_id: str, owner: str, *, lease_seconds: float) -> JobView | None:
        """Take this job to run it here (`export ID` runs its own job): None when another worker
        holds a lease that is still valid. A failed or cancelled job is taken too (run again)."""
        moment = now()
        current = self.get(job_id)
        dead = current.owner if current is not None and current.owner and gone_from_this_host(current.owner) else None
        with self.database.session() as session:
            if self._take(session, job_id, owner, lease_seconds, moment, also_final=True, dead_owner=dead):
                return view(session.get(Job, job_id, populate_existing=True))
        return None

    @staticmethod
    def _take(session: Any, job_id: str, owner: str, lease_seconds: float, moment: datetime,
              also_final: bool = False, dead_owner: str | None = None) -> bool:
        states = [JobState.QUEUED.value]
        if also_final:
            states += [JobState.FAILED.value, JobState.CANCELLED.value]
        holders = [owner] + ([dead_owner] if dead_owner else [])
        claimable = or_(Job.state.in_(states),
                        and_(Job.state == JobState.RUNNING.value, or_(Job.lease_until < moment, Job.owner.in_(holders))))
        result = session.execute(
            update(Job).where(Job.job_id == job_id, claimable)
            .values(state=JobState.RUNNING.value, owner=owner, lease_until=moment + timedelta(seconds=lease_seconds),
                    attempts=Job.attempts + 1, cancel_requested=False, error=None, updated_at=moment)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def renew(self, job_id: str, owner: str, *, lease_seconds: float) -> bool:
        """Extend the lease; False when the job is no longer ours or a cancel was asked for."""
        moment = now()
        with self.database.session() as session:
            result = session.execute(
                update(Job).where(Job.job_id == job_id, Job.owner == owner, Job.state == JobState.RUNNING.value,
                                  Job.cancel_requested.is_(False))
                .values(lease_until=moment + timedelta(seconds=lease_seconds))
                .execution_options(synchronize_session=False))
            return result.rowcount == 1

    # -- saving --------------------------------------------------------------------------------

    def save_stage(self, job_id: str, owner: str, name: str, record: StageRecord) -> None:
        """A stage's outcome (or a partial one), only while the job is still ours."""
        with self.database.session() as session:
            row = session.execute(select(Job).where(Job.job_id == job_id).with_for_update()).scalar_one_or_none()
            if row is None or row.owner != owner or row.state != JobState.RUNNING.value:
                raise LeaseLost(f"job {job_id} is no longer held by this worker (now: {row.owner if row else 'gone'})",
                                details={"job_id": job_id})
            row.stages = {**(row.stages or {}), name: record.model_dump(mode="json")}
            row.stage = name

    def set_stage(self, job_id: str, owner: str, name: str) -> None:
        """The stage the job is in now (shown while it runs)."""
        with self.database.session() as session:
            result = session.execute(update(Job).where(Job.job_id == job_id, Job.owner == owner,
                                                       Job.state == JobState.RUNNING.value)
                                     .values(stage=name, updated_at=now()).execution_options(synchronize_session=False))
            if result.rowcount != 1:
                raise LeaseLost(f"job {job_id} is no longer held by this worker", details={"job_id": job_id})

    def set_params(self, job_id: str, owner: str, params: dict[str, Any]) -> None:
        """Options given again when a job is resumed (only by the worker holding it)."""
        with self.database.session() as session:
            session.execute(update(Job).where(Job.job_id == job_id, Job.owner == owner)
                            .values(params=params).execution_options(synchronize_session=False))

    def pin(self, job_id: str, owner: str, needs: Needs) -> None:
        """Narrow what the job needs (a written medium ties it to the station that wrote it)."""
        with self.database.session() as session:
            session.execute(update(Job).where(Job.job_id == job_id, Job.owner == owner)
                            .values(needs=needs.model_dump(exclude_none=True)).execution_options(synchronize_session=False))

    def finish(self, job_id: str, owner: str, state: JobState, *, result: dict[str, Any] | None = None,
               error: dict[str, Any] | None = None) -> None:
        """Done, failed or cancelled: the lease is given back. A worker that lost the job changes nothing."""
        values: dict[str, Any] = {"state": state.value, "owner": "", "lease_until": None, "error": error,
                                  "cancel_requested": False, "updated_at": now()}
        if result is not None:
            values["result"] = result
        if state is JobState.DONE:
            values["stage"] = "done"
        with self.database.session() as session:
            session.execute(update(Job).where(Job.job_id == job_id, Job.owner == owner,
                                              Job.state == JobState.RUNNING.value)
                            .values(**values).execution_options(synchronize_session=False))

    def release(self, job_id: str, owner: str) -> None:
        """Give a job back to the queue (a worker stopping between stages)."""
        with self.database.session() as session:
            session.execute(update(Job).where(Job.job_id == job_id, Job.owner == owner,
                                              Job.state == JobState.RUNNING.value)
                            .values(state=JobState.QUEUED.value, owner="", lease_until=None)
                            .execution_options(synchronize_session=False))

    # -- the operator's commands ---------------------------------------------------------------

    def cancel(self, job_id: str) -> JobView:
        """A queued job is cancelled at once; a running one at its worker's next step (it records
        nothing more and gives its burner back)."""
        job = self.require(job_id)
        if job.state not in LIVE_STATES:
            raise JobConflict(f"job {job_id} is {job.state}: only a queued or running job can be cancelled",
                              details={"job_id": job_id, "state": str(job.state)})
        with self.database.session() as session:
            session.execute(update(Job).where(Job.job_id == job.job_id, Job.state == JobState.QUEUED.value)
                            .values(state=JobState.CANCELLED.value, updated_at=now())
                            .execution_options(synchronize_session=False))
            session.execute(update(Job).where(Job.job_id == job.job_id, Job.state == JobState.RUNNING.value)
                            .values(cancel_requested=True, updated_at=now())
                            .execution_options(synchronize_session=False))
        return self.require(job.job_id)

    def retry(self, job_id: str) -> JobView:
        """A failed or cancelled job goes back to the queue; it resumes after its last saved stage."""
        job = self.require(job_id)
        if job.state not in (JobState.FAILED, JobState.CANCELLED):
            raise JobConflict(f"job {job_id} is {job.state}: only a failed or cancelled job can be retried",
                              details={"job_id": job_id, "state": str(job.state)})
        with self.database.session() as session:
            session.execute(update(Job).where(Job.job_id == job.job_id,
                                              Job.state.in_([JobState.FAILED.value, JobState.CANCELLED.value]))
                            .values(state=JobState.QUEUED.value, owner="", lease_until=None, error=None,
                                    cancel_requested=False, updated_at=now())
                            .execution_options(synchronize_session=False))
        return self.require(job.job_id)
