"""The desk's import pages and API routes (docs/desk.md): a source (a drive or stick the station
sees, an uploaded ISO or zip, a folder under `[desk] import_roots`), its scan with each patient
group's studies, series and pictures, the mapping of each group to a local HETU or "do not import",
and the import as a job of the station's worker, the same `run_import` as `mediastation import run
--queue`. Words in mediastation/desk/words/imports.py.

Where a source may come from is the desk's own rule: a person at a browser names only a device the
station lists or a folder under an import root (resolved, so `..` and symlinks cannot leave it),
never any path the desk's process could read. An upload is streamed to a file of its own under the
imports folder (`[imports] folder`/desk, nothing the desk serves), counted while it arrives and
refused at `[desk] upload_limit_mb` (before the first byte when the request says its length), never
executed (mode 0600, read only as a medium: dicom/sources.py), and removed when its import is done
or cancelled (a failed one keeps it for "try again").
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from mediastation.desk import auth
from mediastation.desk.auth import Caller, desk, require
from mediastation.desk.context import DeskContext
from mediastation.desk.i18n import label
from mediastation.desk.render import MenuItem, render
from mediastation.errors import InputError, MediaStationError, NotFoundError
from mediastation.files import write_text_atomic
from mediastation.jobs.queue import JobQueue

router = APIRouter()
MENU: tuple[MenuItem, ...] = (("/imports/new", "imp_menu", ("importer",)),)
IMPORTER = ("importer",)
importer = require(*IMPORTER)
SCAN_ID = re.compile(r"[0-9a-f]{20}")
# a refusal names the CLI option and the group (domain/reconcile.py): the page marks that group's field
OPTION_FIELDS = {"map": "hetu", "name": "name", "birth-date": "birth_date"}
OPTION_PROBLEM = re.compile(r"--(map|name|birth-date)[ =/]*(?:--birth-date )?(P\d+)\b")
UPLOAD_NAME = "medium"          # the upload's file name in its folder (the medium is known by its content)
MULTIPART_SLACK = 64 * 1024     # a form's own bytes around the file (boundaries, the CSRF field)
SWEEP_SECONDS = 30.0            # how often finished imports' uploads are looked for
UNUSED_UPLOAD_HOURS = 24        # an upload scanned but never imported is removed after this
ENDED = ("done", "cancelled")


class SourceRefused(InputError):
    """A source the desk does not read: outside the import roots, not a listed device."""

    code = "source_refused"


class UploadTooLarge(MediaStationError):
    code = "upload_too_large"


class ScanRecord(BaseModel):
    """A scan the desk made, kept as scan.json in its folder until its upload is gone."""

    model_config = ConfigDict(extra="forbid")

    scan_id: str
    source: str           # what run_import reads (a device, a folder, the stored upload)
    shown: str            # what the person chose, as they would say it (an upload's own file name)
    kind: str             # drive | folder | upload
    actor: str
    created_at: str
    document: dict[str, Any]   # browse.scan_document: `import scan --json` with each study's series
    thumbnails: dict[str, str] = {}
    job_id: str | None = None
    upload_removed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "kind": self.kind, "shown": self.shown, "actor": self.actor,
                "created_at": self.created_at, "job_id": self.job_id, **self.document}


# -- where scans and uploads live ------------------------------------------------------------------

def scans_folder(context: DeskContext) -> Path:
    return context.path(context.settings.imports.folder) / "desk"


def scan_folder(context: DeskContext, scan_id: str) -> Path:
    if not SCAN_ID.fullmatch(scan_id):
        raise NotFoundError(f"no import scan {scan_id!r}")
    return scans_folder(context) / scan_id


def load_scan(context: DeskContext, scan_id: str) -> ScanRecord:
    path = scan_folder(context, scan_id) / "scan.json"
    if not path.is_file():
        raise NotFoundError(f"no import scan {scan_id!r}: scan the medium again from /imports/new")
    return ScanRecord.model_validate_json(path.read_text(encoding="utf-8"))


def save_scan(context: DeskContext, record: ScanRecord) -> None:
    write_text_atomic(scan_folder(context, record.scan_id) / "scan.json", record.model_dump_json())


def new_scan_folder(context: DeskContext) -> tuple[str, Path]:
    scan_id = secrets.token_hex(10)
    folder = scan_folder(context, scan_id)
    folder.mkdir(parents=True, mode=0o700)
    return scan_id, folder


def recent_scans(context: DeskContext, limit: int = 30) -> list[ScanRecord]:
    root = scans_folder(context)
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob("*/scan.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]:
        try:
            found.append(ScanRecord.model_validate_json(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return found


def waiting_scans(context: DeskContext) -> list[ScanRecord]:
    """Media read at the desk whose import has not been started (the home page's "waiting")."""
    return [record for record in recent_scans(context) if not record.job_id and not record.upload_removed]


def sweep(context: DeskContext) -> list[str]:
    """Remove the uploads of imports that ended (done or cancelled) and of scans never imported
    for UNUSED_UPLOAD_HOURS; the scan's page stays. Returns the scans whose upload went."""
    return [record.scan_id for record in recent_scans(context, limit=10000) if sweep_one(context, record)]


def sweep_one(context: DeskContext, record: ScanRecord) -> bool:
    if record.kind != "upload" or record.upload_removed:
        return False
    folder = scan_folder(context, record.scan_id) / "upload"
    if record.job_id:
        job = JobQueue(context.database).get(record.job_id)
        ended = job is None or str(job.state) in ENDED
    else:
        age = time.time() - (folder.stat().st_mtime if folder.exists() else 0)
        ended = age > UNUSED_UPLOAD_HOURS * 3600
    if ended:
        shutil.rmtree(folder, ignore_errors=True)
        save_scan(context, record.model_copy(update={"upload_removed": True}))
    return ended


_sweepers: set[int] = set()
_sweepers_lock = threading.Lock()


def start_sweeper(context: DeskContext) -> None:
    """One thread per desk that sweeps every SWEEP_SECONDS (the desk runs uvicorn without lifespan
    events, so it starts with the first import route a person opens; the sweep itself is idempotent)."""
    with _sweepers_lock:
        if id(context) in _sweepers:
            return
        _sweepers.add(id(context))

    def loop() -> None:
        while True:
            try:
                sweep(context)
            except Exception:  # noqa: BLE001  (a sweep that fails now is tried again later)
                pass
            time.sleep(SWEEP_SECONDS)

    threading.Thread(target=loop, name="desk-upload-sweeper", daemon=True).start()


# -- sources ---------------------------------------------------------------------------------------

def drives() -> list[tuple[str, str]]:
    """(source, what it is) of each disc or mounted stick the station sees with something on it."""
    try:
        from burners.discovery import list_devices

        found = list_devices()
    except Exception:  # noqa: BLE001  (no udev here: a station without drives lists none)
        return []
    sources = []
    for device in found:
        state = getattr(device.state, "value", str(device.state))
        if device.kind == "optical" and state in ("appendable", "closed"):
            sources.append((device.device, f"{device.device} {device.medium_type or ''} {device.label or ''}".strip()))
        elif device.kind == "usb" and device.mountpoint:
            sources.append((device.mountpoint, f"{device.device} {device.label or ''} ({device.mountpoint})"))
    return sources


def import_roots(context: DeskContext) -> list[Path]:
    return [context.path(root) for root in context.settings.desk.import_roots]


def allowed_folder(context: DeskContext, text: str) -> Path:
    """A folder inside one of `[desk] import_roots`, resolved (symlinks and `..` followed first)."""
    roots = import_roots(context)
    if not roots:
        raise SourceRefused("no folder may be imported from the desk: [desk] import_roots names none",
                            details={"problems": ["[desk] import_roots is empty"]})
    given = Path(text.strip()).expanduser()
    candidates = [given] if given.is_absolute() else [root / given for root in roots]
    for candidate in candidates:
        resolved = candidate.resolve()
        if any(resolved == root or resolved.is_relative_to(root) for root in roots):
            if not resolved.exists():
                raise SourceRefused(f"{text}: no such folder or file under the import roots")
            return resolved
    raise SourceRefused(f"{text}: outside the import roots ({', '.join(str(r) for r in roots)}); "
                        "copy the files under one of them, or ask the administrator to add a root",
                        details={"problems": [f"{text} is not under [desk] import_roots"]})


def choose_source(context: DeskContext, text: str) -> tuple[str, str, str]:
    """(source, shown, kind) of what a person named: a listed drive or stick, else a folder or file
    under an import root; anything else is refused."""
    text = (text or "").strip()
    if not text:
        raise SourceRefused("choose a drive, an uploaded file or a folder under the import roots")
    for source, shown in drives():
        if text == source:
            return source, shown, "drive"
    path = allowed_folder(context, text)
    return str(path), str(path), "folder"


# -- scanning --------------------------------------------------------------------------------------

def scan_into(context: DeskContext, caller: Caller, scan_id: str, source: str, shown: str, kind: str) -> ScanRecord:
    """Scan `source` (the same `scan_medium` as `import scan`), its pictures into the scan's folder."""
    from mediastation.workflows.imports import scan_medium
    from mediastation.workflows.imports.browse import scan_document, write_thumbnails

    folder = scan_folder(context, scan_id)
    inventory = scan_medium(source)
    thumbnails = write_thumbnails(inventory, folder / "thumbs")
    record = ScanRecord(scan_id=scan_id, source=source, shown=shown, kind=kind, actor=caller.name,
                        created_at=datetime.now(UTC).isoformat(timespec="seconds"), document=scan_document(inventory),
                        thumbnails={str(seq): name for seq, name in thumbnails.items()})
    save_scan(context, record)
    return record


def scan_named(context: DeskContext, caller: Caller, text: str) -> ScanRecord:
    source, shown, kind = choose_source(context, text)
    scan_id, folder = new_scan_folder(context)
    try:
        return scan_into(context, caller, scan_id, source, shown, kind)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def limit_bytes(context: DeskContext) -> int:
    return context.settings.desk.upload_limit_mb * 1024 * 1024


def too_large(context: DeskContext) -> UploadTooLarge:
    return UploadTooLarge(f"the file is larger than the desk takes ({context.settings.desk.upload_limit_mb} MB, "
                          "[desk] upload_limit_mb); nothing was stored: put the disc in the station's drive instead")


class UploadSink:
    """The upload's bytes into one new file (0600, never executable), refused past the limit."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def write(self, data: bytes) -> bool:
        self.size += len(data)
        if self.size > self.limit:
            return False
        os.write(self.fd, data)
        return True

    def close(self) -> None:
        os.close(self.fd)


async def receive_upload(request: Request, context: DeskContext, target: Path, *, multipart: bool) -> tuple[int, str]:
    """Stream the request's body (the file part of a form, or the whole body) into `target`:
    (bytes, the file name the browser gave). Over the limit: the file is removed, UploadTooLarge."""
    limit = limit_bytes(context)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + (MULTIPART_SLACK if multipart else 0):
        raise too_large(context)
    sink = UploadSink(target, limit)
    over = False
    name = ""
    try:
        if multipart:
            over, name = await _stream_form(request, sink)
        else:
            async for chunk in request.stream():
                if not sink.write(chunk):
                    over = True
                    break
    finally:
        sink.close()
    if over:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise too_large(context)
    if sink.size == 0:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise InputError("the upload is empty: choose an ISO image or a zip file")
    return sink.size, name


async def _stream_form(request: Request, sink: UploadSink) -> tuple[bool, str]:
    """The `medium` file part of a multipart form into `sink`; other parts are ignored."""
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise InputError("send the file as a multipart form (the page's upload form does)")
    state: dict[str, Any] = {"field": b"", "value": b"", "wanted": False, "over": False, "name": "", "header": {}}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["header"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, params = parse_options_header(state["header"].get(b"content-disposition", b""))
        state["wanted"] = params.get(b"name") == UPLOAD_NAME.encode() and b"filename" in params
        if state["wanted"]:
            state["name"] = params.get(b"filename", b"").decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["wanted"] and not state["over"] and not sink.write(data[start:end]):
            state["over"] = True

    def on_part_begin() -> None:
        state["header"], state["wanted"] = {}, False

    parser = MultipartParser(boundary, {"on_part_begin": on_part_begin, "on_header_field": on_header_field,
                                        "on_header_value": on_header_value, "on_header_end": on_header_end,
                                        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data})
    async for chunk in request.stream():
        parser.write(chunk)
        if state["over"]:
            break
    return state["over"], state["name"]


async def scan_upload(request: Request, caller: Caller, *, multipart: bool, name: str = "") -> ScanRecord:
    context = desk(request)
    scan_id, folder = await run_in_threadpool(new_scan_folder, context)
    target = folder / "upload" / UPLOAD_NAME
    try:
        size, given = await receive_upload(request, context, target, multipart=multipart)
        shown = f"{os.path.basename(given or name) or UPLOAD_NAME} ({size / 1e6:.1f} MB)"
        return await run_in_threadpool(scan_into, context, caller, scan_id, str(target), shown, "upload")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a refused or unreadable upload is not kept
        raise


async def importer_unread(request: Request) -> Caller:
    """`require("importer")` without reading the body (an upload is streamed by its route, not
    read into memory or a temporary file first). The CSRF token of a cookie session comes in the
    header, or for the page's form in its URL (`?csrf_token=`), so it is checked before the body."""
    caller = await auth.identify(request)
    if caller is None:
        raise auth.SignInNeeded()
    request.state.caller = caller
    if not caller.user.holds_any(IMPORTER):
        raise auth.Forbidden()
    if caller.via == "session":
        given = request.headers.get(auth.CSRF_HEADER) or request.query_params.get(auth.CSRF_FIELD)
        if not auth.csrf_ok(caller.csrf_token, given):
            raise auth.CsrfRefused()
    return caller


# -- the mapping and the job -----------------------------------------------------------------------

def _pairs(value: Any, what: str) -> tuple[str, ...]:
    """`{"P1": "X"}` or `["P1=X"]` as the CLI's `P1=X` options."""
    if value is None:
        return ()
    if isinstance(value, dict):
        return tuple(f"{key}={item}" for key, item in value.items() if str(item or "").strip())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise InputError(f"{what}: give an object {{\"P1\": \"...\"}} or a list of \"P1=...\" strings")


def queue_import(context: DeskContext, caller: Caller, record: ScanRecord, maps: tuple[str, ...],
                 names: tuple[str, ...], birth_dates: tuple[str, ...], prefer: tuple[str, ...] = ()) -> dict[str, Any]:
    """`import run SOURCE --map ... --queue` with the signed-in person as operator: the job's document."""
    from mediastation.workflows.imports import ImportRequest, run_import
    from mediastation.workflows.imports.station import import_environment

    if record.upload_removed:
        raise InputError("this upload's import has ended and its file is removed: upload the medium again")
    request = ImportRequest(source=record.source, maps=maps, names=names, birth_dates=birth_dates,
                            operator=caller.name, language=caller.language, prefer=prefer)
    document = run_import(request, import_environment(context.settings, context.home, context.database),
                          queue_only=True).document
    save_scan(context, record.model_copy(update={"job_id": document["job_id"]}))
    return document


def conflicts(record: ScanRecord) -> dict[str, list[str]]:
    """Copies of one instance that really differ (`duplicate_conflict`), by SOP Instance UID: the
    person may prefer one (`import run --prefer PATH`), else none of them is imported."""
    found: dict[str, list[str]] = {}
    for item in record.document.get("files", []):
        if item.get("reason") == "duplicate_conflict" and item.get("sop_instance_uid"):
            found.setdefault(item["sop_instance_uid"], []).append(item["path"])
    return found


def form_prefer(form: Any, record: ScanRecord) -> tuple[str, ...]:
    return tuple(str(form.get(f"prefer.{uid}")) for uid in conflicts(record) if form.get(f"prefer.{uid}"))


def form_mapping(form: Any, record: ScanRecord) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    maps, names, births = [], [], []
    for group in record.document.get("patients", []):
        key = group["key"]
        if str(form.get(f"use.{key}") or "import") == "skip":
            continue
        hetu = str(form.get(f"hetu.{key}") or "").strip().upper()
        if not hetu:
            continue
        maps.append(f"{key}={hetu}")
        name = str(form.get(f"name.{key}") or "").strip()
        born = str(form.get(f"birth_date.{key}") or "").strip().replace("-", "")
        if name:
            names.append(f"{key}={name}")
        if born:
            births.append(f"{key}={born}")
    return tuple(maps), tuple(names), tuple(births)


def _values(form: Any, record: ScanRecord) -> dict[str, str]:
    """The mapping form's fields as typed (or as suggested by the scan on first sight)."""
    values: dict[str, str] = {}
    for group in record.document.get("patients", []):
        key = group["key"]
        for field in ("use", "hetu", "name", "birth_date"):
            name = f"{field}.{key}"
            if form is not None and name in form:
                values[name] = str(form.get(name) or "")
        values.setdefault(f"use.{key}", "import")
        values.setdefault(f"hetu.{key}", group.get("suggested_hetu") or "")
    for uid in conflicts(record):
        values[f"prefer.{uid}"] = str(form.get(f"prefer.{uid}") or "") if form is not None else ""
    return values


def _lookup(context: DeskContext, values: dict[str, str]) -> tuple[dict[str, Any], str]:
    from mediastation.workflows.imports.browse import archive_patients
    from mediastation.workflows.imports.station import import_environment

    hetus = [value.strip().upper() for name, value in values.items() if name.startswith("hetu.")]
    return archive_patients(import_environment(context.settings, context.home, context.database), hetus)


def field_problems(problems: list[str]) -> dict[str, str]:
    """The mapping form's fields a refusal is about: {"name.P1": "name", ...} (the field's kind picks
    the sentence shown beside it in the person's language; the refusal itself is shown above)."""
    fields: dict[str, str] = {}
    for problem in problems:
        for option, key in OPTION_PROBLEM.findall(problem):
            field = OPTION_FIELDS[option]
            fields[f"{field}.{key}"] = field
    return fields


def _job_of(context: DeskContext, record: ScanRecord) -> dict[str, Any] | None:
    if not record.job_id:
        return None
    job = JobQueue(context.database).get(record.job_id)
    return job.to_json() if job is not None else None


# -- pages -----------------------------------------------------------------------------------------

def _new_page(request: Request, caller: Caller, *, error: str = "", status: int = 200, folder: str = "") -> Response:
    context = desk(request)
    start_sweeper(context)
    scans = recent_scans(context)
    return render(request, caller, "imports_new.html", status=status, title=label(caller.language, "imp_new_title"),
                  drives=drives(), roots=[str(root) for root in import_roots(context)], error=error,
                  limit_mb=context.settings.desk.upload_limit_mb, scans=scans, folder=folder,
                  jobs={r.scan_id: _job_of(context, r) for r in scans})


@router.get("/imports/new")
def import_new(request: Request, caller: Caller = Depends(importer)) -> Response:
    return _new_page(request, caller)


@router.post("/imports/new")
def import_choose(request: Request, caller: Caller = Depends(importer)) -> Response:
    form = caller.form or {}
    text = str(form.get("drive") or "") if form.get("kind") == "drive" else str(form.get("folder") or "")
    try:
        record = scan_named(desk(request), caller, text)
    except MediaStationError as refused:
        status = 404 if refused.code == "not_found" else 422
        return _new_page(request, caller, error=refused.message, status=status, folder=str(form.get("folder") or ""))
    return RedirectResponse(f"/imports/{record.scan_id}", status_code=303)


@router.post("/imports/upload")
async def import_upload(request: Request, caller: Caller = Depends(importer_unread)) -> Response:
    try:
        record = await scan_upload(request, caller, multipart=True)
    except UploadTooLarge as refused:
        return await run_in_threadpool(lambda: _new_page(request, caller, error=refused.message, status=413))
    except MediaStationError as refused:
        return await run_in_threadpool(lambda: _new_page(request, caller, error=refused.message, status=422))
    return RedirectResponse(f"/imports/{record.scan_id}", status_code=303)


def _scan_page(request: Request, caller: Caller, record: ScanRecord, *, form: Any = None, known: Any = None,
               lookup_error: str = "", problems: list[str] | None = None, error: str = "",
               status: int = 200) -> Response:
    context = desk(request)
    start_sweeper(context)
    if sweep_one(context, record):
        record = load_scan(context, record.scan_id)
    job = _job_of(context, record)
    return render(request, caller, "imports_scan.html", status=status,
                  title=label(caller.language, "imp_scan_title", source=record.shown), scan=record,
                  document=record.document, values=_values(form, record), known=known, lookup_error=lookup_error,
                  problems=problems or [], error=error, job=job, conflicts=conflicts(record),
                  invalid=field_problems(problems or ([error] if error else [])),
                  receipt=bool(job and (job.get("result") or {}).get("report")),
                  unreadable=[f for f in record.document.get("files", [])
                              if f["kind"] == "unreadable" or f.get("reason") == "duplicate_conflict"
                              or f.get("repairs")])


@router.get("/imports/{scan_id}")
def import_scan_page(request: Request, scan_id: str, caller: Caller = Depends(importer)) -> Response:
    return _scan_page(request, caller, load_scan(desk(request), scan_id))


@router.post("/imports/{scan_id}")
def import_map(request: Request, scan_id: str, caller: Caller = Depends(importer)) -> Response:
    context = desk(request)
    record = load_scan(context, scan_id)
    form = caller.form or {}
    values = _values(form, record)
    if str(form.get("action") or "") == "lookup":
        known, why = _lookup(context, values)
        return _scan_page(request, caller, record, form=form, known=known, lookup_error=why)
    maps, names, births = form_mapping(form, record)
    if not maps:
        return _scan_page(request, caller, record, form=form, status=422,
                          error=label(caller.language, "imp_nothing_mapped"))
    try:
        document = queue_import(context, caller, record, maps, names, births, form_prefer(form, record))
    except MediaStationError as refused:
        problems = refused.details.get("problems") if isinstance(refused.details.get("problems"), list) else None
        return _scan_page(request, caller, record, form=form, status=422, error=refused.message,
                          problems=[str(p) for p in problems or []])
    return RedirectResponse(f"/jobs/{document['job_id']}", status_code=303)


@router.get("/imports/{scan_id}/thumbnails/{seq}.jpg")
def import_thumbnail(request: Request, scan_id: str, seq: int, caller: Caller = Depends(importer)) -> Response:
    """A series' picture by its place on the medium (never a path from the URL)."""
    record = load_scan(desk(request), scan_id)
    name = record.thumbnails.get(str(seq))
    path = scan_folder(desk(request), scan_id) / "thumbs" / name if name else None
    if path is None or not path.is_file():
        raise NotFoundError(f"scan {scan_id} has no picture {seq}")
    return FileResponse(path, media_type="image/jpeg")


# -- JSON API -------------------------------------------------------------------------------------

@router.post("/api/v1/imports/scans")
def api_scan(request: Request, caller: Caller = Depends(importer)) -> Response:
    """`{"source"}` (a listed drive or stick, or a path under import_roots) -> the scan document."""
    body = caller.body if isinstance(caller.body, dict) else {}
    if not isinstance(body.get("source"), str):
        raise InputError("send {\"source\": \"...\"}: a drive the station lists or a path under [desk] import_roots")
    record = scan_named(desk(request), caller, body["source"])
    start_sweeper(desk(request))
    return JSONResponse(record.to_json(), status_code=201)


@router.post("/api/v1/imports/uploads")
async def api_upload(request: Request, name: str = "", caller: Caller = Depends(importer_unread)) -> Response:
    """The body is an ISO image or a zip file (any content type): stored, scanned -> the scan document."""
    multipart = request.headers.get("content-type", "").lower().startswith("multipart/form-data")
    try:
        record = await scan_upload(request, caller, multipart=multipart, name=name)
    except UploadTooLarge as refused:
        # docs/desk.md's error shape; 413 rather than the 409 of other refusals (desk/app.py error_status)
        return JSONResponse({"error": {"code": refused.code, "message": refused.message, "problems": []}},
                            status_code=413)
    start_sweeper(desk(request))
    return JSONResponse(record.to_json(), status_code=201)


@router.get("/api/v1/imports/scans/{scan_id}")
def api_scan_show(request: Request, scan_id: str, caller: Caller = Depends(importer)) -> dict[str, Any]:
    return load_scan(desk(request), scan_id).to_json()


@router.post("/api/v1/imports")
def api_import(request: Request, caller: Caller = Depends(importer)) -> Response:
    """`{"scan_id", "map", "names", "birth_dates", "prefer"}` -> `{"job_id", ...}` (`import run --queue`'s
    document)."""
    body = caller.body if isinstance(caller.body, dict) else {}
    record = load_scan(desk(request), str(body.get("scan_id") or ""))
    prefer = body.get("prefer") or []
    if not isinstance(prefer, list) or not all(isinstance(path, str) for path in prefer):
        raise InputError("prefer: give a list of paths as the scan lists them")
    document = queue_import(desk(request), caller, record, _pairs(body.get("map"), "map"),
                            _pairs(body.get("names"), "names"), _pairs(body.get("birth_dates"), "birth_dates"),
                            tuple(prefer))
    return JSONResponse(document, status_code=202)
