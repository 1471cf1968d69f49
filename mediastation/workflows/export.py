"""The export pipeline: approved release request -> verified medium, recorded (issue 4).

    check -> retrieve -> compose -> package -> write -> verify -> record

Every stage reads the job's saved state, does one thing and saves its outcome before the next
starts, so a job killed anywhere and run again resumes where it stopped: nothing is fetched twice
that was complete, and nothing is logged, shipped or billed twice. Nothing reaches a medium before
every requested study was found in the archive and matched the request.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from mediastation.domain.request import ReleaseRequest
from mediastation.errors import MediaStationError
from mediastation.store.db import Database
from mediastation.store.jobs import JobRepository
from mediastation.store.models import Job, ReleaseRequestRow

Progress = Callable[[int, int | None, str], None]
MEDIA_KINDS = ("cd", "dvd", "dvd-dl", "usb")
STAGES = ("retrieve", "compose", "package", "write", "verify", "record")


class ExportRefused(MediaStationError):
    """The request may not be exported as asked (not approved, not a media channel, mismatch)."""

    code = "export_refused"


@dataclass
class ExportOptions:
    request_id: str
    medium: str | None = None  # cd | dvd | dvd-dl | usb | auto; None = the decision's channel
    burner: str | None = None
    to_dir: Path | None = None
    actor: str = ""
    again: bool = False
    reports: dict[str, Path] = field(default_factory=dict)  # --report ACCESSION=FILE


@dataclass
class ExportEnvironment:
    """What the pipeline needs from the station, handed in by the CLI (no configuration parsing here)."""

    database: Database
    settings: Any  # mediastation.config.Settings
    home: Path
    jobs_folder: Path
    progress: Progress = field(default=lambda done, total, what: None)

    def home_path_text(self, value: str) -> str:
        """A path setting with `{home}` expanded (the one placeholder config.expand_home knows)."""
        from mediastation.config import expand_home

        return expand_home(value, self.home)

    def home_path(self, value: str) -> Path:
        return Path(self.home_path_text(value)).expanduser()


@dataclass(frozen=True)
class ExportResult:
    job_id: str
    request_id: str
    state: str
    document: dict[str, Any]


def run_export(env: ExportEnvironment, options: ExportOptions) -> ExportResult:
    """Export (or resume exporting) a request; returns the interfaces.md export document."""
    from mediastation.workflows.requests import get_request

    row = get_request(env.database, options.request_id)
    _check_exportable(row)
    jobs = JobRepository(env.database)
    job = _job_for(jobs, env, row, options)
    run = ExportRun(env, jobs, job, row, options)
    return run.execute()


def _check_exportable(row: ReleaseRequestRow) -> None:
    """Export only what the rules approved for media (issue 4 item 8)."""
    if row.decision != "release":
        raise ExportRefused(
            f"request {row.request_id} was decided '{row.decision}', not 'release': nothing is exported",
            details={"request_id": row.request_id, "decision": row.decision})
    if row.channel not in ("cd", "dvd", "usb"):
        raise ExportRefused(
            f"request {row.request_id} is released through '{row.channel}', not on media: "
            "nothing is written (record the release with `mediastation log record`)",
            details={"request_id": row.request_id, "channel": row.channel})


def _job_for(jobs: JobRepository, env: ExportEnvironment, row: ReleaseRequestRow, options: ExportOptions) -> Job:
    """Resume the request's unfinished job. After a finished one, a new job is made for a request
    re-opened by a returned shipment (a new attempt of the same copy) or with --again (a new copy,
    billed again)."""
    previous = jobs.for_request("export", row.request_id)
    unfinished = [job for job in previous if job.state != "done"]
    if unfinished:
        return unfinished[-1]
    copy = max((int(job.detail.get("copy", 1)) for job in previous), default=1)
    if previous and options.again:
        copy += 1
    elif previous and row.state != "open":
        raise ExportRefused(
            f"request {row.request_id} was already exported (job {previous[-1].job_id}); "
            "use --again to make another copy",
            details={"request_id": row.request_id, "job_id": previous[-1].job_id})
    return jobs.create("export", prefix="E", station=env.settings.station.name,
                       detail={"request_id": row.request_id, "done": [], "copy": copy, "attempt": len(previous) + 1})


class ExportRun:
    """One pass over the stages of one job."""

    def __init__(self, env: ExportEnvironment, jobs: JobRepository, job: Job, row: ReleaseRequestRow,
                 options: ExportOptions) -> None:
        self.env = env
        self.jobs = jobs
        self.job_id = job.job_id
        self.row = row
        self.request = ReleaseRequest.model_validate(row.request_json)
        self.options = options
        self.detail: dict[str, Any] = dict(job.detail)
        if options.reports:
            self.detail["given_reports"] = {acc: str(path) for acc, path in options.reports.items()}
        self.folder = env.jobs_folder / job.job_id
        self.folder.mkdir(parents=True, exist_ok=True)

    # -- running -----------------------------------------------------------------------------

    def execute(self) -> ExportResult:
        from mediastation.workflows import export_stages as stages

        steps = {"retrieve": stages.retrieve, "compose": stages.compose, "package": stages.package,
                 "write": stages.write, "verify": stages.verify, "record": stages.record}
        try:
            for name in STAGES:
                if name in self.detail["done"]:
                    continue
                self.jobs.save(self.job_id, stage=name, state="running")
                started = time.perf_counter()
                steps[name](self)
                self.detail.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 2)
                self.detail["done"] = [*self.detail["done"], name]
                self.save()
        except MediaStationError as exc:
            self.detail["error"] = {"code": exc.code, "message": exc.message}
            self.jobs.save(self.job_id, state="failed", detail=self.detail)
            exc.details = {**exc.details, "job_id": self.job_id, "request_id": self.row.request_id,
                           "state": "failed"}
            raise
        self.detail.pop("error", None)
        self.jobs.save(self.job_id, state="done", stage="done", detail=self.detail)
        from mediastation.store.requests import RequestRepository

        RequestRepository(self.env.database).set_state(self.row.request_id, "released")
        return ExportResult(self.job_id, self.row.request_id, "done", self.document())

    def save(self) -> None:
        self.jobs.save(self.job_id, detail=self.detail)

    # -- what the stages share ---------------------------------------------------------------

    @property
    def medium_kind(self) -> str:
        return self.detail["medium"]

    def path(self, *parts: str) -> Path:
        return self.folder.joinpath(*parts)

    def document(self) -> dict[str, Any]:
        """The interfaces.md export result."""
        return {
            "job_id": self.job_id,
            "request_id": self.row.request_id,
            "state": "done",
            "media": self.detail.get("media", []),
            "cover_letter": self.detail.get("cover_letter"),
            "shipment_id": self.detail.get("shipment_id"),
            "invoice_lines": self.detail.get("invoice_lines", []),
            "disclosure_seq": self.detail.get("disclosure_seq"),
            "conversions": self.detail.get("conversions", []),
            "viewer": self.detail.get("viewer", []),
            "seconds": self.detail.get("seconds", {}),
        }


def fileset_code(request_id: str, attempt: int) -> str:
    """`HUS` + the request's code (+ the job's ordinal after the first): the base of file-set ids,
    so every medium that ever left for a request has an id of its own."""
    code = "".join(ch for ch in request_id.upper() if ch.isalnum())
    code = code[1:] if code.startswith("R") else code
    return f"HUS{code}" + (f"X{attempt}" if attempt > 1 else "")


def write_json(path: Path, data: Any) -> None:
    """Atomically: a job killed mid-write leaves the old file or none, never half of one."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def link_or_copy(source: Path, target: Path) -> None:
    """Stage a file without copying its bytes when the file system allows (b43)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def today_helsinki() -> date:
    from mediastation.domain.calendar import helsinki_date

    return helsinki_date(datetime.now(timezone.utc))
