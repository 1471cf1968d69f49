"""C-FIND look-ups for the import: who the archive knows, and which instances it already holds.

- R-C2 / R-D1: the local patient's demographics by HETU (PATIENT level, Patient Root).
- R-E5: before sending, which SOP Instance UIDs of a study are already there, and under whom.
- R-F1: after sending, every stored SOP Instance UID again at IMAGE level: only what the archive
  lists counts as imported. Study level first; SERIES and IMAGE levels only for studies that exist,
  so an empty archive costs one query per study (PACS often omit the count keys, pynetdicom #598).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from mediastation.domain.reconcile import ArchivePatient
from mediastation.errors import PacsError
from mediastation.pacs.network import DicomNode, application_entity, encoded_identifier, status_code
from mediastation.pacs.pdata import DirectAssociation

PENDING = (0xFF00, 0xFF01)


@dataclass(frozen=True)
class ArchivedInstance:
    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    study_instance_uid: str
    patient_id: str


class ArchiveQuery:
    """One association for a series of C-FINDs: `with ArchiveQuery(node, ae, timeout) as q: ...`."""

    def __init__(self, node: DicomNode, calling_ae: str, timeout: float) -> None:
        self.node = node
        self.calling_ae = calling_ae
        self.timeout = timeout
        self.assoc = None
        self.direct: DirectAssociation | None = None
        # Told of each look-up of a patient by HETU: (the identifier as encoded, the Patient ID,
        # matches, error or None); the audit trail's Query event (PS3.15 A.5.3.10) hangs here.
        self.on_patient_query: Callable[[bytes, str, int, str | None], None] | None = None

    def __enter__(self) -> ArchiveQuery:
        ae = application_entity(self.calling_ae, self.timeout)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        ae.add_requested_context(PatientRootQueryRetrieveInformationModelFind)
        assoc = ae.associate(self.node.host, self.node.port, ae_title=self.node.ae_title)
        if not assoc.is_established:
            why = "rejected the association" if assoc.is_rejected else "did not answer"
            raise PacsError(f"archive {self.node.ae_title}@{self.node.host}:{self.node.port} {why}; check [archive] "
                            "in station.toml and that the archive is running",
                            details={"ae_title": self.node.ae_title, "host": self.node.host, "port": self.node.port})
        self.assoc = assoc
        self.direct = DirectAssociation.take(assoc)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.direct is not None:
            self.direct.__exit__(None, None, None)
            self.direct = None
        if self.assoc is not None and self.assoc.is_established:
            self.assoc.release()
        self.assoc = None

    def _find(self, query: Dataset, model: str) -> Iterator[Dataset]:
        assert self.assoc is not None
        try:
            if self.direct is not None:
                responses = list(self.direct.find(query, model))
            else:
                responses = [(status_code(status), identifier)
                             for status, identifier in self.assoc.send_c_find(query, model)]
        except (RuntimeError, ValueError, OSError) as exc:
            raise PacsError(f"C-FIND to {self.node.ae_title} failed: {exc}") from None
        for code, identifier in responses:
            if code is None:
                raise PacsError(f"archive {self.node.ae_title} did not answer a C-FIND (association lost)")
            if code in PENDING and identifier is not None:
                yield identifier
            elif code not in PENDING and code != 0x0000:
                raise PacsError(f"archive {self.node.ae_title} refused a C-FIND with status {code:04X}")

    def patient(self, patient_id: str) -> ArchivePatient | None:
        """The archive's name, birth date and sex for a Patient ID (a HETU), or None."""
        query = Dataset()
        query.QueryRetrieveLevel = "PATIENT"
        query.PatientID = patient_id
        query.PatientName = ""
        query.PatientBirthDate = ""
        query.PatientSex = ""
        try:
            answers = list(self._find(query, PatientRootQueryRetrieveInformationModelFind))
        except PacsError as exc:
            self._patient_queried(query, patient_id, 0, exc.message)
            raise
        self._patient_queried(query, patient_id, len(answers), None)
        for found in answers:
            if str(found.get("PatientID", "")) == patient_id:
                return ArchivePatient(str(found.get("PatientName", "") or ""),
                                      str(found.get("PatientBirthDate", "") or ""),
                                      str(found.get("PatientSex", "") or ""))
        return None

    def _patient_queried(self, query: Dataset, patient_id: str, matches: int, error: str | None) -> None:
        if self.on_patient_query is not None:
            self.on_patient_query(encoded_identifier(query), patient_id, matches, error)

    def study_instances(self, study_uid: str) -> dict[str, ArchivedInstance]:
        """Every instance of the study the archive holds, by SOP Instance UID."""
        patient_id = self.study_patient_id(study_uid)
        if patient_id is None:
            return {}
        found: dict[str, ArchivedInstance] = {}
        for series_uid in self._series(study_uid):
            found.update(self.series_instances(study_uid, series_uid, patient_id))
        return found

    def study_patient_id(self, study_uid: str) -> str | None:
        """The Patient ID the archive files the study under (several joined by \\), None if no study."""
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = study_uid
        query.PatientID = ""
        studies = [s for s in self._find(query, StudyRootQueryRetrieveInformationModelFind)
                   if str(s.get("StudyInstanceUID", "")) == study_uid]
        if not studies:
            return None
        patient_ids = {str(s.get("PatientID", "") or "") for s in studies}
        return patient_ids.pop() if len(patient_ids) == 1 else "\\".join(sorted(patient_ids))

    def sop_classes_in_study(self, study_uid: str) -> tuple[str, ...]:
        """The SOP classes of the study's instances as the archive reports them at study level (SOP
        Classes in Study, PS3.4 C.6.2.1.2: optional, () from an archive that does not). Asked at
        IMAGE level instead, Orthanc would read every file of the study from its storage."""
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = study_uid
        query.SOPClassesInStudy = ""
        classes: dict[str, None] = {}
        for study in self._find(query, StudyRootQueryRetrieveInformationModelFind):
            if str(study.get("StudyInstanceUID", "")) == study_uid:
                value = study.get("SOPClassesInStudy") or []
                for uid in [value] if isinstance(value, str) else value:
                    if str(uid).strip():
                        classes[str(uid).strip()] = None
        return tuple(classes)

    def series_instances(self, study_uid: str, series_uid: str, patient_id: str) -> dict[str, ArchivedInstance]:
        """The instances of one series the archive holds (IMAGE level), by SOP Instance UID."""
        found: dict[str, ArchivedInstance] = {}
        for image in self._images(study_uid, series_uid):
            uid = str(image.get("SOPInstanceUID", ""))
            found[uid] = ArchivedInstance(uid, str(image.get("SOPClassUID", "") or ""), series_uid, study_uid,
                                          patient_id)
        return found

    def _series(self, study_uid: str) -> list[str]:
        query = Dataset()
        query.QueryRetrieveLevel = "SERIES"
        query.StudyInstanceUID = study_uid
        query.SeriesInstanceUID = ""
        return sorted({str(s.SeriesInstanceUID) for s in self._find(query, StudyRootQueryRetrieveInformationModelFind)
                       if s.get("SeriesInstanceUID")})

    def _images(self, study_uid: str, series_uid: str) -> Iterator[Dataset]:
        query = Dataset()
        query.QueryRetrieveLevel = "IMAGE"
        query.StudyInstanceUID = study_uid
        query.SeriesInstanceUID = series_uid
        query.SOPInstanceUID = ""
        # Not SOPClassUID: Orthanc keeps it out of its index and reads every file from storage for
        # it (C-FINDs twice as slow); the series a UID is filed under tells a conflict as surely.
        return self._find(query, StudyRootQueryRetrieveInformationModelFind)
