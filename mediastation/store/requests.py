"""Stored release requests: added once per content, read back by id or listed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import defer
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
             limit: int = 200, older_than: str | None = None, newer_than: str | None = None,
             summary: bool = False) -> list[ReleaseRequestRow]:
        """Newest first (creation time, then id: two requests of one instant keep their order).

        `older_than` / `newer_than` (a request id): the page after / before the one that shows it
        (keyset paging: each page costs the same index walk, however deep, where an OFFSET would
        step over every earlier row). An id that is not stored gives the first page.
        `summary`: without the request and decision documents (a list shows neither; decoding
        them was half the query's time for a page of 1,000, benchmarks/desk_latency.py)."""
        newest_first = (ReleaseRequestRow.created_at.desc(), ReleaseRequestRow.request_id.desc())
        query = select(ReleaseRequestRow)
        if summary:
            query = query.options(defer(ReleaseRequestRow.request_json, raiseload=True),
                                  defer(ReleaseRequestRow.decision_json, raiseload=True))
        if decision:
            query = query.where(ReleaseRequestRow.decision == decision)
        if state:
            query = query.where(ReleaseRequestRow.state == state)
        if hetu:
            query = query.where(ReleaseRequestRow.patient_hetu == hetu)
        with self.database.session() as session:
            anchor = session.get(ReleaseRequestRow, (older_than or newer_than or "").strip().upper() or "-")
            if anchor is None:
                return list(session.scalars(query.order_by(*newest_first).limit(limit)).all())
            at, ident = ReleaseRequestRow.created_at, ReleaseRequestRow.request_id
            if older_than:  # (at, id) < the anchor's, written so the index on `at` bounds the walk
                query = query.where(at <= anchor.created_at, or_(at < anchor.created_at, ident < anchor.request_id))
                return list(session.scalars(query.order_by(*newest_first).limit(limit)).all())
            query = query.where(at >= anchor.created_at, or_(at > anchor.created_at, ident > anchor.request_id))
            query = query.order_by(at, ident)
            return list(reversed(session.scalars(query.limit(limit)).all()))

    def set_state(self, request_id: str, state: str) -> None:
        with self.database.session() as session:
            row = session.get(ReleaseRequestRow, request_id)
            if row is not None:
                row.state = state
