"""Precheck (R-E5): instances the archive holds already are not sent again; conflicts are blocked,
not overwritten.

Every pass begins here, so it is also what makes a pass after an interruption send nothing twice:
an instance an earlier pass sent but did not record is found in the archive and counted imported.
"""

from __future__ import annotations

from mediastation.dicom.inventory import Inventory, InventoryFile
from mediastation.pacs.lookup import ArchivedInstance, ArchiveQuery
from mediastation.store.imports import FileUpdate
from mediastation.workflows.imports.reports import reason_for
from mediastation.workflows.imports.types import ImportRun, Prechecked


def precheck(run: ImportRun) -> Prechecked:
    todo = list(run.todo)
    with ArchiveQuery(run.env.node, run.env.calling_ae, run.env.timeout) as query:
        archived = _archived(run.inventory, todo, query)
    updates, remaining, conflicts = [], [], 0
    for seq in todo:
        item = run.inventory.files[seq]
        assert item.header and item.patient_key
        found = archived.get(item.header.sop_instance_uid)
        if found is None:
            remaining.append(seq)
            continue
        verdict = compare_archived(item, found, run.patients[item.patient_key].hetu)
        if verdict == "same":
            # sent by an earlier pass of this job that stopped before recording it, or there before us
            outcome = "imported" if run.sent_before and run.rows[seq].outcome in ("pending", "failed") \
                else "already_present"
            updates.append(FileUpdate(seq, outcome, reason_for(item, "found in the archive" if outcome == "imported"
                                                               else "")))
        else:
            conflicts += 1
            updates.append(FileUpdate(seq, "rejected", verdict))
    run.repository.record(run.job_id, updates)
    run.todo = remaining
    run.clock.lap("precheck")
    return Prechecked(todo=len(todo), found=len(todo) - len(remaining) - conflicts, conflicts=conflicts,
                      sent_before=run.sent_before)


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
