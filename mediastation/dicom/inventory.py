"""Inventory of an outside medium: every file classified, every instance grouped by patient and study.

The requirements of docs/import-requirements.md:
- R-A1: the union of the DICOMDIR's records and a full content scan; orphans and missing files are
  reported, the instance set is the same with or without the DICOMDIR.
- R-A2: DICOMDIR offsets are never followed: every record of the Directory Record Sequence is read
  in sequence order, so shifted offsets, records in any order and cycles cannot lose a file; offsets
  that do not land on a record only mark the DICOMDIR `broken`.
- R-A3: Referenced File IDs resolve case-insensitively, without `;1` and trailing `.`, and with
  `.dcm` alternate names.
- R-A4/R-A5: DICOM is recognised by content: the PS3.10 preamble, or a dataset starting with group
  0002/0008 in either endianness (files without preamble or meta header); a DICOMDIR named `*.dcm`
  is a file-set file, not an image.
- R-A7/R-A8: every file has a kind (`instance`, `fileset`, `non_dicom`, `unreadable`) and a reason;
  each file's SHA-256; nothing is executed.
- R-B1: headers only (`stop_before_pixels`); R-B2: misspelt character sets are normalised.
- R-E5 on the medium itself: copies of one SOP Instance UID with the same decoded pixel data and
  the same patient are one instance: the best copy is taken, the others are `duplicate` naming it;
  copies that really differ (pixel data or patient) are all `duplicate_conflict` and none is sent
  unless the operator prefers one (`import run --prefer PATH`).
- Every instance is validated whole (dicom/validate.py): a truncated or corrupt file is never sent;
  what can be repaired without changing the image is listed in `repairs`.
"""

from __future__ import annotations

import hashlib
import os
import struct
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from pydicom import dcmread
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from mediastation.dicom.rawheader import RawHeader, RawHeaderError, read_raw_header
from mediastation.dicom.sources import Medium, MediumFile
from mediastation.dicom.validate import Validation, validate
from mediastation.domain.reconcile import (
    PatientIdentity,
    group_keys,
    shared_id_warnings,
    suggest_hetu,
)
from mediastation.files import sha256_stream

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
HEAD_BYTES = 4096
PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
VRS = {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB", b"OD", b"OF",
       b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM", b"UC", b"UI", b"UL", b"UN",
       b"UR", b"US", b"UT", b"UV"}
CHARSET_FIXES = {"ISO IR 192": "ISO_IR 192", "ISO_2022_IR_6": "ISO 2022 IR 6", "ISO 2022 IR 100": "ISO_IR 100",
                 "ISO IR 100": "ISO_IR 100", "UTF-8": "ISO_IR 192", "UTF8": "ISO_IR 192"}
EXECUTABLE_SUFFIXES = {".exe", ".dll", ".com", ".bat", ".cmd", ".msi", ".scr", ".jar", ".app", ".sys", ".ocx",
                       ".cab", ".vbs", ".ps1", ".sh", ".dylib", ".so", ".inf"}
HTML_SUFFIXES = {".htm", ".html", ".css", ".js", ".xhtml"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".ico", ".svg", ".webp"}
TEXT_SUFFIXES = {".txt", ".xml", ".json", ".ini", ".csv", ".log", ".md", ".nfo", ".cfg", ".xsl", ".xsd", ".dtd"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mpg", ".mpeg", ".mov", ".wmv", ".mkv"}

Progress = Callable[[int, int | None, str], None]
HEADER_KEYWORDS = ("SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID",
                   "PatientID", "IssuerOfPatientID", "PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber",
                   "StudyDate", "StudyDescription", "SeriesDescription", "Modality", "InstitutionName",
                   "DirectoryRecordSequence")
TAG: dict[str, int] = {keyword: int(tag_for_keyword(keyword)) for keyword in HEADER_KEYWORDS}  # type: ignore[arg-type]
WANTED = frozenset(TAG.values())
NOT_SENT = frozenset({"duplicate", "duplicate_conflict", "not_preferred"})  # reasons of instances never sent


@dataclass(frozen=True)
class InstanceHeader:
    """What the station needs of an instance (R-B1), read without its pixel data."""

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    transfer_syntax: str
    patient_id: str = ""
    issuer: str = ""
    patient_name: str = ""
    birth_date: str = ""
    sex: str = ""
    accession: str = ""
    study_date: str = ""
    study_description: str = ""
    series_description: str = ""
    modality: str = ""
    institution: str = ""
    charset: str = ""
    has_preamble: bool = True
    has_meta: bool = True
    pixel_offset: int | None = None  # where the pixel data element starts (a plain copy from here on)

    @property
    def identity(self) -> PatientIdentity:
        return PatientIdentity.of(self.patient_id, self.issuer, self.patient_name, self.birth_date)


@dataclass(frozen=True)
class InventoryFile:
    """One file of the medium with its kind and the reason for it (interfaces.md `files`)."""

    path: str
    size: int
    kind: str  # instance | fileset | non_dicom | unreadable
    reason: str = ""
    sha256: str | None = None
    header: InstanceHeader | None = None
    patient_key: str | None = None
    notes: tuple[str, ...] = ()
    source: MediumFile | None = field(default=None, repr=False, compare=False)
    repairs: tuple[str, ...] = ()   # what the store repairs (dicom/validate.py), listed in the result
    odd_tags: tuple[int, ...] = ()  # top-level elements of odd length (dicom/coerce.py keeps their values)
    differs: tuple[str, ...] = ()   # a copy in conflict: what differs between the copies of its UID

    @property
    def sop_instance_uid(self) -> str | None:
        return self.header.sop_instance_uid if self.header else None

    @property
    def sendable(self) -> bool:
        """An instance the station may store: not a second copy, not in conflict, not passed over."""
        return self.kind == "instance" and self.reason not in NOT_SENT

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"path": self.path, "kind": self.kind, "patient_key": self.patient_key,
                                    "sop_instance_uid": self.sop_instance_uid, "reason": self.reason,
                                    "size": self.size, "sha256": self.sha256}
        if self.header:
            document["study_instance_uid"] = self.header.study_instance_uid
            document["transfer_syntax"] = self.header.transfer_syntax
        if self.notes:
            document["notes"] = list(self.notes)
        if self.repairs:
            document["repairs"] = list(self.repairs)
        return document


@dataclass(frozen=True)
class StudySummary:
    study_instance_uid: str
    date: str
    description: str
    modalities: tuple[str, ...]
    instances: int
    series: int
    accession: str
    institution: str

    def to_json(self) -> dict[str, Any]:
        return {"study_instance_uid": self.study_instance_uid, "date": self.date, "description": self.description,
                "modalities": list(self.modalities), "instances": self.instances, "series": self.series,
                "accession": self.accession, "institution": self.institution}


@dataclass(frozen=True)
class PatientGroup:
    key: str
    identity: PatientIdentity
    sex: str
    suggested_hetu: str | None
    warnings: tuple[str, ...]
    studies: tuple[StudySummary, ...]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "patient_id": self.identity.patient_id, "issuer": self.identity.issuer,
                "name": self.identity.name, "birth_date": self.identity.birth_date, "sex": self.sex,
                "suggested_hetu": self.suggested_hetu, "warnings": list(self.warnings),
                "studies": [s.to_json() for s in self.studies]}


@dataclass(frozen=True)
class Inventory:
    source: str
    description: str
    dicomdir: str  # ok | absent | broken
    dicomdir_problems: tuple[str, ...]
    missing: tuple[str, ...]  # DICOMDIR records whose file is not on the medium
    patients: tuple[PatientGroup, ...]
    files: tuple[InventoryFile, ...]
    medium_problems: tuple[str, ...] = ()  # the medium itself is damaged (a cut ISO image)

    @property
    def medium_state(self) -> str:
        return "broken" if self.medium_problems else "ok"

    @property
    def instances(self) -> int:
        """Files that are DICOM instances the station can read (copies and conflicts included)."""
        return sum(1 for f in self.files if f.kind == "instance")

    def group(self, key: str) -> PatientGroup | None:
        return next((g for g in self.patients if g.key == key), None)

    def index_of(self, path: str) -> int | None:
        """A file's place from its path as `import scan` lists it: exact, else the only one that
        matches ignoring case (ISO 9660 names)."""
        path = path.removeprefix("./").lstrip("/")
        exact = [seq for seq, f in enumerate(self.files) if f.path == path]
        if exact:
            return exact[0]
        folded = [seq for seq, f in enumerate(self.files) if f.path.casefold() == path.casefold()]
        return folded[0] if len(folded) == 1 else None

    def fingerprint(self) -> str:
        """The medium's content: every path with its SHA-256 (same medium, same fingerprint)."""
        digest = hashlib.sha256()
        for item in sorted(self.files, key=lambda f: f.path):
            digest.update(f"{item.path}\0{item.size}\0{item.sha256 or '-'}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.files:
            counts[item.kind] = counts.get(item.kind, 0) + 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "medium": self.description, "medium_state": self.medium_state,
                "medium_problems": list(self.medium_problems), "dicomdir": self.dicomdir,
                "dicomdir_problems": list(self.dicomdir_problems), "missing": list(self.missing),
                "fingerprint": self.fingerprint() if all(f.sha256 for f in self.files) else None,
                "counts": self.counts(), "patients": [p.to_json() for p in self.patients],
                "files": [f.to_json() for f in self.files]}


# -- building the inventory ------------------------------------------------------------------------
def take_inventory(medium: Medium, *, hashes: bool = True, workers: int | None = None,
                   progress: Progress | None = None) -> Inventory:
    """Examine every file of the medium (headers only, hashes in parallel) and group the instances.

    `workers`: threads (None: one per usable core, at most 4). hashlib and file reads run outside the
    GIL; more threads than cores only contend (2,000 files on 2 cores: 1.43 s with 2, 1.56 s with 4)."""
    files = medium.files()
    total = len(files)
    examined: list[InventoryFile] = []
    if workers is None:
        workers = min(4, len(os.sched_getaffinity(0)))
    with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        warnings.simplefilter("ignore")
        for n, item in enumerate(pool.map(lambda f: examine(f, hashes=hashes), files), start=1):
            examined.append(item)
            if progress:
                progress(n, total, item.path)
    dicomdir, problems, missing, examined = _apply_dicomdirs(examined)
    examined = _mark_duplicates(examined)
    examined, groups = _group(examined)
    return Inventory(medium.location, medium.description, dicomdir, tuple(problems), tuple(missing),
                     tuple(groups), tuple(examined), tuple(medium.problems))


def examine(medium_file: MediumFile, *, hashes: bool = True) -> InventoryFile:
    """Classify one file by its content; never raises for what is on the medium."""
    if medium_file.problem is not None:
        code = medium_file.problem.split(":", 1)[0]
        return InventoryFile(medium_file.path, medium_file.size, "unreadable", code, source=medium_file,
                             notes=(medium_file.problem,) if code != medium_file.problem else ())
    try:
        with medium_file.open() as fp:
            head = fp.read(HEAD_BYTES)
            header, kind, reason = _classify(fp, head, medium_file)
            size, digest = _read_rest(fp, medium_file.size, hashes)
            # a damaged file pydicom could not read either is validated too: the walk says where it breaks
            damaged = kind == "unreadable" and reason in ("truncated", "corrupt_dicom")
            checked = validate(fp, size, head) if kind == "instance" or damaged else Validation()
    except (OSError, EOFError, ValueError) as exc:
        return InventoryFile(medium_file.path, max(medium_file.size, 0), "unreadable", "io_error",
                             notes=(str(exc)[:200],), source=medium_file)
    if checked.problem:  # never sent: the archive would stall on it or store half an image
        return InventoryFile(medium_file.path, size, "unreadable", checked.problem, digest, source=medium_file,
                             notes=(checked.detail,))
    return InventoryFile(medium_file.path, size, kind, reason, digest, header, source=medium_file,
                         notes=_notes(header) + tuple(f"repair: {note}" for note in checked.notes),
                         repairs=checked.repairs, odd_tags=checked.odd_tags)


def _read_rest(fp: BinaryIO, known_size: int, hashes: bool) -> tuple[int, str | None]:
    """The file's size and SHA-256, streaming; without hashes a known size is taken as is."""
    if not hashes and known_size >= 0:
        return known_size, None
    fp.seek(0)
    digest, size = sha256_stream(fp)
    return size, digest if hashes else None


def _notes(header: InstanceHeader | None) -> tuple[str, ...]:
    if header is None:
        return ()
    notes = []
    if not header.has_preamble:
        notes.append("no_preamble")
    if not header.has_meta:
        notes.append("no_meta_header")
    return tuple(notes)


def _classify(fp: BinaryIO, head: bytes, medium_file: MediumFile) -> tuple[InstanceHeader | None, str, str]:
    """(header, kind, reason) of one file, from its header (dicom/validate.py checks the rest)."""
    if medium_file.archive:
        return None, "non_dicom", "archive"
    if not head:
        return None, "non_dicom", "empty"
    dicom = sniff_dicom(head)
    if dicom is None:
        return None, "non_dicom", non_dicom_reason(medium_file.path, head)
    try:
        return _classify_raw(fp, head)
    except (RawHeaderError, struct.error, UnicodeDecodeError, LookupError, ValueError):
        pass  # not for the quick reader: pydicom reads it below, slower but forgiving
    fp.seek(0)
    try:
        ds = read_header(fp)
    except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError, struct.error, NotImplementedError,
            AttributeError, IndexError) as exc:
        return None, "unreadable", "truncated" if isinstance(exc, EOFError) else "corrupt_dicom"
    if is_fileset(ds):
        return None, "fileset", "dicomdir"
    header = header_of(ds, has_preamble=dicom == "part10", pixel_offset=_pixel_offset(fp, ds))
    if not (header.sop_instance_uid and header.sop_class_uid and header.study_instance_uid):
        return None, "unreadable", "missing_uid"
    return header, "instance", ""


def _classify_raw(fp: BinaryIO, head: bytes) -> tuple[InstanceHeader | None, str, str]:
    raw = read_raw_header(fp, WANTED, head)
    meta_class = raw.meta.get(0x00020002, b"").rstrip(b"\x00 ").decode("ascii", "replace")
    if meta_class == MEDIA_STORAGE_DIRECTORY or TAG["DirectoryRecordSequence"] in raw.values:
        return None, "fileset", "dicomdir"
    header = header_from_raw(raw)
    if not (header.sop_instance_uid and header.sop_class_uid and header.study_instance_uid):
        return None, "unreadable", "missing_uid"
    return header, "instance", ""


def header_from_raw(raw: RawHeader) -> InstanceHeader:
    """InstanceHeader from the quick reader's bytes, text decoded in the file's character set (R-B2)."""
    charsets = [CHARSET_FIXES.get(v.strip().upper(), v.strip())
                for v in raw.text(TAG["SpecificCharacterSet"]).decode("ascii", "replace").split("\\") if v.strip()]
    encodings = convert_encodings(charsets or None)

    def text(keyword: str) -> str:
        value = raw.text(TAG[keyword])
        if value.isascii() and b"\x1b" not in value:
            decoded = value.decode("ascii")
        else:
            delimiters = {0x5E, 0x3D} if keyword == "PatientName" else {0x5C}
            decoded = decode_bytes(value, encodings, delimiters)
        return decoded.replace("\x00", "").strip()

    meta_uid = {0x00020002: "", 0x00020003: ""}
    for tag in meta_uid:
        meta_uid[tag] = raw.meta.get(tag, b"").rstrip(b"\x00 ").decode("ascii", "replace")
    return InstanceHeader(
        sop_class_uid=text("SOPClassUID") or meta_uid[0x00020002],
        sop_instance_uid=text("SOPInstanceUID") or meta_uid[0x00020003],
        study_instance_uid=text("StudyInstanceUID"), series_instance_uid=text("SeriesInstanceUID"),
        transfer_syntax=raw.transfer_syntax, patient_id=text("PatientID"), issuer=text("IssuerOfPatientID"),
        patient_name=text("PatientName"), birth_date=text("PatientBirthDate"), sex=text("PatientSex"),
        accession=text("AccessionNumber"), study_date=text("StudyDate"), study_description=text("StudyDescription"),
        series_description=text("SeriesDescription"), modality=text("Modality"), institution=text("InstitutionName"),
        charset="\\".join(charsets), has_preamble=raw.preamble, has_meta=0x00020010 in raw.meta,
        pixel_offset=raw.pixel_offset,
    )


def _pixel_offset(fp: BinaryIO, ds: Dataset) -> int | None:
    """Where the pixel data element starts: pydicom's header reading stopped there."""
    here = fp.tell()
    raw = fp.read(4)
    fp.seek(here)
    if len(raw) < 4:
        return None
    little = ds.original_encoding[1] if ds.original_encoding[0] is not None else True
    group, element = struct.unpack(("<" if little is not False else ">") + "HH", raw)
    return here if (group << 16 | element) in PIXEL_TAGS else None


def sniff_dicom(head: bytes) -> str | None:
    """"part10" with preamble and DICM; "raw" for a dataset without preamble; None otherwise (R-A5)."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "part10"
    if len(head) < 8:
        return None
    for order in ("<", ">"):
        group, _element = struct.unpack(order + "HH", head[:4])
        if group not in (0x0002, 0x0008):
            continue
        if head[4:6] in VRS:
            return "raw"
        length = struct.unpack(order + "I", head[4:8])[0]
        if length < 1024:
            return "raw"
    return None


def non_dicom_reason(path: str, head: bytes) -> str:
    """Why a file is not DICOM, for the receipt: what it looks like (R-A7)."""
    name = PurePosixPath(path).name.lower()
    suffix = PurePosixPath(name).suffix
    if name == "autorun.inf":
        return "autorun"
    if head[:2] == b"MZ" or head[:4] in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe") or suffix in EXECUTABLE_SUFFIXES:
        return "executable"
    if head[:5] == b"%PDF-":
        return "pdf"
    if (head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n" or head[:4] in (b"GIF8", b"II*\x00", b"MM\x00*")
            or head[:2] == b"BM" or suffix in IMAGE_SUFFIXES):
        return "image"
    if head[:4] in (b"PK\x03\x04", b"Rar!") or head[:2] == b"\x1f\x8b" or head[:3] == b"BZh":
        return "archive_not_expanded"
    lowered = head[:512].lower()
    if suffix in HTML_SUFFIXES or b"<html" in lowered or b"<!doctype html" in lowered:
        return "html"
    if suffix in VIDEO_SUFFIXES or head[4:8] == b"ftyp":
        return "video"
    if suffix in TEXT_SUFFIXES or _is_text(head):
        return "text"
    return "unknown_format"


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError:
            return False
    return bool(text) and sum(ch.isprintable() or ch in "\r\n\t" for ch in text) / len(text) > 0.95


def read_header(fp: BinaryIO) -> Dataset:
    """The dataset up to its pixel data; files without preamble or meta header included (R-A5)."""
    ds = dcmread(fp, stop_before_pixels=True, force=True)
    if not ds or len(ds) == 0:
        raise InvalidDicomError("no data elements")
    fix_charset(ds)
    return ds


def fix_charset(ds: Dataset) -> None:
    """R-B2: defined-term typos seen on real media, before any text is decoded."""
    value = ds.get("SpecificCharacterSet")
    if not value:
        return
    values = [value] if isinstance(value, str) else list(value)
    fixed = [CHARSET_FIXES.get(v.strip().upper(), v.strip()) for v in values]
    if fixed != values:
        ds.SpecificCharacterSet = fixed[0] if len(fixed) == 1 else fixed


def is_fileset(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    sop_class = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    return sop_class == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in ds


def transfer_syntax_of(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax:
        return str(syntax)
    implicit, little = ds.original_encoding
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def header_of(ds: Dataset, *, has_preamble: bool = True, pixel_offset: int | None = None) -> InstanceHeader:
    meta = getattr(ds, "file_meta", None)
    has_meta = meta is not None and "TransferSyntaxUID" in meta
    return InstanceHeader(
        sop_class_uid=_text(ds, "SOPClassUID") or (str(meta.get("MediaStorageSOPClassUID", "")) if meta else ""),
        sop_instance_uid=_text(ds, "SOPInstanceUID") or (str(meta.get("MediaStorageSOPInstanceUID", "")) if meta else ""),
        study_instance_uid=_text(ds, "StudyInstanceUID"),
        series_instance_uid=_text(ds, "SeriesInstanceUID"),
        transfer_syntax=transfer_syntax_of(ds),
        patient_id=_text(ds, "PatientID"), issuer=_text(ds, "IssuerOfPatientID"),
        patient_name=_text(ds, "PatientName"), birth_date=_text(ds, "PatientBirthDate"),
        sex=_text(ds, "PatientSex"), accession=_text(ds, "AccessionNumber"), study_date=_text(ds, "StudyDate"),
        study_description=_text(ds, "StudyDescription"), series_description=_text(ds, "SeriesDescription"),
        modality=_text(ds, "Modality"), institution=_text(ds, "InstitutionName"),
        charset="\\".join(_values(ds.get("SpecificCharacterSet"))),
        has_preamble=has_preamble, has_meta=has_meta, pixel_offset=pixel_offset,
    )


def _values(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - a value that does not decode is treated as absent
        return ""
    if value is None:
        return ""
    if not isinstance(value, str) and hasattr(value, "__iter__") and not hasattr(value, "family_name"):
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip().replace("\x00", "")


# -- duplicates on the medium (R-E5) ----------------------------------------------------------------
# Copies of one instance are the same image when their decoded pixel data and patient are the same,
# whatever their transfer syntax or extra header elements; the copy taken is the best of them:
# lossless before lossy, then the syntax every archive takes as it is (Explicit, then Implicit VR
# Little Endian; compressed lossless next; Big Endian and Deflate are always re-encoded), then the
# most complete header (most data elements), then the one the DICOMDIR names, then the path.
LOSSLESS_COMPRESSED = frozenset({JPEGLossless, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless,
                                 "1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
                                 RLELossless})
SYNTAX_RANK = {ExplicitVRLittleEndian: 0, ImplicitVRLittleEndian: 1}
DIFFERS_PIXELS, DIFFERS_PATIENT = "pixel data", "patient"


@dataclass(frozen=True)
class _Copy:
    index: int
    content: tuple[Any, ...]  # (patient identity, decoded pixel data digest or the raw bytes' when undecodable)
    rank: tuple[Any, ...]
    why: str                   # why this copy is preferred, for the others' notes


def _mark_duplicates(files: list[InventoryFile]) -> list[InventoryFile]:
    by_uid: dict[str, list[int]] = {}
    for index, item in enumerate(files):
        if item.kind == "instance" and item.header:
            by_uid.setdefault(item.header.sop_instance_uid, []).append(index)
    result = list(files)
    for indexes in by_uid.values():
        if len(indexes) < 2:
            continue
        if len({_digest(files[i]) for i in indexes}) == 1:
            # the same bytes: the copy the DICOMDIR names is the instance, the others are copies of it
            first = next((i for i in indexes if "not_in_dicomdir" not in files[i].notes), indexes[0])
            for i in indexes:
                if i != first:
                    result[i] = replace(files[i], reason="duplicate",
                                        notes=files[i].notes + (f"same as {files[first].path}",))
            continue
        copies = [_copy(i, files[i]) for i in indexes]
        if len({copy.content for copy in copies}) == 1:
            best = min(copies, key=lambda copy: copy.rank)
            for copy in copies:
                if copy.index != best.index:
                    result[copy.index] = replace(files[copy.index], reason="duplicate", notes=files[copy.index].notes + (
                        f"same image as {files[best.index].path}, which is taken ({best.why})",))
            continue
        differs = [what for what, part in ((DIFFERS_PATIENT, 0), (DIFFERS_PIXELS, 1))
                   if len({copy.content[part] for copy in copies}) > 1]
        others = ", ".join(files[i].path for i in indexes)
        for i in indexes:
            result[i] = replace(files[i], reason="duplicate_conflict", differs=tuple(differs), notes=files[i].notes + (
                f"same SOP Instance UID, different {' and '.join(differs)}: {others}",))
    return result


def _digest(item: InventoryFile) -> str:
    if item.sha256:
        return item.sha256
    assert item.source is not None
    with item.source.open() as fp:
        return sha256_stream(fp)[0]


def _copy(index: int, item: InventoryFile) -> _Copy:
    """One copy's content and rank: the whole instance is read and its pixel data decoded (only for
    copies of one UID whose bytes differ, one at a time)."""
    assert item.header is not None and item.source is not None
    syntax = item.header.transfer_syntax
    try:
        with item.source.open() as fp:
            ds = dcmread(fp, force=True)
        fix_charset(ds)
        elements = sum(1 for _ in ds.iterall())
        lossy = str(ds.get("LossyImageCompression", "") or "") == "01"
        pixels = _pixel_digest(ds, syntax)
    except Exception:  # noqa: BLE001 - a copy that does not read whole is content of its own
        elements, lossy, pixels = 0, False, f"unreadable:{item.sha256}"
    lossy = lossy or (UID(syntax).is_compressed and syntax not in LOSSLESS_COMPRESSED and not UID(syntax).is_deflated)
    syntax_rank = SYNTAX_RANK.get(syntax, 2 if syntax in LOSSLESS_COMPRESSED else 3)
    rank = (lossy, syntax_rank, -elements, "not_in_dicomdir" in item.notes, item.path)
    why = ("lossless" if not lossy else "lossy") + f", {UID(syntax).name}, {elements} data elements"
    return _Copy(index, (item.header.identity, pixels), rank, why)


def _pixel_digest(ds: Dataset, syntax: str) -> str:
    """The decoded image's digest (shape, type and values): equal for one image in any lossless syntax."""
    if not any(keyword in ds for keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        return "no pixel data"
    if "TransferSyntaxUID" not in ds.file_meta:
        ds.file_meta.TransferSyntaxUID = UID(syntax)
    try:
        array = ds.pixel_array
    except Exception:  # noqa: BLE001 - no decoder for it: only the very same bytes are the same image
        return "raw:" + hashlib.sha256(bytes(ds.get("PixelData", b""))).hexdigest()
    array = array.astype(array.dtype.newbyteorder("="), copy=False)  # a Big Endian file's values are the same
    digest = hashlib.sha256(f"{array.shape}:{array.dtype.str}:".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


# -- DICOMDIR (R-A1..R-A3) --------------------------------------------------------------------------
# Directory Record Types of PS3.3 F.5 (Table F.3-3), the retired ones included: older media use them
RECORD_TYPES = frozenset({
    "PATIENT", "STUDY", "SERIES", "IMAGE", "RT DOSE", "RT STRUCTURE SET", "RT PLAN", "RT TREAT RECORD",
    "PRESENTATION", "WAVEFORM", "SR DOCUMENT", "KEY OBJECT DOC", "SPECTROSCOPY", "RAW DATA", "REGISTRATION",
    "FIDUCIAL", "HANGING PROTOCOL", "ENCAP DOC", "HL7 STRUC DOC", "VALUE MAP", "STEREOMETRIC", "PALETTE",
    "IMPLANT", "IMPLANT ASSY", "IMPLANT GROUP", "PLAN", "MEASUREMENT", "SURFACE", "SURFACE SCAN", "TRACT",
    "ASSESSMENT", "RADIOTHERAPY", "ANNOTATION", "PRIVATE",
    "OVERLAY", "MODALITY LUT", "VOI LUT", "CURVE", "TOPIC", "VISIT", "RESULTS", "INTERPRETATION",
    "STUDY COMPONENT", "STORED PRINT", "MRDR"})
def resolution_keys(file_id: str) -> list[str]:
    """Spellings a Referenced File ID may have on the medium: case, `;1`, trailing `.`, `.dcm` (R-A3)."""
    base = normalise_path(file_id)
    return [base] + [base + suffix for suffix in (".dcm", ".dicom", ".ima")]


def normalise_path(path: str) -> str:
    parts = []
    for part in path.replace("\\", "/").split("/"):
        if not part:
            continue
        part = part.split(";", 1)[0].strip()
        parts.append(part.rstrip(".").lower())
    return "/".join(parts)


def _apply_dicomdirs(files: list[InventoryFile]) -> tuple[str, list[str], list[str], list[InventoryFile]]:
    filesets = [f for f in files if f.kind == "fileset"]
    lost = [f for f in files if f.kind == "unreadable" and PurePosixPath(f.path).name.upper() == "DICOMDIR"]
    if lost and not filesets:  # the medium has a DICOMDIR the station cannot read (a cut image, a bad sector)
        return "broken", [f"{f.path}: {'; '.join(f.notes) or f.reason}; the content scan stands alone"
                          for f in lost], [], files
    if not filesets:
        return "absent", [], [], files
    index = {normalise_path(f.path): i for i, f in enumerate(files)}
    referenced: set[int] = set()
    problems: list[str] = []
    missing: list[str] = []
    for fileset in filesets:
        folder = PurePosixPath(fileset.path).parent.as_posix()
        folder = "" if folder == "." else folder + "/"
        try:
            file_ids, offset_problems = read_dicomdir_records(fileset)
        except Exception as exc:  # noqa: BLE001 - a broken DICOMDIR is reported, the scan stands alone
            problems.append(f"{fileset.path}: unreadable ({exc.__class__.__name__}); the content scan stands alone")
            continue
        problems += [f"{fileset.path}: {p}" for p in offset_problems]
        for file_id in file_ids:
            hit = next((index[k] for k in resolution_keys(folder + file_id) if k in index), None)
            if hit is None:
                missing.append(folder + file_id.replace("\\", "/"))
            else:
                referenced.add(hit)
    if missing:
        problems.append(f"{len(missing)} file(s) named in the DICOMDIR are not on the medium")
    result = []
    orphans = 0
    for i, item in enumerate(files):
        if item.kind == "instance" and i not in referenced:
            orphans += 1
            item = replace(item, notes=item.notes + ("not_in_dicomdir",))
        result.append(item)
    if orphans:
        problems.append(f"{orphans} instance(s) on the medium are not in the DICOMDIR (found by the content scan)")
    return ("broken" if problems else "ok"), problems, missing, result


def read_dicomdir_records(fileset: InventoryFile) -> tuple[list[str], list[str]]:
    """Every Referenced File ID in record order (R-A2: the records are all read, whatever their
    offsets say), and what is wrong with the directory: record types PS3.3 F.5 does not know, and
    offsets that point at no record, loop, or leave records unreachable from the root."""
    from mediastation.dicom.fileset import record_tree

    assert fileset.source is not None
    with fileset.source.open() as fp:
        ds = dcmread(fp, force=True)
    records = list(ds.get("DirectoryRecordSequence", []))
    _visits, problems = record_tree(ds)
    unknown = sorted({str(r.get("DirectoryRecordType", "")) for r in records} - RECORD_TYPES)
    if unknown:
        count = sum(1 for r in records if str(r.get("DirectoryRecordType", "")) in unknown)
        problems.insert(0, f"{count} record(s) with an invalid Directory Record Type "
                           f"({', '.join(repr(kind) for kind in unknown[:5])})")
    file_ids = []
    for record in records:
        value = record.get("ReferencedFileID")
        if value:
            parts = [value] if isinstance(value, str) else list(value)
            file_ids.append("/".join(str(p).strip() for p in parts))
    return file_ids, problems


# -- grouping (R-C1, R-C3) ----------------------------------------------------------------------------
def _group(files: list[InventoryFile]) -> tuple[list[InventoryFile], list[PatientGroup]]:
    instances = [f for f in files if f.kind == "instance" and f.header]
    keys = group_keys({f.header.identity for f in instances if f.header})
    warnings_by_key = shared_id_warnings(keys)
    study_owners: dict[str, set[str]] = {}
    for item in instances:
        assert item.header
        study_owners.setdefault(item.header.study_instance_uid, set()).add(keys[item.header.identity])
    result = [replace(f, patient_key=keys[f.header.identity]) if f.kind == "instance" and f.header else f
              for f in files]
    groups = []
    for identity, key in sorted(keys.items(), key=lambda kv: int(kv[1][1:])):
        members = [f for f in result if f.patient_key == key]
        group_warnings = list(warnings_by_key.get(key, []))
        for uid, owners in study_owners.items():
            if key in owners and len(owners) > 1:
                group_warnings.append(f"study {uid} also holds instances of group(s) "
                                      f"{', '.join(sorted(owners - {key}))}: map them to the same patient or not at all")
        sexes = sorted({f.header.sex for f in members if f.header and f.header.sex})
        groups.append(PatientGroup(key, identity, "/".join(sexes), suggest_hetu(identity), tuple(group_warnings),
                                   tuple(_studies(members))))
    return result, groups


def _studies(members: list[InventoryFile]) -> list[StudySummary]:
    by_study: dict[str, list[InstanceHeader]] = {}
    for item in members:
        if item.header and item.sendable:
            by_study.setdefault(item.header.study_instance_uid, []).append(item.header)
        elif item.header:
            by_study.setdefault(item.header.study_instance_uid, [])
    summaries = []
    for uid, headers in by_study.items():
        first = headers[0] if headers else next(f.header for f in members if f.header and f.header.study_instance_uid == uid)
        summaries.append(StudySummary(
            uid, first.study_date, first.study_description,
            tuple(sorted({h.modality for h in headers if h.modality})), len(headers),
            len({h.series_instance_uid for h in headers}), first.accession, first.institution))
    return sorted(summaries, key=lambda s: (s.date, s.study_instance_uid))
