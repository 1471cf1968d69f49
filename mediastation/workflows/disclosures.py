"""The disclosure log (R13) as its readers see it: verified, listed for a patient, reported as a letter.

`verify_log` checks the chain under the key kept outside the database, the triggers that make the
database refuse edits, that every request marked released has its entry, and, given the anchors the
audit repository holds (`--against`), that the log still has every entry the repository was told
of, unchanged. A failed verification is itself an audit event (a Security Alert). The patient's
listing and report mark every entry that fails the verification instead of hiding it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mediastation.audit import messages as m
from mediastation.audit.anchors import read_anchors
from mediastation.audit.trail import AuditTrail
from mediastation.domain.calendar import HELSINKI, helsinki_date
from mediastation.domain.disclosure import chain_mac
from mediastation.domain.hetu import Hetu, InvalidHetu
from mediastation.errors import ConfigError, InputError
from mediastation.store.db import Database
from mediastation.store.disclosures import DisclosureLog, Verification, create_key_file, key_file_problem
from mediastation.store.requests import RequestRepository


def create_log_key(path: Path) -> bool:
    """`init`: a new key in [log] key_file (mode 0600) unless one is there."""
    return create_key_file(path)


def refuse_foreign_key(database: Database, path: Path, created: bool) -> None:
    """A key `init` just made for a database whose log another key sealed (a second station of a
    shared database) would make every later entry unverifiable: take it back and say what to do."""
    head = DisclosureLog(database).head()
    if not created or head is None or database.log_key is None:
        return
    if chain_mac(database.log_key, head.prev_hash, head.content_json) != head.entry_hash:
        path.unlink(missing_ok=True)
        raise ConfigError(f"this database's disclosure log is sealed with another key: copy the key file of a "
                          f"station already using this database to {path} (mode 0600) and run `init` again",
                          details={"key_file": str(path)})


@dataclass(frozen=True)
class LogCheck:
    ok: bool
    entries: int
    head_hash: str
    problems: list[str]
    first_bad_entry: int | None
    bad_entries: list[int]
    anchors: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head_hash": self.head_hash, "problems": self.problems,
                "first_bad_entry": self.first_bad_entry, "bad_entries": self.bad_entries, "anchors": self.anchors}


def verify_log(database: Database, *, key_file: Path | None = None, against: Path | None = None,
               actor: str = "") -> LogCheck:
    """Everything that must hold of the log (see the module docstring); a failure is sent to the
    audit repository as a Security Alert."""
    log = DisclosureLog(database)
    result = log.verify()
    problems = [str(p) for p in result.problems]
    if result.wrong_key:
        problems.insert(0, "the key file does not fit this log: every entry fails its chain value (is [log] key_file "
                           "the key the log was written with?)")
    problems += result.guards
    if key_file is not None and (loose := key_file_problem(key_file)):
        problems.append(loose)
    logged = log.request_ids()
    for row in RequestRepository(database).list(state="released", limit=1_000_000):
        if row.request_id not in logged:
            problems.append(f"request {row.request_id} is marked released but has no disclosure log entry")
    bad = sorted(result.bad_entries)
    anchors = None
    if against is not None:
        anchors, missing = _against(log, against)
        problems += [text for _, text in missing]
        bad = sorted(set(bad) | {seq for seq, _ in missing})
    check = LogCheck(ok=not problems, entries=result.entries, head_hash=result.head_hash, problems=problems,
                     first_bad_entry=bad[0] if bad else None, bad_entries=bad, anchors=anchors)
    if not check.ok:
        _alert(database, check, actor)
    return check


def _against(log: DisclosureLog, path: Path) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """The log against the chain values the repository holds: each must name an entry that exists
    and still has that value."""
    try:
        anchors = read_anchors(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not anchors.values:
        raise InputError(f"{path} holds no chain values of the disclosure log ({anchors.messages} audit messages "
                         "read): export the station's Export and Audit Log Used messages from the repository")
    found: list[tuple[int, str]] = []
    for seq, value in sorted(anchors.values.items()):
        entry = log.get(seq)
        if entry is None:
            found.append((seq, f"entry {seq}: the audit repository holds its chain value but the log has no such "
                               "entry (deleted)"))
        elif entry.entry_hash != value:
            found.append((seq, f"entry {seq}: its chain value differs from the one the audit repository holds (the "
                               "log was rewritten)"))
    summary = {"file": str(path.resolve()), "messages": anchors.messages, "checked": len(anchors.values),
               "unreadable": anchors.unreadable, "newest": max(anchors.values)}
    return summary, found


def _alert(database: Database, check: LogCheck, actor: str) -> None:
    trail = database.audit
    if not isinstance(trail, AuditTrail):
        return
    where = f"{database.engine.url.render_as_string(hide_password=True)}#disclosures"
    first = f"first bad entry {check.first_bad_entry}: " if check.first_bad_entry is not None else ""
    alert = f"disclosure log verification failed: {first}" + "; ".join(check.problems[:5])
    trail.record(database, m.security_alert(trail.source, when=datetime.now(timezone.utc), actor=actor or "station",
                                            subject=where, alert=alert))


# -- a patient's disclosures -------------------------------------------------------------------

def patient_entries(database: Database, hetu: str) -> list[dict[str, Any]]:
    """A patient's disclosures, oldest first (act 703/2023 § 11), each with `verified`: False when
    the entry fails the log's verification (edited, or its chain broken)."""
    try:
        Hetu(hetu.strip())
    except InvalidHetu as exc:
        raise InputError(f"invalid HETU: {exc}", details={"reason": "invalid_hetu"}) from None
    log = DisclosureLog(database)
    entries = log.for_patient(hetu.strip())
    bad = _bad_entries(log) if entries else set()
    return [{**json.loads(e.content_json), "entry_hash": e.entry_hash, "verified": e.seq not in bad} for e in entries]


def _bad_entries(log: DisclosureLog) -> set[int]:
    result: Verification = log.verify()
    return result.bad_entries


def helsinki_time(recorded_at: str) -> datetime:
    moment = datetime.fromisoformat(recorded_at)
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(HELSINKI)


def write_report(path: Path, entries: list[dict[str, Any]], *, hetu: str, language: str, sender: Any,
                 legal_basis_label: Any = None) -> Path:
    """The patient's disclosure report as a letter-style PDF (mediastation/documents/patient_report.py)."""
    from mediastation.documents.patient_report import DisclosureLine, write_patient_report
    from mediastation.documents.texts import basis_label, text

    def channel(value: str | None) -> str:
        if value in ("electronic", "register_copy"):
            return text(language, f"plog_channel_{value}")
        try:
            return text(language, f"medium_{value}")
        except KeyError:
            return value or ""

    lines = []
    for e in entries:
        basis = e.get("basis") or {}
        kind, reference = basis.get("kind") or "", basis.get("reference") or ""
        detail = (legal_basis_label(reference, language) if legal_basis_label and kind == "statutory" else reference)
        released = tuple(" ".join(x for x in (s.get("accession_number"), s.get("study_description")) if x)
                         for s in e.get("released") or [])
        correction = text(language, "plog_correction", seq=e["correction_of"], note=e.get("note", "")) \
            if e.get("correction_of") else ""
        lines.append(DisclosureLine(
            seq=e["seq"], when=helsinki_time(e["recorded_at"]), recipient=(e.get("recipient") or {}).get("name") or "",
            basis=basis_label(kind, language, detail) if kind else "", channel=channel(e.get("channel")),
            released=released, by=e.get("actor") or "", correction=correction, verified=e.get("verified", True)))
    name = next((e.get("patient", {}).get("name", "") for e in reversed(entries) if e.get("patient")), "")
    return write_patient_report(path, language=language, sender=sender, hetu=hetu, patient_name=name, lines=lines,
                                created=helsinki_date(datetime.now(timezone.utc)))


def patient_report(path: Path, entries: list[dict[str, Any]], *, hetu: str, settings: Any, home: Path,
                   language: str | None = None) -> Path:
    """`log patient HETU --pdf` and the desk's printable report: the letter from [sender], the legal
    bases named as the release lists in force name them, in `language` ([station] language by default)."""
    from mediastation.config import release_policy
    from mediastation.documents.content import Sender

    s = settings.sender
    sender = Sender(unit=s.unit, street=s.street, postal_code=s.postal_code, city=s.city, phone=s.phone, email=s.email)
    policy = release_policy(settings, home)

    def legal(code: str, lang: str) -> str:
        basis = policy.legal_basis(code)
        return basis.label(lang) if basis else code

    return write_report(path, entries, hetu=hetu, language=language or settings.station.language, sender=sender,
                        legal_basis_label=legal)
