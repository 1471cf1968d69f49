"""Database fixtures: every database test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mediastation.store import Database, open_database
from support.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind the station supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'station.db'}"
    return request.getfixturevalue("postgres_server").create_database()


TEST_LOG_KEY = bytes(range(32))  # the disclosure log's key in tests (a station's comes from [log] key_file)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = open_database(database_url, log_key=TEST_LOG_KEY)
    yield db
    db.dispose()
