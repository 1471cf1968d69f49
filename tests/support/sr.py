"""Structured Reports for tests: a Basic Text SR (TID 2000 shape) of a generated study."""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import BasicTextSRStorage, ExplicitVRLittleEndian, generate_uid

FINDING = "Maksassa ei näy pesäkkeitä. Sappirakko ja haima ovat tavalliset; Åström-löydös öljyinen."
IMPRESSION = "Ei merkittävää löydöstä vatsan alueella."


def _code(value: str, scheme: str, meaning: str) -> Sequence:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return Sequence([item])


def _item(relationship: str, value_type: str, concept: Sequence, **values: object) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType, item.ConceptNameCodeSequence = relationship, value_type, concept
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _sr(template: Path, out: Path, *, sop_class: str = BasicTextSRStorage, content_time: str = "101500",
        title: Sequence | None = None, findings: str = FINDING) -> Path:
    """A Basic Text SR (TID 2000 shape) of the template's study: headings, text, observer, sign-off."""
    study = dcmread(template, stop_before_pixels=True)
    ds = Dataset()
    for keyword in ("SpecificCharacterSet", "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate",
                    "PatientSex", "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
                    "ReferringPhysicianName", "StudyDescription"):
        setattr(ds, keyword, study.get(keyword))
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, generate_uid()
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = "SR", generate_uid(), 900, 1
    ds.Manufacturer = "Synthetic RIS"
    ds.ContentDate, ds.ContentTime = "20240314", content_time
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "VERIFIED"
    verifier = Dataset()
    verifier.VerifyingObserverName = "Väänänen^Pääkkö"
    verifier.VerifyingOrganization = "HUS Kuvantaminen"
    verifier.VerificationDateTime = "20240314103000"
    verifier.VerifyingObserverIdentificationCodeSequence = Sequence()
    ds.VerifyingObserverSequence = Sequence([verifier])
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.PerformedProcedureCodeSequence = Sequence()
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = title if title is not None else _code("18748-4", "LN", "Diagnostic Imaging Report")
    ds.ContentSequence = Sequence([
        _item("HAS CONCEPT MOD", "CODE", _code("121049", "DCM", "Language of Content Item and Descendants"),
              ConceptCodeSequence=_code("fi", "RFC5646", "Finnish")),
        _item("HAS OBS CONTEXT", "PNAME", _code("121008", "DCM", "Person Observer Name"),
              PersonName="Väänänen^Pääkkö"),
        _item("CONTAINS", "CONTAINER", _code("121070", "DCM", "Findings"), ContinuityOfContent="SEPARATE",
              ContentSequence=Sequence([_item("CONTAINS", "TEXT", _code("121071", "DCM", "Finding"),
                                              TextValue=findings)])),
        _item("CONTAINS", "CONTAINER", _code("121072", "DCM", "Impressions"), ContinuityOfContent="SEPARATE",
              ContentSequence=Sequence([_item("CONTAINS", "TEXT", _code("121073", "DCM", "Impression"),
                                              TextValue=IMPRESSION)])),
    ])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    out.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(out, enforce_file_format=True)
    return out


make_basic_text_sr = _sr
