"""A job at the desk: its stage as it goes (server-sent events from the job row, a page that
refreshes itself without JavaScript), its failure with "try again", its letter and labels to
print; and `/api/v1/jobs`. The job itself runs in a worker (`mediastation worker`, or the one the
desk starts), never in the desk: a closed browser or a restarted desk does not stop it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from mediastation.desk.auth import Caller, desk, require
from mediastation.desk.i18n import label, stage_label
from mediastation.desk.render import render
from mediastation.errors import NotFoundError
from mediastation.jobs.model import JobView
from mediastation.jobs.queue import JobQueue

router = APIRouter()
job_reader = require("technician", "importer")
LIVE = ("queued", "running")
EVENT_POLL_SECONDS = 0.5      # a stage lasts seconds to minutes: half a second is "live" to a person
EVENT_HEARTBEAT_SECONDS = 15  # a comment line keeps proxies from closing a quiet stream
EVENT_STREAM_SECONDS = 600    # then the browser's EventSource reconnects on its own


def pipeline_stages(kind: str) -> tuple[str, ...]:
    """The stage names of a job kind, in order (from the pipeline the worker runs)."""
    if kind == "export":
        from mediastation.workflows.export.pipeline import PIPELINE
    elif kind == "import":
        from mediastation.workflows.imports.pipeline import PIPELINE
    elif kind == "transfer":
        from mediastation.workflows.transfer.pipeline import PIPELINE
    else:
        return ()
    return PIPELINE.names


def job_files(job: JobView) -> list[tuple[str, str, Path]]:
    """The documents of a finished job to print: (url name, label key, path) from its result."""
    result = job.result or {}
    files: list[tuple[str, str, Path]] = []
    if result.get("cover_letter"):
        files.append(("letter.pdf", "letter", Path(result["cover_letter"])))
    for medium in result.get("media") or []:
        if medium.get("label"):
            files.append((f"label-{medium.get('index', len(files))}.pdf", "label", Path(medium["label"])))
    if result.get("report"):
        files.append(("receipt.pdf", "letter", Path(result["report"])))
    return files


def _job(request: Request, job_id: str) -> JobView:
    return JobQueue(desk(request).database).require(job_id)


def progress_of(job: JobView) -> dict[str, Any]:
    """What the job page shows and the event stream sends: state, stage, and stages done of all."""
    names = pipeline_stages(job.kind)
    done = [name for name, record in job.stages.items() if record.done]
    return {"job_id": job.job_id, "state": str(job.state), "stage": job.stage or "", "done": len(done),
            "total": len(names) or len(done), "error": (job.error or {}).get("message")}


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, caller: Caller = Depends(job_reader)) -> Response:
    job = _job(request, job_id)
    names = pipeline_stages(job.kind) or tuple(job.stages)
    return render(request, caller, "job_page.html", title=label(caller.language, "job_title", id=job.job_id),
                  job=job.to_json(), progress=progress_of(job), stage_names=names, live=str(job.state) in LIVE,
                  files=shown_files(job, caller.language), failure=failure_kind(job))


def failure_kind(job: JobView) -> str:
    """What a failed job's reason asks of the person (the reason itself is the workflow's, in English):
    `refused` (the request or the archive must change; trying again alone does not help), `outside`
    (the archive, a drive or a disk failed: try again), `other`."""
    code = str((job.error or {}).get("code") or "")
    if code in ("export_refused", "transfer_refused", "invalid_input", "not_found"):
        return "refused"
    if code in ("outside_failure", "pacs_failed", "disk_failed", "database_failed"):
        return "outside"
    return "other"


def shown_files(job: JobView, language: str) -> list[tuple[str, str]]:
    """(url name, link text) of the job's documents; labels numbered per disc."""
    shown, discs = [], 0
    for name, key, _ in job_files(job):
        discs += key == "label"
        shown.append((name, label(language, key, n=discs)))
    return shown


@router.get("/jobs/{job_id}/events")
async def job_events(request: Request, job_id: str, caller: Caller = Depends(job_reader)) -> Response:
    """Server-sent events: one `progress` event whenever the state or stage changes; the stream ends
    with the job."""
    await run_in_threadpool(_job, request, job_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[str]:
        last: dict[str, Any] | None = None
        quiet = 0.0
        loop = asyncio.get_running_loop()
        end = loop.time() + EVENT_STREAM_SECONDS
        yield "retry: 2000\n\n"
        while loop.time() < end and not await request.is_disconnected():
            job = await run_in_threadpool(_job, request, job_id)
            now = {**progress_of(job), "stage_label": stage_label(caller.language, job.stage) if job.stage else "–"}
            if now != last:
                yield f"event: progress\ndata: {json.dumps(now)}\n\n"
                last, quiet = now, 0.0
                if now["state"] not in LIVE:
                    return
            elif quiet >= EVENT_HEARTBEAT_SECONDS:
                yield ": still here\n\n"
                quiet = 0.0
            await asyncio.sleep(EVENT_POLL_SECONDS)
            quiet += EVENT_POLL_SECONDS

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/jobs/{job_id}/files/{name}")
def job_file(request: Request, job_id: str, name: str, caller: Caller = Depends(job_reader)) -> Response:
    """A letter, label or receipt of the job, by the name the job page links (never a path from the URL)."""
    job = _job(request, job_id)
    for file_name, _key, path in job_files(job):
        if file_name == name and path.is_file():
            return FileResponse(path, media_type="application/pdf", filename=f"{job.job_id}-{name}",
                                content_disposition_type="inline")
    raise NotFoundError(f"job {job.job_id} has no {name}")


@router.post("/jobs/{job_id}/retry")
def job_retry(request: Request, job_id: str, caller: Caller = Depends(job_reader)) -> Response:
    JobQueue(desk(request).database).retry(job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/api/v1/jobs/{job_id}")
def api_job(request: Request, job_id: str, caller: Caller = Depends(job_reader)) -> dict[str, Any]:
    """`jobs show ID --json`."""
    return _job(request, job_id).to_json()


@router.get("/api/v1/jobs")
def api_jobs(request: Request, state: str | None = None, kind: str | None = None, limit: int = 100,
             caller: Caller = Depends(job_reader)) -> dict[str, Any]:
    """`jobs list --json`."""
    found = JobQueue(desk(request).database).list(states=[state] if state else [], kind=kind,
                                                  limit=max(1, min(limit, 10000)))
    return {"jobs": [job.summary() for job in found]}
