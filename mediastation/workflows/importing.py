"""Import of an outside medium: inventory, reconcile, coerce, store, verify, record (R18, issue 7).

Each stage records its outcome before the next begins, per file, in the job keyed by the medium's
content and the mapping (store.imports): a run killed at any point is resumed by running the same
command again, and instances it had already sent are recognised in the archive (C-FIND) instead
of being sent twice. Only instances the archive lists after the store (and commits, where it
supports Storage Commitment) count as imported; the invoice line is created once the job has no
failed file left, once per job (billing is idempotent by the job's key).

A loose PDF the operator marks as a study's report (`--report PATH=STUDY_UID`, issue 9 §5) is
encapsulated from a coerced instance of that study and then goes the way of the study's instances
(precheck, store, verify, commit); its UIDs derive from the study and the PDF, so a resumed run
finds it in the archive instead of storing it twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset

from mediastation.config import ImportSection
from mediastation.dicom.coerce import Coercion, coerce
from mediastation.dicom.inventory import (
    Inventory,
    InventoryFile,
    examine,
    take_inventory,
)
from mediastation.dicom.sources import MediumFile, OsFile, open_medium
from mediastation.domain.reconcile import (
    LocalPatient,
    Mapping,
    MappingInvalid,
    local_patient,
    parse_mapping,
)
from mediastation.errors import (
    EXIT_OK,
    EXIT_OUTSIDE,
    EXIT_REFUSED,
    InputError,
    MediaStationError,
    PacsError,
)
from mediastation.pacs.commitment import CommitmentResult
from mediastation.pacs.lookup import ArchivedInstance, ArchiveQuery
from mediastation.pacs.network import DicomNode
from mediastation.pacs.store import (
    StoreItem,
    StoreOutcome,
    StoreSettings,
    store_instances,
)
from mediastation.reports.encapsulate import (
    DEFAULT_UID_ROOT,
    encapsulate_pdf,
    report_uids,
)
from mediastation.reports.sources import ReportInvalid, is_pdf
from mediastation.store.db import Database
from mediastation.jobs.model import JobRunningElsewhere, JobState, JobView
from mediastation.jobs.queue import JobQueue
from mediastation.jobs.runner import Finished, Lease, execute
from mediastation.store.imports import (
    FileUpdate,
    ImportFileRow,
    ImportJob,
    ImportRepository,
    NewFile,
    NewJob,
)
from mediastation.workflows.import_verify import OverlappedVerifier

ProgressFn = Callable[[int, int | None, str], None]
PACS_FAILURES = frozenset({"pacs_unreachable", "worker_stopped", "not_in_archive_after_store", "commitment_failed",
                           "not_verified"})
SENT_STAGES = frozenset({"store", "verify", "commit", "report", "done"})
RECORD_EVERY = 200
REPORT_REASON = "encapsulated_report"
REPORT_TITLES = {"fi": "Lausunto", "sv": "Utlåtande", "en": "Report"}


class ImportRefused(InputError):
    """The station will not import: bad mapping, missing demographics, nothing importable."""

    code = "import_refused"


@dataclass(frozen=True)
class ImportRequest:
    source: str
    maps: tuple[str, ...]
    names: tuple[str, ...] = ()
    birth_dates: tuple[str, ...] = ()
    accession: str | None = None
    payer: str | None = None
    operator: str = "station"
    language: str = "fi"
    reports: tuple[str, ...] = ()  # PATH=STUDY_UID: a loose PDF on the medium that is the study's report


@dataclass(frozen=True)
class ImportEnvironment:
    database: Database
    node: DicomNode
    calling_ae: str
    listen_port: int
    timeout: float
    station_name: str
    settings: ImportSection
    folder: Path
    price_list: Path | None = None
    uid_root: str = DEFAULT_UID_ROOT  # [station] uid_root: the encapsulated reports' UIDs
    owner: str = ""                   # who holds the job while it runs here (jobs.model.worker_id)
    lease_seconds: float = 60.0       # [jobs] lease_seconds


@dataclass(frozen=True)
class ImportOutcome:
    document: dict[str, Any]
    exit_status: int


def import_request(params: dict[str, Any], default_language: str) -> ImportRequest:
    """The `import run` options a queued import job was made with (a worker's takeover)."""
    return ImportRequest(source=params["source"], maps=tuple(params.get("maps", ())), names=tuple(params.get("names", ())),
                         birth_dates=tuple(params.get("birth_dates", ())), accession=params.get("accession"),
                         payer=params.get("payer"), operator=params.get("operator") or "station",
                         language=params.get("language") or default_language, reports=tuple(params.get("reports", ())))


def scan_medium(source: str, *, progress: ProgressFn | None = None) -> Inventory:
    """`import scan`: the inventory alone; needs neither the archive nor the database."""
    return take_inventory(open_medium(source), progress=progress)


# -- the run ---------------------------------------------------------------------------------------------
class Clock:
    """Seconds per stage, for the report (R-G1: elapsed time and MB/s)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.timings[stage] = round(self.timings.get(stage, 0.0) + now - self._last, 3)
        self._last = now


def run_import(request: ImportRequest, env: ImportEnvironment, *, progress: ProgressFn | None = None,
               store_progress: ProgressFn | None = None, claimed: tuple[JobView, Lease] | None = None,
               queue_only: bool = False) -> ImportOutcome:
    """Import SOURCE as mapped. The job is a row of the job queue: run here under a lease (`claimed`:
    the job and lease a worker holds already), so a second run of the same medium and mapping while
    this one works is refused, and a run whose station died is taken over and resumed. With
    `queue_only` the mapping is checked and the job queued for a `worker` of this station."""
    clock = Clock()
    inventory = take_inventory(open_medium(request.source), progress=progress)
    clock.lap("inventory")
    mapping = _mapping(request, inventory)
    reports = plan_reports(request.reports, inventory, mapping, env.uid_root)
    with ArchiveQuery(env.node, env.calling_ae, env.timeout) as query:
        patients, identity_warnings = _local_patients(mapping, inventory, query)
    repository = ImportRepository(env.database)
    job, created = repository.open_job(_new_job(request, inventory, mapping, env, reports),
                                       _new_files(inventory, mapping, reports))
    finish = dict(env=env, repository=repository, job_id=job.job_id, inventory=inventory, mapping=mapping,
                  patients=patients, request=request, identity_warnings=identity_warnings, clock=clock)
    if queue_only:
        return ImportOutcome({"job_id": job.job_id, "state": job.state, "created": created,
                              "source": request.source, "medium": inventory.description,
                              "instances": sum(1 for f in inventory.files if f.sendable)}, EXIT_OK)
    if claimed is not None and claimed[0].job_id != job.job_id:
        raise ImportRefused(f"{request.source} no longer holds the medium of job {claimed[0].job_id} (its files or "
                            "the mapping differ); put that medium back, or cancel the job",
                            details={"job_id": claimed[0].job_id, "found": job.job_id})
    if job.state == "done" and claimed is None:
        return _finish(**finish, note="already_imported")  # type: ignore[arg-type]
    outcome: list[ImportOutcome] = []

    def work(held: JobView, lease: Lease) -> Finished:
        outcome.append(_run_held(env, repository, held.job_id, inventory, patients, mapping, reports, request,
                                 clock, finish, lease, store_progress))
        document = outcome[0].document
        pending = document["counts"].get("failed", 0) + document["counts"].get("pending", 0)
        return Finished(JobState.FAILED if pending else JobState.DONE, document)

    if claimed is not None:
        work(*claimed)
        return outcome[0]
    queue = JobQueue(env.database)
    held = queue.claim_id(job.job_id, env.owner, lease_seconds=env.lease_seconds)
    if held is None:
        current = queue.require(job.job_id)
        raise JobRunningElsewhere(
            f"import {job.job_id} of this medium is running on {current.owner} (stage {current.stage}); "
            f"`mediastation jobs show {job.job_id} --follow` follows it",
            details={"job_id": job.job_id, "owner": current.owner})
    execute(queue, held, env.lease_seconds, work)
    return outcome[0]


def _run_held(env: ImportEnvironment, repository: ImportRepository, job_id: str, inventory: Inventory,
              patients: dict[str, LocalPatient], mapping: Mapping, reports: list[ReportPlan], request: ImportRequest,
              clock: Clock, finish: dict[str, Any], lease: Lease, store_progress: ProgressFn | None) -> ImportOutcome:
    """Precheck, store, verify, commit and record what is left of a job this process holds."""
    job = repository.get(job_id)
    assert job is not None
    sent_before = job.stage in SENT_STAGES
    repository.save(job_id, stage="precheck")
    coercions = _coercions(patients, mapping, env)
    rows = {row.seq: row for row in repository.files(job_id)}
    todo = [seq for seq, row in rows.items() if row.outcome in ("pending", "failed")]
    report_folder = env.folder / job_id / "reports"
    try:
        inventory = _with_reports(inventory, [r for r in reports if r.seq in todo], coercions, report_folder,
                                  env.uid_root, REPORT_TITLES.get(request.language, REPORT_TITLES["en"]))
        finish["inventory"] = inventory
        lease.check()
        return _send(env, repository, job_id, inventory, rows, todo, patients, coercions, clock, finish,
                     sent_before, store_progress, lease)
    finally:
        shutil.rmtree(report_folder, ignore_errors=True)


def _send(env: ImportEnvironment, repository: ImportRepository, job_id: str, inventory: Inventory, rows: dict[int, ImportFileRow], todo: list[int], patients: dict[str, LocalPatient],
          coercions: dict[str, Coercion], clock: Clock, finish: dict[str, Any], sent_before: bool,
          store_progress: ProgressFn | None, lease: Lease) -> ImportOutcome:
    """Precheck, store, verify and commit what is still to do, then the result."""
    clock.lap("reconcile")
    with ArchiveQuery(env.node, env.calling_ae, env.timeout) as query:
        todo = _precheck(repository, job_id, inventory, rows, todo, patients, query, sent_before)
    lease.check()
    repository.save(job_id, stage="store")
    clock.lap("precheck")
    threading.Thread(target=_load_receipt_writer, name="receipt-preload", daemon=True).start()
    verifier = _verifier(env, inventory, todo)
    try:
        stored = _store(repository, job_id, inventory, todo, coercions, env, store_progress, verifier.outcome)
    finally:
        clock.lap("store")
        collected = verifier.finish()  # series were checked during the store; what is left, now
    repository.save(job_id, stage="verify")
    if collected.error is not None:  # the archive went away: what was sent stays to be found by the next run
        message = collected.error.message
        repository.record(job_id, [FileUpdate(seq, "failed", f"not_verified: {message}", o.status,
                                              o.transfer_syntax, o.converted_from) for seq, o in stored.items()])
        verified: list[int] = []
    else:
        verified = _verify(repository, job_id, inventory, stored, patients, collected.archived)
    clock.lap("verify")
    commitment = _apply_commitment(repository, job_id, inventory, verified, collected.commitment)
    repository.save(job_id, stage="commit")
    clock.lap("commit")
    lease.check()
    sent = {"instances": len(stored), "bytes": sum(inventory.files[s].size for s in stored)}
    return _finish(**finish, commitment=commitment, sent=sent)  # type: ignore[arg-type]


def _mapping(request: ImportRequest, inventory: Inventory) -> Mapping:
    try:
        mapping = parse_mapping(request.maps, request.names, request.birth_dates,
                                known_keys={g.key for g in inventory.patients}, accession=request.accession)
    except MappingInvalid as exc:
        raise ImportRefused("the mapping is not valid: " + "; ".join(exc.problems),
                            details={"problems": exc.problems, "patients": [g.to_json() for g in inventory.patients]}
                            ) from None
    problems = []
    sendable = [f for f in inventory.files if f.sendable and mapping.for_key(f.patient_key or "")]
    if not sendable:
        problems.append("nothing importable: the mapped groups hold no instance that can be sent")
    owners: dict[str, set[str]] = {}
    for item in inventory.files:
        group = mapping.for_key(item.patient_key or "")
        if item.header and group:
            owners.setdefault(item.header.study_instance_uid, set()).add(group.hetu)
    problems += [f"study {uid} holds instances of groups mapped to different patients ({', '.join(sorted(h))}); "
                 "a study belongs to one patient: map its groups to the same HETU" for uid, h in owners.items() if len(h) > 1]
    if problems:
        raise ImportRefused("; ".join(problems), details={"problems": problems})
    return mapping


def _local_patients(mapping: Mapping, inventory: Inventory, query: ArchiveQuery
                    ) -> tuple[dict[str, LocalPatient], list[str]]:
    """R-C2/R-D1: each mapped group's local identity (and differences to note); every missing piece
    is named at once."""
    patients: dict[str, LocalPatient] = {}
    problems: list[str] = []
    warnings: list[str] = []
    for group in mapping.groups:
        outside = inventory.group(group.key)
        assert outside is not None
        resolution = local_patient(group, outside.identity, query.patient(group.hetu))
        problems += resolution.problems
        warnings += resolution.warnings
        if resolution.patient is not None:
            patients[group.key] = resolution.patient
    if problems:
        raise ImportRefused("; ".join(problems), details={"problems": problems})
    return patients, warnings


def _coercions(patients: dict[str, LocalPatient], mapping: Mapping, env: ImportEnvironment) -> dict[str, Coercion]:
    when = datetime.now(UTC).astimezone()
    accession = mapping.accession if mapping.accession is not None else ("" if env.settings.accession == "blank" else None)
    return {key: Coercion(patient.name, patient.hetu, patient.issuer, patient.birth_date, patient.sex, accession,
                          modifying_system=env.calling_ae, station_name=env.calling_ae,
                          institution=env.settings.institution, when=when)
            for key, patient in patients.items()}


def _new_job(request: ImportRequest, inventory: Inventory, mapping: Mapping, env: ImportEnvironment,
             reports: list[ReportPlan]) -> NewJob:
    marked = [{"path": inventory.files[r.seq].path, "study_instance_uid": r.study_instance_uid} for r in reports]
    fingerprint = mapping.fingerprint()
    if marked:  # the reports are part of what the operator asked for: another request, another job
        fingerprint = hashlib.sha256(json.dumps([fingerprint, marked], sort_keys=True).encode()).hexdigest()
    return NewJob(inventory.fingerprint(), fingerprint, request.source, inventory.description,
                  request.operator[:100], request.payer and request.payer[:100], mapping.accession,
                  env.station_name[:200],
                  {"groups": [g.__dict__ for g in mapping.groups], "accession": mapping.accession,
                   **({"reports": marked} if marked else {})},
                  {"maps": list(request.maps), "names": list(request.names), "birth_dates": list(request.birth_dates),
                   "language": request.language, "reports": list(request.reports)})


def initial_outcome(item: InventoryFile, mapping: Mapping) -> tuple[str, str]:
    """What a file's outcome is before anything is sent (interfaces.md outcomes)."""
    if item.kind in ("non_dicom", "fileset"):
        return "skipped", item.reason or item.kind
    if item.kind == "unreadable":
        return "rejected", item.reason or "unreadable"
    if item.reason == "duplicate":
        return "skipped", "duplicate"
    if item.reason == "duplicate_conflict":
        return "rejected", "duplicate_conflict"
    if mapping.for_key(item.patient_key or "") is None:
        return "unreconciled", "not_mapped"
    return "pending", ""


def _new_files(inventory: Inventory, mapping: Mapping, reports: list[ReportPlan]) -> list[NewFile]:
    marked = {r.seq: r for r in reports}
    files = []
    for seq, item in enumerate(inventory.files):
        outcome, reason = initial_outcome(item, mapping)
        study = item.header.study_instance_uid if item.header else None
        new = NewFile(seq, item.path, item.size, item.sha256, item.kind, item.patient_key,
                      (item.sop_instance_uid or None) and item.sop_instance_uid[:64],  # type: ignore[index]
                      study and study[:64], outcome, reason[:300])
        if seq in marked:  # the PDF becomes an instance of its study: sent and verified like the others
            plan = marked[seq]
            new = dataclasses.replace(new, patient_key=plan.patient_key, sop_instance_uid=plan.sop_instance_uid,
                                      study_instance_uid=plan.study_instance_uid, outcome="pending", reason="")
        files.append(new)
    return files


# -- reports marked on the medium (issue 9 §5) --------------------------------------------------------------
@dataclass(frozen=True)
class ReportPlan:
    """A loose PDF on the medium that the operator marked as a study's report (`--report PATH=STUDY_UID`)."""

    seq: int  # the PDF's place in the inventory
    study_instance_uid: str
    template: int  # an instance of the study: its coerced patient and study attributes go into the report
    patient_key: str
    sop_instance_uid: str  # derived from the study and the PDF's content: the same on every run


def plan_reports(options: tuple[str, ...], inventory: Inventory, mapping: Mapping, uid_root: str) -> list[ReportPlan]:
    """Check every `--report PATH=STUDY_UID` before anything is sent; every problem is named at once."""
    plans: list[ReportPlan] = []
    problems: list[str] = []
    seen: set[int] = set()
    for option in options:
        path, sep, study_uid = (part.strip() for part in option.partition("="))
        if not sep or not path or not study_uid:
            problems.append(f"--report {option!r}: expected PATH=STUDY_UID, PATH as `import scan` lists it")
            continue
        seq = _file_at(inventory, path)
        if seq is None:
            problems.append(f"--report {path}: no such file on the medium; give the path as `import scan` lists it")
            continue
        if seq in seen:
            problems.append(f"--report {path}: given twice; a report file belongs to one study")
            continue
        data = _pdf_bytes(inventory.files[seq])
        if data is None:
            problems.append(f"--report {path}: not a PDF (no %PDF- header); only a PDF file can be imported as a report")
            continue
        template = _template_of(inventory, mapping, study_uid)
        if template is None:
            problems.append(f"--report {path}: {study_uid} is not a study of a mapped group on this medium; "
                            "check the Study Instance UID in `import scan` and map its group with --map")
            continue
        seen.add(seq)
        _series, instance = report_uids(study_uid, hashlib.sha256(data).hexdigest(), uid_root)
        plans.append(ReportPlan(seq, study_uid, template, inventory.files[template].patient_key or "", instance))
    if problems:
        raise ImportRefused("; ".join(problems), details={"problems": problems})
    return plans


def _file_at(inventory: Inventory, path: str) -> int | None:
    """The file's place: its exact path, else the only one that matches ignoring case (ISO names)."""
    path = path.removeprefix("./").lstrip("/")
    exact = [seq for seq, f in enumerate(inventory.files) if f.path == path]
    if exact:
        return exact[0]
    folded = [seq for seq, f in enumerate(inventory.files) if f.path.casefold() == path.casefold()]
    return folded[0] if len(folded) == 1 else None


def _pdf_bytes(item: InventoryFile) -> bytes | None:
    if item.kind != "non_dicom" or item.source is None:
        return None
    try:
        with item.source.open() as fp:
            data = fp.read()
    except OSError:
        return None
    return data if is_pdf(data) else None


def _template_of(inventory: Inventory, mapping: Mapping, study_uid: str) -> int | None:
    """An instance of the study in a mapped group; one with File Meta Information reads most surely."""
    candidates = [seq for seq, f in enumerate(inventory.files)
                  if f.sendable and f.header and f.header.study_instance_uid == study_uid
                  and mapping.for_key(f.patient_key or "") is not None]
    candidates.sort(key=lambda seq: not inventory.files[seq].header.has_meta)  # type: ignore[union-attr]
    return candidates[0] if candidates else None


def _with_reports(inventory: Inventory, reports: list[ReportPlan], coercions: dict[str, Coercion], folder: Path,
                  uid_root: str, title: str) -> Inventory:
    """The inventory with each marked PDF in the place of its encapsulated instance, made from a coerced
    instance of the study (so it carries the local identity) and stored as it is."""
    if not reports:
        return inventory
    files = list(inventory.files)
    folder.mkdir(parents=True, exist_ok=True)
    for plan in reports:
        pdf = inventory.files[plan.seq]
        data = _pdf_bytes(pdf)
        if data is None:
            raise ReportInvalid(f"{pdf.path} can no longer be read as a PDF from the medium", details={"file": pdf.path})
        staged = folder / f"{plan.seq}.pdf"
        staged.write_bytes(data)
        template = _coerced_template(inventory.files[plan.template], coercions[plan.patient_key])
        out = encapsulate_pdf(staged, template, folder / f"{plan.sop_instance_uid}.dcm", uid_root=uid_root, title=title)
        made = examine(MediumFile(str(out), out.stat().st_size, OsFile(str(out))))
        if made.header is None or made.header.sop_instance_uid != plan.sop_instance_uid:
            raise ReportInvalid(f"{pdf.path}: the encapsulated report could not be read back", details={"file": pdf.path})
        files[plan.seq] = dataclasses.replace(made, path=pdf.path, reason=REPORT_REASON, patient_key=plan.patient_key)
    return dataclasses.replace(inventory, files=tuple(files))


def _coerced_template(item: InventoryFile, coercion: Coercion) -> Dataset:
    assert item.source is not None
    try:
        with item.source.open() as fp:
            ds = dcmread(fp, stop_before_pixels=True, force=True)
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise ReportInvalid(f"{item.path}: the study's instance could not be read for the report: {exc}",
                            details={"file": item.path}) from None
    coerce(ds, coercion)
    return ds


def _reason(item: InventoryFile, text: str) -> str:
    """An encapsulated report's outcome says so, whatever else it says."""
    if item.reason != REPORT_REASON:
        return text
    return f"{REPORT_REASON}: {text}" if text else REPORT_REASON


# -- precheck (R-E5) ----------------------------------------------------------------------------------------
def _precheck(repository: ImportRepository, job_id: str, inventory: Inventory, rows: dict[int, ImportFileRow],
              todo: list[int], patients: dict[str, LocalPatient], query: ArchiveQuery, sent_before: bool) -> list[int]:
    """Instances the archive already holds are not sent again; conflicts are blocked, not overwritten."""
    archived = _archived(inventory, todo, query)
    updates, remaining = [], []
    for seq in todo:
        item = inventory.files[seq]
        assert item.header and item.patient_key
        found = archived.get(item.header.sop_instance_uid)
        if found is None:
            remaining.append(seq)
            continue
        verdict = compare_archived(item, found, patients[item.patient_key].hetu)
        if verdict == "same":
            # sent by an earlier run of this job that stopped before recording it, or there before us
            outcome = "imported" if sent_before and rows[seq].outcome in ("pending", "failed") else "already_present"
            updates.append(FileUpdate(seq, outcome, _reason(item, "found in the archive" if outcome == "imported"
                                                            else "")))
        else:
            updates.append(FileUpdate(seq, "rejected", verdict))
    repository.record(job_id, updates)
    return remaining


def compare_archived(item: InventoryFile, found: ArchivedInstance, hetu: str) -> str:
    """"same" when the archive's instance is this one under this patient, else the conflict's code."""
    assert item.header is not None
    if found.patient_id != hetu:
        return "present_under_other_patient"
    if found.series_instance_uid != item.header.series_instance_uid or (
            found.sop_class_uid and found.sop_class_uid != item.header.sop_class_uid):
        return "uid_conflict_in_archive"
    return "same"


def _archived(inventory: Inventory, seqs: list[int], query: ArchiveQuery) -> dict[str, ArchivedInstance]:
    studies = sorted({inventory.files[s].header.study_instance_uid for s in seqs if inventory.files[s].header})  # type: ignore[union-attr]
    found: dict[str, ArchivedInstance] = {}
    for uid in studies:
        found.update(query.study_instances(uid))
    return found


# -- store ------------------------------------------------------------------------------------------------------
def _verifier(env: ImportEnvironment, inventory: Inventory, todo: list[int]) -> OverlappedVerifier:
    headers = {seq: inventory.files[seq].header for seq in todo}
    return OverlappedVerifier(env, {seq: (h.study_instance_uid, h.series_instance_uid) for seq, h in headers.items() if h},
                              {seq: (h.sop_class_uid, h.sop_instance_uid) for seq, h in headers.items() if h})


def _store(repository: ImportRepository, job_id: str, inventory: Inventory, todo: list[int],
           coercions: dict[str, Coercion], env: ImportEnvironment, progress: ProgressFn | None,
           observe: Callable[[int, bool], None]) -> dict[int, StoreOutcome]:
    items = []
    for seq in todo:
        item = inventory.files[seq]
        assert item.source is not None and item.header is not None and item.patient_key is not None
        items.append(StoreItem(seq, item.source, item.header, item.patient_key, as_is=item.reason == REPORT_REASON))
    staging = env.folder / job_id / "staging"
    settings = StoreSettings(env.node, env.calling_ae, env.timeout, str(staging), env.settings.associations)
    stored: dict[int, StoreOutcome] = {}
    batch: list[FileUpdate] = []

    def on_outcome(outcome: StoreOutcome) -> None:
        observe(outcome.index, outcome.result == "stored")
        if outcome.result == "stored":
            stored[outcome.index] = outcome
            batch.append(FileUpdate(outcome.index, "pending", "sent, not yet verified", outcome.status,
                                    outcome.transfer_syntax, outcome.converted_from))
        else:
            reason = outcome.reason if not outcome.warning else f"{outcome.reason}: {outcome.warning}"
            batch.append(FileUpdate(outcome.index, outcome.result, reason, outcome.status,
                                    outcome.transfer_syntax, outcome.converted_from))
        if len(batch) >= RECORD_EVERY:
            repository.record(job_id, batch)
            batch.clear()
        if progress:
            progress(len(stored), len(items), inventory.files[outcome.index].path)

    try:
        store_instances(items, coercions, settings, on_outcome)
    finally:
        repository.record(job_id, batch)
        shutil.rmtree(staging, ignore_errors=True)
    return stored


# -- verify (R-F1) and commit (R-F2) ----------------------------------------------------------------------------
def _verify(repository: ImportRepository, job_id: str, inventory: Inventory, stored: dict[int, StoreOutcome],
            patients: dict[str, LocalPatient], archived: dict[str, ArchivedInstance]) -> list[int]:
    """Only what the archive lists under the local patient after the store counts as imported."""
    updates, verified = [], []
    for seq, outcome in stored.items():
        item = inventory.files[seq]
        assert item.header and item.patient_key
        found = archived.get(item.header.sop_instance_uid)
        if found is not None and compare_archived(item, found, patients[item.patient_key].hetu) == "same":
            reason = outcome.warning or ("converted from " + outcome.converted_from if outcome.converted_from else "")
            updates.append(FileUpdate(seq, "imported", _reason(item, reason), outcome.status, outcome.transfer_syntax,
                                      outcome.converted_from))
            verified.append(seq)
        else:
            updates.append(FileUpdate(seq, "failed", "not_in_archive_after_store", outcome.status,
                                      outcome.transfer_syntax, outcome.converted_from))
    repository.record(job_id, updates)
    return verified


def _apply_commitment(repository: ImportRepository, job_id: str, inventory: Inventory, verified: list[int],
                      result: CommitmentResult | dict[str, Any]) -> dict[str, Any]:
    """R-F2: a verified instance the archive reports as not committed is failed, to be sent again."""
    if isinstance(result, dict):
        return result
    by_uid = {inventory.files[s].sop_instance_uid: s for s in verified}
    failed = [FileUpdate(by_uid[uid], "failed", f"commitment_failed: reason {code:04X}")
              for uid, code in result.failed.items() if uid in by_uid]
    repository.record(job_id, failed)
    document = result.to_json()
    document["committed"] = len(result.committed & set(by_uid))
    document["failed"] = len(failed)
    if document["state"] == "partial" and not failed:
        document["state"] = "committed"  # only instances the C-FIND did not list were missing
    return document


# -- the result -----------------------------------------------------------------------------------------------------
def _finish(env: ImportEnvironment, repository: ImportRepository, job_id: str, inventory: Inventory,
            mapping: Mapping, patients: dict[str, LocalPatient], request: ImportRequest,
            identity_warnings: list[str], clock: Clock, commitment: dict[str, Any] | None = None,
            sent: dict[str, int] | None = None, note: str = "") -> ImportOutcome:
    job = repository.get(job_id)
    assert job is not None
    rows = repository.files(job_id)
    counts = _counts(rows)
    state = job_state(counts)
    pacs_failed = any(r.outcome == "failed" and r.reason.split(":")[0] in PACS_FAILURES for r in rows)
    studies = _studies(rows, mapping, inventory)
    warnings = _warnings(inventory, mapping) + identity_warnings
    invoice_lines, billing_note = _bill(env, job, rows, studies, request, state)
    if billing_note:
        warnings.append(billing_note)
    document: dict[str, Any] = {
        "job_id": job_id, "state": state, "source": inventory.source, "medium": inventory.description,
        "dicomdir": inventory.dicomdir, "operator": job.operator, "counts": counts,
        "patients": [_patient_document(key, patients[key], inventory, mapping) for key in sorted(patients)],
        "studies": studies, "files": [file_document(r) for r in rows], "invoice_lines": invoice_lines,
        "commitment": commitment if commitment is not None else job.result_json.get("commitment"),
        "warnings": warnings, "runs": job.runs, "report": None,
    }
    if note:
        document["note"] = note
    document["report"] = _receipt(env, job, document, request.language, warnings)
    clock.lap("report")
    store_seconds = clock.timings.get("store", 0.0)
    document["run"] = {"timings": clock.timings, "seconds": round(sum(clock.timings.values()), 3),
                       **(sent or {"instances": 0, "bytes": 0})}
    if sent and store_seconds > 0:
        document["run"]["store_files_per_s"] = round(sent["instances"] / store_seconds, 1)
        document["run"]["store_mb_per_s"] = round(sent["bytes"] / 1e6 / store_seconds, 1)
    repository.save(job_id, stage="report", result=document, invoice_lines=invoice_lines)
    status = EXIT_OUTSIDE if pacs_failed else (EXIT_OK if counts.get("imported", 0) + counts.get("already_present", 0)
                                               else EXIT_REFUSED)
    return ImportOutcome(document, status)


def _counts(rows: list[ImportFileRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    return counts


def job_state(counts: dict[str, int]) -> str:
    """done: every instance is in the archive (or a skipped copy); failed: nothing got in."""
    if not any(counts.get(k) for k in ("failed", "rejected", "unreconciled", "pending")):
        return "done"
    if counts.get("imported") or counts.get("already_present"):
        return "partial"
    return "failed"


def file_document(row: ImportFileRow) -> dict[str, Any]:
    document: dict[str, Any] = {"path": row.path, "outcome": row.outcome, "sop_instance_uid": row.sop_instance_uid,
                                "reason": row.reason, "kind": row.kind, "patient_key": row.patient_key}
    if row.status is not None:
        document["status"] = f"{row.status:04X}"
    if row.converted_from:
        document["converted_from"] = row.converted_from
        document["transfer_syntax"] = row.transfer_syntax
    return document


def _studies(rows: list[ImportFileRow], mapping: Mapping, inventory: Inventory) -> list[dict[str, Any]]:
    about = {s.study_instance_uid: s for g in inventory.patients for s in g.studies}
    studies: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not row.study_instance_uid:  # instances, and the reports encapsulated into their studies
            continue
        group = mapping.for_key(row.patient_key or "")
        entry = studies.setdefault(row.study_instance_uid, {
            "study_instance_uid": row.study_instance_uid, "hetu": group.hetu if group else None,
            "patient_key": row.patient_key, "imported": 0, "already_present": 0, "failed": 0, "rejected": 0,
            "skipped": 0, "unreconciled": 0, "pending": 0})
        if row.study_instance_uid in about and "date" not in entry:
            summary = about[row.study_instance_uid]
            entry.update(date=summary.date, description=summary.description, modalities=list(summary.modalities))
        entry[row.outcome] = entry.get(row.outcome, 0) + 1
    return sorted(studies.values(), key=lambda s: (s["patient_key"] or "", s["study_instance_uid"]))


def _patient_document(key: str, patient: LocalPatient, inventory: Inventory, mapping: Mapping) -> dict[str, Any]:
    group = inventory.group(key)
    assert group is not None
    return {"key": key, "hetu": patient.hetu, "name": patient.name, "birth_date": patient.birth_date,
            "sex": patient.sex, "demographics_from": patient.source,
            "outside": {"patient_id": group.identity.patient_id, "issuer": group.identity.issuer,
                        "name": group.identity.name, "birth_date": group.identity.birth_date}}


def _warnings(inventory: Inventory, mapping: Mapping) -> list[str]:
    warnings = [f"DICOMDIR: {p}" for p in inventory.dicomdir_problems]
    for group in inventory.patients:
        if mapping.for_key(group.key):
            warnings += [f"{group.key}: {w}" for w in group.warnings]
    return warnings


# -- billing (R18, R-G4) ----------------------------------------------------------------------------------------
def _bill(env: ImportEnvironment, job: ImportJob, rows: list[ImportFileRow], studies: list[dict[str, Any]],
          request: ImportRequest, state: str) -> tuple[list[str], str]:
    """One invoice line per the price list once the job has no failed file and imported something new."""
    if job.invoice_lines:
        return list(job.invoice_lines), ""
    # a report added later to a study imported before is no new study to bill
    new = {r.study_instance_uid for r in rows if r.outcome == "imported" and not r.reason.startswith(REPORT_REASON)}
    imported_studies = [s for s in studies if s["imported"] and s["study_instance_uid"] in new]
    if any(r.outcome in ("failed", "pending") for r in rows) or not imported_studies:
        return [], ""
    try:
        from mediastation.domain.pricing import BillableEvent
        from mediastation.workflows.billing import bill_event, load_price_list
    except ImportError:  # billing not installed: the hook stays open, the import stands
        return [], "billing is not available in this installation; the import was not billed"
    if env.price_list is None:
        return [], "no price list configured; the import was not billed"
    payer = request.payer or job.payer or imported_studies[0]["hetu"]
    category = "organisation" if (request.payer or job.payer) else "patient"
    try:
        event = BillableEvent(key=f"import:{job.job_id}", kind="import", service_date=date.today(), payer=payer,
                              payer_category=category, reference=job.job_id, studies=len(imported_studies), media=1)
        return bill_event(env.database, event, load_price_list(env.price_list), actor=job.operator), ""
    except MediaStationError as exc:
        return [], f"billing failed ({exc.message}); run the same import again to bill it"


# -- receipt ---------------------------------------------------------------------------------------------------------
def _load_receipt_writer() -> None:
    """Import reportlab while the store waits on the archive, not after it."""
    import mediastation.documents.import_receipt  # noqa: F401


def _receipt(env: ImportEnvironment, job: ImportJob, document: dict[str, Any], language: str,
             warnings: list[str]) -> str | None:
    from mediastation.documents.import_receipt import write_import_receipt

    path = env.folder / job.job_id / f"receipt_{job.job_id}.pdf"
    try:
        write_import_receipt(path, document, language=language, station=env.station_name,
                             when=datetime.now(UTC).astimezone())
    except MediaStationError as exc:
        warnings.append(f"the receipt could not be written: {exc.message}")
        return None
    return str(path.resolve())

