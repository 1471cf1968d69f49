"""The export pipeline: approved release request -> verified medium, recorded.

    retrieve -> compose -> package -> write -> verify -> record

An export is a job of the one job queue (mediastation/jobs/): `export ID` puts it in the queue and
runs it in the calling process, `export ID --queue` only puts it there for a `worker`. The job's id
is derived from the request, the copy and the attempt, so two `export ID` started together make one
job: the second finds it held by the first and follows it to its end (or takes it over if the first
dies). Each stage saves its typed outcome before the next starts; a job stopped anywhere resumes
after its last saved stage, and nothing is logged, shipped or billed twice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediastation.domain.request import ReleaseRequest
from mediastation.errors import disk_error
from mediastation.jobs.model import (
    JobState,
    JobView,
    Needs,
    deterministic_id,
    worker_id,
)
from mediastation.jobs.queue import JobQueue
from mediastation.jobs.runner import Lease, Pipeline, Stage, run_here_or_follow, run_stages
from mediastation.store.models import ReleaseRequestRow
from mediastation.workflows.export.compose import compose
from mediastation.workflows.export.package import package
from mediastation.workflows.export.preflight import preflight
from mediastation.workflows.export.record import record
from mediastation.workflows.export.retrieve import retrieve
from mediastation.workflows.export.types import (
    Composed,
    ExportEnvironment,
    ExportJob,
    ExportParams,
    ExportRefused,
    Packaged,
    Recorded,
    Retrieved,
    Verified,
    Written,
)
from mediastation.workflows.export.verify import verify
from mediastation.workflows.export.write import write
from mediastation.workflows.retrieval import COMPLETE

def _write_here(job: ExportJob) -> Written:
    """Once media are written they are on this station: only it can verify and finish the job."""
    job.pin_here()
    return write(job)


PIPELINE = Pipeline("export", (
    Stage("retrieve", Retrieved, retrieve),
    Stage("compose", Composed, compose),
    Stage("package", Packaged, package),
    Stage("write", Written, _write_here),
    Stage("verify", Verified, verify),
    Stage("record", Recorded, record),
))
STAGES = PIPELINE.names


@dataclass
class ExportOptions:
    request_id: str
    medium: str | None = None  # cd | dvd | dvd-dl | usb | auto; None = the decision's channel
    burner: str | None = None
    to_dir: Path | None = None
    actor: str = ""
    again: bool = False
    reports: dict[str, Path] = field(default_factory=dict)  # --report ACCESSION=FILE
    mkdir: bool = False  # --mkdir: create the --to folder (only once every other check passed)


@dataclass(frozen=True)
class ExportResult:
    job_id: str
    request_id: str
    state: str
    document: dict[str, Any]


def enqueue_export(env: ExportEnvironment, options: ExportOptions) -> tuple[JobView, bool]:
    """The request's unfinished job (to resume or follow), else a new queued one: (job, created).

    After a finished job, a new one is made for a request re-opened by a returned shipment (a new
    attempt of the same copy) or with --again (a new copy, billed again)."""
    from mediastation.workflows.requests import get_request

    row = get_request(env.database, options.request_id)
    _check_exportable(row)
    queue = JobQueue(env.database)
    previous = queue.for_subject("export", row.request_id)
    unfinished = [job for job in previous if job.state is not JobState.DONE]
    if unfinished:
        if "write" not in unfinished[-1].stages:  # what it still has to do must still be possible
            preflight(env, row, _merged_params(unfinished[-1], options), new=False, create_target=options.mkdir)
            if options.mkdir and options.to_dir:
                options.to_dir.mkdir(parents=True, exist_ok=True)
        return unfinished[-1], False
    copy = max((int(job.params.get("copy_number", 1)) for job in previous), default=1)
    if previous and options.again:
        copy += 1
    elif previous and row.state != "open":
        raise ExportRefused(
            f"request {row.request_id} was already exported (job {previous[-1].job_id}); "
            "use --again to make another copy",
            details={"request_id": row.request_id, "job_id": previous[-1].job_id})
    attempt = len(previous) + 1
    params = ExportParams(request_id=row.request_id, medium=options.medium, burner=options.burner,
                          to_dir=str(options.to_dir) if options.to_dir else None, actor=options.actor, copy_number=copy,
                          attempt=attempt, reports={acc: str(path) for acc, path in options.reports.items()})
    preflight(env, row, params, new=True, create_target=options.mkdir)  # every refusal now, before a byte
    if options.mkdir and options.to_dir:                                 # is retrieved
        options.to_dir.mkdir(parents=True, exist_ok=True)
    station = env.settings.station.name
    needs = Needs(station=station if options.to_dir else None, burner=options.burner,
                  medium=_medium_needed(options.medium, row.channel))
    return queue.enqueue(deterministic_id("E", row.request_id, copy, attempt), kind="export", station=station,
                         subject=row.request_id, params=params.model_dump(mode="json"), needs=needs)


def _medium_needed(asked: str | None, channel: str | None) -> str | None:
    medium = asked or channel
    return None if medium in (None, "auto") else medium


def _check_exportable(row: ReleaseRequestRow) -> None:
    """Export only what the rules approved for media."""
    if row.decision != "release":
        raise ExportRefused(
            f"request {row.request_id} was decided '{row.decision}', not 'release': nothing is exported",
            details={"request_id": row.request_id, "decision": row.decision})
    if row.channel not in ("cd", "dvd", "usb"):
        raise ExportRefused(
            f"request {row.request_id} is released through '{row.channel}', not on media: "
            "nothing is written (record the release with `mediastation log record`)",
            details={"request_id": row.request_id, "channel": row.channel})


def run_export(env: ExportEnvironment, options: ExportOptions, *, queue_only: bool = False) -> ExportResult:
    """Export (or resume exporting) a request here; returns the interfaces.md export document.
    With `queue_only` the job is only put in the queue for a worker."""
    job, created = enqueue_export(env, options)
    if queue_only:
        return ExportResult(job.job_id, job.subject, str(job.state), queued_document(job, created))
    queue = JobQueue(env.database)
    document = run_here_or_follow(
        queue, job.job_id, owner=worker_id(env.settings.station.name), lease_seconds=env.settings.jobs.lease_seconds,
        work=lambda claimed, lease: run_export_job(env, claimed, lease),
        adjust=lambda claimed: _with_options(queue, claimed, options),
        announce=lambda message: env.progress(0, None, message), subject_key="request_id")
    return ExportResult(job.job_id, job.subject, "done", document)


def _with_options(queue: JobQueue, job: JobView, options: ExportOptions) -> JobView:
    """Options given again for an unfinished job apply where they still can: a burner or folder
    before anything was written, reports before the discs were composed."""
    updated = _merged_params(job, options).model_dump(mode="json")
    if updated == job.params:
        return job
    queue.set_params(job.job_id, job.owner, updated)
    return dataclasses.replace(job, params=updated)


def _merged_params(job: JobView, options: ExportOptions) -> ExportParams:
    params = ExportParams.model_validate(job.params)
    changes: dict[str, Any] = {"actor": options.actor or params.actor}
    if "write" not in job.stages:
        if options.to_dir is not None:
            changes["to_dir"] = str(options.to_dir)
        if options.burner:
            changes["burner"] = options.burner
    if "compose" not in job.stages:
        if options.reports:
            changes["reports"] = {acc: str(path) for acc, path in options.reports.items()}
        if options.medium:
            changes["medium"] = options.medium
    return params.model_copy(update=changes)


def run_export_job(env: ExportEnvironment, job: JobView, lease: Lease) -> dict[str, Any]:
    """Run a claimed export job to its end (the worker's handler and `export ID`'s own run)."""
    from mediastation.store.requests import RequestRepository
    from mediastation.workflows.requests import get_request

    params = ExportParams.model_validate(job.params)
    row = get_request(env.database, params.request_id)
    queue = JobQueue(env.database)
    station = env.settings.station.name
    context = ExportJob(job_id=job.job_id, env=env, row=row, request=ReleaseRequest.model_validate(row.request_json),
                        params=params, progress=lease.progress(env.progress))
    context.pin_here = lambda: queue.pin(job.job_id, lease.owner, job.needs.model_copy(update={"station": station}))
    try:
        context.folder.mkdir(parents=True, exist_ok=True)
        run_stages(PIPELINE, _usable(job), context, queue, lease)
    except OSError as exc:  # a disk full, read-only or gone: exit 3 naming it; the job resumes when run again
        raise disk_error(exc, context.folder, then="then run the same command again: the export resumes "
                         "after its last finished stage") from None
    RequestRepository(env.database).set_state(row.request_id, "released")
    return document(context)


def _usable(job: JobView) -> JobView:
    """The saved stages whose files this station has. A job taken over from another station whose
    job folder is not shared starts again from the first stage whose files are missing here (the
    media are written only once: from `write` on, the job is pinned to its station)."""
    stages = dict(job.stages)
    present = {
        "retrieve": lambda s: all((Path(st["folder"]) / COMPLETE).exists() for st in s.get("studies", [])),
        "compose": lambda s: all(Path(d["tree"]).is_dir() for d in s.get("discs", [])),
        "package": lambda s: all(Path(i["image"]).is_file() for i in s.get("images", []) if i.get("image")),
    }
    for position, name in enumerate(("retrieve", "compose", "package")):
        record = stages.get(name)
        if record is not None and record.done and not present[name](record.state):
            for later in STAGES[position:STAGES.index("write")]:
                stages.pop(later, None)
            break
    return dataclasses.replace(job, stages=stages)


def document(job: ExportJob) -> dict[str, Any]:
    """The interfaces.md export result."""
    composed, written, recorded = job.composed, job.written, job.stages.state("record", Recorded)
    return {
        "job_id": job.job_id,
        "request_id": job.row.request_id,
        "state": "done",
        "media": [m.model_dump(mode="json") for m in job.verified.media],
        "cover_letter": written.cover_letter,
        "shipment_id": recorded.shipment_id,
        "invoice_lines": recorded.invoice_lines or [],
        "disclosure_seq": recorded.disclosure_seq,
        "conversions": [c.model_dump(mode="json", by_alias=True) for c in composed.conversions],
        "viewer": composed.viewer,
        "seconds": dict(job.stages.seconds),
        "warnings": list(composed.warnings),
    }


def queued_document(job: JobView, created: bool) -> dict[str, Any]:
    """`export ID --queue`: the job a worker will take."""
    return {"job_id": job.job_id, "request_id": job.subject, "state": str(job.state), "created": created,
            "stage": job.stage or None, "needs": job.needs.model_dump(exclude_none=True)}
