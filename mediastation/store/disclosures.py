"""The disclosure log's storage: append one entry on the chain's head, read it back, verify it.

Appending needs the log's key (`Database.log_key`, from `[log] key_file`); so does verifying.
Whoever watches the log (`Database.audit`) is told of each entry inside the transaction that
appends it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediastation.domain.disclosure import (
    GENESIS,
    KEY_BYTES,
    ChainProblem,
    InvalidLogKey,
    StoredEntry,
    canonical_json,
    chain_mac,
    key_mismatch,
    parse_log_key,
    verify_chain,
)
from mediastation.errors import ConfigError, DatabaseError
from mediastation.files import create_private_file
from mediastation.store.db import Database
from mediastation.store.models import DisclosureRow

APPEND_ATTEMPTS = 5
# The triggers migration 0002 puts on the table (the database itself refuses edits): each name with
# a phrase its definition must hold. Dropped, disabled or emptied, the log could be edited quietly.
SQLITE_GUARDS = {"disclosures_no_update": "before update on disclosures",
                 "disclosures_no_delete": "before delete on disclosures"}
POSTGRES_GUARDS = {"disclosures_no_change": ("update", "delete"), "disclosures_no_truncate": ("truncate",)}


class DisclosureObserver(Protocol):
    """Told of each new entry inside the transaction that appends it (`event`: what the caller
    knows beyond the entry, e.g. the export's studies and media)."""

    def disclosure_appended(self, session: Session, entry: StoredEntry, event: Any) -> None: ...


class LogKeyMissing(ConfigError):
    """The disclosure log's key is not available to this station."""

    code = "log_key_missing"


@dataclass(frozen=True)
class Verification:
    entries: int
    head_hash: str
    problems: list[ChainProblem]
    guards: list[str]
    wrong_key: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and not self.guards

    @property
    def bad_entries(self) -> set[int]:
        return {p.seq for p in self.problems}


class DisclosureLog:
    """Append-only access to the `disclosures` table; there is no update and no delete here."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def key(self) -> bytes:
        if self.database.log_key is None:
            raise LogKeyMissing("the disclosure log's key is not available: [log] key_file names no readable key; "
                                "run `mediastation init` on a new station, or copy the key file of the stations "
                                "sharing this database")
        return self.database.log_key

    def append(self, content: dict[str, Any], *, patient_hetu: str, request_id: str | None,
               event: Any = None) -> StoredEntry:
        """Add `content` as the next entry. Another station appending at the same moment makes our
        insert collide on `prev_hash` (unique); we then retry on the new head."""
        key = self.key()
        for _attempt in range(APPEND_ATTEMPTS):
            try:
                return self._append_once(key, content, patient_hetu, request_id, event)
            except IntegrityError:
                continue
        raise DatabaseError("could not append to the disclosure log: the database stayed busy; try again")

    def _append_once(self, key: bytes, content: dict[str, Any], patient_hetu: str, request_id: str | None,
                     event: Any) -> StoredEntry:
        with self.database.session() as session:
            head = session.execute(
                select(DisclosureRow.seq, DisclosureRow.entry_hash).order_by(DisclosureRow.seq.desc()).limit(1)
            ).first()
            seq, prev_hash = (head.seq + 1, head.entry_hash) if head else (1, GENESIS)
            recorded_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            full = {**content, "seq": seq, "recorded_at": recorded_at, "request_id": request_id,
                    "patient": {**content.get("patient", {}), "hetu": patient_hetu}}
            content_json = canonical_json(full)
            entry_hash = chain_mac(key, prev_hash, content_json)
            session.add(DisclosureRow(
                seq=seq, patient_hetu=patient_hetu, request_id=request_id, recorded_at=recorded_at,
                content_json=content_json, prev_hash=prev_hash, entry_hash=entry_hash,
            ))
            entry = StoredEntry(seq, patient_hetu, content_json, prev_hash, entry_hash)
            if self.database.audit is not None:
                self.database.audit.disclosure_appended(session, entry, event)
        return entry

    def entries(self, *, batch: int = 1000) -> Iterator[StoredEntry]:
        """Every entry in chain order, read in batches so a long log needs little memory."""
        after = 0
        while True:
            with self.database.session() as session:
                rows = session.scalars(
                    select(DisclosureRow).where(DisclosureRow.seq > after).order_by(DisclosureRow.seq).limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _stored(row)
            after = rows[-1].seq

    def get(self, seq: int) -> StoredEntry | None:
        with self.database.session() as session:
            row = session.get(DisclosureRow, seq)
        return _stored(row) if row is not None else None

    def for_patient(self, patient_hetu: str) -> list[StoredEntry]:
        return self._where(DisclosureRow.patient_hetu == patient_hetu)

    def for_request(self, request_id: str) -> list[StoredEntry]:
        return self._where(DisclosureRow.request_id == request_id)

    def _where(self, condition: Any) -> list[StoredEntry]:
        """The entries matching `condition`, in chain order."""
        with self.database.session() as session:
            rows = session.scalars(select(DisclosureRow).where(condition).order_by(DisclosureRow.seq)).all()
        return [_stored(row) for row in rows]

    def request_ids(self) -> set[str]:
        with self.database.session() as session:
            return set(session.scalars(select(DisclosureRow.request_id).where(DisclosureRow.request_id.is_not(None))))

    def count(self) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(DisclosureRow)) or 0

    def head(self) -> StoredEntry | None:
        with self.database.session() as session:
            row = session.scalars(select(DisclosureRow).order_by(DisclosureRow.seq.desc()).limit(1)).first()
        return _stored(row) if row is not None else None

    def verify(self) -> Verification:
        """The chain under the key, and the triggers that make the database refuse edits."""
        key = self.key()
        head = GENESIS
        count = 0

        def tracked() -> Iterator[StoredEntry]:
            nonlocal head, count
            for entry in self.entries():
                head, count = entry.entry_hash, count + 1
                yield entry

        problems = verify_chain(tracked(), key)
        return Verification(entries=count, head_hash=head, problems=problems, guards=self.guard_problems(),
                            wrong_key=key_mismatch(count, problems))

    def guard_problems(self) -> list[str]:
        """Each protecting trigger that is missing, disabled or no longer refuses (empty: all in place)."""
        with self.database.engine.connect() as conn:
            if self.database.dialect == "postgresql":
                return _postgres_guard_problems(conn)
            return _sqlite_guard_problems(conn)


def _sqlite_guard_problems(conn: Any) -> list[str]:
    found = {name: " ".join((sql or "").lower().split()) for name, sql in conn.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'disclosures'"))}
    problems = []
    for name, phrase in SQLITE_GUARDS.items():
        sql = found.get(name)
        if sql is None:
            problems.append(f"trigger {name} is missing: the database no longer refuses edits of the log")
        elif phrase not in sql or "raise(abort" not in sql.replace(" ", ""):
            problems.append(f"trigger {name} was changed: it no longer refuses edits of the log")
    return problems


def _postgres_guard_problems(conn: Any) -> list[str]:
    rows = conn.execute(text(
        "SELECT t.tgname, t.tgenabled, lower(pg_get_triggerdef(t.oid)) AS definition, p.prosrc "
        "FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = 'disclosures'::regclass AND NOT t.tgisinternal")).all()
    found = {row.tgname: row for row in rows}
    problems = []
    for name, events in POSTGRES_GUARDS.items():
        row = found.get(name)
        if row is None:
            problems.append(f"trigger {name} is missing: the database no longer refuses edits of the log")
        elif row.tgenabled == "D":
            problems.append(f"trigger {name} is disabled: the database no longer refuses edits of the log")
        elif not all(event in row.definition for event in events) or "raise exception" not in row.prosrc.lower():
            problems.append(f"trigger {name} was changed: it no longer refuses edits of the log")
    return problems


def _stored(row: DisclosureRow) -> StoredEntry:
    return StoredEntry(row.seq, row.patient_hetu, row.content_json, row.prev_hash, row.entry_hash)


def read_key_file(path: Path) -> bytes | None:
    """The key in `path` ([log] key_file); None when there is no such file."""
    try:
        text_ = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"'log.key_file': {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return parse_log_key(text_)
    except InvalidLogKey as exc:
        raise ConfigError(f"'log.key_file': {path} is not a disclosure log key ({exc}); restore the key file "
                          "the log was written with") from None


def create_key_file(path: Path) -> bool:
    """A new random key in `path`, mode 0600; False when a key file exists (it is never replaced)."""
    return create_private_file(path, secrets.token_hex(KEY_BYTES).encode("ascii") + b"\n")


def key_file_problem(path: Path) -> str | None:
    """The key file readable by others than its owner is a key anyone on the machine can use."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return f"key file {path} is readable by others (mode {mode:04o}): `chmod 600 {path}`"
    return None
