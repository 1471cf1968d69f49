"""Import jobs and per-file outcomes in the database (store.imports, migration 0004), on SQLite and
PostgreSQL: one job per medium and mapping, outcomes recorded in batches, nothing twice."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

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
                  {"groups": [{"key": "P1", "hetu": "010594Y9032"}]})


def files(count: int) -> list[NewFile]:
    return [NewFile(n, f"DICOM/IM{n}", 1000 + n, "c" * 64, "instance", "P1", f"1.2.3.{n}", "1.2.3", "pending", "")
            for n in range(count)]


def test_the_import_branch_is_at_its_head(database: Database) -> None:
    assert "0004" in alembic_heads()
    tables = set(inspect(database.engine).get_table_names())
    assert {"import_jobs", "import_files"} <= tables


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
    repository.save(job.job_id, state="done", stage="done", result={"state": "done"}, invoice_lines=["L-1"], new_run=True)
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
