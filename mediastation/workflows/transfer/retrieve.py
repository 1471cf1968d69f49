"""Retrieve: decide where the release goes (domain/transfer.py) and find every requested study with
the export's match check (workflows/retrieval.py). Nothing is fetched here: a relay fetches each
study in the store stage, sending its files on as they arrive (store.py); this stage names the
job folder they go to."""

from __future__ import annotations

from mediastation.config import release_policy
from mediastation.domain.transfer import TransferRefusal, transfer_target
from mediastation.workflows.retrieval import find_requested, open_configured_archive, safe_name
from mediastation.workflows.transfer.types import Located, LocatedStudy, Target, TransferJob, TransferRefused


def decide_target(job_row: object, request: object, settings: object, home: object) -> Target:
    """The configured node the request goes to; TransferRefused with the reason when there is none."""
    decided = transfer_target(request, job_row.channel, release_policy(settings, home))  # type: ignore[attr-defined,arg-type]
    if isinstance(decided, TransferRefusal):
        raise TransferRefused(f"{decided.message} ({decided.rule}); nothing was sent",
                              details={"reason": decided.code, "rule": decided.rule})
    return Target.of(decided)


def retrieve(job: TransferJob) -> Located:
    target = decide_target(job.row, job.request, job.env.settings, job.env.home)
    archive = open_configured_archive(job.env.settings, job.env.home)
    found = find_requested(archive, job.request, TransferRefused, "nothing was sent")
    studies = [LocatedStudy(accession_number=study.accession_number, study_instance_uid=study.study_instance_uid,
                            instances=study.instances,
                            folder=str(job.folder / "retrieved" / safe_name(study.accession_number))
                            if target.method == "relay" else None)
               for study in found]
    return Located(target=target, studies=studies)
