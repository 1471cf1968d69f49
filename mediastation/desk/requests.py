"""Release requests at the desk: the list, the form with its decision before saving, the request
page with its export; and `/api/v1/requests`. Every decision comes from `workflows.requests` (the
same `decide` as `request check`/`request add`), every export from `workflows.export`."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from mediastation.desk import forms
from mediastation.desk.auth import Caller, desk, require
from mediastation.desk.i18n import label
from mediastation.desk.render import MenuItem, render
from mediastation.errors import InputError, MediaStationError, OutsidePartyError
from mediastation.jobs.queue import JobQueue
from mediastation.store.requests import RequestRepository
from mediastation.store.disclosures import DisclosureLog
from mediastation.workflows.requests import (InvalidRequestFile, add_request, check_request, entry_document,
                                             get_request, look_up_studies, record_release, request_document)

router = APIRouter()
MENU: tuple[MenuItem, ...] = (("/requests", "requests", ("technician",)),
                              ("/requests/new", "new_request", ("technician",)))
technician = require("technician")
DECISIONS = ("release", "no_release_needed", "route", "needs_consent", "refused")
MEDIA = ("cd", "dvd", "usb")
MEDIUM_CHOICES = ("auto", "cd", "dvd", "dvd-dl", "usb")
PAGE_SIZE = 200  # requests on one list page unless ?limit= says otherwise
PAGE_MOST = 1000  # the most ?limit= shows at once


# -- pages ----------------------------------------------------------------------------------------

@router.get("/requests")
def request_list(request: Request, q: str = "", decision: str = "", limit: int = PAGE_SIZE, before: str = "",
                 after: str = "", caller: Caller = Depends(technician)) -> Response:
    """One page, newest first; "older" / "newer" links page by the last / first request shown
    (RequestRepository.list), so 50,000 stored requests are never read or rendered at once."""
    repository = RequestRepository(desk(request).database)
    query = q.strip()
    limit = max(1, min(limit, PAGE_MOST))
    older = newer = False
    if query.upper().startswith("R-"):
        found = repository.get(query)
        rows = [found] if found is not None else []
    else:
        anchored = repository.get(before or after) is not None if (before or after) else False
        rows = repository.list(decision=decision if decision in DECISIONS else None, hetu=query.upper() or None,
                               limit=limit + 1, older_than=before or None if anchored else None,
                               newer_than=None if before or not anchored else after, summary=True)
        if anchored and not before:
            newer, older, rows = len(rows) > limit, True, rows[-limit:]
        else:
            older, newer, rows = len(rows) > limit, anchored, rows[:limit]
    keep = {key: value for key, value in (("q", query), ("decision", decision)) if value}
    if limit != PAGE_SIZE:
        keep["limit"] = str(limit)
    older_link = f"/requests?{urlencode({**keep, 'before': rows[-1].request_id})}" if older and rows else ""
    newer_link = f"/requests?{urlencode({**keep, 'after': rows[0].request_id})}" if newer and rows else ""
    return render(request, caller, "requests.html", title=label(caller.language, "request_list"), rows=rows,
                  q=query, decision=decision, decisions=DECISIONS, older_link=older_link, newer_link=newer_link)


def _form_page(request: Request, caller: Caller, state: forms.FormState, *, decision: dict | None = None,
               problems: list[dict] | None = None, status: int = 200, archive: dict | None = None,
               based_on: str = "") -> Response:
    return render(request, caller, "request_form.html", status=status, title=label(caller.language, "form_title"),
                  sections=forms.SECTIONS, study_fields=forms.STUDY_FIELDS, state=state, defaults=forms.DEFAULTS,
                  choice_labels=forms.CHOICE_LABELS, decision=decision, problems=problems or [], archive=archive,
                  based_on=based_on)


def _look_up(request: Request, caller: Caller, state: forms.FormState) -> Response:
    """The studies' names and times from the archive by their accession numbers (empty fields
    filled, typed ones compared), so that what is saved is what the export will find."""
    values = state.values
    numbers = [values.get(f"studies.{row}.accession_number", "") for row in range(state.study_rows)]
    if not any(number.strip() for number in numbers):
        return _form_page(request, caller, state, status=422, problems=[
            {"path": "studies[0].accession_number", "message": label(caller.language, "lookup_needs_number")}])
    context = desk(request)
    try:
        found = look_up_studies(context.database, context.settings, context.home, numbers,
                                hetu=values.get("patient.hetu", "").strip().upper(),
                                name=values.get("patient.name", "").strip(), actor=caller.name)
    except MediaStationError as failed:
        return _form_page(request, caller, state, status=503 if isinstance(failed, OutsidePartyError) else 409,
                          archive={"error": failed.message, "found": [], "differs": []})
    filled, differs = forms.with_archive_studies(state, found)
    return _form_page(request, caller, filled, archive={"error": "", "found": found, "differs": differs})


@router.get("/requests/new")
def request_form(request: Request, caller: Caller = Depends(technician), based_on: str = Query("", alias="from")
                 ) -> Response:
    """The empty form, or (`?from=ID`) a stored request's document to correct and check again: a
    request waiting for consent, refused for a missing item, or naming a study the archive does
    not hold is not edited (its decision stays on record) but followed by a corrected one."""
    if not based_on:
        return _form_page(request, caller, forms.FormState(dict(forms.DEFAULTS), 2))
    row = get_request(desk(request).database, based_on)
    return _form_page(request, caller, forms.form_from_document(row.request_json), based_on=row.request_id)


@router.post("/requests/new")
def request_submit(request: Request, caller: Caller = Depends(technician)) -> Response:
    form = caller.form or {}
    action = str(form.get("action") or "check")
    state = forms.form_state(form, extra_row=action == "more")
    if action == "more":
        return _form_page(request, caller, state)
    if action == "lookup":
        return _look_up(request, caller, state)
    text = json.dumps(forms.document_from_form(form), ensure_ascii=False)
    context = desk(request)
    try:
        if action == "save":
            added = add_request(context.database, text, context.policy, actor=caller.name, station=context.station)
            return RedirectResponse(f"/requests/{added.request_id}", status_code=303)
        checked = check_request(text, context.policy)
    except InvalidRequestFile as invalid:
        problems = [{**problem, "lang": "en"} for problem in invalid.details.get("problems", [])]
        return _form_page(request, caller, state, problems=problems, status=422)
    return _form_page(request, caller, state, decision=checked.decision.to_json())


def _request_page(request: Request, caller: Caller, request_id: str, *, error: str = "",
                  status: int = 200, error_heading: str = "export_refused") -> Response:
    context = desk(request)
    row = get_request(context.database, request_id)
    queue = JobQueue(context.database)
    exports = [job.to_json() for job in queue.for_subject("export", row.request_id)]
    exportable = row.decision == "release" and row.channel in MEDIA
    transfers = [job.to_json() for job in queue.for_subject("transfer", row.request_id)]
    sendable = row.decision == "release" and row.channel in ("electronic", "register_copy")
    disclosures = [entry_document(entry) for entry in DisclosureLog(context.database).for_request(row.request_id)]
    return render(request, caller, "request_page.html", status=status,
                  title=label(caller.language, "request_title", id=row.request_id), row=row,
                  document=row.request_json, decision=row.decision_json, exports=exports, exportable=exportable,
                  media=MEDIUM_CHOICES, burners=context.burner_names(),
                  default_burner=context.settings.burners.default, error=error, error_heading=error_heading,
                  disclosures=disclosures,
                  recordable=row.decision == "release" and not disclosures, transfers=transfers, sendable=sendable)


def request_page_with_error(request: Request, caller: Caller, request_id: str, message: str, heading: str) -> Response:
    """The request page again with why an action on it was refused (409), under `heading` (a label key)."""
    return _request_page(request, caller, request_id, error=message, status=409, error_heading=heading)


@router.get("/requests/{request_id}")
def request_page(request: Request, request_id: str, caller: Caller = Depends(technician)) -> Response:
    return _request_page(request, caller, request_id)


def queue_export(request: Request, caller: Caller, request_id: str, medium: Any, burner: Any,
                 copies: Any = 1) -> dict[str, Any]:
    """The export job of the request, queued for the worker (`export ID --queue`): its document."""
    from mediastation.workflows.export import ExportOptions, run_export

    medium = str(medium or "") or None
    burner = str(burner or "") or None
    if medium is not None and medium not in MEDIUM_CHOICES:
        raise InputError(f"medium {medium!r}: use one of {', '.join(MEDIUM_CHOICES)}")
    if burner is not None and burner not in desk(request).burner_names():
        raise InputError(f"burner {burner!r} is not one of this station's: {', '.join(desk(request).burner_names())}")
    if str(copies) != "1":
        raise InputError("one copy per export: export again for another copy")
    options = ExportOptions(request_id=request_id, medium=None if medium == "auto" else medium, burner=burner,
                            actor=caller.name)
    return run_export(desk(request).export_environment(), options, queue_only=True).document


@router.post("/requests/{request_id}/export")
def request_export(request: Request, request_id: str, caller: Caller = Depends(technician)) -> Response:
    form = caller.form or {}
    try:
        document = queue_export(request, caller, request_id, form.get("medium"), form.get("burner"))
    except MediaStationError as refused:
        if refused.code == "not_found":
            raise
        return _request_page(request, caller, request_id, error=refused.message, status=409)
    return RedirectResponse(f"/jobs/{document['job_id']}", status_code=303)


@router.post("/requests/{request_id}/release")
def request_record_release(request: Request, request_id: str, caller: Caller = Depends(technician)) -> Response:
    """A release done outside the station (a register copy in the PACS, a transfer) into the
    disclosure log, like `log record ID` (R13); the signed-in person is its actor."""
    context = desk(request)
    note = str((caller.form or {}).get("note") or "").strip()
    try:
        record_release(context.database, request_id, actor=caller.name, station=context.station, note=note)
    except MediaStationError as refused:
        if refused.code == "not_found":
            raise
        return _request_page(request, caller, request_id, error=refused.message, status=409)
    return RedirectResponse(f"/requests/{get_request(context.database, request_id).request_id}", status_code=303)


# -- JSON API -------------------------------------------------------------------------------------

def _body_text(caller: Caller) -> str:
    if not isinstance(caller.body, dict):
        raise InputError("send the request document as a JSON object (interfaces.md \"Release request file\")")
    return json.dumps(caller.body, ensure_ascii=False)


@router.post("/api/v1/requests")
def api_add(request: Request, caller: Caller = Depends(technician)) -> Response:
    """Decide and store (like `request add`); the same document twice is one request."""
    context = desk(request)
    added = add_request(context.database, _body_text(caller), context.policy, actor=caller.name,
                        station=context.station)
    note = "stored" if added.created else "already stored: same request content, nothing added"
    document = {"request_id": added.request_id, **added.checked.decision.to_json(), "created": added.created,
                "note": note}
    return JSONResponse(document, status_code=201 if added.created else 200)


@router.post("/api/v1/requests/check")
def api_check(request: Request, caller: Caller = Depends(technician)) -> dict[str, Any]:
    """The decision only (like `request check`): nothing is stored."""
    checked = check_request(_body_text(caller), desk(request).policy)
    return {"request_id": None, **checked.decision.to_json()}


@router.get("/api/v1/requests")
def api_list(request: Request, decision: str | None = None, state: str | None = None, hetu: str | None = None,
             limit: int = 200, caller: Caller = Depends(technician)) -> dict[str, Any]:
    rows = RequestRepository(desk(request).database).list(decision=decision, state=state, hetu=hetu,
                                                          limit=max(1, min(limit, 100000)), summary=True)
    return {"requests": [request_document(row, full=False) for row in rows]}


@router.get("/api/v1/requests/{request_id}")
def api_show(request: Request, request_id: str, caller: Caller = Depends(technician)) -> dict[str, Any]:
    return request_document(get_request(desk(request).database, request_id), full=True)


@router.post("/api/v1/requests/{request_id}/exports")
def api_export(request: Request, request_id: str, caller: Caller = Depends(technician)) -> Response:
    """`{"medium", "burner", "copies"}` -> the queued job (`export ID --queue`'s document)."""
    body = caller.body if isinstance(caller.body, dict) else {}
    document = queue_export(request, caller, request_id, body.get("medium"), body.get("burner"),
                            body.get("copies", 1))
    return JSONResponse(document, status_code=202)
