"""Opening the database and bringing its schema to the newest migration.

SQLite is the embedded default (WAL so a reader never blocks the writer, foreign keys on);
PostgreSQL serves several stations sharing one database. The schema is Alembic's: `init` creates
it, every start upgrades it, so a station updated in place never runs on an old schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mediastation.errors import ConfigError, DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass
class Database:
    """An engine at the newest schema and a session factory bound to it."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any error."""
        with self.sessions.begin() as session:
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str) -> Database:
    """Connect to `url` and upgrade its schema to head (creating it on a new database)."""
    engine = _create_engine(url)
    try:
        if _needs_upgrade(engine):
            with engine.begin() as conn:
                cfg = _alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseError(f"database {engine.url.render_as_string()}: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from None
    return Database(engine, sessionmaker(engine, expire_on_commit=False))


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def _needs_upgrade(engine: Engine) -> bool:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() != head_revision()


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError(
            f"'database.url': {exc}; use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
