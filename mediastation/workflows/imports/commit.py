"""Commit (R-F2): a verified instance the archive reports as not committed is failed, to be sent
again by the next pass. The commitment was requested during the store (`verify`); this stage
applies its answer."""

from __future__ import annotations

from typing import Any

from mediastation.pacs.commitment import CommitmentResult
from mediastation.store.imports import FileUpdate
from mediastation.workflows.imports.types import Committed, ImportRun


def commit(run: ImportRun) -> Committed:
    assert run.collected is not None, "the store stage collects the commitment"
    run.commitment = apply_commitment(run, run.collected.commitment or {"state": "nothing_to_commit"})
    run.clock.lap("commit")
    return Committed(state=str(run.commitment.get("state", "")), committed=int(run.commitment.get("committed", 0)),
                     failed=int(run.commitment.get("failed", 0)))


def apply_commitment(run: ImportRun, result: CommitmentResult | dict[str, Any]) -> dict[str, Any]:
    """The commitment document of the result, with the files it failed recorded."""
    if isinstance(result, dict):
        return result
    by_uid = {run.inventory.files[s].sop_instance_uid: s for s in run.verified}
    failed = [FileUpdate(by_uid[uid], "failed", f"commitment_failed: reason {code:04X}")
              for uid, code in result.failed.items() if uid in by_uid]
    run.repository.record(run.job_id, failed)
    document = result.to_json()
    document["committed"] = len(result.committed & set(by_uid))
    document["failed"] = len(failed)
    if document["state"] == "partial" and not failed:
        document["state"] = "committed"  # only instances the C-FIND did not list were missing
    return document
