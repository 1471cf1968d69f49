"""The desk's ASGI application: routers, static files, headers and the error boundary.

Errors answer like the CLI's (interfaces.md): a MediaStationError becomes its message with the
status its kind means (not found 404, bad input 422, a refusal 409, an outside party 503); the JSON
API answers `{"error": {"code", "message", "problems"}}`, pages show the message. Never a stack
trace, never HTML to the API.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from mediastation.desk import auth
from mediastation.desk.context import DeskContext
from mediastation.desk.i18n import label
from mediastation.desk.render import render
from mediastation.desk.security import SecurityHeaders
from mediastation.errors import InputError, MediaStationError, NotFoundError, OutsidePartyError
from mediastation.workflows.users import SignInRefused

STATIC = Path(__file__).with_name("static")
log = logging.getLogger("mediastation.desk")


def error_status(error: MediaStationError) -> int:
    if isinstance(error, SignInRefused):
        return 401
    if isinstance(error, NotFoundError) or error.code == "not_found":  # jobs.model.JobNotFound too
        return 404
    if isinstance(error, InputError):
        return 422
    if isinstance(error, OutsidePartyError):
        return 503
    return 409


def error_json(code: str, message: str, status: int, **details: Any) -> JSONResponse:
    problems = details.pop("problems", [])
    return JSONResponse({"error": {"code": code, "message": message, "problems": problems, **details}},
                        status_code=status)


def _language(request: Request) -> str:
    caller = getattr(request.state, "caller", None)
    return caller.language if caller is not None else auth.request_language(request)


def _page_error(request: Request, status: int, heading_key: str, message: str) -> Response:
    caller = getattr(request.state, "caller", None)
    language = _language(request)
    return render(request, caller, "error.html", status=status, title=label(language, heading_key),
                  heading=label(language, heading_key), message=message)


def create_app(context: DeskContext) -> Any:
    """The desk for one station; `context` holds its home, settings and database."""
    from mediastation.desk import (admin, billing, devices, home, imports, jobs, requests, session, shipments,
                                   transfers)
    from mediastation.desk import log as disclosure_log  # not `log`: the error handlers below log with `log`

    app = FastAPI(title="mediastation desk", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.desk = context
    pages = (session, home, requests, jobs, transfers, imports, shipments, billing, disclosure_log, devices, admin)
    for module in pages:
        app.include_router(module.router)
    app.state.menu = tuple(item for module in pages for item in getattr(module, "MENU", ()))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(auth.SignInNeeded)
    async def sign_in_needed(request: Request, _exc: Exception) -> Response:
        if auth.is_api(request):
            return error_json("sign_in_needed", "sign in first: POST /api/v1/session or Authorization: Bearer TOKEN",
                              401)
        return RedirectResponse(auth.login_url(request), status_code=303)

    @app.exception_handler(auth.Forbidden)
    async def forbidden(request: Request, _exc: Exception) -> Response:
        if auth.is_api(request):
            return error_json("forbidden", "your roles do not include this", 403)
        return _page_error(request, 403, "error", label(_language(request), "forbidden"))

    @app.exception_handler(auth.CsrfRefused)
    async def csrf_refused(request: Request, _exc: Exception) -> Response:
        if auth.is_api(request):
            return error_json("csrf_refused", "an unsafe request needs the session's X-CSRF-Token header", 403)
        return _page_error(request, 403, "error", label(_language(request), "csrf"))

    @app.exception_handler(auth.BadBody)
    async def bad_body(request: Request, exc: Exception) -> Response:
        return error_json("bad_request", str(exc), 400)

    @app.exception_handler(MediaStationError)
    async def station_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MediaStationError)
        status = error_status(exc)
        if auth.is_api(request):
            return error_json(exc.code, exc.message, status, **exc.details)
        return _page_error(request, status, "error", exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [{"path": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                    for e in exc.errors()]
        return error_json("invalid_input", "the request is not valid", 422, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if auth.is_api(request):
            return error_json("not_found" if exc.status_code == 404 else "http_error", str(exc.detail), exc.status_code)
        key = "not_found" if exc.status_code == 404 else "error"
        return _page_error(request, exc.status_code, "error", label(_language(request), key))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("desk: %s %s failed", request.method, request.url.path)
        if auth.is_api(request):
            return error_json("internal_error", "the desk failed; the log names the cause", 500)
        return _page_error(request, 500, "error", "the desk failed; the log names the cause")

    return SecurityHeaders(app, tls=context.tls)
