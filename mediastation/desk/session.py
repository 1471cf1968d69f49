"""Signing in and out, and the language: `/login`, `/logout`, `/language`, `/api/v1/session`."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from mediastation.desk import auth
from mediastation.desk.auth import Caller, desk, signed_in
from mediastation.desk.i18n import LANGUAGES, label
from mediastation.desk.render import render
from mediastation.workflows.users import (LOCK, SignInRefused, authenticate, end_session, set_language,
                                          start_session)

router = APIRouter()


def _login_page(request: Request, *, message: str = "", user: str = "", next_path: str = "/",
                status: int = 200) -> Response:
    token = request.cookies.get(auth.LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, None, "login.html", status=status, title=label(auth.request_language(request), "sign_in"),
                      message=message, user=user, next=next_path, login_token=token)
    response.set_cookie(auth.LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=desk(request).tls,
                        path="/login")
    return response


def refusal_text(language: str, refused: SignInRefused) -> str:
    if refused.reason == "locked":
        return label(language, "locked", minutes=LOCK.seconds // 60)
    if refused.reason == "disabled":
        return label(language, "disabled")
    return label(language, "wrong_password")


@router.get("/login")
def login_form(request: Request, next: str = "/", lang: str = "") -> Response:
    if lang in LANGUAGES:  # the language links of the sign-in page: a remembered preference, nothing else
        response = RedirectResponse(f"/login?next={quote(auth.local_target(next), safe='')}", status_code=303)
        auth.set_language_cookie(response, lang, tls=desk(request).tls)
        return response
    return _login_page(request, next_path=auth.local_target(next))


async def _sign_in(request: Request, name: str, password: str) -> Any:
    context = desk(request)
    client = request.client.host if request.client else None  # the audit events' network access point
    user = await run_in_threadpool(authenticate, context.database, name, password, client=client)
    old = request.cookies.get(auth.SESSION_COOKIE)
    if old:  # a session id known before sign-in never carries over (session fixation)
        await run_in_threadpool(end_session, context.database, old)
    return await run_in_threadpool(start_session, context.database, user, client=client)


def _sign_out(request: Request, caller: Caller) -> None:
    if caller.session_id:
        end_session(desk(request).database, caller.session_id, signed_out=True,
                    client=request.client.host if request.client else None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    next_path = auth.local_target(str(form.get("next") or "/"))
    if not auth.csrf_ok(request.cookies.get(auth.LOGIN_COOKIE), str(form.get(auth.CSRF_FIELD) or "")):
        return _login_page(request, message=label(auth.request_language(request), "csrf"), next_path=next_path,
                           status=403)
    name = str(form.get("user") or "").strip()
    try:
        signed = await _sign_in(request, name, str(form.get("password") or ""))
    except SignInRefused as refused:
        return _login_page(request, message=refusal_text(auth.request_language(request), refused), user=name,
                           next_path=next_path, status=401)
    response = RedirectResponse(next_path, status_code=303)
    auth.set_session_cookie(response, signed.session_id, tls=desk(request).tls)
    response.delete_cookie(auth.LOGIN_COOKIE, path="/login")
    if signed.user.language:
        auth.set_language_cookie(response, signed.user.language, tls=desk(request).tls)
    return response


@router.post("/logout")
def logout(request: Request, caller: Caller = Depends(signed_in)) -> Response:
    _sign_out(request, caller)
    response = RedirectResponse("/login", status_code=303)
    auth.clear_session_cookie(response, tls=desk(request).tls)
    return response


@router.post("/language")
def choose_language(request: Request, caller: Caller = Depends(signed_in)) -> Response:
    form = caller.form or {}
    language = str(form.get("desk_language") or "")
    set_language(desk(request).database, caller.name, language)
    response = RedirectResponse(auth.local_target(str(form.get("next") or "/")), status_code=303)
    auth.set_language_cookie(response, language, tls=desk(request).tls)
    return response


@router.post("/api/v1/session")
async def api_sign_in(request: Request) -> Response:
    """`{"user", "password"}` -> the session cookie and `{"csrf_token"}`. Only a JSON body: a form
    posted from another site cannot send one without a CORS preflight, which the desk never allows."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise auth.BadBody("send {\"user\", \"password\"} as application/json")
    try:
        body = await request.json()
    except ValueError:
        raise auth.BadBody("the body is not JSON") from None
    if not isinstance(body, dict):
        raise auth.BadBody("send {\"user\", \"password\"}")
    signed = await _sign_in(request, str(body.get("user") or ""), str(body.get("password") or ""))
    response = JSONResponse({"csrf_token": signed.csrf_token, "user": signed.user.to_json()})
    auth.set_session_cookie(response, signed.session_id, tls=desk(request).tls)
    return response


@router.delete("/api/v1/session")
def api_sign_out(request: Request, caller: Caller = Depends(signed_in)) -> Response:
    _sign_out(request, caller)
    response = JSONResponse({"signed_out": True})
    auth.clear_session_cookie(response, tls=desk(request).tls)
    return response
