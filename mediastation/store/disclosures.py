"""The disclosure log's storage: append one entry on the chain's head, read it back, verify it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mediastation.domain.disclosure import (
    GENESIS,
    ChainProblem,
    StoredEntry,
    canonical_json,
    chain_hash,
    verify_chain,
)
from mediastation.errors import DatabaseError
from mediastation.store.db import Database
from mediastation.store.models import DisclosureRow

APPEND_ATTEMPTS = 5


@dataclass(frozen=True)
class Verification:
    entries: int
    head_hash: str
    problems: list[ChainProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


class DisclosureLog:
    """Append-only access to the `disclosures` table; there is no update and no delete here."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def append(self, content: dict[str, Any], *, patient_hetu: str, request_id: str | None) -> StoredEntry:
        """Add `content` as the next entry. Another station appending at the same moment makes our
        insert collide on `prev_hash` (unique); we then retry on the new head."""
        for _attempt in range(APPEND_ATTEMPTS):
            try:
                return self._append_once(content, patient_hetu, request_id)
            except IntegrityError:
                continue
        raise DatabaseError("could not append to the disclosure log: the database stayed busy; try again")

    def _append_once(self, content: dict[str, Any], patient_hetu: str, request_id: str | None) -> StoredEntry:
        with self.database.session() as session:
            head = session.execute(
                select(DisclosureRow.seq, DisclosureRow.entry_hash).order_by(DisclosureRow.seq.desc()).limit(1)
            ).first()
            seq, prev_hash = (head.seq + 1, head.entry_hash) if head else (1, GENESIS)
            recorded_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            full = {**content, "seq": seq, "recorded_at": recorded_at, "request_id": request_id,
                    "patient": {**content.get("patient", {}), "hetu": patient_hetu}}
            content_json = canonical_json(full)
            entry_hash = chain_hash(prev_hash, content_json)
            session.add(DisclosureRow(
                seq=seq, patient_hetu=patient_hetu, request_id=request_id, recorded_at=recorded_at,
                content_json=content_json, prev_hash=prev_hash, entry_hash=entry_hash,
            ))
        return StoredEntry(seq, patient_hetu, content_json, prev_hash, entry_hash)

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

    def verify(self) -> Verification:
        head = GENESIS
        count = 0

        def tracked() -> Iterator[StoredEntry]:
            nonlocal head, count
            for entry in self.entries():
                head, count = entry.entry_hash, count + 1
                yield entry

        problems = verify_chain(tracked())
        return Verification(entries=count, head_hash=head, problems=problems)


def _stored(row: DisclosureRow) -> StoredEntry:
    return StoredEntry(row.seq, row.patient_hetu, row.content_json, row.prev_hash, row.entry_hash)
