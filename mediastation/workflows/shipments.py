"""Media sent by post: prepared by the export, posted, then delivered, returned or lost (R16).

A returned shipment re-opens its release request for a new attempt; the release itself stays in
the disclosure log (the data did leave the house) and the return is noted there as a correction
entry naming the release entry (R13).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Mapping

from mediastation.domain.calendar import helsinki_date
from mediastation.domain.delivery import (
    IllegalTransition,
    InvalidShipment,
    InvalidTrackingCode,
    Recipient,
    Shipment,
    ShipmentContents,
    check_event_date,
    due_date,
    parse_tracking_code,
    transition,
)
from mediastation.errors import InputError, MediaStationError, NotFoundError
from mediastation.store.billing import ShipmentRepository
from mediastation.store.db import Database
from mediastation.store.disclosures import DisclosureLog
from mediastation.store.requests import RequestRepository
from mediastation.workflows.requests import correct_entry

RETURN_NOTE = "returned by post"


class ShipmentRefused(MediaStationError):
    """The post room asked for a change the shipment's state does not allow."""

    code = "shipment_refused"


def today() -> date:
    """Today in Helsinki (the post room's calendar), whatever the server's zone."""
    return helsinki_date(datetime.now(timezone.utc))


def create_shipment(database: Database, *, request_id: str, recipient: Recipient | Mapping[str, Any],
                    contents: ShipmentContents, actor: str, on: date | None = None) -> str:
    """A prepared shipment for media of a request; the same request and media give the same
    shipment, so a retried export job does not make a second envelope."""
    try:
        address = recipient if isinstance(recipient, Recipient) else Recipient.from_mapping(recipient)
    except InvalidShipment as exc:
        raise InputError(f"shipment for {request_id}: {exc}") from None
    shipment, _created = ShipmentRepository(database).create(
        request_id=request_id, recipient=address, contents=contents, actor=actor, on=on or today())
    return shipment.shipment_id


def get_shipment(database: Database, shipment_id: str) -> Shipment:
    shipment = ShipmentRepository(database).get(shipment_id)
    if shipment is None:
        raise NotFoundError(f"no shipment {shipment_id!r}; `mediastation shipments list` shows them")
    return shipment


def list_shipments(database: Database, *, overdue_on: date | None = None, state: str | None = None) -> list[Shipment]:
    """Every shipment (oldest first), or only those overdue on `overdue_on` (R16)."""
    shipments = ShipmentRepository(database).list(state=state)
    if overdue_on is not None:
        shipments = [s for s in shipments if s.overdue(overdue_on)]
    return shipments


@dataclass(frozen=True)
class Change:
    """The outcome of a postal event: the shipment after it, and whether anything changed."""

    shipment: Shipment
    changed: bool
    disclosure_seq: int | None = None

    def to_json(self, on: date) -> dict[str, Any]:
        """The `shipments post/delivered/returned --json` document (and the desk's API answer)."""
        document = {**self.shipment.to_json(on=on), "changed": self.changed}
        if self.disclosure_seq is not None:
            document["disclosure_seq"] = self.disclosure_seq
        return document


def post(database: Database, shipment_id: str, *, on: date, tracking: str, actor: str) -> Change:
    """Posted on `on` with the carrier's tracking code; due `on` + 7 days (R16). Posting again with
    the same code changes nothing; another code is refused."""
    try:
        code = parse_tracking_code(tracking)
    except InvalidTrackingCode as exc:
        raise InputError(str(exc), details={"reason": "invalid_tracking_code"}) from None
    current = get_shipment(database, shipment_id)
    if current.state == "posted" and current.tracking == code.value:
        return Change(current, False)
    others = [s.shipment_id for s in ShipmentRepository(database).with_tracking(code.value)
              if s.shipment_id != current.shipment_id]
    if others:
        raise ShipmentRefused(f"tracking code {code.value} is already on shipment {', '.join(others)}: one code "
                              "tracks one envelope; copy the code from this envelope's posting receipt",
                              details={"shipment_id": current.shipment_id, "tracking": code.value,
                                       "other_shipments": others})

    def decide(shipment: Shipment) -> dict[str, Any]:
        _check(shipment, "posted", on)
        return {"state": "posted", "posted_on": on, "due_on": due_date(on), "tracking": code.value}

    return Change(_change(database, shipment_id, decide, on=on, actor=actor, note=f"tracking {code.value}"), True)


def delivered(database: Database, shipment_id: str, *, on: date, actor: str, note: str = "") -> Change:
    return _simple(database, shipment_id, "delivered", on=on, actor=actor, note=note)


def lost(database: Database, shipment_id: str, *, on: date, actor: str, note: str = "") -> Change:
    return _simple(database, shipment_id, "lost", on=on, actor=actor, note=note)


def cancel(database: Database, shipment_id: str, *, on: date, actor: str, note: str = "") -> Change:
    return _simple(database, shipment_id, "cancelled", on=on, actor=actor, note=note)


def returned(database: Database, shipment_id: str, *, on: date, actor: str, station: str,
             note: str = "") -> Change:
    """Came back: the request opens again for a new attempt and the disclosure log gets a
    correction entry noting the return. Marking it returned again completes a follow-up that an
    interruption left undone, and changes nothing otherwise."""
    change = _simple(database, shipment_id, "returned", on=on, actor=actor, note=note)
    shipment = change.shipment
    if not change.changed:
        noted = _return_noted(database, shipment)
        if noted is not None:
            return Change(shipment, False, noted)
    requests = RequestRepository(database)
    if requests.get(shipment.request_id) is not None:
        requests.set_state(shipment.request_id, "open")
    seq = _note_return(database, shipment, on=on, actor=actor, station=station, note=note)
    return Change(shipment, change.changed, seq)


def _simple(database: Database, shipment_id: str, target: str, *, on: date, actor: str, note: str) -> Change:
    current = get_shipment(database, shipment_id)
    if current.state == target:
        return Change(current, False)

    def decide(shipment: Shipment) -> dict[str, Any]:
        _check(shipment, target, on)
        return {"state": target}

    return Change(_change(database, shipment_id, decide, on=on, actor=actor, note=note), True)


def _check(shipment: Shipment, target: str, on: date) -> None:
    try:
        transition(shipment.state, target)
        check_event_date(target, shipment.posted_on, on, shipment.prepared_on)
    except (IllegalTransition, InvalidShipment) as exc:
        raise ShipmentRefused(f"shipment {shipment.shipment_id}: {exc}",
                              details={"shipment_id": shipment.shipment_id, "state": shipment.state}) from None


def _change(database: Database, shipment_id: str, decide: Any, *, on: date, actor: str, note: str) -> Shipment:
    shipment = ShipmentRepository(database).change(shipment_id, decide, on=on, actor=actor, note=note)
    if shipment is None:
        raise NotFoundError(f"no shipment {shipment_id!r}; `mediastation shipments list` shows them")
    return shipment


def _release_entry(database: Database, shipment: Shipment) -> tuple[int, dict[str, Any]] | None:
    """The disclosure log entry of this shipment's release: the one naming the shipment, else
    the request's latest original (non-correction) entry."""
    entries = [(e.seq, json.loads(e.content_json)) for e in DisclosureLog(database).for_request(shipment.request_id)]
    originals = [(seq, content) for seq, content in entries if content.get("correction_of") is None]
    for seq, content in reversed(originals):
        if content.get("shipment_id") == shipment.shipment_id:
            return seq, content
    return originals[-1] if originals else None


def _return_text(shipment: Shipment) -> str:
    return f"{RETURN_NOTE}: shipment {shipment.shipment_id}"


def _return_noted(database: Database, shipment: Shipment) -> int | None:
    marker = _return_text(shipment)
    for entry in DisclosureLog(database).for_request(shipment.request_id):
        if json.loads(entry.content_json).get("note", "").startswith(marker):
            return entry.seq
    return None


def _note_return(database: Database, shipment: Shipment, *, on: date, actor: str, station: str,
                 note: str) -> int | None:
    """R13: the release stays in the log; a correction entry records that it came back."""
    existing = _return_noted(database, shipment)
    if existing is not None:
        return existing
    release = _release_entry(database, shipment)
    if release is None:
        return None  # released media not yet logged (the export records it); nothing to correct
    text = f"{_return_text(shipment)} (tracking {shipment.tracking or '-'}) came back on {on.isoformat()}; " \
           "the request is open for a new attempt"
    if note.strip():
        text += f": {note.strip()}"
    return correct_entry(database, release[0], note=text, actor=actor, station=station).seq
