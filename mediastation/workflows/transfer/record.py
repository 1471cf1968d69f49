"""Record: one disclosure-log entry for the release (R13), with the destination node and what was
sent; no shipment (nothing is posted) and no invoice line (R17: electronic releases and register
copies are not billed). Found again by the job's id when an earlier pass wrote it."""

from __future__ import annotations

import json

from mediastation.store.disclosures import DisclosureLog
from mediastation.workflows.transfer.types import Recorded, TransferJob


def record(job: TransferJob) -> Recorded:
    from mediastation.workflows.requests import disclosure_content

    log = DisclosureLog(job.env.database)
    note = f"transfer job {job.job_id}"
    for entry in log.for_request(job.row.request_id):
        if json.loads(entry.content_json).get("note", "").startswith(note):
            return Recorded(disclosure_seq=entry.seq)
    target = job.located.target
    failed = [f.model_dump() for s in job.sent.studies for f in s.failed]
    if failed:
        note += f"; partial release accepted by {job.params.actor or 'the operator'}: {len(failed)} instance(s) not sent"
    content = disclosure_content(job.row, actor=job.params.actor, station=job.env.settings.station.name,
                                 channel=target.channel, medium_id=None, shipment_id=None, note=note)
    content["destination_node"] = {"name": target.name, **target.destination.model_dump(), "method": target.method}
    content["instances"] = {s.study_instance_uid: len(s.sent) + len(s.already_present) for s in job.sent.studies}
    if failed:
        content["not_released"] = failed
    entry = log.append(content, patient_hetu=job.row.patient_hetu, request_id=job.row.request_id)
    return Recorded(disclosure_seq=entry.seq)
