"""Audit messages of the work with real peers: a real Orthanc as the archive (tests/support/orthanc.py)
and a private rsyslog over TLS as the audit repository (tests/support/rsyslog.py). The C-FINDs of an
export and an import's look-up of the patient by HETU (Query, PS3.15 A.5.3.10), an import's store
(DICOM Instances Transferred, A.5.3.7) and a release refused because it names a DICOM node nobody configured (Security Alert, A.5.3.11, rule R6):
each validates against the schema and names its participants and the patient's HETU."""

from __future__ import annotations

import base64
import json
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset

from support.audit_schema import event, parsed
from support.cli import run, run_json
from support.orthanc import OrthancServer
from support.outside_media import outside_study
from support.rsyslog import Rsyslog, audit_ca, configure_audit, repository  # noqa: F401 (fixtures)
from support.synthetic import make_study

HETU = "010594Y9032"
NAME = "Mäkelä^Aino"
OPERATOR = "Liisa Virtanen"
ENV = {"MEDIASTATION_USER": OPERATOR}
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"


def _home(tmp_path: Path, archive: OrthancServer, repository: Rsyslog, release: str = "") -> Path:
    """A station whose [archive] is `archive` (its storage commitment answered on the station port
    the archive knows) and whose [audit] is `repository`."""
    home = tmp_path / "home"
    assert run("init", "--archive-host", archive.host, "--archive-port", str(archive.dicom_port), "--archive-ae",
               archive.ae_title, home=home).returncode == 0
    config = home / "station.toml"
    text = re.sub(r"(?m)^port = \d+(\s+# our listening)", rf"port = {archive.station_port}\1",
                  config.read_text(encoding="utf-8"))
    config.write_text(text.replace("[release]", "[release]\n" + release, 1), encoding="utf-8")
    configure_audit(home, repository)
    return home


def _add_request(home: Path, tmp_path: Path, accession: str, **changes: Any) -> dict[str, Any]:
    request = {
        "received_at": "2026-11-26T09:12:00+02:00", "patient": {"name": NAME, "hetu": HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": OPERATOR},
        "requester": {"unit": "Jorvin sairaala", "person": OPERATOR},
        "basis": {"kind": "consent", "reference": "HUS suostumus 2026-0042"},
        "destination": {"kind": "service_provider", "name": "Terveystalo Kamppi", "participates_in_care": True,
                        "address": {"name": "Terveystalo Kamppi", "street": "Jaakonkatu 3", "postal_code": "00100",
                                    "city": "Helsinki"}},
        "channel": "usb",
        "studies": [{"accession_number": accession, "study_description": "TT VATSA",
                     "study_datetime": "2026-11-20T10:31:00"}],
        **changes,
    }
    path = tmp_path / f"request-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    return run_json("request", "add", str(path), home=home)


def _messages(repository: Rsyslog, count: int) -> list[ET.Element]:
    return [parsed(message) for message in repository.messages(count=count)]


def _people(root: ET.Element) -> dict[str, tuple[str, set[str], str | None]]:
    """UserID -> (UserIsRequestor, its role codes, its network access point)."""
    return {p.get("UserID"): (p.get("UserIsRequestor"), {r.get("csd-code") for r in p.findall("RoleIDCode")},
                              p.get("NetworkAccessPointID")) for p in root.findall("ActiveParticipant")}


def _objects(root: ET.Element, role: str) -> list[ET.Element]:
    return [o for o in root.findall("ParticipantObjectIdentification") if o.get("ParticipantObjectTypeCodeRole") == role]


def _patient(root: ET.Element) -> str:
    (patient,) = _objects(root, "1")
    assert patient.get("ParticipantObjectTypeCode") == "1"
    assert patient.find("ParticipantObjectIDTypeCode").get("csd-code") == "2"  # Patient Number
    return patient.get("ParticipantObjectID")


def test_an_exports_c_find_to_the_archive_is_a_query_message(tmp_path: Path, orthanc: OrthancServer,
                                                              repository: Rsyslog) -> None:
    accession = f"AQ{uuid.uuid4().hex[:8].upper()}"
    info = make_study(tmp_path / "study", modality="CT", images=2, patient_name=NAME, patient_id=HETU,
                      accession=accession, study_description="TT VATSA", study_datetime=datetime(2026, 11, 20, 10, 31),
                      rows=32, cols=32)
    orthanc.store(list(info.files))
    home = _home(tmp_path, orthanc, repository)
    request_id = _add_request(home, tmp_path, accession)["request_id"]
    document = run_json("export", request_id, "--to", str(tmp_path / "out"), "--mkdir", home=home, env=ENV,
                        timeout=300)
    assert document["state"] == "done"
    roots = _messages(repository, 3)
    # the C-FIND by accession number, the one by Study Instance UID before the C-GET, then the medium
    assert [event(r) for r in roots] == ["110112", "110112", "110106"]
    for query in roots[:2]:
        assert _patient(query) == HETU
    query = roots[0]
    ident = query.find("EventIdentification")
    assert (ident.get("EventActionCode"), ident.get("EventOutcomeIndicator")) == ("E", "0")
    assert ident.find("EventOutcomeDescription").text == "1 match(es)"
    people = _people(query)
    assert set(people) == {"MEDIASTATION", orthanc.ae_title, OPERATOR}
    assert people["MEDIASTATION"][:2] == ("true", {"110153"})  # the process issuing the query
    assert people[orthanc.ae_title] == ("false", {"110152"}, orthanc.host)  # the one answering it
    assert people[OPERATOR][:2] == ("true", set())  # the person whose export asked
    (asked,) = _objects(query, "3")
    assert asked.get("ParticipantObjectID") == STUDY_ROOT_FIND
    identifier = read_dataset(DicomBytesIO(base64.b64decode(asked.find("ParticipantObjectQuery").text)),
                              is_implicit_VR=False, is_little_endian=True)
    assert (identifier.QueryRetrieveLevel, identifier.AccessionNumber) == ("STUDY", accession)


def test_an_imports_store_is_a_dicom_instances_transferred_message(tmp_path: Path, orthanc: OrthancServer,
                                                                    repository: Rsyslog) -> None:
    medium = tmp_path / "medium"
    outside = outside_study(medium, "DICOM/ST1", images=3, accession=f"JOR{uuid.uuid4().hex[:6]}")
    home = _home(tmp_path, orthanc, repository)
    (group,) = run_json("import", "scan", str(medium), home=home)["patients"]
    document = run_json("import", "run", str(medium), "--map", f"{group['key']}={HETU}", "--name",
                        f"{group['key']}={NAME}", "--operator", OPERATOR, home=home, timeout=300)
    assert document["state"] == "done" and document["counts"]["imported"] == 3
    lookup, root = _messages(repository, 2)
    # the reconcile's look-up of the local patient by HETU (R-C2), a Patient Root C-FIND
    assert event(lookup) == "110112" and _patient(lookup) == HETU
    assert lookup.find("EventIdentification").get("EventOutcomeIndicator") == "0"
    people = _people(lookup)
    assert people[OPERATOR][:2] == ("true", set())
    assert people["MEDIASTATION"][:2] == ("true", {"110153"})
    assert people[orthanc.ae_title] == ("false", {"110152"}, orthanc.host)
    (asked,) = _objects(lookup, "3")
    assert asked.get("ParticipantObjectID") == PATIENT_ROOT_FIND
    identifier = read_dataset(DicomBytesIO(base64.b64decode(asked.find("ParticipantObjectQuery").text)),
                              is_implicit_VR=False, is_little_endian=True)
    assert (identifier.QueryRetrieveLevel, identifier.PatientID) == ("PATIENT", HETU)
    assert event(root) == "110104"
    ident = root.find("EventIdentification")
    assert (ident.get("EventActionCode"), ident.get("EventOutcomeIndicator")) == ("C", "0")  # new at the archive
    people = _people(root)
    assert people[OPERATOR][:2] == ("true", set())
    assert people["MEDIASTATION"][:2] == ("false", {"110153"})
    assert people[orthanc.ae_title] == ("false", {"110152"}, orthanc.host)
    assert _patient(root) == HETU
    (study,) = _objects(root, "3")
    assert study.get("ParticipantObjectID") == outside.info.study_instance_uid
    assert study.find("ParticipantObjectDescription/SOPClass").get("NumberOfInstances") == "3"
    assert len(repository.messages(count=3, timeout=1.0)) == 2  # one store message for the import, not one per instance


def test_a_release_to_a_node_nobody_configured_is_a_security_alert(tmp_path: Path, orthanc: OrthancServer,
                                                                    repository: Rsyslog) -> None:
    configured = ('[[release.electronic_destinations]]\nname = "Terveystalo Kamppi"\n'
                  f'ae_title = "{orthanc.ae_title}"\nhost = "{orthanc.host}"\nport = {orthanc.dicom_port}\n')
    home = _home(tmp_path, orthanc, repository, configured)
    stranger = {"ae_title": "STRANGER", "host": "127.0.0.1", "port": orthanc.dicom_port}
    added = _add_request(home, tmp_path, "NOTHING1", channel="auto",
                         destination={"kind": "service_provider", "name": "Terveystalo Kamppi",
                                      "participates_in_care": True, "dicom_node": stranger})
    assert added["channel"] == "electronic"
    refused = run("send", added["request_id"], "--json", home=home, env=ENV)
    assert refused.returncode == 1 and json.loads(refused.stdout)["error"]["reason"] == "unconfigured_node"
    (root,) = _messages(repository, 1)  # sent before the refused command exited
    assert event(root) == "110113"
    ident = root.find("EventIdentification")
    assert ident.find("EventTypeCode").get("csd-code") == "110132"  # Use of Restricted Function
    assert ident.get("EventOutcomeIndicator") == "4" and "STRANGER" in ident.find("EventOutcomeDescription").text
    assert _people(root)[OPERATOR][:2] == ("true", set())
    (subject,) = _objects(root, "13")
    assert subject.get("ParticipantObjectID") == f"STRANGER@127.0.0.1:{orthanc.dicom_port}"
    assert subject.find("ParticipantObjectIDTypeCode").get("csd-code") == "110182"  # Node ID
    assert _patient(root) == HETU
    assert run_json("jobs", "list", home=home)["jobs"] == []
