"""The job queue (mediastation/jobs/) on SQLite and a real PostgreSQL: one job per id, claims that
never hand one job to two workers, leases that run out and are taken over, cancel and retry, and a
runner that resumes after the last saved stage without repeating a recorded side effect."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel

from mediastation.errors import MediaStationError
from mediastation.jobs.model import (
    Capabilities,
    JobCancelled,
    JobConflict,
    JobState,
    LeaseLost,
    Needs,
    StageRecord,
    can_serve,
    deterministic_id,
)
from mediastation.jobs.queue import JobQueue
from mediastation.jobs.runner import Lease, Pipeline, Stage, StageContext, execute, run_stages
from mediastation.jobs.worker import Worker
from mediastation.store import Database, open_database

HERE = Capabilities(station="A", burners={"folder": "folder", "dvd": "optical", "stick": "usb"}, default_burner="folder")


@pytest.mark.parametrize(("kind", "needs", "served"), [
    ("export", Needs(), True),
    ("export", Needs(station="A"), True),
    ("export", Needs(station="B"), False),                        # another station's drive or folder
    ("export", Needs(burner="dvd", medium="cd"), True),
    ("export", Needs(burner="dvd", medium="usb"), False),         # a DVD drive writes no stick
    ("export", Needs(burner="stick", medium="usb"), True),
    ("export", Needs(burner="robot"), False),                     # no such burner here
    ("export", Needs(medium="dvd"), True),                        # the default folder burner takes any image
    ("import", Needs(station="A"), True),
    ("import", Needs(station="B"), False),                        # the medium is in B's drive
    ("transfer", Needs(), True),
])
def test_a_worker_takes_only_what_its_station_can_serve(kind: str, needs: Needs, served: bool) -> None:
    assert can_serve(kind, needs, HERE) is served


def test_a_station_whose_default_burner_is_a_drive_takes_no_usb_export() -> None:
    drive_first = Capabilities(station="A", burners={"dvd": "optical"}, default_burner="dvd")
    assert can_serve("export", Needs(medium="cd"), drive_first)
    assert not can_serve("export", Needs(medium="usb"), drive_first)


def _queue(database: Database, count: int, **needs: Any) -> JobQueue:
    queue = JobQueue(database)
    for number in range(count):
        queue.enqueue(f"E-{number:04d}", kind="export", station="A", subject=f"R-{number}", params={"n": number},
                      needs=Needs(**needs))
    return queue


def test_the_same_id_is_one_job(database: Database) -> None:
    queue = JobQueue(database)
    job_id = deterministic_id("E", "R-1", 1, 1)
    first, created = queue.enqueue(job_id, kind="export", station="A", subject="R-1", params={"copy": 1})
    second, created_again = queue.enqueue(job_id, kind="export", station="B", subject="R-1", params={"copy": 2})
    assert (created, created_again) == (True, False)
    assert second.params == {"copy": 1} and len(queue.for_subject("export", "R-1")) == 1
    assert deterministic_id("E", "R-1", 1, 1) == job_id != deterministic_id("E", "R-1", 2, 1)


def test_claims_take_the_oldest_and_never_the_same_job_twice(database: Database) -> None:
    queue = _queue(database, 3)
    first = queue.claim("w1", HERE, lease_seconds=30)
    second = queue.claim("w2", HERE, lease_seconds=30)
    third = queue.claim("w1", HERE, lease_seconds=30)
    assert [j.job_id for j in (first, second, third)] == ["E-0000", "E-0001", "E-0002"]  # type: ignore[union-attr]
    assert first.owner == "w1" and first.state is JobState.RUNNING and first.attempts == 1  # type: ignore[union-attr]
    assert queue.claim("w3", HERE, lease_seconds=30) is None


def test_a_job_for_another_station_is_left_for_it(database: Database) -> None:
    queue = _queue(database, 1, station="B")
    assert queue.claim("w1", HERE, lease_seconds=30) is None
    there = Capabilities(station="B")
    assert queue.claim("w2", there, lease_seconds=30).job_id == "E-0000"  # type: ignore[union-attr]


def test_many_workers_claiming_at_once_take_each_job_once(database: Database) -> None:
    queue = _queue(database, 40)
    taken: list[str] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while (job := queue.claim(name, HERE, lease_seconds=30)) is not None:
                taken.append(job.job_id)
                queue.finish(job.job_id, name, JobState.DONE, result={"by": name})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(taken) == [f"E-{n:04d}" for n in range(40)]  # each once, none lost
    assert {j.state for j in queue.list(limit=100)} == {JobState.DONE}


def test_a_lease_that_ran_out_is_taken_over_and_the_old_owner_can_save_nothing(database: Database) -> None:
    queue = _queue(database, 1)
    mine = queue.claim("w1", HERE, lease_seconds=0.3)
    assert mine is not None
    queue.save_stage(mine.job_id, "w1", "retrieve", StageRecord(done=True, state={"studies": 1}))
    assert queue.claim("w2", HERE, lease_seconds=30) is None  # still w1's
    time.sleep(0.5)
    theirs = queue.claim("w2", HERE, lease_seconds=30)
    assert theirs is not None and theirs.owner == "w2" and theirs.attempts == 2
    assert theirs.stages["retrieve"].done and theirs.stages["retrieve"].state == {"studies": 1}  # resumes there
    with pytest.raises(LeaseLost):
        queue.save_stage(mine.job_id, "w1", "compose", StageRecord(done=True))
    assert not queue.renew(mine.job_id, "w1", lease_seconds=30)
    queue.finish(mine.job_id, "w1", JobState.FAILED, error={"message": "late"})  # changes nothing
    assert queue.require(mine.job_id).state is JobState.RUNNING


def test_a_renewed_lease_is_not_taken_over(database: Database) -> None:
    queue = _queue(database, 1)
    mine = queue.claim("w1", HERE, lease_seconds=0.6)
    assert mine is not None
    with Lease(queue, mine.job_id, "w1", 0.6):
        time.sleep(1.2)  # two lease lengths: only the renewals keep it
        assert queue.claim("w2", HERE, lease_seconds=30) is None
    assert queue.require(mine.job_id).owner == "w1"


def test_cancel_a_queued_job_at_once_and_a_running_one_at_its_next_step(database: Database) -> None:
    queue = _queue(database, 2)
    assert queue.cancel("E-0001").state is JobState.CANCELLED
    running = queue.claim("w1", HERE, lease_seconds=0.6)
    assert running is not None and running.job_id == "E-0000"
    asked = queue.cancel("E-0000")
    assert asked.state is JobState.RUNNING and asked.cancel_requested
    with Lease(queue, running.job_id, "w1", 0.6) as lease:
        time.sleep(0.5)  # the next renewal is refused
        with pytest.raises(JobCancelled):
            lease.check()
    with pytest.raises(JobConflict):
        queue.cancel("E-0001")  # already cancelled


def test_retry_queues_a_failed_or_cancelled_job_only(database: Database) -> None:
    queue = _queue(database, 2)
    job = queue.claim("w1", HERE, lease_seconds=30)
    assert job is not None
    queue.finish(job.job_id, "w1", JobState.FAILED, error={"code": "pacs_failed", "message": "down"})
    again = queue.retry(job.job_id)
    assert (again.state, again.owner, again.error) == (JobState.QUEUED, "", None)
    with pytest.raises(JobConflict, match="only a failed or cancelled job"):
        queue.retry("E-0001")


# -- the runner ---------------------------------------------------------------------------------------------

class Fetched(BaseModel):
    items: int


class Counted(BaseModel):
    total: int


class Booked(BaseModel):
    first: str | None = None
    second: str | None = None


class Toy:
    """A three-stage pipeline whose side effects land in `ledger`; `fail_at` raises once."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.ledger: list[str] = []
        self.fail_at: str | None = None
        self.stages = StageContext()

    def fetch(self, _ctx: Any) -> Fetched:
        self.calls.append("fetch")
        return Fetched(items=3)

    def count(self, ctx: Any) -> Counted:
        self.calls.append("count")
        self._maybe_fail("count")
        return Counted(total=ctx.stages.state("fetch", Fetched).items * 2)

    def book(self, ctx: Any) -> Booked:
        self.calls.append("book")
        done = ctx.stages.partial or Booked()
        if done.first is None:
            self.ledger.append("first")
            done = done.model_copy(update={"first": "L-1"})
            ctx.stages.checkpoint(done)
        self._maybe_fail("book")
        if done.second is None:
            self.ledger.append("second")
            done = done.model_copy(update={"second": "L-2"})
            ctx.stages.checkpoint(done)
        return done

    def _maybe_fail(self, name: str) -> None:
        if self.fail_at == name:
            self.fail_at = None
            raise MediaStationError(f"{name} failed")

    def pipeline(self) -> Pipeline:
        return Pipeline("export", (Stage("fetch", Fetched, self.fetch), Stage("count", Counted, self.count),
                                   Stage("book", Booked, self.book)))


def _run(queue: JobQueue, toy: Toy, owner: str) -> dict[str, Any]:
    job = queue.claim_id("E-0000", owner, lease_seconds=30)
    assert job is not None
    toy.stages = StageContext()
    return execute(queue, job, 30, lambda j, lease: (run_stages(toy.pipeline(), j, toy, queue, lease),
                                                     {"total": toy.stages.state("count", Counted).total})[1])


@pytest.mark.parametrize("fail_at", ["count", "book"])
def test_the_runner_resumes_after_the_last_saved_stage_and_records_once(database: Database, fail_at: str) -> None:
    queue = _queue(database, 1)
    toy = Toy()
    toy.fail_at = fail_at
    with pytest.raises(MediaStationError, match=f"{fail_at} failed"):
        _run(queue, toy, "w1")
    failed = queue.require("E-0000")
    assert failed.state is JobState.FAILED and failed.error["message"] == f"{fail_at} failed"  # type: ignore[index]
    assert failed.stages["fetch"].done and failed.stages["fetch"].state == {"items": 3}
    result = _run(queue, toy, "w2")  # another worker, after the failure
    assert result == {"total": 6}
    assert toy.calls.count("fetch") == 1  # never run again
    assert toy.ledger == ["first", "second"]  # each side effect once, also when the stage broke between them
    done = queue.require("E-0000")
    assert done.state is JobState.DONE and done.result == {"total": 6} and done.owner == ""
    assert done.stages["book"].state == {"first": "L-1", "second": "L-2"}


def test_a_cancelled_job_stops_before_its_next_stage_and_records_nothing(database: Database) -> None:
    queue = _queue(database, 1)
    toy = Toy()
    job = queue.claim_id("E-0000", "w1", lease_seconds=0.3)
    assert job is not None

    def slow_count(ctx: Any) -> Counted:
        queue.cancel("E-0000")
        time.sleep(0.4)  # the lease thread's renewal is refused meanwhile
        return Counted(total=0)

    pipeline = Pipeline("export", (Stage("fetch", Fetched, toy.fetch), Stage("count", Counted, slow_count),
                                   Stage("book", Booked, toy.book)))
    with pytest.raises(JobCancelled):
        execute(queue, job, 0.3, lambda j, lease: run_stages(pipeline, j, toy, queue, lease) or {})
    cancelled = queue.require("E-0000")
    assert cancelled.state is JobState.CANCELLED and cancelled.owner == ""
    assert toy.ledger == [] and "book" not in cancelled.stages


def test_a_worker_runs_what_it_can_and_goes_on_after_a_failure(database: Database) -> None:
    queue = _queue(database, 3)
    seen: list[str] = []

    def handler(job: Any, _lease: Any) -> dict[str, Any]:
        seen.append(job.job_id)
        if job.job_id == "E-0001":
            raise MediaStationError("the archive refused")
        return {"ok": job.job_id}

    worker = Worker(queue=queue, capabilities=HERE, handlers={"export": handler}, owner="w1", lease_seconds=30,
                    poll_seconds=0.05)
    report = worker.run(once=True)
    assert (report.done, report.failed) == (["E-0000", "E-0002"], ["E-0001"])
    assert seen == ["E-0000", "E-0001", "E-0002"]
    assert queue.require("E-0001").error == {"code": "error", "message": "the archive refused"}


def test_sqlite_claims_from_two_processes_wait_instead_of_failing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two connections claiming and saving at once on one SQLite file: no 'database is locked'."""
    url = f"sqlite:///{tmp_path / 'station.db'}"
    first, second = open_database(url), open_database(url)
    try:
        _queue(first, 30)
        taken: dict[str, list[str]] = {"a": [], "b": []}
        errors: list[BaseException] = []

        def work(name: str, db: Database) -> None:
            queue = JobQueue(db)
            try:
                while (job := queue.claim(name, HERE, lease_seconds=30)) is not None:
                    queue.save_stage(job.job_id, name, "retrieve", StageRecord(done=True, state={"n": 1}))
                    queue.finish(job.job_id, name, JobState.DONE, result={})
                    taken[name].append(job.job_id)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work, args=("a", first)), threading.Thread(target=work, args=("b", second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(taken["a"] + taken["b"]) == [f"E-{n:04d}" for n in range(30)]
    finally:
        first.dispose()
        second.dispose()


def test_a_job_whose_local_worker_died_is_taken_at_once(database: Database) -> None:
    """`export ID` run again after its process was killed need not wait for the lease to run out;
    a job held by a live process keeps its lease."""
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    queue = _queue(database, 2)
    host = socket.gethostname()
    assert queue.claim_id("E-0000", f"A@{host}:{int(dead.stdout)}", lease_seconds=300) is not None
    assert queue.claim_id("E-0001", f"A@{host}:{os.getpid()}", lease_seconds=300) is not None
    taken = queue.claim_id("E-0000", "w2", lease_seconds=30)
    assert taken is not None and taken.owner == "w2" and taken.attempts == 2
    assert queue.claim_id("E-0001", "w2", lease_seconds=30) is None  # its holder is alive
    assert queue.claim_id("E-0001", f"A@elsewhere:{int(dead.stdout)}", lease_seconds=30) is None
