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
    contents = {"media": [d["fileset_id"] for d in run.detail["discs"]],
                "studies": [s.accession_number for s in run.request.studies]}
    return {"request_id": run.row.request_id, "recipient": recipient, "contents": contents, "actor": run.options.actor}


def _invoice_lines(run: ExportRun) -> list[str]:
    """Invoice lines per the price list in force on the service date (R19); none when not billable."""
    if not run.row.decision_json.get("billable", False):
        return []
    try:
        from mediastation.workflows.billing import bill_export
    except ImportError:
        run.detail["billable_event"] = {"kind": "media_export", "media": len(run.detail["discs"]),
                                        "studies": len(run.request.studies)}
        return []
    return bill_export(run)
