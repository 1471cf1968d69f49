"""Release requests from file to stored decision, and releases into the disclosure log (R10, R13).

The rules decide (domain.release); this module reads the file, asks the rules, stores the answer
and writes the log entry. It raises MediaStationError subclasses for whatever a user can get wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mediastation.domain.disclosure import StoredEntry
from mediastation.domain.matching import LookedUp, looked_up
from mediastation.domain.policy import ReleasePolicy
from mediastation.domain.release import Decision, decide
from mediastation.domain.request import ReleaseRequest, RequestInvalid, parse_request
from mediastation.errors import InputError, MediaStationError, NotFoundError, listing
from mediastation.store.db import Database
from mediastation.store.disclosures import DisclosureLog
from mediastation.store.models import ReleaseRequestRow
from mediastation.store.requests import NewRequest, RequestRepository


class InvalidRequestFile(InputError):
    """The request file is not a request: every problem with its field path."""

    code = "invalid_request"


@dataclass(frozen=True)
class CheckedRequest:
    request: ReleaseRequest
    decision: Decision


@dataclass(frozen=True)
class AddedRequest:
    request_id: str
    created: bool
    checked: CheckedRequest


def read_request_file(path: str) -> bytes:
    """The bytes of a request file (`-` = standard input); a missing file is the user's error."""
    import sys

    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read request file {path}: {exc.strerror or exc}") from None


def check_request(text: bytes | str, policy: ReleasePolicy, *, now: datetime | None = None) -> CheckedRequest:
    """Parse and decide; a request without `received_at` was received now (typed in at the desk)."""
    try:
        request = parse_request(text)
    except RequestInvalid as exc:
        raise InvalidRequestFile(
            listing("the request file is not valid", exc.problems),
            details={"problems": [{"path": p.path, "message": p.message} for p in exc.problems]},
        ) from None
    moment = now or datetime.now(timezone.utc)
    received = request.received_at or moment
    return CheckedRequest(request, decide(request, policy, received_at=received, now=moment))


def add_request(database: Database, text: bytes | str, policy: ReleasePolicy, *, actor: str,
                station: str, now: datetime | None = None) -> AddedRequest:
    """Decide and store; the same request (same content, however formatted) is stored once."""
    checked = check_request(text, policy, now=now)
    request, decision = checked.request, checked.decision
    received = request.received_at or now or datetime.now(timezone.utc)
    row, created = RequestRepository(database).add(NewRequest(
        content_hash=request.fingerprint(),
        received_at=received.isoformat(),
        patient_hetu=request.patient.hetu,
        patient_name=request.patient.name,
        destination=request.destination.name,
        decision=decision.decision,
        channel=decision.channel,
        request_json=json.loads(request.canonical_json()),
        decision_json=decision.to_json(),
        added_by=actor,
        station=station,
    ))
    stored = Decision.from_json(row.decision_json) if not created else decision
    return AddedRequest(row.request_id, created, CheckedRequest(request, stored))


def look_up_studies(database: Database, settings: Any, home: Path, accession_numbers: list[str], *, hetu: str,
                    name: str, actor: str) -> list[LookedUp]:
    """The archive's study under each accession number, for the request form before saving (the
    export later finds them the same way: workflows/retrieval.py). Each C-FIND is audited as a
    Query for `hetu` by `actor`; an archive that does not answer is a PacsError naming it."""
    from mediastation.workflows.audit_events import observe_queries
    from mediastation.workflows.retrieval import open_configured_archive

    archive = observe_queries(open_configured_archive(settings, home), database, hetu=hetu, actor=actor)
    wanted = list(dict.fromkeys(number.strip() for number in accession_numbers if number.strip()))
    return [looked_up(number, archive.find_studies(number), hetu, name) for number in wanted]


def request_document(row: ReleaseRequestRow, *, full: bool) -> dict[str, Any]:
    """A stored request as `request list` (full=False) and `request show` (full=True) print it."""
    document = {"request_id": row.request_id, "received_at": row.received_at, "patient_hetu": row.patient_hetu,
                "patient_name": row.patient_name, "destination": row.destination, "decision": row.decision,
                "channel": row.channel, "state": row.state, "added_by": row.added_by,
                "created_at": row.created_at.isoformat() if row.created_at else None}
    if full:
        document.update(request=row.request_json, decision_detail=row.decision_json)
    return document


def get_request(database: Database, request_id: str) -> ReleaseRequestRow:
    row = RequestRepository(database).get(request_id)
    if row is None:
        raise NotFoundError(f"no release request {request_id!r}; `mediastation request list` shows them")
    return row


def record_release(database: Database, request_id: str, *, actor: str, station: str,
                   channel: str | None = None, medium_id: str | None = None,
                   shipment_id: str | None = None, note: str = "", again: bool = False) -> StoredEntry:
    """Write the disclosure log entry of a release (R13) and mark the request released.

    Only a request whose decision is `release` can be released. Recording the same request twice
    needs `again` (a second copy is a second disclosure; a mistaken entry is corrected instead).
    """
    row = get_request(database, request_id)
    if row.decision != "release":
        raise MediaStationError(
            f"request {row.request_id} was decided '{row.decision}', not 'release': nothing may be released",
            details={"request_id": row.request_id, "decision": row.decision})
    log = DisclosureLog(database)
    if not again and log.for_request(row.request_id):
        raise MediaStationError(
            f"request {row.request_id} is already in the disclosure log; use --again for a second copy "
            "or `log correct` to correct an entry", details={"request_id": row.request_id})
    content = disclosure_content(row, actor=actor, station=station, channel=channel or row.channel,
                                 medium_id=medium_id, shipment_id=shipment_id, note=note)
    entry = log.append(content, patient_hetu=row.patient_hetu, request_id=row.request_id)
    RequestRepository(database).set_state(row.request_id, "released")
    return entry


def disclosure_content(row: ReleaseRequestRow, *, actor: str, station: str, channel: str | None,
                       medium_id: str | None, shipment_id: str | None, note: str) -> dict[str, Any]:
    """What R13 asks the log to hold: what, to whom, on what basis, by whom, through which channel."""
    request = row.request_json
    basis = request.get("basis", {})
    return {
        "patient": {"name": request["patient"].get("name", "")},
        "released": [
            {key: study.get(key) for key in ("accession_number", "study_description", "study_datetime", "register")}
            for study in request.get("studies", [])
        ],
        "recipient": {key: request["destination"].get(key) for key in ("kind", "name", "county", "address")},
        "requester": request.get("requester", {}),
        "basis": {"kind": basis.get("kind"), "reference": basis.get("reference", "")},
        "consent_reference": basis.get("reference", "") if basis.get("kind") == "consent" else "",
        "no_prohibition_confirmed_by": request.get("no_prohibition", {}).get("confirmed_by", ""),
        "channel": channel,
        "medium_id": medium_id,
        "shipment_id": shipment_id,
        "actor": actor,
        "station": station,
        "correction_of": None,
        "note": note,
    }


def correct_entry(database: Database, seq: int, *, note: str, actor: str, station: str) -> StoredEntry:
    """A correction is a new entry naming the one it corrects; the original stays as it was (R13)."""
    log = DisclosureLog(database)
    original = log.get(seq)
    if original is None:
        raise NotFoundError(f"no disclosure log entry {seq}")
    if not note.strip():
        raise InputError("a correction needs --note saying what was wrong")
    old = json.loads(original.content_json)
    content = {**{k: v for k, v in old.items() if k not in ("seq", "recorded_at")},
               "correction_of": seq, "note": note, "actor": actor, "station": station}
    return log.append(content, patient_hetu=original.patient_hetu, request_id=old.get("request_id"))


def entry_document(entry: StoredEntry) -> dict[str, Any]:
    return {**json.loads(entry.content_json), "entry_hash": entry.entry_hash}
