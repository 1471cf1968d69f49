"""The archive over DICOM: C-FIND by accession number, then C-GET or C-MOVE of one study.

C-GET carries the instances back over our own association; we take the Storage SCP role for each
SOP class in the study, with one presentation context per (SOP class, transfer syntax), so the
archive sends every instance as it holds it (J2K stays J2K: an archive without a J2K decoder could
not transcode it anyway). C-MOVE makes the archive call us: a storage SCP with the station's AE
title listens on [station] port for the duration of the move only.

Every instance is written to disk as it arrives (the dataset bytes exactly as received, behind a
fresh file meta header), and checked to belong to the study asked for: a stray instance is refused
and fails the retrieve. The numbers of the archive's sub-operations and of the files written must
agree, or the retrieve raises PacsError (exit 3) naming the archive and the numbers.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydicom.dataset import Dataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian,
    JPEG2000, JPEG2000Lossless, JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1,
    JPEGLSLossless, JPEGLSNearLossless, MPEG2MPHL, MPEG2MPML, MPEG4HP41, MPEG4HP41BD, RLELossless,
)
from pynetdicom import AE, PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION, build_role, evt
from pynetdicom.association import Association
from pynetdicom.dsutils import encode_file_meta
from pynetdicom.presentation import AllStoragePresentationContexts, StoragePresentationContexts
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from mediastation.dicom.headers import InvalidInstanceError, NotDicomError, file_meta_bytes, read_header
from mediastation.domain.matching import StudyFound
from mediastation.errors import OutsidePartyError, PacsError
from mediastation.files import part_path, publish
from mediastation.pacs.archive import InstanceCallback, ProgressCallback, RetrievedStudy, instance_file_name
from mediastation.pacs.network import DicomNode, application_entity, encoded_identifier
from mediastation.pacs.pdata import READ_SIZE, DirectAssociation, IncomingStore

RetrieveMethod = Literal["c-get", "c-move"]

# What an archive may hold, most common first: each gets its own presentation context per SOP class.
RETRIEVE_SYNTAXES: tuple[str, ...] = (
    ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, JPEGLosslessSV1,
    RLELossless, JPEGBaseline8Bit, JPEG2000, JPEGLSNearLossless, JPEGExtended12Bit, JPEGLossless,
    DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, MPEG2MPML, MPEG2MPHL, MPEG4HP41, MPEG4HP41BD,
)
MAX_CONTEXTS = 128  # PS3.8: presentation context IDs are odd numbers 1-255
PENDING = (0xFF00, 0xFF01)
SUCCESS = 0x0000
STORE_FAILED = 0xC000  # "cannot understand": not the study asked for, or unreadable
STORE_OUT_OF_RESOURCES = 0xA700

_STUDY_KEYS = ("StudyInstanceUID", "AccessionNumber", "StudyDescription", "StudyDate", "StudyTime",
               "PatientID", "PatientName", "ModalitiesInStudy", "SOPClassesInStudy",
               "NumberOfStudyRelatedInstances")


@dataclass(frozen=True)
class _StudyOnArchive:
    found: StudyFound
    sop_classes: tuple[str, ...]


@dataclass
class _SubOperations:
    """The archive's own count of a C-GET/C-MOVE, from its final response."""

    status: int | None = None
    completed: int = 0
    failed: int = 0
    warning: int = 0
    total: int | None = None  # from pending responses: remaining + done


class DicomArchive:
    """A PACS reached over DICOM (PS3.4 Annex C, Study Root), as [archive] kind = "dicom" configures it."""

    def __init__(self, node: DicomNode, *, calling_ae: str, timeout: float = 30.0,
                 method: RetrieveMethod = "c-get", listen_port: int = 11112,
                 listen_host: str | None = None) -> None:
        if method not in ("c-get", "c-move"):
            raise ValueError(f"method must be 'c-get' or 'c-move', got {method!r}")
        self.node = node
        self.calling_ae = calling_ae
        self.timeout = timeout
        self.method: RetrieveMethod = method
        self.listen_port = listen_port
        # C-MOVE: the archive must reach us; on loopback only when it is on this machine itself.
        self.listen_host = listen_host if listen_host is not None else (
            "127.0.0.1" if _is_loopback(node.host) else "0.0.0.0")
        # Told of every C-FIND: (the identifier as encoded, matches, error or None); the audit trail's
        # Query event (PS3.15 A.5.3.10) hangs here.
        self.on_query: Callable[[bytes, int, str | None], None] | None = None

    @property
    def label(self) -> str:
        return f"{self.node.ae_title}@{self.node.host}:{self.node.port}"

    # -- find ---------------------------------------------------------------------------------
    def find_studies(self, accession_number: str) -> list[StudyFound]:
        """C-FIND at study level by Accession Number; only exact matches (C-FIND would expand * and ?)."""
        accession = accession_number.strip()
        if not accession:
            return []  # an empty key is a universal match: it would list the whole archive
        return [study.found for study in self._find(AccessionNumber=accession)
                if study.found.accession_number.strip() == accession]

    def _find(self, **keys: str) -> list[_StudyOnArchive]:
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "STUDY"
        identifier.SpecificCharacterSet = "ISO_IR 192"  # ask for UTF-8 answers: Finnish names intact
        for keyword in _STUDY_KEYS:
            setattr(identifier, keyword, keys.get(keyword, ""))
        answers: list[_StudyOnArchive] = []
        try:
            self._c_find(identifier, answers)
        except OutsidePartyError as exc:
            self._queried(identifier, len(answers), exc.message)
            raise
        self._queried(identifier, len(answers), None)
        return answers

    def _queried(self, identifier: Dataset, matches: int, error: str | None) -> None:
        if self.on_query is not None:
            self.on_query(encoded_identifier(identifier), matches, error)

    def _c_find(self, identifier: Dataset, answers: list[_StudyOnArchive]) -> None:
        ae = application_entity(self.calling_ae, self.timeout)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        with self._association(ae, "C-FIND") as assoc:
            for status, found in assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind):
                code = self._status(status, "C-FIND")
                if code in PENDING and found is not None:
                    answers.append(_study_on_archive(found))
                elif code == SUCCESS:
                    break
                else:
                    raise PacsError(f"archive {self.label} answered C-FIND with status {code:#06x}; "
                                    "try again, or ask the archive's administrator",
                                    details=self._details(status=code))

    # -- retrieve -----------------------------------------------------------------------------
    def retrieve(self, study_instance_uid: str, dest: Path, progress: ProgressCallback | None = None,
                 on_instance: InstanceCallback | None = None) -> RetrievedStudy:
        """Every instance of the study into `dest`, by C-GET or C-MOVE as configured; `on_instance`
        as each file is written (pacs/archive.py): when it raises, the association is aborted (the
        archive stops sending) and retrieve raises what it raised."""
        uid = study_instance_uid.strip()
        studies = self._find(StudyInstanceUID=uid) if uid else []
        study = next((s for s in studies if s.found.study_instance_uid.strip() == uid), None)
        if study is None:
            raise PacsError(f"archive {self.label} has no study {uid!r}; it may have been moved or deleted "
                            "since it was found", details=self._details(study_instance_uid=uid))
        dest.mkdir(parents=True, exist_ok=True)
        receiver = _Receiver(dest, uid, self.node.ae_title, study.found.instances, progress, on_instance)
        if self.method == "c-get":
            counts = self._c_get(uid, study.sop_classes, receiver)
        else:
            counts = self._c_move(uid, study.sop_classes, receiver)
        return self._outcome(uid, counts, receiver, study.found.instances)

    def _c_get(self, uid: str, sop_classes: tuple[str, ...], receiver: "_Receiver") -> _SubOperations:
        ae = application_entity(self.calling_ae, self.timeout)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        classes = sop_classes or tuple(cx.abstract_syntax for cx in StoragePresentationContexts)
        for sop_class, syntaxes in storage_contexts(classes, MAX_CONTEXTS - 1):
            ae.add_requested_context(sop_class, list(syntaxes))
        roles = [build_role(sop_class, scp_role=True) for sop_class in dict.fromkeys(classes)]
        handlers = [(evt.EVT_C_STORE, receiver.on_store)]
        with self._association(ae, "C-GET", ext_neg=roles, evt_handlers=handlers) as assoc:
            self._require_context(assoc, StudyRootQueryRetrieveInformationModelGet,
                                  "C-GET; set retrieve = \"c-move\" in [archive]")
            identifier = _retrieve_identifier(uid)
            direct = DirectAssociation.take(assoc)
            if direct is None:  # this pynetdicom lacks what the direct path needs: its own C-GET
                responses = assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet)
                return self._sub_operations(responses, "C-GET", receiver)
            try:
                counts = self._sub_operations(
                    direct.get(identifier, StudyRootQueryRetrieveInformationModelGet, receiver.sink), "C-GET", receiver)
            except BaseException:
                direct.abandon()
                raise
            direct.__exit__(None, None, None)
            return counts

    def _c_move(self, uid: str, sop_classes: tuple[str, ...], receiver: "_Receiver") -> _SubOperations:
        with self._storage_scp(sop_classes, receiver):
            ae = application_entity(self.calling_ae, self.timeout)
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
            with self._association(ae, "C-MOVE") as assoc:
                self._require_context(assoc, StudyRootQueryRetrieveInformationModelMove,
                                      "C-MOVE; set retrieve = \"c-get\" in [archive]")
                responses = assoc.send_c_move(_retrieve_identifier(uid), self.calling_ae,
                                              StudyRootQueryRetrieveInformationModelMove)
                return self._sub_operations(responses, "C-MOVE", receiver)

    @contextmanager
    def _storage_scp(self, sop_classes: tuple[str, ...], receiver: "_Receiver") -> Iterator[None]:
        """Our storage SCP (the C-MOVE destination), listening only while the move runs."""
        ae = application_entity(self.calling_ae, self.timeout)
        ae.require_called_aet = True  # the archive must call us by the station's AE title
        classes = dict.fromkeys([*sop_classes, *(cx.abstract_syntax for cx in AllStoragePresentationContexts)])
        for sop_class in classes:
            ae.add_supported_context(sop_class, list(RETRIEVE_SYNTAXES))
        try:
            server = ae.start_server((self.listen_host, self.listen_port), block=False,
                                     evt_handlers=[(evt.EVT_C_STORE, receiver.on_store)])
        except OSError as exc:
            raise PacsError(
                f"cannot listen on port {self.listen_port} for the C-MOVE from {self.label}: {exc.strerror or exc}; "
                "stop what uses the port or set [station] port (the archive must know the same port)",
                details=self._details(listen_port=self.listen_port)) from None
        try:
            yield
        finally:
            server.shutdown()

    def _sub_operations(self, responses: Iterator[tuple[Dataset, Dataset | None]], service: str,
                        receiver: "_Receiver") -> _SubOperations:
        counts = _SubOperations()
        for status, _identifier in responses:
            receiver.raise_stopped()  # out of `with _association`: aborted, the archive sends no more
            code = self._status(status, service, receiver)
            counts.status = code
            counts.completed = int(status.get("NumberOfCompletedSuboperations", counts.completed) or 0)
            counts.failed = int(status.get("NumberOfFailedSuboperations", counts.failed) or 0)
            counts.warning = int(status.get("NumberOfWarningSuboperations", counts.warning) or 0)
            remaining = status.get("NumberOfRemainingSuboperations")
            if code in PENDING and remaining is not None:
                counts.total = int(remaining) + counts.completed + counts.failed + counts.warning
                receiver.expect(counts.total)
            if code not in PENDING:
                break
        return counts

    def _outcome(self, uid: str, counts: _SubOperations, receiver: "_Receiver",
                 announced: int | None) -> RetrievedStudy:
        receiver.raise_stopped()
        receiver.raise_local_error()
        received = len(receiver.files)
        expected = max(n for n in (counts.completed + counts.warning, counts.total or 0, announced or 0))
        problems = []
        nothing_sent = received == 0 and not (counts.completed or counts.failed or counts.warning)
        if self.method == "c-move" and counts.status not in (SUCCESS, None) and nothing_sent:
            # Orthanc answers an unknown destination with 0xC000, others with 0xA801: say what to check.
            raise PacsError(
                f"archive {self.label} refused the C-MOVE of study {uid} (status {counts.status:#06x}) before "
                f"sending anything: check that it knows our AE title {self.calling_ae!r} as a C-MOVE destination "
                f"at this station's address, port {self.listen_port}; or set retrieve = \"c-get\" in [archive]",
                details=self._details(study_instance_uid=uid, status=counts.status))
        if counts.status != SUCCESS:
            problems.append("no final status" if counts.status is None else f"status {counts.status:#06x}")
        if counts.failed:
            problems.append(f"{counts.failed} failed")
        if receiver.refused:
            problems.append(f"{len(receiver.refused)} refused ({receiver.refused[0]})")
        if received < expected or received == 0:
            problems.append(f"{received} of {expected} instances arrived")
        if problems:
            raise PacsError(
                f"retrieving study {uid} from archive {self.label} by {self.method.upper()} was incomplete: "
                f"{', '.join(problems)}; the job folder keeps what arrived, run the export again",
                details=self._details(study_instance_uid=uid, received=received, expected=expected,
                                      completed=counts.completed, failed=counts.failed, warning=counts.warning,
                                      status=counts.status))
        return RetrievedStudy(files=sorted(receiver.files.values()), instances=received, bytes=receiver.bytes)

    # -- association plumbing -----------------------------------------------------------------
    @contextmanager
    def _association(self, ae: AE, service: str, **kwargs: Any) -> Iterator[Association]:
        assoc = ae.associate(self.node.host, self.node.port, ae_title=self.node.ae_title, **kwargs)
        if not assoc.is_established:
            why = ("rejected the association" if assoc.is_rejected
                   else f"did not answer (nothing listening, or no answer within {self.timeout:g} s)")
            raise PacsError(
                f"archive {self.label} {why} ({service}); check [archive] in station.toml, that the archive "
                f"is running and that it knows our AE title {self.calling_ae!r}", details=self._details())
        try:
            yield assoc
        except BaseException:
            if assoc.is_established:  # mid-operation: a release would wait for the archive to finish
                assoc.abort()
            raise
        if assoc.is_established:
            assoc.release()

    def _require_context(self, assoc: Association, abstract_syntax: str, what: str) -> None:
        if not any(cx.abstract_syntax == abstract_syntax for cx in assoc.accepted_contexts):
            raise PacsError(f"archive {self.label} does not offer Study Root {what}", details=self._details())

    def _status(self, status: Dataset, service: str, receiver: "_Receiver | None" = None) -> int:
        """The status code; a missing one means the archive went silent (timeout) or aborted."""
        if status is None or "Status" not in status:
            arrived = f"; {len(receiver.files)} instances had arrived" if receiver else ""
            raise PacsError(f"archive {self.label} stopped answering during {service} (no response within "
                            f"{self.timeout:g} s, or the association was aborted){arrived}; try again",
                            details=self._details())
        return int(status.Status)

    def _details(self, **more: Any) -> dict[str, Any]:
        return {"ae_title": self.node.ae_title, "host": self.node.host, "port": self.node.port, **more}


def storage_contexts(sop_classes: Sequence[str], budget: int) -> list[tuple[str, tuple[str, ...]]]:
    """Presentation contexts for receiving `sop_classes`: one per (class, syntax) while they fit in
    `budget`; with too many classes, each class's less common syntaxes share its last context (the
    archive then picks one of them and may have to transcode)."""
    classes = list(dict.fromkeys(sop_classes))[:budget]
    per_class = min(len(RETRIEVE_SYNTAXES), budget // len(classes)) if classes else 0
    contexts: list[tuple[str, tuple[str, ...]]] = []
    for sop_class in classes:
        single = RETRIEVE_SYNTAXES[:per_class - 1] if per_class < len(RETRIEVE_SYNTAXES) else RETRIEVE_SYNTAXES
        contexts.extend((sop_class, (syntax,)) for syntax in single)
        if per_class < len(RETRIEVE_SYNTAXES):
            contexts.append((sop_class, RETRIEVE_SYNTAXES[per_class - 1:]))
    return contexts


class _Receiver:
    """Writes each instance the archive sends into `dest`, counts them and refuses strays.

    Runs in pynetdicom's threads (the C-GET association's, or the C-MOVE SCP's): state under a lock.
    """

    def __init__(self, dest: Path, study_uid: str, source_ae: str, total: int | None,
                 progress: ProgressCallback | None, on_instance: InstanceCallback | None = None) -> None:
        self.dest = dest
        self.study_uid = study_uid
        self.source_ae = source_ae
        self.total = total
        self.progress = progress
        self.on_instance = on_instance
        self.stopped: BaseException | None = None  # what on_instance raised: nothing more is taken
        self.files: dict[str, Path] = {}
        self.bytes = 0
        self.refused: list[str] = []
        self.local_errors: list[OSError] = []
        self._lock = threading.Lock()

    def expect(self, total: int) -> None:
        with self._lock:
            self.total = max(total, self.total or 0)

    def on_store(self, event: evt.Event) -> int:
        """pynetdicom's C-STORE handler (the C-MOVE SCP, or a C-GET without the direct path)."""
        if self.stopped is not None:
            return STORE_FAILED
        sop_uid = str(event.request.AffectedSOPInstanceUID)
        final = self.dest / instance_file_name(sop_uid)
        part = part_path(final)
        try:
            size = self._write(event, part)
        except OSError as exc:
            return self._local_error(part, exc)
        return self._written(sop_uid, part, final, size)

    def sink(self, incoming: IncomingStore) -> "_FileSink":
        """Where the direct C-GET (pacs/pdata.py) writes an instance as its PDVs arrive."""
        return _FileSink(self, incoming)

    def _written(self, sop_uid: str, part: Path, final: Path, size: int) -> int:
        """The instance is in `part`: check it belongs here, publish it, count it; the status to answer."""
        problem = self._foreign(part, sop_uid)
        if problem:
            part.unlink(missing_ok=True)
            with self._lock:
                self.refused.append(f"{sop_uid}: {problem}")
            return STORE_FAILED
        publish(part, final)
        with self._lock:
            if sop_uid not in self.files:
                self.bytes += size
            self.files[sop_uid] = final
            done, total = len(self.files), self.total
        if self.progress is not None:
            self.progress(done, total, "")
        if self.on_instance is not None:
            try:
                self.on_instance(final)
            except BaseException as exc:  # pynetdicom would only log it: kept for the retrieve to raise
                with self._lock:
                    self.stopped = self.stopped or exc
                return STORE_FAILED
        return SUCCESS

    def _local_error(self, part: Path, exc: OSError) -> int:
        part.unlink(missing_ok=True)
        with self._lock:
            self.local_errors.append(exc)
        return STORE_OUT_OF_RESOURCES

    def _write(self, event: evt.Event, part: Path) -> int:
        """Preamble, a fresh file meta header and the dataset bytes exactly as the archive sent them."""
        meta = event.file_meta  # SOP class/instance from the request, transfer syntax of the context
        meta.SourceApplicationEntityTitle = self.source_ae
        data = event.encoded_dataset(include_meta=False)
        with open(part, "wb") as fp:
            fp.write(b"\0" * 128 + b"DICM")
            fp.write(encode_file_meta(meta))
            fp.write(data)
        return part.stat().st_size

    def _foreign(self, part: Path, sop_uid: str) -> str:
        """Why the instance is not one of the study asked for ("" when it is). The header walker of
        dicom/headers.py reads the two UIDs in about a tenth of pydicom's time (pydicom falls in
        where the walker cannot)."""
        try:
            header = read_header(part)
        except (NotDicomError, InvalidInstanceError, ValueError) as exc:
            return f"unreadable ({exc})"
        if header.study_instance_uid.strip() != self.study_uid:
            return f"belongs to study {header.study_instance_uid}, not {self.study_uid}"
        if header.sop_instance_uid.strip() != sop_uid.strip():
            return "SOP Instance UID differs from the C-STORE request's"
        return ""

    def raise_stopped(self) -> None:
        if self.stopped is not None:
            raise self.stopped

    def raise_local_error(self) -> None:
        if self.local_errors:
            exc = self.local_errors[0]
            raise OutsidePartyError(
                f"cannot write retrieved instances into {self.dest}: {exc.strerror or exc}; free space or fix "
                "permissions, then run the export again",
                details={"path": str(self.dest), "errors": len(self.local_errors)})


class _FileSink:
    """One instance of a direct C-GET written to its part file as it arrives: preamble, a fresh
    file meta header, then the data set's bytes exactly as the archive sent them."""

    def __init__(self, receiver: _Receiver, incoming: IncomingStore) -> None:
        self.receiver = receiver
        self.sop_uid = incoming.sop_instance
        self.final = receiver.dest / instance_file_name(incoming.sop_instance)
        self.part = part_path(self.final)
        self.size = 0
        self.error: OSError | None = None
        self.file: Any = None
        if receiver.stopped is not None:
            return
        try:
            self.file = open(self.part, "wb", buffering=READ_SIZE)
            head = b"\0" * 128 + b"DICM" + file_meta_bytes(
                incoming.sop_class, incoming.sop_instance, incoming.transfer_syntax,
                implementation_uid=PYNETDICOM_IMPLEMENTATION_UID,
                implementation_version=PYNETDICOM_IMPLEMENTATION_VERSION, source_ae=receiver.source_ae)
            self.file.write(head)
            self.size = len(head)
        except OSError as exc:
            self._failed(exc)

    def write(self, data: memoryview) -> None:
        if self.file is None:
            return
        try:
            self.file.write(data)
            self.size += len(data)
        except OSError as exc:
            self._failed(exc)

    def finish(self) -> int:
        if self.error is not None:
            return self.receiver._local_error(self.part, self.error)
        if self.file is None:  # the retrieve was stopped: nothing more is taken
            return STORE_FAILED
        try:
            self.file.close()
        except OSError as exc:
            return self.receiver._local_error(self.part, exc)
        return self.receiver._written(self.sop_uid, self.part, self.final, self.size)

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
        self.part.unlink(missing_ok=True)

    def _failed(self, exc: OSError) -> None:
        self.error = exc
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
            self.file = None


def _retrieve_identifier(uid: str) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = uid
    return identifier


def _study_on_archive(ds: Dataset) -> _StudyOnArchive:
    instances = ds.get("NumberOfStudyRelatedInstances")
    found = StudyFound(
        accession_number=_text(ds, "AccessionNumber"),
        study_instance_uid=_text(ds, "StudyInstanceUID"),
        study_description=_text(ds, "StudyDescription"),
        study_date=_text(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        modalities=_values(ds, "ModalitiesInStudy"),
        instances=int(instances) if instances not in (None, "") else None,
    )
    return _StudyOnArchive(found, _values(ds, "SOPClassesInStudy"))


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _values(ds: Dataset, keyword: str) -> tuple[str, ...]:
    value = ds.get(keyword)
    if value is None or value == "":
        return ()
    items = [value] if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
