"""Retrieve: decide where the release goes (domain/transfer.py), find every requested study with the
export's match check (workflows/retrieval.py), and for a relay fetch each into the job folder."""

from __future__ import annotations

from mediastation.config import release_policy
from mediastation.domain.transfer import TransferRefusal, transfer_target
from mediastation.workflows.retrieval import fetch_once, find_requested, open_configured_archive, safe_name
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
    studies = []
    for study in found:
        if target.method == "relay":
            folder = job.folder / "retrieved" / safe_name(study.accession_number)
            count = fetch_once(archive, study.study_instance_uid, folder, job.progress)
            studies.append(LocatedStudy(accession_number=study.accession_number,
                                        study_instance_uid=study.study_instance_uid, folder=str(folder),
                                        instances=count))
        else:
            studies.append(LocatedStudy(accession_number=study.accession_number,
                                        study_instance_uid=study.study_instance_uid, instances=study.instances))
    return Located(target=target, studies=studies)
