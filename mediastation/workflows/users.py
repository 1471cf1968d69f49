"""The desk's people: users with roles, passwords, sign-in with a lock, sessions and API tokens.

The `users` commands and the desk (docs/desk.md "Security") both come here, so a password set on
the command line signs in at the desk and a lock counted at the desk holds for the API too.

- Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
  parameter set: 3 passes over 64 MiB, 4 lanes); a hash made with older parameters is replaced at
  the next good sign-in.
- Five wrong passwords in a row lock the name for 15 minutes (logged), counted in the database so
  every desk process and the API share the count. A wrong name costs the same hashing time as a
  wrong password, so timing does not tell which names exist.
- A session id (256 random bits) lives only in the browser's cookie; the database keeps its SHA-256.
  Every sign-in makes a new id (a session id planted before sign-in is worth nothing after it).
- An API token is shown once; the database keeps its SHA-256.
- Every sign-in, own sign-out, refused sign-in and lock-out is a User Authentication audit event
  (mediastation/workflows/audit_events.py), written in the transaction of the session or the count.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediastation.audit import messages as audit
from mediastation.errors import InputError, MediaStationError, NotFoundError
from mediastation.store.db import Database
from mediastation.store.models import DeskUserRow
from mediastation.store.users import SessionRepository, UserRepository
from mediastation.workflows.audit_events import user_authenticated

ROLES = ("technician", "importer", "billing", "admin")
LANGUAGES = ("fi", "sv", "en")
MOST_WRONG_PASSWORDS = 5
LOCK = timedelta(minutes=15)
PASSWORD_MIN = 8  # NIST SP 800-63B 5.1.1.1: at least 8 characters for a memorised secret chosen by its user
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_PREFIX = "mst_"

log = logging.getLogger("mediastation.desk")
_hasher = PasswordHasher()
# Verified against when the name does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class UserInvalid(InputError):
    code = "invalid_user"


class UserNotFound(NotFoundError):
    pass


class SignInRefused(MediaStationError):
    """A wrong name or password, a locked or a disabled name: `reason` says which, for the desk's
    message in the person's language; the message never says whether the name exists."""

    code = "sign_in_refused"

    def __init__(self, reason: str, message: str, *, until: datetime | None = None) -> None:
        super().__init__(message, details={"reason": reason, **({"until": until.isoformat()} if until else {})})
        self.reason = reason
        self.until = until


@dataclass(frozen=True)
class DeskUser:
    name: str
    roles: tuple[str, ...]
    language: str = ""
    disabled: bool = False

    def holds(self, role: str) -> bool:
        """`admin` holds every role (docs/desk.md)."""
        return role in self.roles or "admin" in self.roles

    def holds_any(self, roles: tuple[str, ...]) -> bool:
        return any(self.holds(role) for role in roles)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "roles": list(self.roles), "language": self.language or None,
                "disabled": self.disabled}


@dataclass(frozen=True)
class SignedIn:
    user: DeskUser
    session_id: str
    csrf_token: str


@dataclass(frozen=True)
class ActiveSession:
    user: DeskUser
    csrf_token: str


def _user(row: DeskUserRow) -> DeskUser:
    return DeskUser(row.name, tuple(row.roles or ()), row.language or "", bool(row.disabled))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite gives naive UTC back
        return moment.replace(tzinfo=timezone.utc)
    return moment


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def check_roles(roles: list[str] | tuple[str, ...]) -> list[str]:
    wrong = [role for role in roles if role not in ROLES]
    if wrong or not roles:
        raise UserInvalid(f"roles must be among {', '.join(ROLES)} (at least one); not {', '.join(wrong) or 'none'}")
    return sorted(set(roles), key=ROLES.index)


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise UserInvalid(f"a password needs at least {PASSWORD_MIN} characters; choose a longer one")
    return password


def add_user(database: Database, name: str, roles: list[str], password: str) -> DeskUser:
    if not NAME.match(name):
        raise UserInvalid(f"{name!r} cannot be a user name: use 1-64 letters, digits, '.', '_', '-' or '@', "
                          "starting with a letter or digit")
    checked = check_roles(roles)
    check_password(password)
    repository = UserRepository(database)
    if repository.get(name) is not None:
        raise UserInvalid(f"user {name!r} exists already; `users password {name}` sets a new password")
    try:
        row = repository.add(name, checked, _hasher.hash(password))
    except IntegrityError:
        raise UserInvalid(f"user {name!r} exists already") from None
    return _user(row)


def require_user(database: Database, name: str) -> DeskUserRow:
    row = UserRepository(database).get(name)
    if row is None:
        raise UserNotFound(f"no desk user {name!r}; `mediastation users list` shows them")
    return row


def list_users(database: Database) -> list[DeskUserRow]:
    return UserRepository(database).list()


def user_document(row: DeskUserRow, now: datetime | None = None) -> dict[str, object]:
    locked = _aware(row.locked_until)
    return {"name": row.name, "roles": list(row.roles or ()), "disabled": bool(row.disabled),
            "locked_until": locked.isoformat() if locked and locked > _now(now) else None,
            "has_token": bool(row.token_hash), "language": row.language or None,
            "created_at": _aware(row.created_at).isoformat() if row.created_at else None}


def disable_user(database: Database, name: str) -> DeskUser:
    """No more sign-ins, tokens or sessions for the name (its past actions keep naming it)."""
    require_user(database, name)
    row = UserRepository(database).update(name, disabled=True, token_hash=None)
    SessionRepository(database).delete_user(name)
    return _user(row)


def set_password(database: Database, name: str, password: str) -> DeskUser:
    """A new password ends the person's sessions and any lock; a disabled user becomes usable again."""
    require_user(database, name)
    check_password(password)
    row = UserRepository(database).update(name, password_hash=_hasher.hash(password), disabled=False,
                                          failed_logins=0, locked_until=None)
    SessionRepository(database).delete_user(name)
    return _user(row)


def set_language(database: Database, name: str, language: str) -> None:
    if language not in LANGUAGES:
        raise UserInvalid(f"the desk speaks {', '.join(LANGUAGES)}, not {language!r}")
    UserRepository(database).update(name, language=language)


def new_token(database: Database, name: str) -> str:
    """A new API token for the name, replacing the old one; returned once, stored as its SHA-256."""
    row = require_user(database, name)
    if row.disabled:
        raise UserInvalid(f"user {name!r} is disabled; `users password {name}` enables it again")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    UserRepository(database).update(name, token_hash=_sha256(token))
    return token


def token_user(database: Database, token: str) -> DeskUser | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = UserRepository(database).by_token_hash(_sha256(token))
    if row is None or row.disabled:
        return None
    return _user(row)


def authenticate(database: Database, name: str, password: str, *, now: datetime | None = None,
                 client: str | None = None) -> DeskUser:
    """The user whose name and password these are, or SignInRefused (wrong, locked or disabled).
    A refusal is a User Authentication audit event (PS3.15 A.5.3.12) of the name given, from
    `client`: outcome 4, or 8 for the wrong password that locks the name (in the transaction that counts it)."""
    moment = _now(now)
    repository = UserRepository(database)
    row = repository.get(name) if NAME.match(name or "") else None

    def record(reason: str, session: Session | None = None, outcome: str = audit.MINOR_FAILURE) -> None:
        # a name as typed may hold anything: only printable characters go into the XML
        user_authenticated(database, session, user="".join(c for c in name or "" if c.isprintable()),
                           outcome=outcome, client=client,
                           description=f"sign-in refused: {reason}")

    if row is None:
        _verify(_DUMMY_HASH, password)
        record("wrong user name or password")
        raise SignInRefused("wrong", "wrong user name or password")
    locked = _aware(row.locked_until)
    if locked is not None and locked > moment:
        record("the name is locked")
        raise SignInRefused("locked", f"the name {name} is locked after {MOST_WRONG_PASSWORDS} wrong passwords "
                            f"until {locked.isoformat(timespec='minutes')}", until=locked)
    if not _verify(row.password_hash, password):
        counted = repository.count_failure(
            name, most=MOST_WRONG_PASSWORDS, lock_until=moment + LOCK,
            then=lambda session, locks: record(
                f"locked for {LOCK.seconds // 60} minutes after {MOST_WRONG_PASSWORDS} wrong passwords" if locks
                else "wrong password", session, audit.SERIOUS_FAILURE if locks else audit.MINOR_FAILURE))
        if counted is not None and _aware(counted.locked_until) is not None and _aware(counted.locked_until) > moment:
            log.warning("desk: user %s locked for %d minutes after %d wrong passwords", name,
                        LOCK.seconds // 60, MOST_WRONG_PASSWORDS)
            raise SignInRefused("locked", f"the name {name} is locked after {MOST_WRONG_PASSWORDS} wrong passwords",
                                until=_aware(counted.locked_until))
        raise SignInRefused("wrong", "wrong user name or password")
    if row.disabled:
        record("the name is disabled")
        raise SignInRefused("disabled", f"the name {name} is disabled; an administrator can enable it")
    changes: dict[str, object] = {}
    if row.failed_logins or row.locked_until is not None:
        changes.update(failed_logins=0, locked_until=None)
    if _hasher.check_needs_rehash(row.password_hash):
        changes["password_hash"] = _hasher.hash(password)
    if changes:
        repository.update(name, **changes)
    return _user(row)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def start_session(database: Database, user: DeskUser, *, now: datetime | None = None,
                  client: str | None = None) -> SignedIn:
    """A new session (a new id at every sign-in) with its own CSRF token, and its Login audit event
    (PS3.15 A.5.3.12) in the same transaction."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    SessionRepository(database).add(_sha256(session_id), user.name, csrf, _now(now),
                                    then=lambda session: user_authenticated(database, session, user=user.name,
                                                                            client=client))
    return SignedIn(user, session_id, csrf)


def active_session(database: Database, session_id: str, *, idle: timedelta,
                   now: datetime | None = None) -> ActiveSession | None:
    """The session's user and CSRF token while it is in use; an idle or a disabled user's session ends."""
    moment = _now(now)
    sessions = SessionRepository(database)
    key = _sha256(session_id)
    row = sessions.get(key)
    if row is None:
        return None
    if _aware(row.last_seen) + idle < moment:
        sessions.delete(key)
        return None
    user_row = UserRepository(database).get(row.user_name)
    if user_row is None or user_row.disabled:
        sessions.delete(key)
        return None
    if moment - _aware(row.last_seen) > timedelta(seconds=30):  # one write per half minute, not per page
        sessions.touch(key, moment)
    return ActiveSession(_user(user_row), row.csrf_token)


def end_session(database: Database, session_id: str, *, signed_out: bool = False,
                client: str | None = None) -> None:
    """End a session; a person's own sign-out (`signed_out`) is a Logout audit event in the same
    transaction (a stale id replaced at sign-in is not: the Login that follows says enough)."""
    then = (lambda session, name: user_authenticated(database, session, user=name, login=False, client=client)) \
        if signed_out else None
    SessionRepository(database).delete(_sha256(session_id), then=then)
