"""A report PDF as a DICOM Encapsulated PDF instance of its study (PS3.3 A.45.1).

A report that came as a file (the RIS folder, the operator, a loose PDF on an imported medium)
joins its study as a new series (Modality DOC), so a PACS that imports the medium, or receives
the import, gets the report with the images. Patient and study attributes are copied from an
instance of the study; the rest is fixed by the Encapsulated PDF IOD's modules: SOP Common,
Encapsulated Document Series, General Equipment, SC Equipment and Encapsulated Document.

Deterministic on purpose: the Series and SOP Instance UIDs derive from (Study Instance UID, the
PDF's SHA-256) under the station's UID root, Content Date/Time default to the study's, and
nothing depends on the clock, so a resumed export or import writes the very same instance (the
same UID never stands for two contents). The file is Explicit VR Little Endian with PS3.10 file
meta, allowed by every media profile the station writes.
"""

from __future__ import annotations

import hashlib
import warnings
from datetime import datetime
from pathlib import Path

from pydicom import dcmread
from pydicom.charset import convert_encodings, encode_string
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, UID, generate_uid

from mediastation import __version__
from mediastation.dicom.fileset import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION
from mediastation.files import write_atomic
from mediastation.reports.sources import ENCAPSULATED_PDF, ReportInvalid, is_pdf

DEFAULT_UID_ROOT = "1.2.826.0.1.3680043.8.498."
"""pydicom's root: valid, but not HUS's. Set [station] uid_root to the hospital's registered OID."""
SERIES_DESCRIPTION = "Lausunto / Utlåtande / Report"
SERIES_NUMBER = 9901  # past the scanner's series, so the report is listed last
REPORT_CONCEPT = ("18748-4", "LN", "Diagnostic Imaging Report")  # LOINC; DICOM CID 7000's report title
MANUFACTURER = "mediastation"
CONVERSION_TYPE = "WSD"  # SC Equipment: workstation (the document was made on a computer, not scanned)

PATIENT_KEYS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex")  # Type 2: present, maybe empty
PATIENT_OPTIONAL = ("IssuerOfPatientID", "IssuerOfPatientIDQualifiersSequence")
STUDY_KEYS = ("StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber")  # Type 2
STUDY_OPTIONAL = ("StudyDescription", "IssuerOfAccessionNumberSequence")


def report_uids(study_uid: str, pdf_sha256: str, uid_root: str) -> tuple[str, str]:
    """(Series Instance UID, SOP Instance UID) of the report instance: derived, not random."""
    series = generate_uid(uid_root, ["mediastation-report-series", study_uid, pdf_sha256])
    instance = generate_uid(uid_root, ["mediastation-report-instance", study_uid, pdf_sha256])
    return str(series), str(instance)


def encapsulate_pdf(pdf: Path, template_instance: Path | Dataset, out: Path, *, uid_root: str, title: str,
                    content_datetime: datetime | None = None, series_description: str = SERIES_DESCRIPTION,
                    series_number: int = SERIES_NUMBER, instance_number: int = 1) -> Path:
    """Write `pdf` as an Encapsulated PDF instance of the template's study to `out` atomically.

    `template_instance`: any instance of the study (a file, or a dataset already coerced, as
    the import has it); its patient and study attributes are copied. `title`: Document Title
    (e.g. "Lausunto"). `content_datetime`: when the report was written; None takes the study's
    date and time (deterministic). Raises ReportInvalid when `pdf` is not a PDF or the template
    has no Study Instance UID.
    """
    pdf, out = Path(pdf), Path(out)
    data = pdf.read_bytes()
    if not is_pdf(data):
        raise ReportInvalid(f"{pdf} is not a PDF (no %PDF- header); only PDF reports can be encapsulated",
                            details={"file": str(pdf)})
    template = _template(template_instance)
    study_uid = str(template.get("StudyInstanceUID", "") or "")
    if not study_uid:
        raise ReportInvalid(f"{_name(template_instance)} has no Study Instance UID; the report cannot join its study",
                            details={"template": _name(template_instance)})
    series_uid, instance_uid = report_uids(study_uid, hashlib.sha256(data).hexdigest(), uid_root)
    ds = Dataset()
    _patient_and_study(ds, template, study_uid)
    _series_and_equipment(ds, series_uid, series_description, series_number)
    _document(ds, data, title, instance_number, content_datetime or _study_moment(template))
    ds.SOPClassUID = UID(ENCAPSULATED_PDF)
    ds.SOPInstanceUID = UID(instance_uid)
    _character_set(ds, template, (title, series_description))
    ds.file_meta = _file_meta(instance_uid)
    return write_atomic(out, lambda part: ds.save_as(part, enforce_file_format=True))


def _template(template: Path | Dataset) -> Dataset:
    if isinstance(template, Dataset):
        return template
    try:
        return dcmread(template, stop_before_pixels=True)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError) as exc:
        raise ReportInvalid(f"{template} is not a readable DICOM instance of the study: {exc}",
                            details={"template": str(template)}) from None


def _name(template: Path | Dataset) -> str:
    return "the template dataset" if isinstance(template, Dataset) else str(template)


def _copy(ds: Dataset, template: Dataset, keywords: tuple[str, ...], *, type2: bool) -> None:
    for keyword in keywords:
        if keyword in template:
            element = template[keyword]
            ds.add_new(element.tag, element.VR, element.value)
        elif type2:
            setattr(ds, keyword, None)


def _patient_and_study(ds: Dataset, template: Dataset, study_uid: str) -> None:
    """Patient and General Study modules, as the study's own instances have them."""
    _copy(ds, template, PATIENT_KEYS, type2=True)
    _copy(ds, template, PATIENT_OPTIONAL, type2=False)
    ds.StudyInstanceUID = study_uid
    _copy(ds, template, STUDY_KEYS, type2=True)
    _copy(ds, template, STUDY_OPTIONAL, type2=False)


def _series_and_equipment(ds: Dataset, series_uid: str, description: str, number: int) -> None:
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = number
    ds.SeriesDescription = description
    ds.Manufacturer = MANUFACTURER
    ds.SoftwareVersions = __version__
    ds.ConversionType = CONVERSION_TYPE


def _document(ds: Dataset, data: bytes, title: str, instance_number: int, moment: datetime | None) -> None:
    """Encapsulated Document module (PS3.3 C.24.2); the value padded to even length with a NUL."""
    ds.InstanceNumber = instance_number
    ds.ContentDate = moment.strftime("%Y%m%d") if moment else None
    ds.ContentTime = moment.strftime("%H%M%S") if moment else None
    ds.AcquisitionDateTime = moment.strftime("%Y%m%d%H%M%S") if moment else None
    ds.BurnedInAnnotation = "YES"  # the PDF shows the patient's name and HETU
    ds.DocumentTitle = title
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = REPORT_CONCEPT
    ds.ConceptNameCodeSequence = Sequence([code])
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = data + (b"\x00" if len(data) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(data)


def _study_moment(template: Dataset) -> datetime | None:
    date = str(template.get("StudyDate", "") or "").strip()
    time = str(template.get("StudyTime", "") or "").strip().split(".")[0].ljust(6, "0")[:6]
    try:
        return datetime.strptime(date + time, "%Y%m%d%H%M%S")
    except ValueError:
        return None


def _character_set(ds: Dataset, template: Dataset, added: tuple[str, ...]) -> None:
    """Keep the study's character set when the words added fit it, else ISO_IR 100 (for a study in
    the default repertoire) or UTF-8 (ISO_IR 192); pydicom re-encodes the copied values to match."""
    charset = template.get("SpecificCharacterSet")
    values = [str(v) for v in (charset if isinstance(charset, (list, tuple)) else [charset])] if charset else []
    if values:
        ds.SpecificCharacterSet = charset
    if all(_fits(text, values) for text in added):
        return
    default = not values or values == [""] or values in (["ISO_IR 6"], ["ISO 2022 IR 6"])
    ds.SpecificCharacterSet = "ISO_IR 100" if default and all(_fits(t, ["ISO_IR 100"]) for t in added) \
        else "ISO_IR 192"


def _fits(text: str, charset: list[str]) -> bool:
    """True when `text` can be written in `charset` (the default repertoire is ASCII, whatever
    pydicom's lenient reading of it as latin-1)."""
    if not charset or charset == [""] or charset in (["ISO_IR 6"], ["ISO 2022 IR 6"]):
        return text.isascii()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            encode_string(text, convert_encodings(charset))
        except (UserWarning, UnicodeError, LookupError):
            return False
    return True


def _file_meta(instance_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(ENCAPSULATED_PDF)
    meta.MediaStorageSOPInstanceUID = UID(instance_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    return meta
