"""Record: the shipment, the disclosure log entry (R13) and the invoice lines (R19), each once.

A job killed between two of these and run again must not log, ship or bill twice: each side effect
is saved in the stage's partial outcome as soon as it exists (`checkpoint`), and each also finds
what an earlier pass recorded before it could be saved (the disclosure by the job's medium ids, the
shipment by request and media, the invoice lines by their event keys).
"""

from __future__ import annotations

import json
from typing import Any

from mediastation.audit.messages import SopClassCount, StudyRef
from mediastation.audit.trail import ExportDetails
from mediastation.store.disclosures import DisclosureLog
from mediastation.workflows.export.types import ExportJob, Recorded, today_helsinki


def record(job: ExportJob) -> Recorded:
    partial = job.stages.partial
    done = partial if isinstance(partial, Recorded) else Recorded()
    if not done.shipment_done:
        done = done.model_copy(update={"shipment_done": True, "shipment_id": _shipment(job)})
        job.stages.checkpoint(done)
    if done.disclosure_seq is None:
        done = done.model_copy(update={"disclosure_seq": _disclosure(job, done.shipment_id)})
        job.stages.checkpoint(done)
    if done.invoice_lines is None:
        done = done.model_copy(update={"invoice_lines": _invoice_lines(job, done.shipment_id)})
        job.stages.checkpoint(done)
    return done


def medium_ids(job: ExportJob) -> str:
    return ",".join(disc.fileset_id for disc in job.composed.discs)


def _disclosure(job: ExportJob, shipment_id: str | None) -> int:
    """The R13 entry: found again by its medium ids if an earlier pass wrote it."""
    from mediastation.workflows.requests import disclosure_content

    log = DisclosureLog(job.env.database)
    ids = medium_ids(job)
    for entry in log.for_request(job.row.request_id):
        if json.loads(entry.content_json).get("medium_id") == ids:
            return entry.seq
    content = disclosure_content(
        job.row, actor=job.params.actor, station=job.env.settings.station.name, channel=job.composed.medium,
        medium_id=ids, shipment_id=shipment_id, note=f"export job {job.job_id}")
    content["media"] = [{"fileset_id": m.fileset_id, "sha256": m.sha256, "kind": m.kind} for m in job.verified.media]
    entry = log.append(content, patient_hetu=job.row.patient_hetu, request_id=job.row.request_id,
                       event=audit_details(job))  # its Export audit message is written in the same transaction
    return entry.seq


def audit_details(job: ExportJob) -> ExportDetails:
    """The studies as the Export audit message names them (PS3.15 A.5.3.5): UID, accession number,
    instances. The SOP classes are not read again for it: counting them would reread every header."""
    described = {s.accession_number: s.study_description for s in job.request.studies}
    return ExportDetails(studies=tuple(
        StudyRef(uid=s.study_instance_uid, accession=s.accession_number, description=described.get(s.accession_number, ""),
                 sop_classes=(SopClassCount("", s.instances),)) for s in job.retrieved.studies))


def _shipment(job: ExportJob) -> str | None:
    """Media go by post (R16): one shipment per export, idempotent on (request, medium ids)."""
    from mediastation.workflows.shipments import create_shipment

    return create_shipment(job.env.database, **shipment_arguments(job))


def shipment_arguments(job: ExportJob) -> dict[str, Any]:
    from mediastation.domain.delivery import ShipmentContents

    destination = job.request.destination
    address = destination.address
    recipient = {"name": (address.name if address and address.name else destination.name),
                 "street": address.street if address else "", "postal_code": address.postal_code if address else "",
                 "city": address.city if address else "", "country": address.country if address else "FI"}
    contents = ShipmentContents(media=tuple(d.fileset_id for d in job.composed.discs),
                                studies=tuple(s.accession_number for s in job.request.studies))
    return {"request_id": job.row.request_id, "recipient": recipient, "contents": contents, "actor": job.params.actor}


def _invoice_lines(job: ExportJob, shipment_id: str | None) -> list[str]:
    """Invoice lines per the price list in force on the service date (R19); none when not billable."""
    if not job.row.decision_json.get("billable", False):
        return []
    from mediastation.workflows.billing import bill_event, load_price_list

    price_list = load_price_list(job.env.home_path(job.env.settings.pricing.price_list))
    lines: list[str] = []
    for event in billable_events(job, shipment_id):
        lines += bill_event(job.env.database, event, price_list, actor=job.params.actor or "station")
    return lines


def billable_events(job: ExportJob, shipment_id: str | None) -> list[Any]:
    """The export itself and, when the media go by post, the postage (R19): `export_events` of
    what was composed."""
    return export_events(job.request, job.row.request_id, copy_number=job.params.copy_number,
                         medium_kind=job.composed.medium, media=len(job.composed.discs), shipment_id=shipment_id)


def export_events(request: Any, request_id: str, *, copy_number: int, medium_kind: str, media: int,
                  shipment_id: str | None) -> list[Any]:
    """The billable events of an export (R19), today: the export keyed by request and copy (a retried
    job, or a re-sent medium after a returned shipment, bills once; a second copy asked for with
    --again bills again) and the postage keyed by shipment. The export's preflight prices the same
    events before anything is retrieved."""
    from mediastation.domain.pricing import BillableEvent, payer_category_for

    payer_category = payer_category_for(request.basis.kind, request.destination.kind)
    common = {"service_date": today_helsinki(), "payer": request.destination.name or request.patient.name,
              "payer_category": payer_category, "reference": request_id}
    events = [BillableEvent(key=f"export:{request_id}:{copy_number}", kind="media_export",
                            studies=len(request.studies), media=media,
                            medium_kind="dvd" if medium_kind.startswith("dvd") else medium_kind, **common)]
    if shipment_id:
        events.append(BillableEvent(key=f"postage:{shipment_id}", kind="postage", media=1, **common))
    return events
