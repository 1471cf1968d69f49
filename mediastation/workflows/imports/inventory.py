"""Inventory: what is on the medium (dicom/inventory.py), and how it becomes an import job.

The job is the medium's content with the operator's mapping (store/imports.py `job_id_for`): the
inventory is taken before the job exists, on every run, and each of its files becomes a row of
`import_files` with the outcome it has before anything is sent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from mediastation.dicom.inventory import Inventory, InventoryFile, take_inventory
from mediastation.dicom.sources import open_medium
from mediastation.domain.reconcile import Mapping
from mediastation.store.imports import NewFile, NewJob
from mediastation.workflows.imports.types import ImportEnvironment, ImportRequest, ProgressFn, ReportPlan


def scan_medium(source: str, *, progress: ProgressFn | None = None) -> Inventory:
    """`import scan` and the first step of `import run`; needs neither the archive nor the database."""
    return take_inventory(open_medium(source), progress=progress)


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


def new_job(request: ImportRequest, inventory: Inventory, mapping: Mapping, env: ImportEnvironment,
            reports: list[ReportPlan]) -> NewJob:
    """The job of this medium and mapping (the marked reports are part of the mapping: another
    request, another job)."""
    marked = [{"path": inventory.files[r.seq].path, "study_instance_uid": r.study_instance_uid} for r in reports]
    fingerprint = mapping.fingerprint()
    if marked:
        fingerprint = hashlib.sha256(json.dumps([fingerprint, marked], sort_keys=True).encode()).hexdigest()
    return NewJob(inventory.fingerprint(), fingerprint, request.source, inventory.description,
                  request.operator[:100], request.payer and request.payer[:100], mapping.accession,
                  env.station_name[:200],
                  {"groups": [g.__dict__ for g in mapping.groups], "accession": mapping.accession,
                   **({"reports": marked} if marked else {})},
                  {"maps": list(request.maps), "names": list(request.names), "birth_dates": list(request.birth_dates),
                   "language": request.language, "reports": list(request.reports)})


def new_files(inventory: Inventory, mapping: Mapping, reports: list[ReportPlan]) -> list[NewFile]:
    """Every file of the medium, once, with its outcome before anything is sent."""
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
