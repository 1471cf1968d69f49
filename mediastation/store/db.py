"""Opening the database and bringing its schema to the newest migration.

SQLite is the embedded default (WAL so a reader never blocks the writer, foreign keys on);
PostgreSQL serves several stations sharing one database. The schema is Alembic's: `init` creates
it, every start upgrades it, so a station updated in place never runs on an old schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mediastation.errors import ConfigError, DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")
REVISION_LINE = re.compile(r"^(revision|down_revision)\s*=\s*(.+)$", re.MULTILINE)


def schema_heads() -> frozenset[str]:
    """The newest migration of each branch, read from the scripts' `revision` lines.

    Each area of the station (requests, billing, import, export) keeps its own Alembic branch off
    0002, so work on one area never renumbers another's. Knowing the heads without Alembic lets a
    start on an up-to-date database skip importing it (half a second on every command); a test
    checks this against Alembic's own view.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            named = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (revisions if key == "revision" else parents).update(named)
    return frozenset(revisions - parents)


@dataclass
class Database:
    """An engine at the newest schema and a session factory bound to it.

    `log_key` seals the disclosure log (HMAC, mediastation/domain/disclosure.py); it lives in a file
    outside the database (`[log] key_file`) and the caller hands it in. `audit` is told of every
    disclosure entry inside the transaction that appends it (mediastation/audit/), so each entry's
    audit message is written with the entry or not at all, whichever workflow appends it.
    """

    engine: Engine
    sessions: sessionmaker[Session]
    log_key: bytes | None = field(default=None, repr=False)
    audit: Any = None  # a store/disclosures.DisclosureObserver (typed there: the log's module builds on this one)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any error."""
        with self.sessions.begin() as session:
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def revision(self) -> str | None:
        """The schema revision; several branch heads are joined with '+' in sorted order."""
        current = _current_revisions(self.engine)
        return "+".join(sorted(current)) if current else None

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, log_key: bytes | None = None) -> Database:
    """Connect to `url` and upgrade its schema to head (creating it on a new database). `log_key`:
    the disclosure log's key (migration 0006 re-seals an existing log with it)."""
    engine = _create_engine(url)
    try:
        if _current_revisions(engine) != schema_heads():
            _upgrade(engine, log_key)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseError(f"database {engine.url.render_as_string()}: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from None
    except MigrationRefused as exc:  # the station's set-up lacks something the upgrade needs
        engine.dispose()
        raise ConfigError(f"database {engine.url.render_as_string(hide_password=True)}: {exc}") from None
    return Database(engine, sessionmaker(engine, expire_on_commit=False), log_key=log_key)


def alembic_heads() -> frozenset[str]:
    """Alembic's own view of the heads, from the migration scripts."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def _current_revisions(engine: Engine) -> frozenset[str]:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return frozenset()
        return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


class MigrationRefused(RuntimeError):
    """A migration cannot run with what it was given (e.g. no key to re-seal the disclosure log)."""


def _upgrade(engine: Engine, log_key: bytes | None = None) -> None:
    from alembic import command

    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        cfg.attributes["log_key"] = log_key
        try:
            command.upgrade(cfg, "heads")
        except RuntimeError as exc:  # a migration's own refusal (SQL errors are SQLAlchemyError)
            raise MigrationRefused(str(exc)) from None


def _alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

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
