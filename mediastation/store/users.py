"""Desk users and their sessions: rows in, rows out (the rules of signing in: workflows/users.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mediastation.store.db import Database
from mediastation.store.models import DeskSessionRow, DeskUserRow


class UserRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def get(self, name: str) -> DeskUserRow | None:
        with self.database.session() as session:
            return session.get(DeskUserRow, name)

    def by_token_hash(self, token_hash: str) -> DeskUserRow | None:
        with self.database.session() as session:
            return session.scalars(select(DeskUserRow).where(DeskUserRow.token_hash == token_hash)).first()

    def list(self) -> list[DeskUserRow]:
        with self.database.session() as session:
            return list(session.scalars(select(DeskUserRow).order_by(DeskUserRow.name)).all())

    def add(self, name: str, roles: list[str], password_hash: str) -> DeskUserRow:
        with self.database.session() as session:
            row = DeskUserRow(name=name, roles=roles, password_hash=password_hash, disabled=False, failed_logins=0,
                              language="")
            session.add(row)
        return row

    def update(self, name: str, **values: object) -> DeskUserRow | None:
        """Set the given columns of one user; None when there is no such user."""
        with self.database.session() as session:
            row = session.get(DeskUserRow, name)
            if row is None:
                return None
            for key, value in values.items():
                setattr(row, key, value)
        return row

    def count_failure(self, name: str, *, most: int, lock_until: datetime,
                      then: Callable[[Session, bool], None] | None = None) -> DeskUserRow | None:
        """One more wrong password; the `most`-th locks the name until `lock_until` (and starts the
        count again). Read and written in one transaction so two browsers cannot both slip under;
        `then(session, locked)` writes in the same transaction (the audit event of the failure)."""
        with self.database.session() as session:
            row = session.get(DeskUserRow, name, with_for_update=True)
            if row is None:
                return None
            row.failed_logins += 1
            locked = row.failed_logins >= most
            if locked:
                row.locked_until = lock_until
                row.failed_logins = 0
            if then is not None:
                then(session, locked)
        return row


class SessionRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, session_hash: str, user_name: str, csrf_token: str, moment: datetime,
            then: Callable[[Session], None] | None = None) -> None:
        """A new session; `then(session)` writes in the same transaction (the sign-in's audit event)."""
        with self.database.session() as session:
            session.add(DeskSessionRow(session_hash=session_hash, user_name=user_name, csrf_token=csrf_token,
                                       created_at=moment, last_seen=moment))
            if then is not None:
                then(session)

    def get(self, session_hash: str) -> DeskSessionRow | None:
        with self.database.session() as session:
            return session.get(DeskSessionRow, session_hash)

    def touch(self, session_hash: str, moment: datetime) -> None:
        with self.database.session() as session:
            row = session.get(DeskSessionRow, session_hash)
            if row is not None:
                row.last_seen = moment

    def delete(self, session_hash: str, then: Callable[[Session, str], None] | None = None) -> None:
        """End a session; `then(session, user_name)` writes in the same transaction when there was one
        (the sign-out's audit event)."""
        with self.database.session() as session:
            row = session.get(DeskSessionRow, session_hash)
            session.execute(delete(DeskSessionRow).where(DeskSessionRow.session_hash == session_hash))
            if row is not None and then is not None:
                then(session, row.user_name)

    def delete_user(self, user_name: str) -> None:
        """Every session of a person (disabled, or a new password set)."""
        with self.database.session() as session:
            session.execute(delete(DeskSessionRow).where(DeskSessionRow.user_name == user_name))

    def delete_idle(self, before: datetime) -> None:
        with self.database.session() as session:
            session.execute(delete(DeskSessionRow).where(DeskSessionRow.last_seen < before))
