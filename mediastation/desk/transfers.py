"""The desk's electronic release: a request decided `electronic` or `register_copy` is sent from
its page (R5, R6, R15), as `mediastation send ID --queue` does: the transfer is a job for the
worker, its page the job page. `POST /api/v1/requests/{id}/sends` is the same for an integration.
Everything that can refuse (the decision, a destination nobody configured) refuses before the job
exists, and the refusal is shown on the request page in words."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from mediastation.desk.auth import Caller, desk, require
from mediastation.desk.render import MenuItem
from mediastation.errors import MediaStationError

router = APIRouter()
MENU: tuple[MenuItem, ...] = ()
technician = require("technician")
SENDABLE = ("electronic", "register_copy")


def queue_send(request: Request, caller: Caller, request_id: str) -> dict[str, Any]:
    """The request's transfer job, queued for the worker (`send ID --queue`): its document. A job
    that failed is the same job again (its page offers "try again"); accepting a partial release
    stays a deliberate act at the station (`send ID --accept-partial`, logged as such)."""
    from mediastation.workflows.transfer import SendOptions, run_send

    options = SendOptions(request_id=request_id, actor=caller.name)
    return run_send(desk(request).transfer_environment(), options, queue_only=True)


@router.post("/requests/{request_id}/send")
def request_send(request: Request, request_id: str, caller: Caller = Depends(technician)) -> Response:
    from mediastation.desk.requests import request_page_with_error

    try:
        document = queue_send(request, caller, request_id)
    except MediaStationError as refused:
        if refused.code == "not_found":
            raise
        return request_page_with_error(request, caller, request_id, refused.message, "send_refused")
    return RedirectResponse(f"/jobs/{document['job_id']}", status_code=303)


@router.post("/api/v1/requests/{request_id}/sends")
def api_send(request: Request, request_id: str, caller: Caller = Depends(technician)) -> Response:
    """-> the queued transfer (`send ID --queue`'s document), 202."""
    return JSONResponse(queue_send(request, caller, request_id), status_code=202)
