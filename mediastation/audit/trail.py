"""The station's audit trail: each event becomes a DICOM audit message in the outbox.

`AuditTrail` watches the disclosure log (`Database.audit`): every entry, whichever workflow appends
it, gets its message in the same transaction, carrying the entry's chain value so the repository
holds an anchor of the log. An export's entry becomes an Export message, an electronic release's a
DICOM Instances Transferred message, any other entry (a correction, a re-sealing) an Audit Log Used
message. The other events (an import's store, a C-FIND, a failed log verification, the worker's
start and stop, a desk sign-in) are recorded with `record`. With audit off (`[audit] host` empty)
nothing is recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from mediastation.audit import messages as m
from mediastation.audit.outbox import Outbox
from mediastation.audit.syslog import NOTICE, WARNING, syslog_message
from mediastation.domain.disclosure import StoredEntry
from mediastation.store.db import Database

MEDIA_CHANNELS = ("cd", "dvd", "dvd-dl", "usb")


@dataclass(frozen=True)
class ExportDetails:
    """What an export knows beyond its log entry: the studies as retrieved (UIDs, SOP classes)."""

    studies: tuple[m.StudyRef, ...] = ()


@dataclass
class AuditTrail:
    source: m.AuditSource
    enabled: bool = True
    app_name: str = "mediastation"
    recorded: list[str] = field(default_factory=list)  # event names recorded by this process

    # -- the disclosure log's observer (mediastation/store/disclosures.py) ----------------------

    def disclosure_appended(self, session: Session, entry: StoredEntry, event: Any) -> None:
        if not self.enabled:
            return
        self._add(session, disclosure_event(self.source, entry, event if isinstance(event, ExportDetails) else None))

    # -- any other event -----------------------------------------------------------------------

    def record(self, database: Database, event: m.AuditEvent, session: Session | None = None) -> None:
        """Into the outbox, in `session` when given (the transaction of what it describes)."""
        if not self.enabled:
            return
        if session is not None:
            self._add(session, event)
            return
        with database.session() as own:
            self._add(own, event)

    def application(self, database: Database, *, started: bool, application: str, launcher: str) -> None:
        """Application Activity: a station process (the worker) started or stopped."""
        self.record(database, m.application_activity(self.source, when=now(), started=started, launcher=launcher,
                                                     application=application))

    def _add(self, session: Session, event: m.AuditEvent) -> None:
        severity = WARNING if event.event_id == m.SECURITY_ALERT else NOTICE
        message = syslog_message(event.to_xml(), when=event.when, hostname=self.source.host,
                                 app_name=self.app_name, severity=severity)
        Outbox.add(session, station=self.source.station, event=event.name, message=message)
        self.recorded.append(event.name)


def now() -> datetime:
    return datetime.now(timezone.utc)


def disclosure_event(source: m.AuditSource, entry: StoredEntry, details: ExportDetails | None) -> m.AuditEvent:
    """The message of one disclosure log entry (see the module's docstring)."""
    content = json.loads(entry.content_json)
    anchor = m.log_entry(entry.seq, entry.entry_hash)
    when = _recorded(content)
    actor = content.get("actor") or "unknown"
    channel = content.get("channel") or ""
    recipient = (content.get("recipient") or {}).get("name") or ""
    name = (content.get("patient") or {}).get("name", "")
    released = content.get("released") or []
    accessions = [s.get("accession_number") or "" for s in released]
    studies = details.studies if details else ()
    if content.get("correction_of") is None and channel in MEDIA_CHANNELS:
        media_ids = [m_["fileset_id"] for m_ in content.get("media") or [] if m_.get("fileset_id")] \
            or [x for x in (content.get("medium_id") or "").split(",") if x]
        return m.export(source, when=when, actor=actor, medium=channel, media_ids=media_ids, recipient=recipient,
                        hetu=entry.patient_hetu, patient_name=name, studies=studies, accessions=accessions,
                        entry=anchor)
    if content.get("correction_of") is None and channel in ("electronic", "register_copy"):
        return m.instances_transferred(source, when=when, action="R", actor=actor, destination=recipient or "unknown",
                                       destination_host="", hetu=entry.patient_hetu, patient_name=name,
                                       studies=studies, accessions=accessions, entry=anchor)
    note = content.get("note") or ""
    return m.log_amended(source, when=when, actor=actor, hetu=entry.patient_hetu, note=note, entry=anchor)


def _recorded(content: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(content["recorded_at"])
    except (KeyError, TypeError, ValueError):
        return now()
