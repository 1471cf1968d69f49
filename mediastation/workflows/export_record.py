"""The record stage of an export: shipment, disclosure log entry, invoice lines — each exactly once.

A job killed between two of these and run again must not log, ship or bill twice: each step first
looks for what an earlier pass already recorded (by the job's medium ids), then records what is
missing, and the job saves each outcome as soon as it exists.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mediastation.store.disclosures import DisclosureLog

if TYPE_CHECKING:
    from mediastation.workflows.export import ExportRun


def medium_ids(run: ExportRun) -> str:
    return ",".join(disc["fileset_id"] for disc in run.detail["discs"])


def record(run: ExportRun) -> None:
    if "shipment_id" not in run.detail:
        run.detail["shipment_id"] = _shipment(run)
        run.save()
    if "disclosure_seq" not in run.detail:
        run.detail["disclosure_seq"] = _disclosure(run)
        run.save()
    if "invoice_lines" not in run.detail:
        run.detail["invoice_lines"] = _invoice_lines(run)
        run.save()


def _disclosure(run: ExportRun) -> int:
    """The R13 entry: found again by its medium ids if an earlier pass wrote it."""
    from mediastation.workflows.requests import disclosure_content

    log = DisclosureLog(run.env.database)
    ids = medium_ids(run)
    for entry in log.for_request(run.row.request_id):
        if json.loads(entry.content_json).get("medium_id") == ids:
            return entry.seq
    content = disclosure_content(
        run.row, actor=run.options.actor, station=run.env.settings.station.name, channel=run.medium_kind,
        medium_id=ids, shipment_id=run.detail.get("shipment_id"), note=f"export job {run.job_id}")
    content["media"] = [{"fileset_id": m["fileset_id"], "sha256": m["sha256"], "kind": m["kind"]}
                        for m in run.detail.get("media", [])]
    entry = log.append(content, patient_hetu=run.row.patient_hetu, request_id=run.row.request_id)
    return entry.seq


def _shipment(run: ExportRun) -> str | None:
    """Media go by post (R16): one shipment per export, idempotent on (request, medium ids)."""
    try:
        from mediastation.workflows.shipments import create_shipment
    except ImportError:
        return None
    return create_shipment(run.env.database, **shipment_arguments(run))


def shipment_arguments(run: ExportRun) -> dict[str, Any]:
    destination = run.request.destination
    address = destination.address
    recipient = {"name": (address.name if address and address.name else destination.name),
                 "street": address.street if address else "", "postal_code": address.postal_code if address else "",
                 "city": address.city if address else "", "country": address.country if address else "FI"}
    from mediastation.domain.delivery import ShipmentContents

    contents = ShipmentContents(media=tuple(d["fileset_id"] for d in run.detail["discs"]),
                                studies=tuple(s.accession_number for s in run.request.studies))
    return {"request_id": run.row.request_id, "recipient": recipient, "contents": contents, "actor": run.options.actor}


def _invoice_lines(run: ExportRun) -> list[str]:
    """Invoice lines per the price list in force on the service date (R19); none when not billable."""
    if not run.row.decision_json.get("billable", False):
        return []
    from mediastation.workflows.billing import bill_event, load_price_list

    price_list = load_price_list(run.env.home_path(run.env.settings.pricing.price_list))
    lines: list[str] = []
    for event in billable_events(run):
        lines += bill_event(run.env.database, event, price_list, actor=run.options.actor or "station")
    return lines


def billable_events(run: ExportRun) -> list[Any]:
    """The export itself and, when the media go by post, the postage (R19). The export is keyed by
    request and copy: a retried job, or a re-sent medium after a returned shipment, bills once; a
    second copy asked for with --again bills again. Postage is keyed by shipment."""
    from mediastation.domain.pricing import BillableEvent, payer_category_for
    from mediastation.workflows.export import today_helsinki

    request = run.request
    payer_category = payer_category_for(request.basis.kind, request.destination.kind)
    common = {"service_date": today_helsinki(), "payer": request.destination.name or request.patient.name,
              "payer_category": payer_category, "reference": run.row.request_id}
    copy = int(run.detail.get("copy", 1))
    events = [BillableEvent(key=f"export:{run.row.request_id}:{copy}", kind="media_export", studies=len(request.studies),
                            media=len(run.detail["discs"]), medium_kind=_billing_kind(run.medium_kind), **common)]
    if run.detail.get("shipment_id"):
        events.append(BillableEvent(key=f"postage:{run.detail['shipment_id']}", kind="postage", media=1, **common))
    return events


def _billing_kind(kind: str) -> str:
    return "dvd" if kind.startswith("dvd") else kind
