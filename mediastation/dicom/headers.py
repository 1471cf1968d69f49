"""One instance's header: exactly what its DICOMDIR records need, read fast (§b19, §b42).

A directory is built from thousands of headers, so reading them is the cost that matters. The
common case (an image in a little-endian transfer syntax) is read by a small element walker that
stops at Instance Number and decodes only the ~20 values a record needs: about ten times faster
than `pydicom.dcmread(stop_before_pixels=True)`, which builds every element. Everything else (big
endian, deflated, private transfer syntaxes, non-image objects whose records need more keys, any
file the walker does not understand) goes through pydicom, which is the reference.

Type 1 directory keys missing in the file are filled with documented, deterministic defaults
(`DEFAULTS`), and the header says which ones were filled, so an export can report it.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pydicom.uid as uids
from pydicom import dcmread
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.errors import InvalidDicomError
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from mediastation.errors import InputError

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"

DEFAULTS = {
    "PatientID": "NOID_ + first 10 hex digits of SHA-1 of the Study Instance UID (one patient per study)",
    "StudyInstanceUID": "UID derived from Patient ID, Study Date/Time, Accession Number and Study ID",
    "StudyDate": "Series Date, else Acquisition Date, else Content Date, else 19000101",
    "StudyTime": "Series Time, else Acquisition Time, else Content Time, else 000000",
    "StudyID": "Accession Number when 1-16 characters, else S + 8 hex digits of SHA-1 of the Study UID",
    "Modality": "OT",
    "SeriesInstanceUID": "UID derived from the Study Instance UID, Modality and Series Number",
    "SeriesNumber": "position of the series in its study (1-based, after the numbered series)",
    "InstanceNumber": "position of the instance in its series (1-based, after the numbered ones)",
    "ContentDate": "the Study Date", "ContentTime": "the Study Time",
    "PresentationCreationDate": "the Study Date", "PresentationCreationTime": "the Study Time",
    "ContentLabel": "UNNAMED",
}
"""What a missing or empty Type 1 directory key becomes (PS3.3 F.5; dcmmkdir +I, dcm4chee-cdw)."""


class NotDicomError(InputError):
    """The file is not a DICOM PS3.10 file (no preamble and `DICM` prefix, or unreadable)."""

    code = "not_dicom"


class InvalidInstanceError(InputError):
    """A DICOM file that cannot be put in a file-set as it is (no SOP Instance UID, ...)."""

    code = "invalid_instance"


@dataclass(frozen=True)
class InstanceHeader:
    """What one file contributes to a DICOMDIR; text values are decoded (Python str).

    `leaf_keys` are the extra keys of non-IMAGE records (SR DOCUMENT, ENCAP DOC, ...), already
    encoded in Explicit VR Little Endian with the file's character set, as (tag, bytes) pairs.
    `filled` names the Type 1 keys that got a default (`DEFAULTS`); `series_number` and
    `instance_number` are None when the file has none (the writer numbers them by position).
    """

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    record_type: str
    specific_character_set: tuple[str, ...]
    patient_id: str
    patient_name: str
    patient_birth_date: str
    study_instance_uid: str
    study_date: str
    study_time: str
    study_id: str
    study_description: str
    accession_number: str
    modality: str
    series_instance_uid: str
    series_number: int | None
    instance_number: int | None
    related_general_sop_class_uids: tuple[str, ...] = ()
    leaf_keys: tuple[tuple[int, bytes], ...] = ()
    leaf_has_text: bool = False
    filled: tuple[str, ...] = ()


# --- record types (PS3.3 F.5, after pydicom's fileset.py) -----------------------------------

_LEAF_SOP_CLASSES = {
    "SR DOCUMENT": (
        "BasicTextSRStorage", "EnhancedSRStorage", "ComprehensiveSRStorage", "Comprehensive3DSRStorage",
        "ExtensibleSRStorage", "MammographyCADSRStorage", "ChestCADSRStorage", "ColonCADSRStorage",
        "ProcedureLogStorage", "XRayRadiationDoseSRStorage", "RadiopharmaceuticalRadiationDoseSRStorage",
        "PatientRadiationDoseSRStorage", "AcquisitionContextSRStorage", "SimplifiedAdultEchoSRStorage",
        "SpectaclePrescriptionReportStorage", "MacularGridThicknessAndVolumeReportStorage",
        "ImplantationPlanSRStorage", "PlannedImagingAgentAdministrationSRStorage",
        "PerformedImagingAgentAdministrationSRStorage", "EnhancedXRayRadiationDoseSRStorage",
        "WaveformAnnotationSRStorage"),
    "KEY OBJECT DOC": ("KeyObjectSelectionDocumentStorage",),
    "PRESENTATION": (
        "GrayscaleSoftcopyPresentationStateStorage", "ColorSoftcopyPresentationStateStorage",
        "PseudoColorSoftcopyPresentationStateStorage", "BlendingSoftcopyPresentationStateStorage",
        "XAXRFGrayscaleSoftcopyPresentationStateStorage", "BasicStructuredDisplayStorage",
        "AdvancedBlendingPresentationStateStorage", "SegmentedVolumeRenderingVolumetricPresentationStateStorage",
        "VariableModalityLUTSoftcopyPresentationStateStorage"),
    "ENCAP DOC": (
        "EncapsulatedPDFStorage", "EncapsulatedCDAStorage", "EncapsulatedSTLStorage",
        "EncapsulatedOBJStorage", "EncapsulatedMTLStorage"),
    "WAVEFORM": (
        "TwelveLeadECGWaveformStorage", "GeneralECGWaveformStorage", "AmbulatoryECGWaveformStorage",
        "HemodynamicWaveformStorage", "CardiacElectrophysiologyWaveformStorage", "BasicVoiceAudioWaveformStorage",
        "GeneralAudioWaveformStorage", "ArterialPulseWaveformStorage", "RespiratoryWaveformStorage",
        "MultichannelRespiratoryWaveformStorage", "RoutineScalpElectroencephalogramWaveformStorage",
        "ElectromyogramWaveformStorage", "ElectrooculogramWaveformStorage",
        "SleepElectroencephalogramWaveformStorage", "BodyPositionWaveformStorage"),
    "RT DOSE": ("RTDoseStorage",),
    "RT STRUCTURE SET": ("RTStructureSetStorage",),
    "RT PLAN": ("RTPlanStorage", "RTIonPlanStorage"),
    "RT TREAT RECORD": (
        "RTBeamsTreatmentRecordStorage", "RTBrachyTreatmentRecordStorage", "RTTreatmentSummaryRecordStorage",
        "RTIonBeamsTreatmentRecordStorage"),
    "RAW DATA": ("RawDataStorage",),
    "REGISTRATION": ("SpatialRegistrationStorage", "DeformableSpatialRegistrationStorage"),
    "FIDUCIAL": ("SpatialFiducialsStorage",),
    "VALUE MAP": ("RealWorldValueMappingStorage",),
    "SPECTROSCOPY": ("MRSpectroscopyStorage",),
    "STEREOMETRIC": ("StereometricRelationshipStorage",),
    "MEASUREMENT": (
        "LensometryMeasurementsStorage", "AutorefractionMeasurementsStorage", "KeratometryMeasurementsStorage",
        "SubjectiveRefractionMeasurementsStorage", "VisualAcuityMeasurementsStorage",
        "OphthalmicAxialMeasurementsStorage"),
    "SURFACE": ("SurfaceSegmentationStorage",),
    "TRACT": ("TractographyResultsStorage",),
}
RECORD_TYPES: dict[str, str] = {
    str(getattr(uids, name)): record for record, names in _LEAF_SOP_CLASSES.items()
    for name in names if hasattr(uids, name)
}
"""SOP Class UID -> leaf Directory Record Type; every other class is an IMAGE record."""

_CONTENT_ID = (("ContentDate", "1"), ("ContentTime", "1"), ("ContentLabel", "1"),
               ("ContentDescription", "2"), ("ContentCreatorName", "2"))
_CONTENT = (("ContentDate", "1"), ("ContentTime", "1"))
LEAF_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "IMAGE": (),
    "SR DOCUMENT": (("CompletionFlag", "1"), ("VerificationFlag", "1"), ("ContentDate", "1"),
                    ("ContentTime", "1"), ("VerificationDateTime", "1C"), ("ConceptNameCodeSequence", "1"),
                    ("ContentSequence", "1C")),
    "KEY OBJECT DOC": (("ContentDate", "1"), ("ContentTime", "1"), ("ConceptNameCodeSequence", "1"),
                       ("ContentSequence", "1C")),
    "PRESENTATION": (("PresentationCreationDate", "1"), ("PresentationCreationTime", "1"),
                     ("ContentLabel", "1"), ("ContentDescription", "2"), ("ContentCreatorName", "2"),
                     ("ReferencedSeriesSequence", "1C"), ("BlendingSequence", "1C")),
    "ENCAP DOC": (("ContentDate", "2"), ("ContentTime", "2"), ("DocumentTitle", "2"),
                  ("HL7InstanceIdentifier", "1C"), ("ConceptNameCodeSequence", "2"),
                  ("MIMETypeOfEncapsulatedDocument", "1")),
    "WAVEFORM": _CONTENT,
    "RAW DATA": _CONTENT,
    "RT DOSE": (("DoseSummationType", "1"),),
    "RT STRUCTURE SET": (("StructureSetLabel", "1"), ("StructureSetDate", "2"), ("StructureSetTime", "2")),
    "RT PLAN": (("RTPlanLabel", "1"), ("RTPlanDate", "2"), ("RTPlanTime", "2")),
    "RT TREAT RECORD": (("TreatmentDate", "2"), ("TreatmentTime", "2")),
    "REGISTRATION": _CONTENT_ID, "FIDUCIAL": _CONTENT_ID, "VALUE MAP": _CONTENT_ID,
    "MEASUREMENT": _CONTENT_ID, "SURFACE": _CONTENT_ID, "TRACT": _CONTENT_ID,
    "SPECTROSCOPY": (("ImageType", "1"), ("ContentDate", "1"), ("ContentTime", "1"),
                     ("ReferencedImageEvidenceSequence", "1C"), ("NumberOfFrames", "1"), ("Rows", "1"),
                     ("Columns", "1"), ("DataPointRows", "1"), ("DataPointColumns", "1")),
    "STEREOMETRIC": (),
}
"""Keys of each leaf record besides Instance Number, with their type (PS3.3 F.5); Type 3 keys are
left out on purpose (§b24: they would make the DICOMDIR an extended SOP class)."""

HAS_INSTANCE_NUMBER = frozenset(LEAF_KEYS) - {"STEREOMETRIC"}
_TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "PN", "UC", "SQ"})


def file_meta_bytes(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, *, implementation_uid: str,
                    implementation_version: str, source_ae: str = "") -> bytes:
    """The File Meta Information group (PS3.10 7.1) encoded by hand, group length first: it is the
    same few elements for every file, and pydicom's writer took longer than the data set's own copy
    for each instance received or rewritten."""
    body = b"".join([
        _meta_element(0x0001, b"OB", b"\x00\x01"),
        _meta_element(0x0002, b"UI", sop_class_uid.encode("ascii")),
        _meta_element(0x0003, b"UI", sop_instance_uid.encode("ascii")),
        _meta_element(0x0010, b"UI", transfer_syntax.encode("ascii")),
        _meta_element(0x0012, b"UI", implementation_uid.encode("ascii")),
        _meta_element(0x0013, b"SH", implementation_version.encode("ascii")),
        _meta_element(0x0016, b"AE", source_ae[:16].encode("ascii")) if source_ae else b"",
    ])
    return _meta_element(0x0000, b"UL", struct.pack("<I", len(body))) + body


def _meta_element(element: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr in (b"UI", b"OB") else b" "
    if vr == b"OB":
        return struct.pack("<HH", 0x0002, element) + vr + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return struct.pack("<HH", 0x0002, element) + vr + struct.pack("<H", len(value)) + value


def record_type(sop_class_uid: str) -> str:
    return RECORD_TYPES.get(sop_class_uid, "IMAGE")


# --- reading --------------------------------------------------------------------------------

def read_header(path: Path | str) -> InstanceHeader:
    """The header of the DICOM PS3.10 file at `path`; NotDicomError for anything else."""
    path = Path(path)
    try:
        scanned = _scan(path)
    except OSError as exc:
        raise NotDicomError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if scanned is not None:
        transfer_syntax, values = scanned
        header = _header(path, transfer_syntax, values.get)
        if header.record_type == "IMAGE":
            return header
    return _read_with_pydicom(path)


def _read_with_pydicom(path: Path) -> InstanceHeader:
    try:
        ds = dcmread(path, stop_before_pixels=True, defer_size=4096)
    except (InvalidDicomError, EOFError, struct.error, ValueError, KeyError, NotImplementedError) as exc:
        raise NotDicomError(f"{path} is not a readable DICOM file: {exc}") from exc
    except OSError as exc:
        raise NotDicomError(f"cannot read {path}: {exc.strerror or exc}") from exc
    transfer_syntax = str(ds.file_meta.get("TransferSyntaxUID", "") or "")
    meta = {0x00020002: ds.file_meta.get("MediaStorageSOPClassUID", ""),
            0x00020003: ds.file_meta.get("MediaStorageSOPInstanceUID", "")}

    def value(tag: int) -> Any:
        if tag in meta:
            return str(meta[tag] or "")
        element = ds.get(tag)
        return None if element is None else element.value

    header = _header(path, transfer_syntax, value)
    if header.record_type != "IMAGE":
        leaf, has_text = _leaf_keys(ds, header)
        header = replace(header, leaf_keys=leaf, leaf_has_text=has_text,
                          filled=header.filled + tuple(k for k in _filled_leaf_keys(ds, header)))
    return header


# Tags the walker keeps; it stops after the last one (Instance Number).
_TAGS = {
    "SpecificCharacterSet": 0x00080005, "SOPClassUID": 0x00080016, "SOPInstanceUID": 0x00080018,
    "RelatedGeneralSOPClassUID": 0x0008001A, "StudyDate": 0x00080020, "SeriesDate": 0x00080021,
    "AcquisitionDate": 0x00080022, "ContentDate": 0x00080023, "StudyTime": 0x00080030,
    "SeriesTime": 0x00080031, "AcquisitionTime": 0x00080032, "ContentTime": 0x00080033,
    "AccessionNumber": 0x00080050, "Modality": 0x00080060, "StudyDescription": 0x00081030,
    "PatientName": 0x00100010, "PatientID": 0x00100020, "PatientBirthDate": 0x00100030,
    "StudyInstanceUID": 0x0020000D, "SeriesInstanceUID": 0x0020000E, "StudyID": 0x00200010,
    "SeriesNumber": 0x00200011, "InstanceNumber": 0x00200013,
}
_WANTED = frozenset(_TAGS.values())
_STOP = max(_WANTED)
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_CHUNK = 16384


class _Fallback(Exception):
    """The walker met something it leaves to pydicom."""


class _Buffer:
    """The head of a file, read in chunks as the walker needs more."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.data = handle.read(_CHUNK)
        self.eof = len(self.data) < _CHUNK

    def need(self, end: int) -> None:
        while len(self.data) < end:
            if self.eof:
                raise _Fallback("truncated")
            more = self.handle.read(max(_CHUNK, end - len(self.data)))
            self.eof = len(more) == 0
            self.data += more


def meta_uids(path: Path | str) -> tuple[str, str] | None:
    """(Media Storage SOP Class UID, Transfer Syntax UID) from the file meta alone, read by the
    walker (a tenth of pydicom's read_file_meta_info); None when the file is not a plain PS3.10 file
    the walker reads (the caller asks pydicom). OSError when it cannot be read."""
    with open(path, "rb") as handle:
        buffer = _Buffer(handle)
        if len(buffer.data) < 132 or buffer.data[128:132] != b"DICM":
            return None
        try:
            meta, _position = _walk_meta(buffer, 132)
        except (_Fallback, struct.error):
            return None
    return _ascii(meta.get(0x00020002, b"")), _ascii(meta.get(0x00020010, b""))


def _scan(path: Path) -> tuple[str, dict[int, bytes]] | None:
    """(transfer syntax, raw values by tag) for a little-endian PS3.10 file; None: ask pydicom."""
    with open(path, "rb") as handle:
        buffer = _Buffer(handle)
        if len(buffer.data) < 132 or buffer.data[128:132] != b"DICM":
            raise NotDicomError(f"{path} is not a DICOM file (no PS3.10 preamble and DICM prefix)")
        try:
            meta, position = _walk_meta(buffer, 132)
            transfer_syntax = _ascii(meta.get(0x00020010, b""))
            if transfer_syntax == IMPLICIT_VR_LITTLE_ENDIAN:
                explicit = False
            elif transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN or _encapsulated(transfer_syntax):
                explicit = True
            else:
                return None
            values: dict[int, bytes] = {0x00020002: meta.get(0x00020002, b""),
                                        0x00020003: meta.get(0x00020003, b"")}
            _walk(buffer, position, explicit, values)
        except (_Fallback, struct.error):
            return None
    return transfer_syntax, values


def _encapsulated(transfer_syntax: str) -> bool:
    uid = uids.UID(transfer_syntax)
    return uid in uids.AllTransferSyntaxes and uid.is_encapsulated


def _walk_meta(buffer: _Buffer, position: int) -> tuple[dict[int, bytes], int]:
    meta: dict[int, bytes] = {}
    while True:
        buffer.need(position + 8)
        group, element = struct.unpack_from("<HH", buffer.data, position)
        if group != 0x0002:
            return meta, position
        vr = buffer.data[position + 4:position + 6]
        if vr in _LONG_VRS:
            buffer.need(position + 12)
            length = struct.unpack_from("<L", buffer.data, position + 8)[0]
            position += 12
        else:
            length = struct.unpack_from("<H", buffer.data, position + 6)[0]
            position += 8
        if length == _UNDEFINED:
            raise _Fallback("undefined length in file meta")
        buffer.need(position + length)
        meta[(group << 16) | element] = buffer.data[position:position + length]
        position += length


def _element(buffer: _Buffer, position: int, explicit: bool) -> tuple[int, bytes | None, int, int]:
    """(tag, VR or None, value length, value position) of the element at `position`."""
    buffer.need(position + 12)
    group, element = struct.unpack_from("<HH", buffer.data, position)
    tag = (group << 16) | element
    if tag in (_ITEM, _ITEM_END, _SEQUENCE_END):
        return tag, None, struct.unpack_from("<L", buffer.data, position + 4)[0], position + 8
    if not explicit:
        return tag, None, struct.unpack_from("<L", buffer.data, position + 4)[0], position + 8
    vr = buffer.data[position + 4:position + 6]
    if vr in _LONG_VRS:
        return tag, vr, struct.unpack_from("<L", buffer.data, position + 8)[0], position + 12
    if not vr.isalpha():
        raise _Fallback("unexpected VR")
    return tag, vr, struct.unpack_from("<H", buffer.data, position + 6)[0], position + 8


def _walk(buffer: _Buffer, position: int, explicit: bool, values: dict[int, bytes]) -> None:
    """Collect the wanted values of the top-level dataset, skipping sequences, up to _STOP.

    The loop is written out (one unpack per element) because it runs ~50 times per file.
    """
    unpack, long_vrs, wanted, stop = struct.unpack_from, _LONG_VRS, _WANTED, _STOP
    data = buffer.data
    while True:
        if position + 12 > len(data):
            if buffer.eof and position >= len(data):
                return
            buffer.need(position + 12)
            data = buffer.data
        if explicit:
            group, element, vr, length = unpack("<HH2sH", data, position)
            if vr in long_vrs:
                length = unpack("<L", data, position + 8)[0]
                position += 12
            elif vr.isalpha():
                position += 8
            else:
                raise _Fallback("unexpected VR")
        else:
            group, element, length = unpack("<HHL", data, position)
            vr = b""
            position += 8
        tag = (group << 16) | element
        if tag > stop:
            return
        if length == _UNDEFINED:
            position = _skip_sequence(buffer, position, explicit and vr != b"UN")
            data = buffer.data
            continue
        if tag in wanted:
            if position + length > len(data):
                buffer.need(position + length)
                data = buffer.data
            values[tag] = data[position:position + length]
        position += length


def _skip_sequence(buffer: _Buffer, position: int, explicit: bool) -> int:
    """Position after an undefined-length sequence (items of either length, nested sequences)."""
    while True:
        tag, _vr, length, position = _element(buffer, position, explicit)
        if tag == _SEQUENCE_END:
            return position
        if tag != _ITEM:
            raise _Fallback("malformed sequence")
        if length != _UNDEFINED:
            position += length
            continue
        while True:
            tag, vr, length, position = _element(buffer, position, explicit)
            if tag == _ITEM_END:
                break
            if length == _UNDEFINED:
                position = _skip_sequence(buffer, position, explicit and vr != b"UN")
            else:
                position += length


# --- values ---------------------------------------------------------------------------------

_DA = re.compile(r"^\d{8}$")
_DA_OLD = re.compile(r"^(\d{4})[.-](\d{2})[.-](\d{2})$")
_TM = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")


def _ascii(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        return raw.decode("latin-1").strip(" \x00")
    return str(raw).strip(" \x00")


@lru_cache(maxsize=64)
def _encodings(charset: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(convert_encodings(list(charset) if charset else None))


def _charset(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, bytes):
        parts = raw.decode("ascii", "replace").split("\\")
    elif isinstance(raw, str):
        parts = raw.split("\\")
    else:
        parts = [str(v) for v in raw]
    parts = [p.strip(" \x00") for p in parts]
    return () if not any(parts) else tuple(parts)


def _text(raw: Any, charset: tuple[str, ...], person: bool = False) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        delimiters = {0x5E, 0x3D} if person else {0x5C}
        return decode_bytes(raw, list(_encodings(charset)), delimiters).strip(" \x00")
    return str(raw).strip(" \x00")


def _integer(raw: Any) -> int | None:
    text = _ascii(raw) if not isinstance(raw, int) else str(raw)
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def _date(raw: Any) -> str:
    text = _ascii(raw)
    if _DA.match(text):
        return text
    old = _DA_OLD.match(text)
    return "".join(old.groups()) if old else ""


def _time(raw: Any) -> str:
    text = _ascii(raw).replace(":", "")
    return text if _TM.match(text) else ""


def _uids(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, bytes):
        return tuple(v for v in (p.strip(" \x00") for p in raw.decode("latin-1").split("\\")) if v)
    if isinstance(raw, str):
        return (raw,) if raw else ()
    return tuple(str(v) for v in raw if v)


def _sha(text: str, digits: int) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:digits].upper()


def _header(path: Path, transfer_syntax: str, value: Callable[[int], Any]) -> InstanceHeader:
    """Build the header from raw (walker) or decoded (pydicom) values, filling Type 1 defaults."""
    if not transfer_syntax:
        raise InvalidInstanceError(f"{path} has no Transfer Syntax UID in its file meta information")
    charset = _charset(value(_TAGS["SpecificCharacterSet"]))
    sop_class = _ascii(value(_TAGS["SOPClassUID"])) or _ascii(value(0x00020002))
    sop_instance = _ascii(value(_TAGS["SOPInstanceUID"])) or _ascii(value(0x00020003))
    if not sop_class or not sop_instance:
        raise InvalidInstanceError(f"{path} has no SOP Class UID or SOP Instance UID; it cannot be referenced")
    filled: list[str] = []

    def pick(*keywords: str) -> str:
        for keyword in keywords:
            found = (_date if keyword.endswith("Date") else _time)(value(_TAGS[keyword]))
            if found:
                return found
        return ""

    accession = _text(value(_TAGS["AccessionNumber"]), charset)
    study_id = _text(value(_TAGS["StudyID"]), charset)
    study_date = pick("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")
    study_time = pick("StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime")
    patient_id = _text(value(_TAGS["PatientID"]), charset)
    study_uid = _ascii(value(_TAGS["StudyInstanceUID"]))
    if not study_uid:
        filled.append("StudyInstanceUID")
        study_uid = generate_uid(entropy_srcs=["mediastation-study", patient_id, study_date, study_time,
                                               accession, study_id])
    if not patient_id:
        filled.append("PatientID")
        patient_id = f"NOID_{_sha(study_uid, 10)}"
    if not _date(value(_TAGS["StudyDate"])):
        filled.append("StudyDate")
        study_date = study_date or "19000101"
    if not _time(value(_TAGS["StudyTime"])):
        filled.append("StudyTime")
        study_time = study_time or "000000"
    if not study_id:
        filled.append("StudyID")
        study_id = accession if 0 < len(accession) <= 16 else f"S{_sha(study_uid, 8)}"
    modality = _ascii(value(_TAGS["Modality"]))
    if not modality:
        filled.append("Modality")
        modality = "OT"
    series_number = _integer(value(_TAGS["SeriesNumber"]))
    series_uid = _ascii(value(_TAGS["SeriesInstanceUID"]))
    if not series_uid:
        filled.append("SeriesInstanceUID")
        series_uid = generate_uid(entropy_srcs=["mediastation-series", study_uid, modality, str(series_number)])
    if series_number is None:
        filled.append("SeriesNumber")
    instance_number = _integer(value(_TAGS["InstanceNumber"]))
    kind = record_type(sop_class)
    if instance_number is None and kind in HAS_INSTANCE_NUMBER:
        filled.append("InstanceNumber")
    return InstanceHeader(
        path=path, sop_class_uid=sop_class, sop_instance_uid=sop_instance, transfer_syntax=transfer_syntax,
        record_type=kind, specific_character_set=charset, patient_id=patient_id,
        patient_name=_text(value(_TAGS["PatientName"]), charset, person=True),
        patient_birth_date=_date(value(_TAGS["PatientBirthDate"])), study_instance_uid=study_uid,
        study_date=study_date, study_time=study_time, study_id=study_id,
        study_description=_text(value(_TAGS["StudyDescription"]), charset), accession_number=accession,
        modality=modality, series_instance_uid=series_uid, series_number=series_number,
        instance_number=instance_number,
        related_general_sop_class_uids=_uids(value(_TAGS["RelatedGeneralSOPClassUID"])),
        filled=tuple(filled),
    )


# --- leaf keys of non-IMAGE records ---------------------------------------------------------

_LEAF_DEFAULTS = {"ContentLabel": "UNNAMED"}


def _leaf_default(keyword: str, header: InstanceHeader) -> str | None:
    if keyword.endswith("Date"):
        return header.study_date
    if keyword.endswith("Time"):
        return header.study_time
    return _LEAF_DEFAULTS.get(keyword)


def _filled_leaf_keys(ds: Dataset, header: InstanceHeader) -> list[str]:
    return [keyword for keyword, kind in LEAF_KEYS[header.record_type]
            if kind == "1" and _empty(ds, keyword) and _leaf_default(keyword, header) is not None]


def _empty(ds: Dataset, keyword: str) -> bool:
    return keyword not in ds or ds[keyword].VM == 0


def _leaf_keys(ds: Dataset, header: InstanceHeader) -> tuple[tuple[tuple[int, bytes], ...], bool]:
    """The record keys of a non-IMAGE instance, encoded; refuses a missing Type 1 key it cannot fill."""
    record = Dataset()
    for keyword, kind in LEAF_KEYS[header.record_type]:
        if not _empty(ds, keyword):
            element = ds[keyword]
            value = _concept_modifiers(element.value) if keyword == "ContentSequence" else element.value
            if keyword == "ContentSequence" and not value:
                continue
            record.add(DataElement(element.tag, element.VR, value))
        elif keyword == "VerificationDateTime" and str(ds.get("VerificationFlag", "") or "") == "VERIFIED":
            # An SR keeps it per verifier (VerifyingObserverSequence); the record wants the latest (1C).
            times = [str(v.get("VerificationDateTime", "") or "") for v in ds.get("VerifyingObserverSequence", [])]
            if any(times):
                record.add_new(0x0040A030, "DT", max(t for t in times if t))
        elif kind == "1":
            default = _leaf_default(keyword, header)
            if default is None:
                raise InvalidInstanceError(
                    f"{header.path}: {keyword} is required for its {header.record_type} directory record "
                    "but missing or empty in the file")
            record.add_new(tag_for_keyword(keyword), dictionary_VR(keyword), default)
        elif kind == "2":
            vr = dictionary_VR(keyword)
            record.add_new(tag_for_keyword(keyword), vr, Sequence() if vr == "SQ" else None)
    encodings = list(_encodings(header.specific_character_set))
    encoded = []
    for element in record:
        fp = DicomBytesIO()
        fp.is_little_endian, fp.is_implicit_VR = True, False
        write_data_element(fp, element, encodings)
        encoded.append((int(element.tag), fp.getvalue()))
    has_text = any(element.VR in _TEXT_VRS for element in record)
    return tuple(encoded), has_text


def _concept_modifiers(items: Any) -> Sequence:
    """Only the HAS CONCEPT MOD items of an SR Content Sequence belong in the record (PS3.3 F.5.20)."""
    return Sequence([item for item in items if item.get("RelationshipType") == "HAS CONCEPT MOD"])

