"""Import jobs and per-file outcomes in the database (store.imports; the jobs are rows of the one job
queue since migration 0005), on SQLite and PostgreSQL: one job per medium and mapping, outcomes
recorded in batches, nothing twice."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from mediastation.jobs.model import JobState
from mediastation.jobs.queue import JobQueue
from mediastation.store import Database
from mediastation.store.db import alembic_heads
from mediastation.store.imports import (
    FileUpdate,
    ImportRepository,
    NewFile,
    NewJob,
    job_id_for,
)


def new_job(medium: str = "a" * 64, mapping: str = "b" * 64) -> NewJob:
    return NewJob(medium, mapping, "/media/cdrom", "ISO 9660 image", "Liisa", None, "ACC1", "station",
                  {"groups": [{"key": "P1", "hetu": "010594Y9032"}]}, {"maps": ["P1=010594Y9032"]})


def files(count: int) -> list[NewFile]:
    return [NewFile(n, f"DICOM/IM{n}", 1000 + n, "c" * 64, "instance", "P1", f"1.2.3.{n}", "1.2.3", "pending", "")
            for n in range(count)]


def test_import_jobs_live_in_the_one_job_table(database: Database) -> None:
    assert "0005" in alembic_heads()
    tables = set(inspect(database.engine).get_table_names())
    assert {"jobs", "import_files"} <= tables and "import_jobs" not in tables
    job, _ = ImportRepository(database).open_job(new_job(), files(1))
    queued = JobQueue(database).require(job.job_id)
    assert (queued.kind, queued.state, queued.needs.station) == ("import", "queued", "station")
    assert queued.params["maps"] == ["P1=010594Y9032"] and queued.params["source"] == "/media/cdrom"


def test_one_job_per_medium_and_mapping(database: Database) -> None:
    repository = ImportRepository(database)
    job, created = repository.open_job(new_job(), files(3))
    assert created and job.job_id == job_id_for("a" * 64, "b" * 64)
    again, created_again = repository.open_job(new_job(), files(3))
    assert (again.job_id, created_again) == (job.job_id, False)
    other, created_other = repository.open_job(new_job(mapping="d" * 64), files(3))
    assert created_other and other.job_id != job.job_id
    assert len(repository.files(job.job_id)) == 3


def test_outcomes_are_recorded_in_one_batch(database: Database) -> None:
    repository = ImportRepository(database)
    job, _ = repository.open_job(new_job(), files(500))
    repository.record(job.job_id, [FileUpdate(n, "imported", "", 0, "1.2.840.10008.1.2.1") for n in range(0, 500, 2)])
    rows = repository.files(job.job_id)
    assert [r.outcome for r in rows[:4]] == ["imported", "pending", "imported", "pending"]
    assert rows[0].status == 0 and rows[0].transfer_syntax == "1.2.840.10008.1.2.1"
    with pytest.raises(ValueError, match="unknown outcome"):
        repository.record(job.job_id, [FileUpdate(1, "lost")])


def test_state_result_and_runs_are_saved(database: Database) -> None:
    repository = ImportRepository(database)
    job, _ = repository.open_job(new_job(), files(1))
    queue = JobQueue(database)
    held = queue.claim_id(job.job_id, "w1", lease_seconds=30)
    assert held is not None
    repository.save(job.job_id, stage="report", result={"state": "done"}, invoice_lines=["L-1"])
    queue.finish(job.job_id, "w1", JobState.DONE)
    row = repository.get(job.job_id.lower())
    assert (row.state, row.result_json, row.invoice_lines, row.runs) == ("done", {"state": "done"}, ["L-1"], 1)
    assert [r.job_id for r in repository.list()] == [job.job_id]


def test_instances_another_job_imported_are_found(database: Database) -> None:
    repository = ImportRepository(database)
    first, _ = repository.open_job(new_job(), files(2))
    repository.record(first.job_id, [FileUpdate(0, "imported")])
    second, _ = repository.open_job(new_job(medium="e" * 64), files(2))
    assert repository.imported_elsewhere(["1.2.3.0", "1.2.3.1"], except_job=second.job_id) == {"1.2.3.0"}
    assert repository.imported_elsewhere(["1.2.3.0"], except_job=first.job_id) == set()
