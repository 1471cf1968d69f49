"""The post room at the desk: shipments by state (prepared, posted, overdue, delivered, returned),
posting with the tracking code, delivered and returned; and `/api/v1/shipments`.

Every change goes through `workflows.shipments` (the `shipments post/delivered/returned` commands'
code): the tracking code is checked as UPU S10 there (mediastation/domain/delivery.py, R16), the
dates against the shipment's history, and the signed-in person is the event's actor.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from mediastation.desk.auth import Caller, desk, require
from mediastation.desk.i18n import label
from mediastation.desk.render import MenuItem, render
from mediastation.errors import InputError, MediaStationError
from mediastation.workflows import shipments as flows

router = APIRouter()
MENU: tuple[MenuItem, ...] = (("/shipments", "sh_menu", ("technician",)),)
technician = require("technician")
# The page's sections in the order the post room works them; "overdue" is posted and late (R16).
SECTIONS = ("prepared", "overdue", "posted", "delivered", "returned", "other")


def day_of(value: Any, default: date | None = None) -> date:
    """A YYYY-MM-DD date from a form or JSON body (an `<input type="date">` sends that), else today."""
    text = str(value or "").strip()
    if not text:
        return default or flows.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date such as 2026-11-30") from None


# Finished shipments shown on the page, newest last (the API and `shipments list` have them all):
# years of delivered envelopes would bury the ones still to post.
FINISHED_SHOWN = 100


def sections(shipments: list[Any], on: date) -> dict[str, tuple[int, list[Any]]]:
    """Each section: (how many shipments it has, those shown)."""
    grouped: dict[str, list[Any]] = {name: [] for name in SECTIONS}
    for shipment in shipments:
        if shipment.overdue(on):
            grouped["overdue"].append(shipment)
        else:
            grouped[shipment.state if shipment.state in grouped else "other"].append(shipment)
    return {name: (len(found), found[-FINISHED_SHOWN:] if name in ("delivered", "returned", "other") else found)
            for name, found in grouped.items()}


def _page(request: Request, caller: Caller, *, error: str = "", failed: str = "", tracking: str = "",
          status: int = 200) -> Response:
    on = flows.today()
    found = flows.list_shipments(desk(request).database)
    return render(request, caller, "shipments.html", status=status, title=label(caller.language, "sh_title"),
                  sections=sections(found, on), today=on.isoformat(), error=error, failed=failed, tracking=tracking)


@router.get("/shipments")
def shipment_list(request: Request, caller: Caller = Depends(technician)) -> Response:
    return _page(request, caller)


def _change(request: Request, caller: Caller, shipment_id: str, event: str, values: Any) -> flows.Change:
    context = desk(request)
    on = day_of(values.get("date"))
    if event == "post":
        return flows.post(context.database, shipment_id, on=on, tracking=str(values.get("tracking") or ""),
                          actor=caller.name)
    note = str(values.get("note") or "").strip()
    if event == "returned":
        return flows.returned(context.database, shipment_id, on=on, actor=caller.name, note=note,
                              station=context.station)
    return flows.delivered(context.database, shipment_id, on=on, actor=caller.name, note=note)


@router.post("/shipments/{shipment_id}/{event}")
def shipment_event(request: Request, shipment_id: str, event: str, caller: Caller = Depends(technician)) -> Response:
    """Post (tracking code and day), delivered or returned (day and note); a refusal shows the page
    again with the reason beside the shipment and what was typed kept."""
    if event not in ("post", "delivered", "returned"):
        raise InputError(f"{event!r}: a shipment is posted, delivered or returned here")
    form = caller.form or {}
    try:
        _change(request, caller, shipment_id, event, form)
    except MediaStationError as refused:
        if refused.code == "not_found":
            raise
        return _page(request, caller, error=refused.message, failed=shipment_id,
                     tracking=str(form.get("tracking") or ""), status=422 if isinstance(refused, InputError) else 409)
    return RedirectResponse(f"/shipments#{shipment_id}", status_code=303)


# -- JSON API -------------------------------------------------------------------------------------

@router.get("/api/v1/shipments")
def api_list(request: Request, overdue: bool = False, on: str = "", state: str | None = None,
             caller: Caller = Depends(technician)) -> dict[str, Any]:
    """`shipments list [--overdue] [--on DAY] [--state S] --json`."""
    day = day_of(on)
    found = flows.list_shipments(desk(request).database, overdue_on=day if overdue else None, state=state)
    return {"shipments": [shipment.to_json(on=day) for shipment in found], "on": day.isoformat()}


def _api_change(request: Request, caller: Caller, shipment_id: str, event: str) -> dict[str, Any]:
    body = caller.body if isinstance(caller.body, dict) else {}
    return _change(request, caller, shipment_id, event, body).to_json(on=flows.today())


@router.post("/api/v1/shipments/{shipment_id}/post")
def api_post(request: Request, shipment_id: str, caller: Caller = Depends(technician)) -> dict[str, Any]:
    """`{"tracking", "date"}` -> `shipments post ID --tracking T --date D --json`."""
    return _api_change(request, caller, shipment_id, "post")


@router.post("/api/v1/shipments/{shipment_id}/delivered")
def api_delivered(request: Request, shipment_id: str, caller: Caller = Depends(technician)) -> dict[str, Any]:
    """`{"date", "note"}` -> `shipments delivered ID --json`."""
    return _api_change(request, caller, shipment_id, "delivered")


@router.post("/api/v1/shipments/{shipment_id}/returned")
def api_returned(request: Request, shipment_id: str, caller: Caller = Depends(technician)) -> dict[str, Any]:
    """`{"date", "note"}` -> `shipments returned ID --json` (the request opens again, R13's correction entry)."""
    return _api_change(request, caller, shipment_id, "returned")
