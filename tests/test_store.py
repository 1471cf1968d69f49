"""The database opens at head on SQLite and PostgreSQL, upgrades idempotently, and keeps data."""

from __future__ import annotations

from sqlalchemy import inspect, select

from mediastation.store import Database, open_database
from mediastation.store.db import alembic_heads, schema_heads
from mediastation.store.models import Job


def test_new_database_is_migrated_to_head(database: Database) -> None:
    assert database.revision() == "+".join(sorted(alembic_heads()))
    tables = set(inspect(database.engine).get_table_names())
    assert {"jobs", "alembic_version"} <= tables


def test_reopening_keeps_rows_and_revision(database_url: str) -> None:
    first = open_database(database_url)
    with first.session() as session:
        session.add(Job(job_id="J1", kind="export", state="running", params={"request_id": "R-1"}))
    first.dispose()
    second = open_database(database_url)
    try:
        with second.session() as session:
            job = session.scalars(select(Job)).one()
        assert (job.job_id, job.params) == ("J1", {"request_id": "R-1"})
        assert second.revision() == "+".join(sorted(alembic_heads()))
    finally:
        second.dispose()


def test_failed_unit_of_work_rolls_back(database: Database) -> None:
    try:
        with database.session() as session:
            session.add(Job(job_id="J2", kind="import", state="running"))
            session.flush()
            raise RuntimeError("crash half-way")
    except RuntimeError:
        pass
    with database.session() as session:
        assert session.scalars(select(Job)).all() == []


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def test_unreachable_postgresql_is_a_clear_outside_failure() -> None:
    from mediastation.errors import DatabaseError
    import pytest

    with pytest.raises(DatabaseError) as info:
        open_database("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    assert "127.0.0.1" in info.value.message


def test_schema_heads_read_from_scripts_equal_alembics() -> None:
    """schema_heads() lets a start skip Alembic; it must agree with Alembic on every branch."""
    assert schema_heads() == alembic_heads()
