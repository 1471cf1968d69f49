"""DICOM audit messages (PS3.15 Annex A.5) as XML: typed values in, one AuditMessage document out.

The element order and the attribute values follow the audit message schema (PS3.15 A.5.1.1; the
tests validate every message against it, tests/audit/dicom-audit-message.rnc). The events and
their participants follow PS3.15 A.5.3: Application Activity (A.5.3.1), DICOM Instances
Transferred (A.5.3.7), Export (A.5.3.5), Query (A.5.3.10), Security Alert (A.5.3.11) and User
Authentication (A.5.3.12); codes are DICOM's (PS3.16, scheme "DCM") or RFC 3881's value sets.
Nothing here does I/O.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone


@dataclass(frozen=True)
class Code:
    """A coded value: csd-code, codeSystemName and originalText (the code meaning)."""

    code: str
    meaning: str
    system: str = "DCM"


# EventID (PS3.16 CID 400)
APPLICATION_ACTIVITY = Code("110100", "Application Activity")
AUDIT_LOG_USED = Code("110101", "Audit Log Used")
INSTANCES_TRANSFERRED = Code("110104", "DICOM Instances Transferred")
EXPORT = Code("110106", "Export")
QUERY = Code("110112", "Query")
SECURITY_ALERT = Code("110113", "Security Alert")
USER_AUTHENTICATION = Code("110114", "User Authentication")
# EventTypeCode (CID 401, 403, 404)
APPLICATION_START = Code("110120", "Application Start")
APPLICATION_STOP = Code("110121", "Application Stop")
LOGIN = Code("110122", "Login")
LOGOUT = Code("110123", "Logout")
SECURITY_CONFIGURATION = Code("110129", "Security Configuration")
USE_OF_RESTRICTED_FUNCTION = Code("110132", "Use of Restricted Function")
# RoleIDCode (CID 402)
APPLICATION = Code("110150", "Application")
APPLICATION_LAUNCHER = Code("110151", "Application Launcher")
DESTINATION = Code("110152", "Destination Role ID")
SOURCE = Code("110153", "Source Role ID")
DESTINATION_MEDIA = Code("110154", "Destination Media")
# MediaType (CID 405)
MEDIA_TYPES = {"usb": Code("110030", "USB Disk Emulation"), "cd": Code("110032", "CD"),
               "dvd": Code("110033", "DVD"), "dvd-dl": Code("110033", "DVD")}
# ParticipantObjectIDTypeCode (RFC 3881 value set and CID 404)
PATIENT_NUMBER = Code("2", "Patient Number", "RFC-3881")
URI = Code("12", "URI", "RFC-3881")
STUDY_INSTANCE_UID = Code("110180", "Study Instance UID")
SOP_CLASS_UID = Code("110181", "SOP Class UID")
NODE_ID = Code("110182", "Node ID")
# The station's own identifier type for a disclosure log entry and its chain value (the repository's
# anchor of the log, mediastation/audit/anchors.py). PS3.15 A.5.1 allows local code systems.
LOG_ENTRY = Code("disclosure-log-entry", "Disclosure log entry (luovutusloki)", "mediastation")
LOG_ANCHOR_DETAIL = "DisclosureLogChainValue"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"

SUCCESS, MINOR_FAILURE, SERIOUS_FAILURE, MAJOR_FAILURE = "0", "4", "8", "12"


@dataclass(frozen=True)
class Participant:
    """An ActiveParticipant: a person, process or medium taking part in the event."""

    user_id: str
    requestor: bool
    roles: tuple[Code, ...] = ()
    user_name: str | None = None
    alternative_user_id: str | None = None
    access_point: str | None = None
    access_point_type: str = "1"  # 1 machine name, 2 IP address
    media_type: Code | None = None


@dataclass(frozen=True)
class SopClassCount:
    uid: str  # "" when only the count is known
    instances: int


@dataclass(frozen=True)
class ParticipantObject:
    """A ParticipantObjectIdentification: the patient, a study, a query, the log..."""

    object_id: str
    id_type: Code
    name: str | None = None  # the schema wants a name or a query
    query: bytes | None = None
    type_code: str | None = None  # 1 person, 2 system object
    role: str | None = None  # 1 patient, 3 report, 13 security resource, 24 query
    life_cycle: str | None = None
    details: tuple[tuple[str, bytes], ...] = ()
    accessions: tuple[str, ...] = ()
    sop_classes: tuple[SopClassCount, ...] = ()


@dataclass(frozen=True)
class AuditSource:
    """Who reports: the station (AuditSourceID), its AE title and host (its ActiveParticipant)."""

    station: str
    ae_title: str
    host: str
    site: str = "HUS"
    process: str = "mediastation"

    def participant(self, *, requestor: bool, roles: tuple[Code, ...] = ()) -> Participant:
        return Participant(user_id=self.ae_title, requestor=requestor, roles=roles, user_name=self.station,
                           alternative_user_id=self.process, access_point=self.host)


@dataclass(frozen=True)
class AuditEvent:
    event_id: Code
    action: str  # C R U D E
    when: datetime
    source: AuditSource
    participants: tuple[Participant, ...]
    objects: tuple[ParticipantObject, ...] = ()
    event_types: tuple[Code, ...] = ()
    outcome: str = SUCCESS
    outcome_description: str | None = None
    name: str = field(default="", compare=False)  # the outbox's short name of the event

    def to_xml(self) -> str:
        return to_xml(self)


def to_xml(event: AuditEvent) -> str:
    """The AuditMessage on one line (a syslog message is one line in most repositories' files)."""
    root = ET.Element("AuditMessage")
    ident = ET.SubElement(root, "EventIdentification", {
        "EventActionCode": event.action, "EventDateTime": _datetime(event.when),
        "EventOutcomeIndicator": event.outcome})
    _code(ident, "EventID", event.event_id)
    for code in event.event_types:
        _code(ident, "EventTypeCode", code)
    if event.outcome_description:
        ET.SubElement(ident, "EventOutcomeDescription").text = event.outcome_description
    for participant in event.participants:
        _participant(root, participant)
    source = ET.SubElement(root, "AuditSourceIdentification", {
        "AuditEnterpriseSiteID": event.source.site, "AuditSourceID": event.source.station})
    ET.SubElement(source, "AuditSourceTypeCode", {"csd-code": "4"})  # application server process
    for item in event.objects:
        _object(root, item)
    return ET.tostring(root, encoding="unicode")


def _datetime(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _code(parent: ET.Element, tag: str, code: Code) -> ET.Element:
    return ET.SubElement(parent, tag, {"csd-code": code.code, "codeSystemName": code.system,
                                       "originalText": code.meaning})


def _participant(root: ET.Element, p: Participant) -> None:
    attributes = {"UserID": p.user_id, "UserIsRequestor": "true" if p.requestor else "false"}
    if p.alternative_user_id:
        attributes["AlternativeUserID"] = p.alternative_user_id
    if p.user_name:
        attributes["UserName"] = p.user_name
    if p.access_point:
        attributes["NetworkAccessPointID"] = p.access_point
        attributes["NetworkAccessPointTypeCode"] = p.access_point_type
    element = ET.SubElement(root, "ActiveParticipant", attributes)
    for role in p.roles:
        _code(element, "RoleIDCode", role)
    if p.media_type is not None:
        _code(ET.SubElement(element, "MediaIdentifier"), "MediaType", p.media_type)


def _object(root: ET.Element, o: ParticipantObject) -> None:
    attributes = {"ParticipantObjectID": o.object_id}
    for key, value in (("ParticipantObjectTypeCode", o.type_code), ("ParticipantObjectTypeCodeRole", o.role),
                       ("ParticipantObjectDataLifeCycle", o.life_cycle)):
        if value:
            attributes[key] = value
    element = ET.SubElement(root, "ParticipantObjectIdentification", attributes)
    _code(element, "ParticipantObjectIDTypeCode", o.id_type)
    if o.query is not None:
        ET.SubElement(element, "ParticipantObjectQuery").text = base64.b64encode(o.query).decode("ascii")
    else:
        ET.SubElement(element, "ParticipantObjectName").text = o.name or o.object_id
    for kind, value in o.details:
        ET.SubElement(element, "ParticipantObjectDetail", {"type": kind, "value": base64.b64encode(value).decode("ascii")})
    if o.accessions or o.sop_classes:
        description = ET.SubElement(element, "ParticipantObjectDescription")
        for accession in o.accessions:
            ET.SubElement(description, "Accession", {"Number": accession})
        for sop in o.sop_classes:
            counted = {"UID": sop.uid} if sop.uid else {}  # the schema lets the class go unnamed
            ET.SubElement(description, "SOPClass", {**counted, "NumberOfInstances": str(sop.instances)})


# -- the participants and objects the events share --------------------------------------------

def person(name: str) -> Participant:
    """The signed-in person or the operator who asked for the event."""
    return Participant(user_id=name or "unknown", requestor=True, user_name=name or None)


def patient(hetu: str, name: str = "") -> ParticipantObject:
    """PS3.15 A.5.3: the patient as participant object, identified by the HETU."""
    return ParticipantObject(object_id=hetu, id_type=PATIENT_NUMBER, name=name or hetu, type_code="1", role="1")


@dataclass(frozen=True)
class StudyRef:
    """A study as the audit message names it: its UID, accession number and instances per SOP class."""

    uid: str
    accession: str = ""
    description: str = ""
    sop_classes: tuple[SopClassCount, ...] = ()


def study(ref: StudyRef, *, life_cycle: str | None = None) -> ParticipantObject:
    return ParticipantObject(object_id=ref.uid, id_type=STUDY_INSTANCE_UID, name=ref.description or ref.accession
                             or ref.uid, type_code="2", role="3", life_cycle=life_cycle,
                             accessions=(ref.accession,) if ref.accession else (), sop_classes=ref.sop_classes)


def log_entry(seq: int, chain_value: str) -> ParticipantObject:
    """The disclosure log entry and its chain value: the repository's anchor of the log."""
    return ParticipantObject(object_id=str(seq), id_type=LOG_ENTRY, name="luovutusloki / disclosure log",
                             type_code="2", role="13",
                             details=((LOG_ANCHOR_DETAIL, f"{seq}:{chain_value}".encode("ascii")),))


# -- the events ----------------------------------------------------------------------------------

def export(source: AuditSource, *, when: datetime, actor: str, medium: str, media_ids: Sequence[str],
           recipient: str, hetu: str, patient_name: str, studies: Sequence[StudyRef], accessions: Sequence[str],
           entry: ParticipantObject | None) -> AuditEvent:
    """PS3.15 A.5.3.5 Export: data written to media that leave the station (R13's disclosure)."""
    media = Participant(user_id=",".join(media_ids) or medium, requestor=False, roles=(DESTINATION_MEDIA,),
                        user_name=recipient or None, media_type=MEDIA_TYPES.get(medium))
    objects = [study(s, life_cycle="10") for s in studies]
    return AuditEvent(EXPORT, "R", when, source,
                      (person(actor), source.participant(requestor=False, roles=(SOURCE,)), media),
                      (_subject(hetu, patient_name, studies, accessions), *objects, *([entry] if entry else [])),
                      name="export")


def _subject(hetu: str, name: str, studies: Sequence[StudyRef], accessions: Sequence[str]) -> ParticipantObject:
    """The patient; released studies known only by accession number (a release made elsewhere and
    recorded with `log record`) are named in the patient's description."""
    known = {s.accession for s in studies}
    missing = tuple(a for a in accessions if a and a not in known)
    return replace(patient(hetu, name), accessions=missing)


def instances_transferred(source: AuditSource, *, when: datetime, action: str, actor: str,
                          destination: str, destination_host: str, hetu: str, patient_name: str,
                          studies: Sequence[StudyRef], accessions: Sequence[str] = (), outcome: str = SUCCESS,
                          description: str | None = None, entry: ParticipantObject | None = None) -> AuditEvent:
    """PS3.15 A.5.3.7 DICOM Instances Transferred: `action` C when the instances were new at the
    destination (an import's store), R when they were read and sent on (an electronic release)."""
    receiver = Participant(user_id=destination, requestor=False, roles=(DESTINATION,),
                           access_point=destination_host or None)
    return AuditEvent(INSTANCES_TRANSFERRED, action, when, source,
                      (person(actor), source.participant(requestor=False, roles=(SOURCE,)), receiver),
                      (_subject(hetu, patient_name, studies, accessions), *(study(s) for s in studies),
                       *([entry] if entry else [])),
                      outcome=outcome, outcome_description=description, name="instances-transferred")


def query(source: AuditSource, *, when: datetime, archive_ae: str, archive_host: str, identifier: bytes,
          outcome: str = SUCCESS, description: str | None = None, hetu: str | None = None,
          sop_class: str = STUDY_ROOT_FIND, actor: str | None = None) -> AuditEvent:
    """PS3.15 A.5.3.10 Query: a C-FIND to the archive, the identifier as sent (base64); `actor`, the
    person whose work asked (the optional Human Requestor), `hetu` the patient it was asked for."""
    archive = Participant(user_id=archive_ae, requestor=False, roles=(DESTINATION,), access_point=archive_host)
    asked = ParticipantObject(object_id=sop_class, id_type=SOP_CLASS_UID, query=identifier, type_code="2",
                              role="3", details=(("TransferSyntax", EXPLICIT_VR_LITTLE_ENDIAN.encode("ascii")),))
    objects = (asked, patient(hetu)) if hetu else (asked,)
    people = (person(actor),) if actor else ()
    return AuditEvent(QUERY, "E", when, source,
                      (source.participant(requestor=True, roles=(SOURCE,)), archive, *people),
                      objects, outcome=outcome, outcome_description=description, name="query")


def security_alert(source: AuditSource, *, when: datetime, actor: str, subject: str, alert: str,
                   outcome: str = SERIOUS_FAILURE, subject_type: Code = URI,
                   event_type: Code = SECURITY_CONFIGURATION, hetu: str | None = None) -> AuditEvent:
    """PS3.15 A.5.3.11 Security Alert, e.g. a disclosure log that failed its verification; the
    alert subject is the protected object (a URI, or the node a release was refused for), its
    description the finding; `hetu`: the patient whose data it concerned."""
    item = ParticipantObject(object_id=subject, id_type=subject_type, name=subject, type_code="2", role="13",
                             details=(("Alert Description", alert.encode("utf-8")),))
    return AuditEvent(SECURITY_ALERT, "E", when, source,
                      (person(actor), source.participant(requestor=False, roles=(APPLICATION,))),
                      (item, patient(hetu)) if hetu else (item,),
                      event_types=(event_type,), outcome=outcome, outcome_description=alert[:1000],
                      name="security-alert")


def destination_refused(source: AuditSource, *, when: datetime, actor: str, node: str, hetu: str,
                        alert: str) -> AuditEvent:
    """A release refused because it named a DICOM node nobody configured (R6): a Security Alert
    (Use of Restricted Function, outcome 4: the attempt failed), the node as its subject (Node ID)."""
    return security_alert(source, when=when, actor=actor, subject=node, alert=alert, outcome=MINOR_FAILURE,
                          subject_type=NODE_ID, event_type=USE_OF_RESTRICTED_FUNCTION, hetu=hetu)


def application_activity(source: AuditSource, *, when: datetime, started: bool, launcher: str,
                         application: str) -> AuditEvent:
    """PS3.15 A.5.3.1 Application Activity: a station process (the worker, the desk) started or stopped."""
    app = Participant(user_id=source.ae_title, requestor=False, roles=(APPLICATION,), user_name=application,
                      alternative_user_id=source.process, access_point=source.host)
    by = Participant(user_id=launcher or "unknown", requestor=True, roles=(APPLICATION_LAUNCHER,))
    return AuditEvent(APPLICATION_ACTIVITY, "E", when, source, (app, by),
                      event_types=(APPLICATION_START if started else APPLICATION_STOP,), name="application-activity")


def user_authentication(source: AuditSource, *, when: datetime, user: str, login: bool, outcome: str = SUCCESS,
                        client: str | None = None, description: str | None = None) -> AuditEvent:
    """PS3.15 A.5.3.12 User Authentication: a desk sign-in (outcome 0), a failed one (4), a lock-out
    after too many (8), or a sign-out. `client`: where the person signed in from."""
    who = Participant(user_id=user or "unknown", requestor=True, user_name=user or None, access_point=client,
                      access_point_type="2")
    node = source.participant(requestor=False, roles=(APPLICATION,))
    return AuditEvent(USER_AUTHENTICATION, "E", when, source, (who, node),
                      event_types=(LOGIN if login else LOGOUT,), outcome=outcome, outcome_description=description,
                      name="user-authentication")


def log_amended(source: AuditSource, *, when: datetime, actor: str, hetu: str, note: str,
                entry: ParticipantObject) -> AuditEvent:
    """A log entry that releases nothing (a correction, a re-sealing): Audit Log Used (A.5.3.2) with
    action U, the log amended; it still carries the entry's chain value to the repository."""
    objects = (patient(hetu), entry) if hetu else (entry,)
    return AuditEvent(AUDIT_LOG_USED, "U", when, source,
                      (person(actor), source.participant(requestor=False, roles=(APPLICATION,))), objects,
                      outcome_description=note[:1000] or None, name="log-amended")
