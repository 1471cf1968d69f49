"""The electronic release: approved request -> the studies at the other archive, verified, recorded.

    retrieve -> store -> verify -> record

A transfer is a job of the one job queue (mediastation/jobs/), like an export: `send ID` queues it
and runs it here, `send ID --queue` leaves it to a worker. Each stage saves its typed outcome; a
transfer killed half-way resumes, and the destination is asked what it holds before anything is
sent, so every instance arrives once. Recorded once in the disclosure log; never billed (R17).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mediastation.domain.request import ReleaseRequest
from mediastation.domain.transfer import TRANSFER_CHANNELS
from mediastation.jobs.model import JobState, JobView, Needs, deterministic_id, worker_id
from mediastation.jobs.queue import JobQueue
from mediastation.jobs.runner import Lease, Pipeline, Stage, run_here_or_follow, run_stages
from mediastation.store.models import ReleaseRequestRow
from mediastation.workflows.transfer.record import record
from mediastation.workflows.transfer.retrieve import decide_target, retrieve
from mediastation.workflows.transfer.store import store
from mediastation.workflows.transfer.types import (
    Located,
    Recorded,
    Sent,
    TransferEnvironment,
    TransferJob,
    TransferParams,
    TransferRefused,
    Verified,
)
from mediastation.workflows.transfer.verify import verify

PIPELINE = Pipeline("transfer", (
    Stage("retrieve", Located, retrieve),
    Stage("store", Sent, store),
    Stage("verify", Verified, verify),
    Stage("record", Recorded, record),
))


@dataclass(frozen=True)
class SendOptions:
    request_id: str
    actor: str = ""
    accept_partial: bool = False


def enqueue_transfer(env: TransferEnvironment, options: SendOptions) -> tuple[JobView, bool]:
    """The request's unfinished transfer job, else a new queued one. Everything that can refuse
    (the decision, the destination) is checked before the job exists."""
    from mediastation.workflows.requests import get_request

    row = get_request(env.database, options.request_id)
    _check_sendable(row)
    decide_target(row, ReleaseRequest.model_validate(row.request_json), env.settings, env.home, audit=env.database,
                  actor=options.actor)
    queue = JobQueue(env.database)
    previous = queue.for_subject("transfer", row.request_id)
    unfinished = [job for job in previous if job.state is not JobState.DONE]
    if unfinished:
        return unfinished[-1], False
    if previous and row.state != "open":
        raise TransferRefused(f"request {row.request_id} was already sent (job {previous[-1].job_id})",
                              details={"request_id": row.request_id, "job_id": previous[-1].job_id})
    attempt = len(previous) + 1
    params = TransferParams(request_id=row.request_id, actor=options.actor, attempt=attempt,
                            accept_partial=options.accept_partial)
    return queue.enqueue(deterministic_id("T", row.request_id, attempt), kind="transfer",
                         station=env.settings.station.name, subject=row.request_id,
                         params=params.model_dump(mode="json"), needs=Needs())


def _check_sendable(row: ReleaseRequestRow) -> None:
    if row.decision != "release":
        raise TransferRefused(f"request {row.request_id} was decided '{row.decision}', not 'release': nothing is sent",
                              details={"request_id": row.request_id, "decision": row.decision})
    if row.channel not in TRANSFER_CHANNELS:
        raise TransferRefused(f"request {row.request_id} is released on '{row.channel}' media, not electronically: "
                              "use `mediastation export`", details={"request_id": row.request_id,
                                                                    "channel": row.channel})


def run_send(env: TransferEnvironment, options: SendOptions, *, queue_only: bool = False) -> dict[str, Any]:
    """Send (or resume sending) a request here; the result document. `queue_only`: leave it to a worker."""
    job, created = enqueue_transfer(env, options)
    if queue_only:
        return {"job_id": job.job_id, "request_id": job.subject, "state": str(job.state), "created": created}
    queue = JobQueue(env.database)

    def adjust(claimed: JobView) -> JobView:
        params = TransferParams.model_validate(claimed.params)
        if options.accept_partial and not params.accept_partial:
            updated = params.model_copy(update={"accept_partial": True, "actor": options.actor or params.actor})
            queue.set_params(claimed.job_id, claimed.owner, updated.model_dump(mode="json"))
            return dataclasses.replace(claimed, params=updated.model_dump(mode="json"))
        return claimed

    return run_here_or_follow(queue, job.job_id, owner=worker_id(env.settings.station.name),
                              lease_seconds=env.settings.jobs.lease_seconds,
                              work=lambda claimed, lease: run_transfer_job(env, claimed, lease), adjust=adjust,
                              announce=lambda message: env.progress(0, None, message), subject_key="request_id")


def run_transfer_job(env: TransferEnvironment, job: JobView, lease: Lease) -> dict[str, Any]:
    """Run a claimed transfer job to its end (the worker's handler and `send ID`'s own run)."""
    from mediastation.store.requests import RequestRepository
    from mediastation.workflows.requests import get_request

    params = TransferParams.model_validate(job.params)
    row = get_request(env.database, params.request_id)
    context = TransferJob(job_id=job.job_id, env=env, row=row, request=ReleaseRequest.model_validate(row.request_json),
                          params=params, progress=lease.progress(env.progress))
    context.folder.mkdir(parents=True, exist_ok=True)
    run_stages(PIPELINE, job, context, JobQueue(env.database), lease)
    RequestRepository(env.database).set_state(row.request_id, "released")
    return document(context)


def document(job: TransferJob) -> dict[str, Any]:
    """The result, like the export's: per study what was sent, already present, failed, verified."""
    located, sent, verified = job.located, job.sent, job.verified
    verification = {s.study_instance_uid: s for s in verified.studies}
    by_uid = {s.study_instance_uid: s for s in sent.studies}
    studies = []
    for study in located.studies:
        outcome = by_uid[study.study_instance_uid]
        check = verification.get(study.study_instance_uid)
        studies.append({"accession_number": study.accession_number, "study_instance_uid": study.study_instance_uid,
                        "sent": len(outcome.sent), "already_present": len(outcome.already_present),
                        "failed": [f.model_dump() for f in outcome.failed], "converted": outcome.converted,
                        "verification": check.state if check else None})
    target = located.target
    partial = any(s["failed"] for s in studies)
    return {"job_id": job.job_id, "request_id": job.row.request_id, "state": "done",
            "channel": target.channel, "partial_release": partial,
            "destination": {"name": target.name, **target.destination.model_dump(), "method": target.method},
            "verification": verified.method, "studies": studies,
            "disclosure_seq": job.stages.state("record", Recorded).disclosure_seq,
            "shipment_id": None, "invoice_lines": [], "seconds": dict(job.stages.seconds)}
