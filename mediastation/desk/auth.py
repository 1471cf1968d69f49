"""Who is asking, and may they: the session cookie or a bearer token, the roles of the route, the
CSRF token of every unsafe request of a cookie session (docs/desk.md "Security").

Every route depends on `require(...)` (or `signed_in`), so no route answers without these checks;
tests/test_desk_security.py removes each in turn and sees its test fail. The checks run on the
server for pages and the JSON API alike; the page only hides what a role cannot use.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import quote

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from mediastation.desk.context import DeskContext
from mediastation.desk.i18n import language_of
from mediastation.workflows.users import DeskUser, active_session, token_user

SESSION_COOKIE = "desk_session"
LANGUAGE_COOKIE = "desk_lang"
LOGIN_COOKIE = "desk_login"  # the sign-in form's own CSRF token (double submit: there is no session yet)
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EVERYONE: tuple[str, ...] = ()


class SignInNeeded(Exception):
    """No valid session or token: a page redirects to /login, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but the route needs another role: 403."""


class CsrfRefused(Exception):
    """An unsafe request of a cookie session without its CSRF token: 403."""


class BadBody(Exception):
    """A JSON API body that is not JSON: 400."""


@dataclass(frozen=True)
class Caller:
    """The signed-in person of one request, with what the request carried."""

    user: DeskUser
    via: str  # "session" or "token"
    language: str
    csrf_token: str | None = None
    session_id: str | None = None
    form: FormData | None = field(default=None, repr=False)
    body: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.user.name


def desk(request: Request) -> DeskContext:
    return request.app.state.desk


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def request_language(request: Request, user: DeskUser | None = None) -> str:
    """The person's chosen language, else the browser's remembered choice, else Finnish."""
    if user is not None and user.language:
        return language_of(user.language)
    return language_of(request.cookies.get(LANGUAGE_COOKIE))


async def identify(request: Request) -> Caller | None:
    """The person behind the request's bearer token or session cookie, or None."""
    context = desk(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        user = await run_in_threadpool(token_user, context.database, token.strip())
        return Caller(user, "token", request_language(request, user)) if user else None
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    active = await run_in_threadpool(active_session, context.database, session_id, idle=context.idle)
    if active is None:
        return None
    return Caller(active.user, "session", request_language(request, active.user), active.csrf_token, session_id)


async def read_body(request: Request) -> tuple[FormData | None, Any]:
    """The form or JSON body of an unsafe request (read once here, handed to the route)."""
    if request.method in SAFE_METHODS:
        return None, None
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return await request.form(), None
    raw = await request.body()
    if kind == "application/json" or (is_api(request) and raw):
        try:
            return None, json.loads(raw) if raw else None
        except ValueError:
            raise BadBody("the body is not JSON") from None
    return None, None


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def require(*roles: str) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency: the caller, signed in, holding one of `roles` (any role when none is named),
    and, for an unsafe request of a cookie session, carrying the session's CSRF token."""

    async def dependency(request: Request) -> Caller:
        caller = await identify(request)
        if caller is None:
            raise SignInNeeded()
        request.state.caller = caller  # an error page of a signed-in person keeps the menu
        if roles and not caller.user.holds_any(roles):
            raise Forbidden()
        form, body = await read_body(request)
        if caller.via == "session" and request.method not in SAFE_METHODS:
            given = request.headers.get(CSRF_HEADER) or (form.get(CSRF_FIELD) if form is not None else None)
            if not csrf_ok(caller.csrf_token, given if isinstance(given, str) else None):
                raise CsrfRefused()
        return Caller(caller.user, caller.via, caller.language, caller.csrf_token, caller.session_id, form, body)

    return dependency


signed_in = require()


def set_session_cookie(response: Response, session_id: str, *, tls: bool) -> None:
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict", secure=tls, path="/")


def clear_session_cookie(response: Response, *, tls: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=tls, path="/")


def set_language_cookie(response: Response, language: str, *, tls: bool) -> None:
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, httponly=True, samesite="strict",
                        secure=tls, path="/")


def local_target(value: str | None, default: str = "/") -> str:
    """A redirect target only inside the desk (`/path`, never `//host` or `https://...`)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def login_url(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(path, safe='')}"
