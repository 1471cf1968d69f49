"""Retrieve: decide where the release goes (domain/transfer.py) and find every requested study with
the export's match check (workflows/retrieval.py). Nothing is fetched here: a relay fetches each
study in the store stage, sending its files on as they arrive (store.py); this stage names the
job folder they go to."""

from __future__ import annotations

from mediastation.config import release_policy
from mediastation.domain.transfer import TransferRefusal, transfer_target
from mediastation.store.db import Database
from mediastation.workflows.audit_events import destination_refused, observe_queries
from mediastation.workflows.retrieval import find_requested, open_configured_archive, safe_name
from mediastation.workflows.transfer.types import Located, LocatedStudy, Target, TransferJob, TransferRefused


def decide_target(job_row: object, request: object, settings: object, home: object, *,
                  audit: Database | None = None, actor: str = "") -> Target:
    """The configured node the request goes to; TransferRefused with the reason when there is none
    (a node nobody configured is also a Security Alert to the audit repository, into `audit`)."""
    decided = transfer_target(request, job_row.channel, release_policy(settings, home))  # type: ignore[attr-defined,arg-type]
    if isinstance(decided, TransferRefusal):
        node = request.destination.dicom_node  # type: ignore[attr-defined]
        if decided.code == "unconfigured_node" and audit is not None and node is not None:
            destination_refused(audit, actor=actor, node=f"{node.ae_title}@{node.host}:{node.port}",
                                hetu=request.patient.hetu, reason=decided.message)  # type: ignore[attr-defined]
        raise TransferRefused(f"{decided.message} ({decided.rule}); nothing was sent",
                              details={"reason": decided.code, "rule": decided.rule})
    return Target.of(decided)


def retrieve(job: TransferJob) -> Located:
    target = decide_target(job.row, job.request, job.env.settings, job.env.home, audit=job.env.database,
                           actor=job.params.actor)
    archive = observe_queries(open_configured_archive(job.env.settings, job.env.home), job.env.database,
                              hetu=job.request.patient.hetu, actor=job.params.actor)
    found = find_requested(archive, job.request, TransferRefused, "nothing was sent")
    studies = [LocatedStudy(accession_number=study.accession_number, study_instance_uid=study.study_instance_uid,
                            instances=study.instances,
                            folder=str(job.folder / "retrieved" / safe_name(study.accession_number))
                            if target.method == "relay" else None)
               for study in found]
    return Located(target=target, studies=studies)
