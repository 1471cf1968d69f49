"""Stored release requests: added once per content, read back by id or listed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mediastation.store.db import Database
from mediastation.store.models import ReleaseRequestRow

ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread on the phone


def new_request_id() -> str:
    code = "".join(secrets.choice(ID_ALPHABET) for _ in range(8))
    return f"R-{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class NewRequest:
    content_hash: str
    received_at: str
    patient_hetu: str
    patient_name: str
    destination: str
    decision: str
    channel: str | None
    request_json: dict[str, Any]
    decision_json: dict[str, Any]
    added_by: str
    station: str


class RequestRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, new: NewRequest) -> tuple[ReleaseRequestRow, bool]:
        """Store the request unless the same content is already stored; (row, created)."""
        existing = self.by_hash(new.content_hash)
        if existing is not None:
            return existing, False
        try:
            with self.database.session() as session:
                row = ReleaseRequestRow(request_id=new_request_id(), state="open", **new.__dict__)
                session.add(row)
            return row, True
        except IntegrityError:  # another station stored the same file at the same moment
            existing = self.by_hash(new.content_hash)
            if existing is None:
                raise
            return existing, False

    def by_hash(self, content_hash: str) -> ReleaseRequestRow | None:
        with self.database.session() as session:
            return session.scalars(select(ReleaseRequestRow).where(ReleaseRequestRow.content_hash == content_hash)).first()

    def get(self, request_id: str) -> ReleaseRequestRow | None:
        with self.database.session() as session:
            return session.get(ReleaseRequestRow, request_id.strip().upper())

    def list(self, *, decision: str | None = None, state: str | None = None, hetu: str | None = None,
             limit: int = 200) -> list[ReleaseRequestRow]:
        query = select(ReleaseRequestRow).order_by(ReleaseRequestRow.created_at.desc()).limit(limit)
        if decision:
            query = query.where(ReleaseRequestRow.decision == decision)
        if state:
            query = query.where(ReleaseRequestRow.state == state)
        if hetu:
            query = query.where(ReleaseRequestRow.patient_hetu == hetu)
        with self.database.session() as session:
            return list(session.scalars(query).all())

    def set_state(self, request_id: str, state: str) -> None:
        with self.database.session() as session:
            row = session.get(ReleaseRequestRow, request_id)
            if row is not None:
                row.state = state
