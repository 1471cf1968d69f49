"""Sending studies to another archive: C-STORE of retrieved files (relay) and C-MOVE by the archive.

Relay: the files are sent as they come, while the rest of the study is still being fetched (a
relay then takes about as long as the slower of the fetch and the send, not their sum). So the
presentation contexts are planned before the first file, for the SOP classes the source archive
reports for the study (and the first file's own): one per (SOP class, transfer syntax a retrieve
may bring, `dicom_archive.RETRIEVE_SYNTAXES`) plus the uncompressed fallback (`store.plan_contexts`,
at most 128 per association, each association opened when its first file comes), narrowed to what
the destination is configured to accept. A file of a class nobody planned for waits until the
others are sent, then goes on contexts planned from the waiting files' own headers. A file in a
syntax the destination accepted goes as it is, straight to the socket (`pdata.DirectAssociation`);
any other is decoded losslessly to Explicit VR Little Endian first (`dicom.transcode.conform`),
keeping its SOP Instance UID. Files stream from disk: memory stays flat whatever the study size.

C-MOVE: the HUS archive (or a register's node) is asked to move a study to the destination's AE
title, which it must know (PS3.4 C.4.2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove  # type: ignore[attr-defined]

from mediastation.dicom.headers import EXPLICIT_VR_LITTLE_ENDIAN, InvalidInstanceError, NotDicomError, read_header
from mediastation.dicom.profiles import Profile
from mediastation.dicom.transcode import NotPlaceable, conform
from mediastation.errors import PacsError
from mediastation.pacs.dicom_archive import RETRIEVE_SYNTAXES
from mediastation.pacs.network import DicomNode, application_entity, status_code
from mediastation.pacs.pdata import DirectAssociation
from mediastation.pacs.store import ContextSpec, interpret_status, plan_contexts


@dataclass(frozen=True)
class SendOutcome:
    path: str
    sop_instance_uid: str
    result: str  # sent | failed
    reason: str = ""
    status: int | None = None
    converted_from: str | None = None


@dataclass(frozen=True)
class _File:
    path: Path
    sop_class: str
    sop_instance: str
    transfer_syntax: str


def relay_files(paths: Iterable[Path], node: DicomNode, *, calling_ae: str, timeout: float, staging: Path,
                accepts: Iterable[str] = (), sop_classes: Iterable[str] = (),
                on_outcome: Callable[[SendOutcome], None]) -> None:
    """C-STORE every file to `node` as `paths` yields it; `on_outcome` once per file, in the order
    sent. `sop_classes`: the classes the files are expected to have (contexts are planned for them
    before the first file). Raises PacsError when the destination cannot be reached or stops
    answering, and whatever iterating `paths` raises (the associations are released first)."""
    accepted_only = frozenset(accepts)
    expected = set(sop_classes)
    waiting: list[_File] = []
    with ExitStack() as associations:
        planned: list[list[ContextSpec]] | None = None
        where: dict[str, int] = {}
        senders: dict[int, _Sender] = {}
        for path in paths:
            item = _header(path)
            if isinstance(item, SendOutcome):
                on_outcome(item)
                continue
            if planned is None:
                planned = [_narrowed(specs, accepted_only) for specs in plan_contexts(
                    (sop_class, syntax) for sop_class in sorted(expected | {item.sop_class})
                    for syntax in RETRIEVE_SYNTAXES)]
                where = {spec.abstract_syntax: n for n, specs in enumerate(planned) for spec in specs}
            n = where.get(item.sop_class)
            if n is None:
                waiting.append(item)
                continue
            if n not in senders:
                senders[n] = associations.enter_context(_association(node, calling_ae, timeout, planned[n]))
            on_outcome(senders[n].send(item, staging))
    for specs in plan_contexts((f.sop_class, f.transfer_syntax) for f in waiting):
        specs = _narrowed(specs, accepted_only)
        classes = {spec.abstract_syntax for spec in specs}
        batch = [f for f in waiting if f.sop_class in classes]
        with _association(node, calling_ae, timeout, specs) as sender:
            for item in batch:
                on_outcome(sender.send(item, staging))


def _header(path: Path) -> _File | SendOutcome:
    try:
        header = read_header(path)
    except (NotDicomError, InvalidInstanceError, OSError, ValueError) as exc:
        return SendOutcome(str(path), "", "failed", f"unreadable: {exc}")
    return _File(path, header.sop_class_uid, header.sop_instance_uid, header.transfer_syntax)


def _narrowed(specs: list[ContextSpec], accepts: frozenset[str]) -> list[ContextSpec]:
    """Only the syntaxes the destination is configured to accept (Explicit VR LE always offered:
    every file can be decoded to it)."""
    if not accepts:
        return specs
    narrowed = []
    for spec in specs:
        syntaxes = tuple(ts for ts in spec.transfer_syntaxes if ts in accepts or ts == EXPLICIT_VR_LITTLE_ENDIAN)
        if syntaxes:
            narrowed.append(ContextSpec(spec.abstract_syntax, syntaxes))
    return narrowed


class _Sender:
    def __init__(self, assoc: Any) -> None:
        self.assoc = assoc
        self.accepted: dict[str, set[str]] = {}
        for cx in assoc.accepted_contexts:
            self.accepted.setdefault(str(cx.abstract_syntax), set()).update(str(ts) for ts in cx.transfer_syntax)
        self.direct = DirectAssociation.take(assoc)

    def send(self, item: _File, staging: Path) -> SendOutcome:
        accepted = self.accepted.get(item.sop_class, set())
        if not accepted:
            return SendOutcome(str(item.path), item.sop_instance, "failed", "sop_class_not_accepted")
        path, syntax, converted = item.path, item.transfer_syntax, None
        if syntax not in accepted:
            if EXPLICIT_VR_LITTLE_ENDIAN not in accepted:
                return SendOutcome(str(item.path), item.sop_instance, "failed", "no_common_transfer_syntax")
            staged = staging / "outgoing.dcm"
            try:
                conform(item.path, staged, Profile("destination", frozenset(accepted), "what the destination accepts"))
            except NotPlaceable as exc:
                return SendOutcome(str(item.path), item.sop_instance, "failed", f"not_transcodable: {exc.message}")
            path, syntax, converted = staged, EXPLICIT_VR_LITTLE_ENDIAN, item.transfer_syntax
        status = self._store(path, item.sop_class, item.sop_instance, syntax)
        verdict = interpret_status(status)
        if verdict.kind in ("success", "warning"):
            return SendOutcome(str(item.path), item.sop_instance, "sent", "", status, converted)
        if verdict.kind == "lost":
            raise PacsError(f"the destination stopped answering while {item.sop_instance} was sent; "
                            "run the same command again when it is back: what arrived is not sent twice",
                            details={"sop_instance_uid": item.sop_instance})
        return SendOutcome(str(item.path), item.sop_instance, "failed", f"refused: {verdict.meaning}", status, converted)

    def _store(self, path: Path, sop_class: str, sop_instance: str, syntax: str) -> int | None:
        if self.direct is not None:
            try:
                return self.direct.store(path, sop_class, sop_instance, syntax).status
            except KeyError:  # no context with exactly this syntax: pynetdicom's own call finds one
                self.direct.__exit__(None, None, None)
                self.direct = None
            except OSError:
                return None
        return status_code(self.assoc.send_c_store(str(path)))

    def release(self) -> None:
        if self.direct is not None:
            self.direct.__exit__(None, None, None)
            self.direct = None
        if self.assoc.is_established:
            self.assoc.release()


@contextmanager
def _association(node: DicomNode, calling_ae: str, timeout: float, specs: list[ContextSpec]) -> Iterator[_Sender]:
    ae = application_entity(calling_ae, timeout)
    for spec in specs:
        ae.add_requested_context(spec.abstract_syntax, list(spec.transfer_syntaxes))
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title)
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "did not answer"
        raise PacsError(f"the destination {node.ae_title}@{node.host}:{node.port} {why}; nothing more was sent. "
                        "Check that it is running and knows our AE title, then run the same command again",
                        details={"ae_title": node.ae_title, "host": node.host, "port": node.port})
    sender = _Sender(assoc)
    try:
        yield sender
    finally:
        sender.release()


@dataclass(frozen=True)
class MoveOutcome:
    completed: int
    failed: int
    warning: int
    status: int | None

    @property
    def ok(self) -> bool:
        return self.status in (0x0000, 0xB000) and self.failed == 0


def move_study(source: DicomNode, *, calling_ae: str, timeout: float, study_uid: str,
               destination_ae: str) -> MoveOutcome:
    """Ask `source` to C-MOVE the study to `destination_ae`; its final counts and status."""
    ae = application_entity(calling_ae, timeout)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate(source.host, source.port, ae_title=source.ae_title)
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "did not answer"
        raise PacsError(f"the archive {source.ae_title}@{source.host}:{source.port} {why}; nothing was moved",
                        details={"ae_title": source.ae_title, "host": source.host, "port": source.port})
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    last: tuple[int | None, int, int, int] = (None, 0, 0, 0)
    try:
        for status, _identifier in assoc.send_c_move(query, destination_ae, StudyRootQueryRetrieveInformationModelMove):
            code = status_code(status)
            if code is None:
                break
            last = (code, int(status.get("NumberOfCompletedSuboperations", last[1]) or 0),
                    int(status.get("NumberOfFailedSuboperations", last[2]) or 0),
                    int(status.get("NumberOfWarningSuboperations", last[3]) or 0))
    finally:
        if assoc.is_established:
            assoc.release()
    code, completed, failed, warning = last
    if code is None:
        raise PacsError(f"the archive {source.ae_title} gave no answer to the move of study {study_uid}; "
                        "run the same command again", details={"study_instance_uid": study_uid})
    if code == 0xA801:
        raise PacsError(f"the archive {source.ae_title} does not know the destination AE {destination_ae}: "
                        "add it to the archive's modalities (host and port), or use method = \"relay\"",
                        details={"destination_ae": destination_ae, "status": f"{code:04X}"})
    if code not in (0x0000, 0xB000) and completed == 0:
        raise PacsError(f"the archive {source.ae_title} refused to move study {study_uid} (status {code:04X}); "
                        f"check that it knows the destination AE {destination_ae} (its modalities: AE title, host, "
                        "port) and may send there, or use method = \"relay\"",
                        details={"destination_ae": destination_ae, "status": f"{code:04X}"})
    return MoveOutcome(completed, failed, warning, code)
