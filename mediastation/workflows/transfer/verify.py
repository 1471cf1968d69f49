"""Verify: the destination confirms it holds every instance: by storage commitment where it answers
it (PS3.4 J), else by a C-FIND of each study counting the instances (PS3.4 C.4.1)."""

from __future__ import annotations

from mediastation.pacs.commitment import request_commitment
from mediastation.pacs.lookup import ArchiveQuery
from mediastation.workflows.transfer.types import StudyVerified, TransferIncomplete, TransferJob, Verified


def verify(job: TransferJob) -> Verified:
    target = job.located.target
    node = target.destination.dicom()
    failed = {f.sop_instance_uid for s in job.sent.studies for f in s.failed}
    expected = {s.study_instance_uid: [(c, i) for c, i in s.references if i not in failed] for s in job.sent.studies}
    if target.commitment:
        references = [ref for refs in expected.values() for ref in refs]
        result = request_commitment(node, job.calling_ae, references, listen_port=job.env.settings.station.port,
                                    timeout=job.env.settings.imports.commitment_timeout, network_timeout=job.timeout)
        if result.state in ("committed", "partial", "incomplete"):
            studies = [_study(uid, refs, result.committed, "committed") for uid, refs in expected.items()]
            return _checked(Verified(method="storage_commitment", studies=studies))
        job.progress(0, None, f"storage commitment {result.state} ({result.note}): counting with C-FIND instead")
    with ArchiveQuery(node, job.calling_ae, job.timeout) as query:
        studies = [_study(uid, refs, set(query.study_instances(uid)), "found") for uid, refs in expected.items()]
    return _checked(Verified(method="c-find", studies=studies))


def _study(uid: str, references: list[tuple[str, str]], confirmed: set[str], state: str) -> StudyVerified:
    wanted = {instance for _cls, instance in references}
    missing = sorted(wanted - confirmed)
    return StudyVerified(study_instance_uid=uid, state=state if not missing else "missing", expected=len(wanted),
                         confirmed=len(wanted & confirmed), missing=missing)


def _checked(verified: Verified) -> Verified:
    missing = [uid for s in verified.studies for uid in s.missing]
    if missing:
        raise TransferIncomplete(
            f"the destination does not confirm {len(missing)} instance(s) it was sent ({verified.method}), e.g. "
            f"{missing[0]}; nothing is recorded as released: `mediastation jobs retry` checks again",
            details={"missing": missing[:100]})
    return verified
