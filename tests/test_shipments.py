"""Shipments on SQLite and PostgreSQL: idempotent creation, postal events, returns (R13, R16)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from mediastation.domain.delivery import ShipmentContents
from mediastation.domain.policy import ReleasePolicy
from mediastation.errors import InputError, NotFoundError
from mediastation.store import Database
from mediastation.store.disclosures import DisclosureLog
from mediastation.store.requests import RequestRepository
from mediastation.workflows import shipments as flows
from mediastation.workflows.requests import add_request, record_release
from support.cli import EXAMPLES

ADDRESS = {"name": "Mehiläinen Töölö, ortopedia", "street": "Runeberginkatu 47 A", "postal_code": "00260",
           "city": "Helsinki", "country": "FI"}
TRACKING = "RR123456785FI"


def released_request(database: Database) -> str:
    added = add_request(database, (EXAMPLES / "requests/release_cd.json").read_bytes(), ReleasePolicy(),
                        actor="desk", station="test station")
    assert added.checked.decision.decision == "release"
    return added.request_id


def test_a_retried_export_finds_its_shipment(database: Database) -> None:
    first = flows.create_shipment(database, request_id="R-1", recipient=ADDRESS,
                                  contents=ShipmentContents(("M2", "M1"), ("HUS1",)), actor="export")
    again = flows.create_shipment(database, request_id="R-1", recipient=ADDRESS,
                                  contents=ShipmentContents(("M1", "M2"), ("HUS1",)), actor="export")
    other = flows.create_shipment(database, request_id="R-1", recipient=ADDRESS,
                                  contents=ShipmentContents(("M3",)), actor="export")
    assert first == again and other != first
    assert [s.shipment_id for s in flows.list_shipments(database)] == [first, other]
    shipment = flows.get_shipment(database, first)
    assert shipment.state == "prepared" and [e.to_state for e in shipment.events] == ["prepared"]


def test_a_bad_address_is_refused(database: Database) -> None:
    with pytest.raises(InputError, match="lacks street"):
        flows.create_shipment(database, request_id="R-1", recipient={"name": "X", "postal_code": "00100",
                                                                     "city": "Helsinki"},
                              contents=ShipmentContents(("M1",)), actor="export")


def test_post_then_deliver_records_every_change(database: Database) -> None:
    sid = flows.create_shipment(database, request_id="R-1", recipient=ADDRESS, contents=ShipmentContents(("M1",)),
                                actor="export", on=date(2026, 12, 17))
    posted = flows.post(database, sid, on=date(2026, 12, 18), tracking="rr 123456785 fi", actor="postroom")
    assert posted.changed and posted.shipment.tracking == TRACKING
    assert posted.shipment.due_on == date(2026, 12, 25)  # R16: posted + 7 days, Christmas Day or not
    assert flows.post(database, sid, on=date(2026, 12, 18), tracking=TRACKING, actor="postroom").changed is False
    with pytest.raises(flows.ShipmentRefused, match="cannot become posted"):
        flows.post(database, sid, on=date(2026, 12, 18), tracking="RR000009000FI", actor="postroom")
    with pytest.raises(flows.ShipmentRefused, match="before the posting"):
        flows.delivered(database, sid, on=date(2026, 12, 17), actor="desk")
    with pytest.raises(flows.ShipmentRefused, match="cannot be cancelled"):
        flows.cancel(database, sid, on=date(2026, 12, 19), actor="desk")
    done = flows.delivered(database, sid, on=date(2026, 12, 22), actor="desk", note="signed for")
    events = [(e.from_state, e.to_state, e.on, e.actor) for e in done.shipment.events]
    assert events == [(None, "prepared", date(2026, 12, 17), "export"),
                      ("prepared", "posted", date(2026, 12, 18), "postroom"),
                      ("posted", "delivered", date(2026, 12, 22), "desk")]
    assert done.shipment.events[-1].note == "signed for"
    with pytest.raises(flows.ShipmentRefused, match="final"):
        flows.lost(database, sid, on=date(2026, 12, 23), actor="desk")


def test_a_wrong_tracking_code_changes_nothing(database: Database) -> None:
    sid = flows.create_shipment(database, request_id="R-1", recipient=ADDRESS, contents=ShipmentContents(("M1",)),
                                actor="export")
    with pytest.raises(InputError, match="check digit"):
        flows.post(database, sid, on=date(2026, 12, 18), tracking="RR123456784FI", actor="postroom")
    assert flows.get_shipment(database, sid).state == "prepared"
    with pytest.raises(NotFoundError):
        flows.post(database, "S-NONE-XXXX", on=date(2026, 12, 18), tracking=TRACKING, actor="postroom")


def test_overdue_shipments_are_those_on_their_way_past_the_due_date(database: Database) -> None:
    ids = [flows.create_shipment(database, request_id=f"R-{n}", recipient=ADDRESS,
                                 contents=ShipmentContents((f"M{n}",)), actor="export", on=date(2026, 12, 17))
           for n in range(4)]
    for sid, tracking in zip(ids[:3], (TRACKING, "RR123456799FI", "JJFI65432100000012345")):
        flows.post(database, sid, on=date(2026, 12, 18), tracking=tracking, actor="postroom")
    flows.delivered(database, ids[1], on=date(2026, 12, 28), actor="desk")
    flows.lost(database, ids[2], on=date(2026, 12, 28), actor="desk")
    assert flows.list_shipments(database, overdue_on=date(2026, 12, 25)) == []
    assert [s.shipment_id for s in flows.list_shipments(database, overdue_on=date(2026, 12, 26))] == [ids[0]]


def test_a_return_reopens_the_request_and_notes_it_in_the_disclosure_log(database: Database) -> None:
    request_id = released_request(database)
    sid = flows.create_shipment(database, request_id=request_id, recipient=ADDRESS,
                                contents=ShipmentContents(("M1",), ("HUS223344", "HUS223390")), actor="export",
                                on=date(2026, 11, 26))
    release = record_release(database, request_id, actor="radiographer", station="test station", shipment_id=sid,
                             medium_id="M1")
    assert RequestRepository(database).get(request_id).state == "released"
    flows.post(database, sid, on=date(2026, 11, 27), tracking=TRACKING, actor="postroom")

    back = flows.returned(database, sid, on=date(2026, 12, 4), actor="postroom", station="test station",
                          note="recipient unknown")
    assert back.changed and back.shipment.state == "returned"
    assert RequestRepository(database).get(request_id).state == "open"
    log = DisclosureLog(database)
    entries = log.for_request(request_id)
    assert [e.seq for e in entries] == [release.seq, back.disclosure_seq]
    note = json.loads(entries[-1].content_json)
    assert note["correction_of"] == release.seq
    assert note["note"].startswith(f"returned by post: shipment {sid}") and "recipient unknown" in note["note"]
    assert note["patient"]["hetu"] == "131052-308T" and note["released"][0]["accession_number"] == "HUS223344"
    assert log.verify().ok

    again = flows.returned(database, sid, on=date(2026, 12, 4), actor="postroom", station="test station")
    assert not again.changed and again.disclosure_seq == back.disclosure_seq
    assert len(log.for_request(request_id)) == 2


def test_a_return_without_a_logged_release_still_reopens_the_request(database: Database) -> None:
    request_id = released_request(database)
    RequestRepository(database).set_state(request_id, "released")
    sid = flows.create_shipment(database, request_id=request_id, recipient=ADDRESS,
                                contents=ShipmentContents(("M1",)), actor="export", on=date(2026, 11, 26))
    flows.post(database, sid, on=date(2026, 11, 27), tracking=TRACKING, actor="postroom")
    back = flows.returned(database, sid, on=date(2026, 12, 4), actor="postroom", station="s")
    assert back.disclosure_seq is None and RequestRepository(database).get(request_id).state == "open"


def test_a_posting_before_the_shipment_existed_is_refused(database: Database) -> None:
    """A posting dated before the export made the media would make the shipment overdue at once."""
    sid = flows.create_shipment(database, request_id="R-1", recipient=ADDRESS, contents=ShipmentContents(("M1",)),
                                actor="export", on=date(2026, 12, 1))
    with pytest.raises(flows.ShipmentRefused, match="before the shipment was prepared on 2026-12-01"):
        flows.post(database, sid, on=date(2026, 11, 1), tracking=TRACKING, actor="postroom")
    assert flows.get_shipment(database, sid).state == "prepared"
    assert flows.post(database, sid, on=date(2026, 12, 1), tracking=TRACKING, actor="postroom").changed


def test_one_tracking_code_tracks_one_shipment(database: Database) -> None:
    first, second = (flows.create_shipment(database, request_id="R-1", recipient=ADDRESS,
                                           contents=ShipmentContents((medium,)), actor="export", on=date(2026, 12, 1))
                     for medium in ("M1", "M2"))
    flows.post(database, first, on=date(2026, 12, 2), tracking=TRACKING, actor="postroom")
    with pytest.raises(flows.ShipmentRefused, match=f"{TRACKING} is already on shipment {first}"):
        flows.post(database, second, on=date(2026, 12, 2), tracking="rr 123456785 fi", actor="postroom")
    assert flows.get_shipment(database, second).state == "prepared"
