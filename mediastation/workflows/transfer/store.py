"""Store: put every instance at the destination once.

Before sending a study, the destination is asked (C-FIND) which of its instances it holds already:
those are not sent again, so a transfer killed half-way and run again sends each instance once.
Relay: C-STORE of the fetched files (pacs/transfer.py), transcoded losslessly where the destination
does not take their syntax. C-move: the source archive moves the study (a study the destination
holds whole is not moved again). An instance the destination refuses is named; unless the
technician accepts a partial release, the job stops here and nothing is recorded.
"""

from __future__ import annotations

from pathlib import Path

from mediastation.errors import PacsError
from mediastation.pacs.lookup import ArchiveQuery
from mediastation.pacs.transfer import SendOutcome, move_study, relay_files
from mediastation.workflows.retrieval import study_files
from mediastation.workflows.transfer.types import (
    FailedInstance,
    LocatedStudy,
    Sent,
    StudySent,
    TransferIncomplete,
    TransferJob,
)


def store(job: TransferJob) -> Sent:
    located = job.located
    partial = job.stages.partial
    results = {s.study_instance_uid: s for s in (partial.studies if isinstance(partial, Sent) else [])}
    for study in located.studies:
        previous = results.get(study.study_instance_uid)
        if previous is not None and not previous.failed:
            continue  # sent whole by an earlier run
        outcome = _relay(job, study) if located.target.method == "relay" else _move(job, study)
        if previous is not None:  # what the earlier run sent counts as sent by this job
            outcome = outcome.model_copy(update={
                "sent": sorted(set(outcome.sent) | set(previous.sent)),
                "already_present": sorted(set(outcome.already_present) - set(previous.sent))})
        results[study.study_instance_uid] = outcome
        job.stages.checkpoint(Sent(studies=list(results.values())))
    studies = [results[s.study_instance_uid] for s in located.studies]
    failed = [f for s in studies for f in s.failed]
    if failed and not job.params.accept_partial:
        raise TransferIncomplete(
            f"the destination did not take {len(failed)} instance(s): "
            + "; ".join(f"{f.sop_instance_uid}: {f.reason}" for f in failed[:10])
            + ". Nothing is recorded as released. Fix the cause and run `mediastation send` again (what arrived is "
            "not sent twice), or release what arrived with `--accept-partial`",
            details={"failed": [f.model_dump() for f in failed]})
    return Sent(studies=studies)


def _present(job: TransferJob, study_uid: str) -> set[str]:
    destination = job.located.target.destination.dicom()
    try:
        with ArchiveQuery(destination, job.calling_ae, job.timeout) as query:
            return set(query.study_instances(study_uid))
    except PacsError as exc:
        raise PacsError(f"the destination {destination.ae_title}@{destination.host}:{destination.port} does not "
                        f"answer ({exc.message}); nothing more was sent. Run the same command again when it is back",
                        details=exc.details) from None


def _relay(job: TransferJob, study: LocatedStudy) -> StudySent:
    from mediastation.dicom.headers import read_header

    present = _present(job, study.study_instance_uid)
    files = study_files(Path(study.folder or ""))
    headers = {path: read_header(path) for path in files}
    references = [(h.sop_class_uid, h.sop_instance_uid) for h in headers.values()]
    todo = [path for path, h in headers.items() if h.sop_instance_uid not in present]
    already = sorted(h.sop_instance_uid for h in headers.values() if h.sop_instance_uid in present)
    sent: list[str] = []
    failed: list[FailedInstance] = []
    converted = 0
    staging = job.folder / "staging"
    staging.mkdir(parents=True, exist_ok=True)

    def on_outcome(outcome: SendOutcome) -> None:
        nonlocal converted
        if outcome.result == "sent":
            sent.append(outcome.sop_instance_uid)
            converted += outcome.converted_from is not None
        else:
            failed.append(FailedInstance(sop_instance_uid=outcome.sop_instance_uid, path=outcome.path,
                                         reason=outcome.reason))
        job.progress(len(sent) + len(failed), len(todo), "sent")

    target = job.located.target
    relay_files(todo, target.destination.dicom(), calling_ae=job.calling_ae, timeout=job.timeout, staging=staging,
                accepts=target.transfer_syntaxes, on_outcome=on_outcome)
    return StudySent(study_instance_uid=study.study_instance_uid, sent=sent, already_present=already, failed=failed,
                     converted=converted, references=references)


def _move(job: TransferJob, study: LocatedStudy) -> StudySent:
    target = job.located.target
    source = target.source.dicom() if target.source is not None else _archive_node(job)
    with ArchiveQuery(source, job.calling_ae, job.timeout) as query:
        at_source = query.study_instances(study.study_instance_uid)
    references = [(i.sop_class_uid, uid) for uid, i in sorted(at_source.items())]
    present = _present(job, study.study_instance_uid)
    if at_source and set(at_source) <= present:
        return StudySent(study_instance_uid=study.study_instance_uid, already_present=sorted(at_source),
                         references=references)
    outcome = move_study(source, calling_ae=job.calling_ae, timeout=job.timeout, study_uid=study.study_instance_uid,
                         destination_ae=target.destination.ae_title)
    after = _present(job, study.study_instance_uid)
    missing = sorted(set(at_source) - after)
    failed = [FailedInstance(sop_instance_uid=uid, reason=f"not moved (C-MOVE status {outcome.status:04X}, "
                             f"{outcome.failed} sub-operation(s) failed)") for uid in missing]
    return StudySent(study_instance_uid=study.study_instance_uid, sent=sorted((set(at_source) & after) - present),
                     already_present=sorted(set(at_source) & present), failed=failed, references=references)


def _archive_node(job: TransferJob):  # type: ignore[no-untyped-def]
    from mediastation.pacs.network import DicomNode

    archive = job.env.settings.archive
    if archive.kind != "dicom":
        raise PacsError("a c-move transfer needs a DICOM archive ([archive] kind = \"dicom\") or a register node "
                        "to move from; use method = \"relay\" with a folder archive")
    return DicomNode(archive.ae_title, archive.host, archive.port)
