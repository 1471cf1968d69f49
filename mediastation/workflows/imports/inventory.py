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
from mediastation.workflows.imports.types import ImportEnvironment, ImportRequest, ProgressFn, ReportPlan, refused

PREFERRED = "preferred by the operator over the other copies (--prefer)"


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
    if item.reason == "not_preferred":
        return "skipped", "not_preferred"
    if mapping.for_key(item.patient_key or "") is None:
        return "unreconciled", "not_mapped"
    return "pending", ""


def new_job(request: ImportRequest, inventory: Inventory, mapping: Mapping, env: ImportEnvironment,
            reports: list[ReportPlan]) -> NewJob:
    """The job of this medium and mapping (the marked reports are part of the mapping: another
    request, another job)."""
    marked = [{"path": inventory.files[r.seq].path, "study_instance_uid": r.study_instance_uid} for r in reports]
    preferred = sorted(f.path for f in inventory.files if f.differs and f.sendable)  # apply_preferences' choices
    fingerprint = mapping.fingerprint()
    if marked or preferred:  # the operator's choices are part of what was asked: another request, another job
        chosen: list[object] = [fingerprint, marked] + ([preferred] if preferred else [])
        fingerprint = hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()
    return NewJob(inventory.fingerprint(), fingerprint, request.source, inventory.description,
                  request.operator[:100], request.payer and request.payer[:100], mapping.accession,
                  env.station_name[:200],
                  {"groups": [g.__dict__ for g in mapping.groups], "accession": mapping.accession,
                   **({"reports": marked} if marked else {}), **({"prefer": preferred} if preferred else {})},
                  {"maps": list(request.maps), "names": list(request.names), "birth_dates": list(request.birth_dates),
                   "language": request.language, "reports": list(request.reports), "prefer": list(request.prefer)})


def apply_preferences(inventory: Inventory, paths: tuple[str, ...]) -> Inventory:
    """`--prefer PATH`: of copies that really differ (duplicate_conflict), the operator's choice is
    imported and the others are skipped as `not_preferred`; every wrong choice is named at once."""
    if not paths:
        return inventory
    problems: list[str] = []
    chosen: dict[str, int] = {}
    for path in paths:
        seq = inventory.index_of(path)
        item = inventory.files[seq] if seq is not None else None
        if item is None:
            problems.append(f"--prefer {path}: no such file on the medium; give the path as `import scan` lists it")
        elif item.reason != "duplicate_conflict" or not item.sop_instance_uid:
            problems.append(f"--prefer {path}: not one of copies that differ (`import scan` lists those as "
                            "duplicate_conflict); nothing to choose")
        elif item.sop_instance_uid in chosen:
            problems.append(f"--prefer {path}: another copy of {item.sop_instance_uid} is preferred already; "
                            "prefer one copy per instance")
        else:
            chosen[item.sop_instance_uid] = seq  # type: ignore[assignment]
    if problems:
        raise refused(problems)
    files = list(inventory.files)
    for seq, item in enumerate(files):
        uid = item.sop_instance_uid
        if item.reason != "duplicate_conflict" or uid not in chosen:
            continue
        if seq == chosen[uid]:
            files[seq] = dataclasses.replace(item, reason="", notes=item.notes + (PREFERRED,))
        else:
            files[seq] = dataclasses.replace(item, reason="not_preferred", notes=item.notes + (
                f"{files[chosen[uid]].path} preferred by the operator",))
    return dataclasses.replace(inventory, files=tuple(files))


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
