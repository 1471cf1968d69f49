"""Record: the import's result document (interfaces.md "Import result"), its invoice line and its
receipt; and the exit status the run ends with (interfaces.md: 0 done or partial, 1 refused, 3 the
archive failed)."""

from __future__ import annotations

from typing import Any

from mediastation.dicom.inventory import Inventory, InventoryFile
from mediastation.domain.reconcile import LocalPatient, Mapping
from mediastation.errors import EXIT_OK, EXIT_OUTSIDE, EXIT_REFUSED
from mediastation.store.imports import ImportFileRow
from mediastation.workflows.audit_events import instances_stored
from mediastation.workflows.imports.billing import bill
from mediastation.workflows.imports.receipt import write_receipt
from mediastation.workflows.imports.types import PACS_FAILURES, ImportOutcome, ImportRun, Recorded


def record(run: ImportRun) -> Recorded:
    run.outcome = result(run)
    document = run.outcome.document
    _audit(run, document["counts"].get("failed", 0))
    return Recorded(state=document["state"], counts=document["counts"], invoice_lines=document["invoice_lines"],
                    receipt=document["report"])


def _audit(run: ImportRun, failed: int) -> None:
    """The instances this pass stored, as a DICOM Instances Transferred audit message per patient."""
    if not run.stored:
        return
    hetus = {g.key: g.hetu for g in run.mapping.groups}
    stored = [(hetus[r.patient_key], r.study_instance_uid) for r in run.repository.files(run.job_id)
              if r.seq in run.stored and r.outcome == "imported" and r.patient_key in hetus and r.study_instance_uid]
    instances_stored(run.env.database, operator=run.request.operator, archive_ae=run.env.node.ae_title,
                     archive_host=run.env.node.host, stored=stored,
                     names={p.hetu: p.name for p in run.patients.values()}, failed=failed)


def result(run: ImportRun, *, note: str = "") -> ImportOutcome:
    """The result document as the files stand now, billed when complete, with its receipt."""
    job = run.repository.get(run.job_id)
    assert job is not None
    rows = run.repository.files(run.job_id)
    counts = _counts(rows)
    state = job_state(counts)
    studies = _studies(rows, run.mapping, run.inventory)
    conflicts = conflicts_of(run.inventory)
    warnings = _warnings(run.inventory, run.mapping) + run.identity_warnings + [
        f"copies of {c['sop_instance_uid']} differ in {' and '.join(c['differs'])} ({', '.join(c['files'])}): none "
        "was imported; choose one with --prefer PATH and run the import again" for c in conflicts if not c["preferred"]]
    invoice_lines, billing_note = bill(run, job, rows, studies)
    if billing_note:
        warnings.append(billing_note)
    document: dict[str, Any] = {
        "job_id": run.job_id, "state": state, "source": run.inventory.source, "medium": run.inventory.description,
        "dicomdir": run.inventory.dicomdir, "operator": job.operator, "counts": counts,
        "patients": [_patient_document(key, run.patients[key], run.inventory) for key in sorted(run.patients)],
        "studies": studies, "files": [file_document(r, _item(run.inventory, r.seq)) for r in rows],
        "invoice_lines": invoice_lines,
        "commitment": run.commitment if run.commitment is not None else job.result_json.get("commitment"),
        "conflicts": conflicts, "warnings": warnings, "runs": job.runs, "report": None,
    }
    if note:
        document["note"] = note
    document["report"] = write_receipt(run, document, warnings)
    run.clock.lap("report")
    document["run"] = _run_figures(run)
    pacs_failed = any(r.outcome == "failed" and r.reason.split(":")[0] in PACS_FAILURES for r in rows)
    imported = counts.get("imported", 0) + counts.get("already_present", 0)
    return ImportOutcome(document, EXIT_OUTSIDE if pacs_failed else (EXIT_OK if imported else EXIT_REFUSED))


def _run_figures(run: ImportRun) -> dict[str, Any]:
    """Where the time went, and the store's rate (files and MB per second of the store stage)."""
    timings = run.clock.timings
    sent = {"instances": len(run.stored), "bytes": sum(run.inventory.files[s].size for s in run.stored)}
    figures: dict[str, Any] = {"timings": timings, "seconds": round(sum(timings.values()), 3), **sent}
    store_seconds = timings.get("store", 0.0)
    if run.stored and store_seconds > 0:
        figures["store_files_per_s"] = round(sent["instances"] / store_seconds, 1)
        figures["store_mb_per_s"] = round(sent["bytes"] / 1e6 / store_seconds, 1)
    return figures


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


def file_document(row: ImportFileRow, item: InventoryFile | None = None) -> dict[str, Any]:
    """One file of the result; with its inventory entry, what was repaired and what was noted."""
    document: dict[str, Any] = {"path": row.path, "outcome": row.outcome, "sop_instance_uid": row.sop_instance_uid,
                                "reason": row.reason, "kind": row.kind, "patient_key": row.patient_key}
    if row.status is not None:
        document["status"] = f"{row.status:04X}"
    if row.converted_from:
        document["converted_from"] = row.converted_from
        document["transfer_syntax"] = row.transfer_syntax
    if item is not None and item.repairs:
        document["repairs"] = list(item.repairs)
    if item is not None and item.notes:
        document["notes"] = list(item.notes)
    return document


def _item(inventory: Inventory, seq: int) -> InventoryFile | None:
    return inventory.files[seq] if 0 <= seq < len(inventory.files) else None


def conflicts_of(inventory: Inventory) -> list[dict[str, Any]]:
    """Instances whose copies on the medium really differ: the copies, what differs, and the one
    the operator preferred (--prefer), if any."""
    by_uid: dict[str, list[InventoryFile]] = {}
    for item in inventory.files:
        if item.differs and item.sop_instance_uid:
            by_uid.setdefault(item.sop_instance_uid, []).append(item)
    return [{"sop_instance_uid": uid, "files": [f.path for f in copies], "differs": list(copies[0].differs),
             "preferred": next((f.path for f in copies if f.sendable), None)}
            for uid, copies in sorted(by_uid.items())]


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


def _patient_document(key: str, patient: LocalPatient, inventory: Inventory) -> dict[str, Any]:
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
