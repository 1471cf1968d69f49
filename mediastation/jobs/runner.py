"""Running a job: its lease kept alive, its stages in order, each stage's typed outcome saved.

One runner for every pipeline. A pipeline is an ordered tuple of `Stage`s, each a function from the
job's context to a pydantic model (its outcome). The runner skips every stage saved as done (loading
its model back into the context), runs the others, and saves each outcome before the next starts;
so a job killed anywhere resumes after its last saved stage, on this station or another. A stage
that records several side effects one by one (a disclosure entry, a shipment, an invoice line) saves
its partial outcome with `context.checkpoint(model)` after each, and finds it again on resume
(`context.partial`), so nothing is recorded twice.

Between stages, and at every progress report inside one, the runner looks whether the job was
cancelled or its lease lost; then the stage stops by exception, and nothing more is recorded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from mediastation.errors import MediaStationError
from mediastation.jobs.model import (
    FINAL_STATES,
    JobCancelled,
    JobInterrupted,
    JobState,
    JobView,
    LeaseLost,
    StageRecord,
)
from mediastation.jobs.queue import JobQueue, now

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


class Lease:
    """Holds a claimed job: a thread renews the lease every third of its length. `check()` raises
    JobCancelled or LeaseLost once a renewal was refused (cancel asked for, or another owner)."""

    def __init__(self, queue: JobQueue, job_id: str, owner: str, lease_seconds: float) -> None:
        self.queue = queue
        self.job_id = job_id
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._refused = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.lease_seconds)

    def _renew(self) -> None:
        interval = self.lease_seconds / 3
        while not self._stop.wait(interval):
            try:
                if not self.queue.renew(self.job_id, self.owner, lease_seconds=self.lease_seconds):
                    self._refused.set()
                    return
            except Exception as exc:  # the database went away for a moment: try again, the lease still runs
                log.warning("job %s: lease not renewed: %s", self.job_id, exc)

    def check(self) -> None:
        """Raise if the job must stop here."""
        if not self._refused.is_set():
            return
        job = self.queue.get(self.job_id)
        if job is not None and job.owner == self.owner and job.cancel_requested:
            raise JobCancelled(f"job {self.job_id} was cancelled", details={"job_id": self.job_id})
        raise LeaseLost(f"job {self.job_id} was taken over by {job.owner if job else 'nobody'}: this worker stops",
                        details={"job_id": self.job_id})

    def progress(self, forward: Callable[[int, int | None, str], None]) -> Callable[[int, int | None, str], None]:
        """A progress callback that also stops the stage when the job must stop."""
        def report(done: int, total: int | None, what: str) -> None:
            self.check()
            forward(done, total, what)
        return report


@dataclass(frozen=True)
class Stage(Generic[M]):
    name: str
    model: type[M]
    run: Callable[[Any], M]


@dataclass(frozen=True)
class Pipeline:
    kind: str
    stages: tuple[Stage[Any], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)


@dataclass
class StageContext:
    """What the runner hands every stage besides the pipeline's own context: the outcomes of the
    stages before (typed), the partial outcome of this one, and how to save a partial outcome."""

    states: dict[str, BaseModel] = field(default_factory=dict)
    partial: BaseModel | None = None
    checkpoint: Callable[[BaseModel], None] = field(default=lambda state: None)
    seconds: dict[str, float] = field(default_factory=dict)

    def state(self, name: str, model: type[M]) -> M:
        value = self.states.get(name)
        if not isinstance(value, model):
            raise RuntimeError(f"stage {name!r} has not run before this one")
        return value


def run_stages(pipeline: Pipeline, job: JobView, context: Any, queue: JobQueue, lease: Lease) -> None:
    """Run what is left of `job` with `context` (which has a `stages: StageContext`)."""
    stages: StageContext = context.stages
    for stage in pipeline.stages:
        record = job.stages.get(stage.name)
        if record is not None and record.done:
            stages.states[stage.name] = stage.model.model_validate(record.state)
            stages.seconds[stage.name] = record.seconds
            continue
        lease.check()
        queue.set_stage(job.job_id, lease.owner, stage.name)
        stages.partial = stage.model.model_validate(record.state) if record is not None else None

        def checkpoint(state: BaseModel, name: str = stage.name) -> None:
            lease.check()
            queue.save_stage(job.job_id, lease.owner, name,
                             StageRecord(done=False, state=state.model_dump(mode="json", by_alias=True)))

        stages.checkpoint = checkpoint
        started = time.perf_counter()
        outcome = stage.run(context)
        seconds = round(time.perf_counter() - started, 2)
        queue.save_stage(job.job_id, lease.owner, stage.name,
                         StageRecord(done=True, seconds=seconds, state=outcome.model_dump(mode="json", by_alias=True)))
        stages.states[stage.name] = outcome
        stages.seconds[stage.name] = seconds
        stages.partial = None


@dataclass(frozen=True)
class Finished:
    """A job's result with the state it ends in, when that is not simply `done` (an import whose
    archive failed for some files ends `failed` with its result, to be retried)."""

    state: JobState
    result: dict[str, Any]


def execute(queue: JobQueue, job: JobView, lease_seconds: float,
            work: Callable[[JobView, Lease], dict[str, Any] | Finished]) -> dict[str, Any]:
    """Run a claimed job under its lease and finish it: done with the result `work` returns (or in
    the state of its `Finished`), failed with the error it raised, cancelled when cancelled. Errors
    are raised again for the caller; a worker that lost the lease changes nothing."""
    with Lease(queue, job.job_id, job.owner, lease_seconds) as lease:
        try:
            result = work(job, lease)
        except JobCancelled as exc:
            queue.finish(job.job_id, job.owner, JobState.CANCELLED, error={"code": exc.code, "message": exc.message})
            raise
        except LeaseLost:
            raise
        except JobInterrupted:
            raise
        except MediaStationError as exc:
            queue.finish(job.job_id, job.owner, JobState.FAILED, error={"code": exc.code, "message": exc.message})
            raise
        except BaseException as exc:  # a bug or an interrupt: the job is failed, the traceback kept by the caller
            queue.finish(job.job_id, job.owner, JobState.FAILED,
                         error={"code": "internal_error", "message": f"{exc.__class__.__name__}: {exc}"})
            raise
        if isinstance(result, Finished):
            queue.finish(job.job_id, job.owner, result.state, result=result.result)
            return result.result
        queue.finish(job.job_id, job.owner, JobState.DONE, result=result)
        return result


class JobFailedElsewhere(MediaStationError):
    """The job this command followed, run by another process, ended without a result."""

    code = "job_failed"


FOLLOW_POLL = 0.5  # seconds between looks at a job another process runs


def run_here_or_follow(queue: JobQueue, job_id: str, *, owner: str, lease_seconds: float,
                       work: Callable[[JobView, Lease], dict[str, Any] | Finished],
                       adjust: Callable[[JobView], JobView] = lambda job: job,
                       announce: Callable[[str], None] = lambda message: None,
                       subject_key: str = "subject") -> dict[str, Any]:
    """Run the job in this process (`export ID`, `send ID`), or, when another process holds it,
    follow it to its end and return its result; take it over if that process dies. `adjust` may
    change a claimed job's parameters before it runs. Errors of the run here are raised with the
    job's id and state added to their details."""
    while True:
        claimed = queue.claim_id(job_id, owner, lease_seconds=lease_seconds)
        if claimed is not None:
            claimed = adjust(claimed)
            try:
                return execute(queue, claimed, lease_seconds, work)
            except MediaStationError as exc:
                exc.details = {**exc.details, "job_id": job_id, subject_key: claimed.subject,
                               "state": str(queue.require(job_id).state)}
                raise
        followed = _follow(queue, job_id, announce)
        if followed is not None:
            return followed


def _follow(queue: JobQueue, job_id: str, announce: Callable[[str], None]) -> dict[str, Any] | None:
    """The result of a job another process holds, once it ends; None when its lease ran out."""
    announced = ""
    while True:
        job = queue.require(job_id)
        if job.state is JobState.DONE:
            return dict(job.result or {})
        if job.state in FINAL_STATES:
            error = job.error or {}
            raise JobFailedElsewhere(
                f"job {job.job_id}, run by another process, ended {job.state}: "
                f"{error.get('message', 'no reason recorded')}; `mediastation jobs retry {job.job_id}` runs it again",
                details={"job_id": job.job_id, "state": str(job.state)})
        if job.state is JobState.QUEUED or (job.lease_until is not None and job.lease_until < now()):
            return None
        if job.owner != announced:
            announce(f"job {job.job_id} is running on {job.owner} (stage {job.stage or '-'}): following it")
            announced = job.owner
        time.sleep(FOLLOW_POLL)
