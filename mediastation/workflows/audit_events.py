"""The pipelines' audit events (PS3.15 A.5.3): a C-FIND to the archive (Query), an import's
store (DICOM Instances Transferred), a release refused for a node nobody configured (Security Alert)
and a desk sign-in, sign-out, refused sign-in or lock-out (User Authentication). The disclosure log's
own events need nothing here: the log's observer writes them with each entry (mediastation/audit/trail.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from mediastation.audit import messages as m
from mediastation.audit.trail import AuditTrail
from mediastation.store.db import Database


def _trail(database: Database) -> AuditTrail | None:
    trail = database.audit
    return trail if isinstance(trail, AuditTrail) and trail.enabled else None


def observe_queries(archive: Any, database: Database, *, hetu: str = "", actor: str = "") -> Any:
    """Each C-FIND `archive` sends becomes a Query message naming the patient asked for (`hetu`, the
    request's) and the person whose work asked (`actor`); a folder archive sends none. Returns `archive`."""
    trail = _trail(database)
    node = getattr(archive, "node", None)
    if trail is None or node is None or not hasattr(archive, "on_query"):
        return archive

    def queried(identifier: bytes, matches: int, error: str | None) -> None:
        _queried(trail, database, node, identifier, matches, error, hetu=hetu, actor=actor, sop_class=m.STUDY_ROOT_FIND)

    archive.on_query = queried
    return archive


def observe_patient_lookups(query: Any, database: Database, *, actor: str) -> Any:
    """Each look-up of a patient by HETU that `query` (mediastation/pacs/lookup.py ArchiveQuery) sends,
    an import's reconcile above all (R-C2), becomes a Query message naming that patient and the
    operator (`actor`). Returns `query`."""
    trail = _trail(database)
    if trail is None:
        return query

    def looked_up(identifier: bytes, hetu: str, matches: int, error: str | None) -> None:
        _queried(trail, database, query.node, identifier, matches, error, hetu=hetu, actor=actor,
                 sop_class=m.PATIENT_ROOT_FIND)

    query.on_patient_query = looked_up
    return query


def _queried(trail: AuditTrail, database: Database, node: Any, identifier: bytes, matches: int, error: str | None,
             *, hetu: str, actor: str, sop_class: str) -> None:
    outcome = m.SUCCESS if error is None else m.SERIOUS_FAILURE
    trail.record(database, m.query(trail.source, when=datetime.now(timezone.utc), archive_ae=node.ae_title,
                                   archive_host=node.host, identifier=identifier, outcome=outcome,
                                   description=error or f"{matches} match(es)", hetu=hetu or None,
                                   actor=actor or None, sop_class=sop_class))


def instances_stored(database: Database, *, operator: str, archive_ae: str, archive_host: str,
                     stored: Iterable[tuple[str, str]], names: dict[str, str], failed: int) -> None:
    """An import's store (PS3.15 A.5.3.7, action C): one message per patient naming the studies and
    how many instances of each this pass stored. `stored`: (HETU, Study Instance UID) per instance;
    `names`: HETU -> the local patient's name."""
    trail = _trail(database)
    if trail is None:
        return
    counts: dict[str, dict[str, int]] = {}
    for hetu, study_uid in stored:
        per_study = counts.setdefault(hetu, {})
        per_study[study_uid] = per_study.get(study_uid, 0) + 1
    for hetu, per_study in counts.items():
        refs = [m.StudyRef(uid=uid, sop_classes=(m.SopClassCount("", n),)) for uid, n in sorted(per_study.items())]
        trail.record(database, m.instances_transferred(
            trail.source, when=datetime.now(timezone.utc), action="C", actor=operator, destination=archive_ae,
            destination_host=archive_host, hetu=hetu, patient_name=names.get(hetu, ""), studies=refs,
            outcome=m.MINOR_FAILURE if failed else m.SUCCESS,
            description=f"{failed} file(s) not stored" if failed else None))


def destination_refused(database: Database, *, actor: str, node: str, hetu: str, reason: str) -> None:
    """A release refused because its request named a DICOM node nobody configured (R6): a Security
    Alert of its own, committed although the command then fails (nothing else is written)."""
    trail = _trail(database)
    if trail is not None:
        trail.record(database, m.destination_refused(trail.source, when=datetime.now(timezone.utc),
                                                     actor=actor or "unknown", node=node, hetu=hetu, alert=reason))


def user_authenticated(database: Database, session: Session | None = None, *, user: str, login: bool = True,
                       outcome: str = m.SUCCESS, client: str | None = None, description: str | None = None) -> None:
    """A desk sign-in (Login, outcome 0), a refused one (4), a lock-out (8) or a sign-out (Logout):
    in `session` when given, the transaction of the session or the failure count it describes."""
    trail = _trail(database)
    if trail is not None:
        trail.record(database, m.user_authentication(trail.source, when=datetime.now(timezone.utc), user=user[:64],
                                                     login=login, outcome=outcome, client=client or None,
                                                     description=description), session)
