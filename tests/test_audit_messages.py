"""DICOM audit messages (PS3.15 A.5): every event the station sends validates against the standard's
schema (tests/audit/dicom-audit-message.rnc) and names the right event, participants and patient."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from mediastation.audit import messages as m
from mediastation.audit.syslog import syslog_message
from support.audit_schema import schema_errors
from support.rsyslog import parse_frame

SOURCE = m.AuditSource(station="HUS Meilahti media station", ae_title="MEDIASTATION", host="ms1.hus.example")
WHEN = datetime(2026, 12, 7, 10, 15, 30, tzinfo=timezone.utc)
HETU = "010594Y9032"
STUDY = m.StudyRef(uid="1.2.826.0.1.3680043.8.498.1", accession="HUS123456", description="TT VATSA",
                   sop_classes=(m.SopClassCount("1.2.840.10008.5.1.4.1.1.2", 120),))


def _events() -> dict[str, m.AuditEvent]:
    entry = m.log_entry(7, "ab" * 32)
    return {
        "export": m.export(SOURCE, when=WHEN, actor="Liisa Virtanen", medium="cd", media_ids=["HUS123456_1"],
                           recipient="Terveystalo Kamppi", hetu=HETU, patient_name="Mäkelä^Aino", studies=[STUDY],
                           accessions=["HUS123456"], entry=entry),
        "import": m.instances_transferred(SOURCE, when=WHEN, action="C", actor="importer", destination="ORTHANC",
                                          destination_host="pacs.hus.example", hetu=HETU, patient_name="Mäkelä^Aino",
                                          studies=[STUDY]),
        "query": m.query(SOURCE, when=WHEN, archive_ae="HUSPACS", archive_host="pacs.hus.example",
                         identifier=b"\x08\x00\x50\x00", hetu=HETU, actor="Liisa Virtanen"),
        "alert": m.security_alert(SOURCE, when=WHEN, actor="tester", subject="sqlite:///x.db#disclosures",
                                  alert="first bad entry 2: <edited> & more"),
        "refused": m.destination_refused(SOURCE, when=WHEN, actor="Liisa Virtanen", node="STRANGER@10.0.0.9:104",
                                         hetu=HETU, alert="the request names a DICOM node nobody configured"),
        "start": m.application_activity(SOURCE, when=WHEN, started=True, launcher="root", application="worker"),
        "signin": m.user_authentication(SOURCE, when=WHEN, user="liisa", login=True, client="10.0.0.5"),
        "lockout": m.user_authentication(SOURCE, when=WHEN, user="liisa", login=True, outcome=m.SERIOUS_FAILURE,
                                         description="locked out after 5 failed sign-ins"),
        "signout": m.user_authentication(SOURCE, when=WHEN, user="liisa", login=False),
        "amended": m.log_amended(SOURCE, when=WHEN, actor="postroom", hetu=HETU, note="returned by post", entry=entry),
    }


@pytest.mark.parametrize("name", list(_events()))
def test_every_event_validates_against_the_schema(name: str) -> None:
    xml = _events()[name].to_xml()
    assert schema_errors(xml) == [], xml


def test_the_schema_refuses_what_it_should() -> None:
    """The validator is no rubber stamp: an unknown action code and a participant without UserID fail."""
    xml = _events()["export"].to_xml()
    assert schema_errors(xml.replace('EventActionCode="R"', 'EventActionCode="X"'))
    assert schema_errors(xml.replace('UserID="Liisa Virtanen" ', ""))


def _event_id(root: ET.Element) -> str:
    return root.find("EventIdentification/EventID").get("csd-code")


def _roles(root: ET.Element) -> dict[str, str]:
    return {p.find("RoleIDCode").get("csd-code"): p.get("UserID") for p in root.findall("ActiveParticipant")
            if p.find("RoleIDCode") is not None}


def _patient(root: ET.Element) -> str:
    (patient,) = [o for o in root.findall("ParticipantObjectIdentification") if o.get("ParticipantObjectTypeCodeRole") == "1"]
    return patient.get("ParticipantObjectID")


def test_export_names_the_operator_the_station_the_medium_the_patient_and_the_log_entry() -> None:
    root = ET.fromstring(_events()["export"].to_xml())
    assert _event_id(root) == "110106" and root.find("EventIdentification").get("EventActionCode") == "R"
    requestor = [p for p in root.findall("ActiveParticipant") if p.get("UserIsRequestor") == "true"]
    assert [p.get("UserID") for p in requestor] == ["Liisa Virtanen"]
    assert _roles(root) == {"110153": "MEDIASTATION", "110154": "HUS123456_1"}
    media = root.find("ActiveParticipant/MediaIdentifier/MediaType")
    assert (media.get("csd-code"), media.get("originalText")) == ("110032", "CD")
    assert root.find("AuditSourceIdentification").get("AuditSourceID") == SOURCE.station
    assert _patient(root) == HETU
    studies = [o for o in root.findall("ParticipantObjectIdentification") if o.get("ParticipantObjectTypeCodeRole") == "3"]
    assert [s.get("ParticipantObjectID") for s in studies] == [STUDY.uid]
    assert studies[0].find("ParticipantObjectDescription/SOPClass").get("NumberOfInstances") == "120"
    detail = root.find(f".//ParticipantObjectDetail[@type='{m.LOG_ANCHOR_DETAIL}']")
    assert base64.b64decode(detail.get("value")).decode() == "7:" + "ab" * 32


def test_import_query_alert_and_activity_name_their_event_and_participants() -> None:
    events = {name: ET.fromstring(event.to_xml()) for name, event in _events().items()}
    assert _event_id(events["import"]) == "110104" and _roles(events["import"]) == {"110153": "MEDIASTATION",
                                                                                   "110152": "ORTHANC"}
    assert _patient(events["import"]) == HETU
    assert _event_id(events["query"]) == "110112"
    query = events["query"].find("ParticipantObjectIdentification/ParticipantObjectQuery")
    assert base64.b64decode(query.text) == b"\x08\x00\x50\x00"
    alert = events["alert"]
    assert _event_id(alert) == "110113" and alert.find("EventIdentification").get("EventOutcomeIndicator") == "8"
    assert "first bad entry 2" in alert.find("EventIdentification/EventOutcomeDescription").text
    start = events["start"]
    assert _event_id(start) == "110100"
    assert start.find("EventIdentification/EventTypeCode").get("csd-code") == "110120"


def test_user_authentication_sign_in_failure_lock_out_and_sign_out() -> None:
    signin, lockout, signout = (ET.fromstring(_events()[n].to_xml()) for n in ("signin", "lockout", "signout"))
    for root in (signin, lockout, signout):
        assert _event_id(root) == "110114"
        person = root.find("ActiveParticipant")
        assert (person.get("UserID"), person.get("UserIsRequestor")) == ("liisa", "true")
    assert signin.find("EventIdentification/EventTypeCode").get("csd-code") == "110122"
    assert signin.find("ActiveParticipant").get("NetworkAccessPointID") == "10.0.0.5"
    assert lockout.find("EventIdentification").get("EventOutcomeIndicator") == "8"
    assert signout.find("EventIdentification/EventTypeCode").get("csd-code") == "110123"


def test_syslog_message_is_rfc5424_with_the_ihe_msgid() -> None:
    xml = _events()["export"].to_xml()
    frame = syslog_message(xml, when=WHEN, hostname="ms1.hus.example", procid="4242")
    received = parse_frame(frame)
    assert received.pri == 85 and received.msgid == "IHE+RFC-3881"  # facility 10 (authpriv), notice
    assert (received.timestamp, received.hostname, received.procid) == ("2026-12-07T10:15:30.000Z", "ms1.hus.example",
                                                                       "4242")
    assert frame.split(" - ", 1)[1].startswith("\ufeff<AuditMessage") and received.xml == xml
    assert "\n" not in frame
