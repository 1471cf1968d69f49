"""`/`: today's work for the person's roles."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from mediastation.desk.auth import Caller, desk, signed_in
from mediastation.desk.imports import waiting_scans
from mediastation.desk.render import MenuItem, render
from mediastation.jobs.queue import JobQueue
from mediastation.store.requests import RequestRepository
from mediastation.workflows.shipments import list_shipments, today

router = APIRouter()
MENU: tuple[MenuItem, ...] = (("/", "home", ()),)


@router.get("/")
def home(request: Request, caller: Caller = Depends(signed_in)) -> Response:
    database = desk(request).database
    to_export = running = failed = jobs = overdue = waiting = None
    if caller.user.holds("technician"):
        to_export = [row for row in RequestRepository(database).list(decision="release", state="open", limit=50)
                     if row.channel in ("cd", "dvd", "usb")]
        overdue = list_shipments(database, overdue_on=today())  # R16: posted and past the due date
    if caller.user.holds("importer"):
        waiting = waiting_scans(desk(request))  # media read at the desk, not yet mapped and imported
    if caller.user.holds_any(("technician", "importer")):
        queue = JobQueue(database)
        running = [job.to_json() for job in queue.list(states=["queued", "running"], limit=20)]
        failed = [job.to_json() for job in queue.list(states=["failed"], limit=20)]
        jobs = True
    return render(request, caller, "home.html", to_export=to_export, running=running, failed=failed, jobs=jobs,
                  overdue=overdue, waiting=waiting)
