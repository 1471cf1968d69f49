"""DICOM file-sets (PS3.10/3.11/3.12): file IDs, the DICOMDIR writer, in-place indexing, verification.

The writer builds the directory in one linear pass over headers (§b42): records are grouped in
dicts keyed by UID, sorted once per level, encoded once, and the offsets ((0004,1200), (0004,1202),
(0004,1400), (0004,1420)) are computed on the encoded bytes and patched in before the file is
written once (§b21). pydicom's `FileSet.add` scans the whole set per added instance (quadratic) and
DCMTK's dcmmkdir is quadratic per series, which is why the station has its own writer.

The records are encoded by hand for the few value representations they use, because building a
pydicom Dataset per record costs more than reading the header it came from; the file meta and the
extra keys of non-image records go through pydicom. What is written is checked by independent
parsers in the tests (pydicom `FileSet`, `dcmdump`, `dciodvfy`).
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from pydicom import dcmread
from pydicom.charset import encode_string
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID, generate_uid
from pydicom.valuerep import PersonName

from mediastation import __version__
from mediastation.dicom.headers import (
    DEFAULTS,
    EXPLICIT_VR_LITTLE_ENDIAN,
    HAS_INSTANCE_NUMBER,
    LEAF_KEYS,
    InstanceHeader,
    InvalidInstanceError,
    NotDicomError,
    _encodings,
    read_header,
)
from mediastation.dicom.profiles import Profile
from mediastation.dicom.validate import validate
from mediastation.errors import InputError
from mediastation.files import part_path, write_bytes_atomic

__all__ = [
    "DEFAULTS", "FileSetError", "FileSetSummary", "InstanceHeader", "MEDIA_STORAGE_DIRECTORY", "NotDicomError",
    "assign_file_ids", "index_tree", "is_conformant_file_id", "read_header", "verify_fileset", "write_dicomdir",
]

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
IMPLEMENTATION_CLASS_UID = "1.2.826.0.1.3680043.8.498.99604950101297889448406518500225027393"
IMPLEMENTATION_VERSION = f"MEDIASTATION{__version__.replace('.', '')}"[:16]
FILE_ID_COMPONENT = re.compile(r"^[A-Z0-9_]{1,8}$")
FILESET_ID = re.compile(r"^[A-Z0-9_]{1,16}$")
MAX_FILE_ID_DEPTH = 8
NON_DICOM_ROOT_DIRS = frozenset({"IHE_PDI", "VIEWER", "REPORTS"})
NON_DICOM_ROOT_SUFFIXES = (".TXT", ".HTM", ".HTML", ".PDF", ".INF", ".ICO", ".CSV", ".XML", ".JSON")
"""Known non-DICOM content at the root of a medium (PDI: README.TXT, INDEX.HTM, IHE_PDI/, the
viewer, the cover letter); everything else under the root belongs to the DICOM tree."""
_DICOMDIR_PART = part_path(Path("DICOMDIR")).name  # a DICOMDIR being written: not part of the tree
_PROBLEM_LINES = 20

Progress = Callable[[int, "int | None", str], None]
Entry = tuple[InstanceHeader, tuple[str, ...]]


class FileSetError(InputError):
    """The instances or the tree cannot make a conformant file-set; the message lists why."""

    code = "fileset_refused"


def _refuse(summary: str, problems: list[str], **details: Any) -> FileSetError:
    shown = problems[:_PROBLEM_LINES]
    more = len(problems) - len(shown)
    text = summary + "\n  " + "\n  ".join(shown) + (f"\n  ... and {more} more" if more > 0 else "")
    return FileSetError(text, details={"problems": problems, **details})


@dataclass(frozen=True)
class FileSetSummary:
    """What a written DICOMDIR holds; `filled` counts instances per defaulted Type 1 key."""

    dicomdir: Path
    fileset_id: str
    profile: str | None
    patients: int
    studies: int
    series: int
    instances: int
    filled: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"dicomdir": str(self.dicomdir.resolve()), "fileset_id": self.fileset_id, "profile": self.profile,
                "patients": self.patients, "studies": self.studies, "series": self.series,
                "instances": self.instances, "filled_defaults": dict(self.filled)}


def is_conformant_file_id(parts: Iterable[str]) -> bool:
    """PS3.10 8.5 (§b2): 1-8 components of 1-8 characters from A-Z, 0-9 and _, no extension."""
    parts = tuple(parts)
    return 0 < len(parts) <= MAX_FILE_ID_DEPTH and all(FILE_ID_COMPONENT.match(p) for p in parts)


def check_fileset_id(fileset_id: str) -> str:
    """PS3.12 F.1.1 (§b9): at most 16 characters of the file-ID character set."""
    if not FILESET_ID.match(fileset_id):
        raise FileSetError(f"File-set ID {fileset_id!r} is not allowed: use 1-16 characters A-Z, 0-9 and _")
    return fileset_id


# --- the hierarchy --------------------------------------------------------------------------

@dataclass
class _Series:
    first: InstanceHeader
    leaves: list[Entry] = field(default_factory=list)


@dataclass
class _Study:
    first: InstanceHeader
    series: dict[str, _Series] = field(default_factory=dict)


@dataclass
class _Patient:
    first: InstanceHeader
    studies: dict[str, _Study] = field(default_factory=dict)
    name: str = ""
    birth_date: str = ""


def _same_name(a: str, b: str) -> bool:
    """Names compare equal when they differ only in trailing empty components or padding."""
    return a.strip().rstrip("^=").strip() == b.strip().rstrip("^=").strip()


def _group(entries: Iterable[Entry]) -> dict[str, _Patient]:
    """Patients by ID > studies by UID > series by UID > leaves, checked for consistency (§b22).

    Each level's record takes its values from a representative instance chosen by content (the
    smallest SOP Instance UID; for a patient, preferably one with a name), so the DICOMDIR does
    not depend on the order the instances come in.
    """
    patients: dict[str, _Patient] = {}
    study_owner: dict[str, str] = {}
    series_owner: dict[str, str] = {}
    sop_seen: dict[str, Path] = {}
    file_ids: dict[tuple[str, ...], Path] = {}
    problems: list[str] = []
    for header, file_id in entries:
        _check_unique(header, file_id, sop_seen, file_ids, problems)
        patient = patients.get(header.patient_id)
        if patient is None:
            patient = patients[header.patient_id] = _Patient(header, name=header.patient_name,
                                                             birth_date=header.patient_birth_date)
        else:
            _check_patient(patient, header, problems)
        owner = study_owner.setdefault(header.study_instance_uid, header.patient_id)
        if owner != header.patient_id:
            problems.append(f"study {header.study_instance_uid} belongs to Patient ID {owner!r} and "
                            f"{header.patient_id!r} ({header.path})")
            continue
        study = patient.studies.get(header.study_instance_uid)
        if study is None:
            study = patient.studies[header.study_instance_uid] = _Study(header)
        elif header.sop_instance_uid < study.first.sop_instance_uid:
            study.first = header
        owner = series_owner.setdefault(header.series_instance_uid, header.study_instance_uid)
        if owner != header.study_instance_uid:
            problems.append(f"series {header.series_instance_uid} belongs to two studies ({header.path})")
            continue
        series = study.series.get(header.series_instance_uid)
        if series is None:
            series = study.series[header.series_instance_uid] = _Series(header)
        elif header.sop_instance_uid < series.first.sop_instance_uid:
            series.first = header
        series.leaves.append((header, file_id))
    if problems:
        raise _refuse("the instances cannot make one consistent file-set:", problems)
    if not patients:
        raise FileSetError("no DICOM instances to put in the file-set")
    return patients


def _check_unique(header: InstanceHeader, file_id: tuple[str, ...], sop_seen: dict[str, Path],
                  file_ids: dict[tuple[str, ...], Path], problems: list[str]) -> None:
    earlier = sop_seen.setdefault(header.sop_instance_uid, header.path)
    if earlier != header.path:
        problems.append(f"SOP Instance UID {header.sop_instance_uid} is in two files: {earlier} and {header.path}")
    if file_id:
        earlier = file_ids.setdefault(file_id, header.path)
        if earlier != header.path:
            problems.append(f"file ID {'/'.join(file_id)} is given to two files: {earlier} and {header.path}")


def _representative(header: InstanceHeader) -> tuple[bool, str]:
    return not header.patient_name, header.sop_instance_uid


def _check_patient(patient: _Patient, header: InstanceHeader, problems: list[str]) -> None:
    """One PATIENT record per Patient ID: its names and birth dates must agree (§b22, dcmmkdir)."""
    if header.patient_name and patient.name and not _same_name(header.patient_name, patient.name):
        problems.append(f"Patient ID {header.patient_id!r} has two names: {patient.name!r} ({patient.first.path}) "
                        f"and {header.patient_name!r} ({header.path})")
    if header.patient_birth_date and patient.birth_date and header.patient_birth_date != patient.birth_date:
        problems.append(f"Patient ID {header.patient_id!r} has two birth dates: {patient.birth_date} "
                        f"({patient.first.path}) and {header.patient_birth_date} ({header.path})")
    patient.birth_date = patient.birth_date or header.patient_birth_date
    if _representative(header) < _representative(patient.first):
        patient.first, patient.name = header, header.patient_name or patient.name


def _numbered(number: int | None, uid: str) -> tuple[bool, int, str]:
    return number is None, number or 0, uid


def _ordered(patients: dict[str, _Patient]) -> Iterator[tuple[_Patient, list[tuple[_Study, list[_Series]]]]]:
    """Patients by ID, studies by date/time/UID, series by number/UID, leaves by number/UID."""
    for patient_id in sorted(patients):
        patient = patients[patient_id]
        studies = sorted(patient.studies.values(), key=lambda s: (s.first.study_date, s.first.study_time,
                                                                  s.first.study_instance_uid))
        result = []
        for study in studies:
            series = sorted(study.series.values(),
                            key=lambda s: _numbered(s.first.series_number, s.first.series_instance_uid))
            for one in series:
                one.leaves.sort(key=lambda e: (*_numbered(e[0].instance_number, e[0].sop_instance_uid), e[1]))
            result.append((study, series))
        yield patient, result


def assign_file_ids(headers: Iterable[InstanceHeader], *, prefix: tuple[str, ...] = ()) -> list[Entry]:
    """Deterministic file IDs `PREFIX/PTnnnnnn/STnnnnnn/SEnnnnnn/IMnnnnnn` (§b3), counters per parent,
    in the order the DICOMDIR lists them; refuses inconsistent patients and duplicate instances."""
    if not is_conformant_file_id(prefix + ("PT000000", "ST000000", "SE000000", "IM000000")):
        raise FileSetError(f"prefix {'/'.join(prefix)} leaves no conformant file IDs (A-Z0-9_, 8 levels)")
    result: list[Entry] = []
    for p, (_patient, studies) in enumerate(_ordered(_group((h, ()) for h in headers))):
        for s, (_study, series_list) in enumerate(studies):
            for e, series in enumerate(series_list):
                for i, (header, _none) in enumerate(series.leaves):
                    result.append((header, prefix + (_counter("PT", p), _counter("ST", s), _counter("SE", e),
                                                     _counter("IM", i))))
    return result


def _counter(letters: str, n: int) -> str:
    if n >= 1_000_000:
        raise FileSetError(f"more than a million {letters} entries under one parent")
    return f"{letters}{n:06d}"


# --- encoding -------------------------------------------------------------------------------

_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_NULL_PADDED = frozenset({b"UI", b"OB", b"UN"})


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr in _NULL_PADDED else b" "
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHL", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _ascii(tag: int, vr: bytes, value: str) -> bytes:
    return _element(tag, vr, value.encode("ascii"))


def _text(tag: int, vr: bytes, value: str, charset: tuple[str, ...]) -> bytes:
    if value.isascii():
        return _element(tag, vr, value.encode("ascii"))
    encodings = list(_encodings(charset))
    raw = PersonName(value).encode(encodings) if vr == b"PN" else encode_string(value, encodings)
    return _element(tag, vr, raw)


def _charset_element(charset: tuple[str, ...]) -> list[tuple[int, bytes]]:
    """(0008,0005) for a record with affected strings, when the source uses a non-default set (§b20)."""
    if not charset or charset in (("ISO_IR 6",), ("",)):
        return []
    return [(0x00080005, _ascii(0x00080005, b"CS", "\\".join(charset)))]


_RECORD_HEAD = struct.Struct("<HH2sHL HH2sHH HH2sHL")
_NEXT_AT, _LOWER_AT = 8 + 8, 8 + 12 + 10 + 8  # value positions from the start of the item


def _record(kind: str, elements: list[tuple[int, bytes]]) -> bytearray:
    """An item (FFFE,E000) holding a directory record; the two offsets are patched in later."""
    head = _RECORD_HEAD.pack(0x0004, 0x1400, b"UL", 4, 0, 0x0004, 0x1410, b"US", 2, 0xFFFF,
                             0x0004, 0x1420, b"UL", 4, 0)
    body = head + _ascii(0x00041430, b"CS", kind) + b"".join(v for _t, v in sorted(elements, key=lambda e: e[0]))
    return bytearray(struct.pack("<HHL", 0xFFFE, 0xE000, len(body)) + body)


def _patient_record(patient: _Patient) -> bytearray:
    charset = patient.first.specific_character_set
    return _record("PATIENT", _charset_element(charset) + [
        (0x00100010, _text(0x00100010, b"PN", patient.name, charset)),
        (0x00100020, _text(0x00100020, b"LO", patient.first.patient_id, charset)),
    ])


def _study_record(study: _Study) -> bytearray:
    h = study.first
    charset = h.specific_character_set
    return _record("STUDY", _charset_element(charset) + [
        (0x00080020, _ascii(0x00080020, b"DA", h.study_date)),
        (0x00080030, _ascii(0x00080030, b"TM", h.study_time)),
        (0x00080050, _text(0x00080050, b"SH", h.accession_number, charset)),
        (0x00081030, _text(0x00081030, b"LO", h.study_description, charset)),
        (0x0020000D, _ascii(0x0020000D, b"UI", h.study_instance_uid)),
        (0x00200010, _text(0x00200010, b"SH", h.study_id, charset)),
    ])


def _series_record(series: _Series, number: int) -> bytearray:
    h = series.first
    return _record("SERIES", [
        (0x00080060, _ascii(0x00080060, b"CS", h.modality)),
        (0x0020000E, _ascii(0x0020000E, b"UI", h.series_instance_uid)),
        (0x00200011, _ascii(0x00200011, b"IS", str(number))),
    ])


def _leaf_record(header: InstanceHeader, file_id: tuple[str, ...], number: int) -> bytearray:
    elements = [
        (0x00041500, _ascii(0x00041500, b"CS", "\\".join(file_id))),
        (0x00041510, _ascii(0x00041510, b"UI", header.sop_class_uid)),
        (0x00041511, _ascii(0x00041511, b"UI", header.sop_instance_uid)),
        (0x00041512, _ascii(0x00041512, b"UI", header.transfer_syntax)),
        *header.leaf_keys,
    ]
    if header.related_general_sop_class_uids:
        elements.append((0x0004151A, _ascii(0x0004151A, b"UI", "\\".join(header.related_general_sop_class_uids))))
    if header.leaf_has_text:
        elements += _charset_element(header.specific_character_set)
    if header.record_type in HAS_INSTANCE_NUMBER:
        elements.append((0x00200013, _ascii(0x00200013, b"IS", str(number))))
    return _record(header.record_type, elements)


@dataclass
class _Node:
    """A record in the tree: its encoded item, its position in the file and its children."""

    item: bytearray
    children: list["_Node"] = field(default_factory=list)
    offset: int = 0


def _positions(patients: dict[str, _Patient], progress: Progress | None) -> tuple[list[_Node], dict[str, int]]:
    """Encode every record once, in tree order; number missing Series/Instance Numbers by position."""
    roots: list[_Node] = []
    counts = {"studies": 0, "series": 0, "instances": 0}
    for patient, studies in _ordered(patients):
        patient_node = _Node(_patient_record(patient))
        roots.append(patient_node)
        for study, series_list in studies:
            study_node = _Node(_study_record(study))
            patient_node.children.append(study_node)
            counts["studies"] += 1
            for s, series in enumerate(series_list, 1):
                number = series.first.series_number
                series_node = _Node(_series_record(series, s if number is None else number))
                study_node.children.append(series_node)
                counts["series"] += 1
                for i, (header, file_id) in enumerate(series.leaves, 1):
                    number = header.instance_number
                    series_node.children.append(_Node(_leaf_record(header, file_id, i if number is None else number)))
                    counts["instances"] += 1
                    if progress and counts["instances"] % 500 == 0:
                        progress(counts["instances"], None, "directory records")
    return roots, counts


def _flatten(nodes: list[_Node]) -> Iterator[_Node]:
    for node in nodes:
        yield node
        yield from _flatten(node.children)


def _link(nodes: list[_Node]) -> None:
    """Patch (0004,1400) next-sibling and (0004,1420) first-child offsets into the encoded items."""
    for index, node in enumerate(nodes):
        following = nodes[index + 1].offset if index + 1 < len(nodes) else 0
        struct.pack_into("<L", node.item, _NEXT_AT, following)
        struct.pack_into("<L", node.item, _LOWER_AT, node.children[0].offset if node.children else 0)
        _link(node.children)


def _file_meta(instance_uid: str) -> bytes:
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = MEDIA_STORAGE_DIRECTORY
    meta.MediaStorageSOPInstanceUID = instance_uid
    meta.TransferSyntaxUID = EXPLICIT_VR_LITTLE_ENDIAN
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    fp = DicomBytesIO()
    fp.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(fp, meta, enforce_standard=True)
    return fp.getvalue()


def _encode(roots: list[_Node], fileset_id: str, descriptor: tuple[str, ...] | None, instance_uid: str) -> bytes:
    """The whole DICOMDIR: meta, File-set Identification, the record sequence with offsets."""
    head = _file_meta(instance_uid) + _ascii(0x00041130, b"CS", fileset_id)
    if descriptor:
        head += _ascii(0x00041141, b"CS", "\\".join(descriptor))  # an ASCII descriptor needs no (0004,1142)
    offsets_at = len(head)
    head += struct.pack("<HH2sHL", 0x0004, 0x1200, b"UL", 4, 0) + struct.pack("<HH2sHL", 0x0004, 0x1202, b"UL", 4, 0)
    head += struct.pack("<HH2sHH", 0x0004, 0x1212, b"US", 2, 0)  # File-set Consistency Flag: no known inconsistencies
    head += struct.pack("<HH2sHL", 0x0004, 0x1220, b"SQ", 0, 0xFFFFFFFF)
    position = len(head)
    nodes = list(_flatten(roots))
    for node in nodes:
        node.offset = position
        position += len(node.item)
    _link(roots)
    out = bytearray(head)
    struct.pack_into("<L", out, offsets_at + 8, roots[0].offset if roots else 0)
    struct.pack_into("<L", out, offsets_at + 20, roots[-1].offset if roots else 0)
    for node in nodes:
        out += node.item
    out += struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    return bytes(out)


def _check_entries(entries: list[Entry], profile: Profile | None) -> None:
    problems = []
    for header, file_id in entries:
        if not is_conformant_file_id(file_id):
            problems.append(f"{header.path}: file ID {'/'.join(file_id) or '(none)'} is not conformant "
                            "(1-8 components of 1-8 characters A-Z, 0-9, _)")
        if profile is not None and not profile.allows(header.transfer_syntax):
            problems.append(f"{header.path}: transfer syntax {header.transfer_syntax} ({_ts_name(header)}) "
                            f"is not allowed by {profile.name}; transcode it first")
    if problems:
        reason = f"outside the {profile.name} profile or badly named" if profile else "badly named"
        raise _refuse(f"{len(problems)} instance(s) {reason}:", problems)


def _ts_name(header: InstanceHeader) -> str:
    return UID(header.transfer_syntax).name


def _build(root: Path, entries: Iterable[Entry], fileset_id: str, profile: Profile | None,
           progress: Progress | None, descriptor: tuple[str, ...] | None) -> FileSetSummary:
    check_fileset_id(fileset_id)
    if descriptor is not None and not is_conformant_file_id(descriptor):
        raise FileSetError(f"File-set Descriptor file ID {'/'.join(descriptor)} is not conformant")
    entries = list(entries)
    _check_entries(entries, profile)
    patients = _group(entries)
    roots, counts = _positions(patients, progress)
    instance_uid = generate_uid(entropy_srcs=["mediastation-dicomdir", fileset_id,
                                              *sorted(h.sop_instance_uid + "/".join(f) for h, f in entries)])
    data = _encode(roots, fileset_id, descriptor, instance_uid)
    dicomdir = Path(root) / "DICOMDIR"
    write_bytes_atomic(dicomdir, data)
    filled: dict[str, int] = {}
    for header, _file_id in entries:
        for keyword in header.filled:
            filled[keyword] = filled.get(keyword, 0) + 1
    if progress:
        progress(counts["instances"], counts["instances"], "DICOMDIR written")
    return FileSetSummary(dicomdir=dicomdir, fileset_id=fileset_id, profile=profile.name if profile else None,
                          patients=len(roots), studies=counts["studies"], series=counts["series"],
                          instances=counts["instances"], filled=dict(sorted(filled.items())))


def write_dicomdir(root: Path, entries: Iterable[Entry], *, fileset_id: str, profile: Profile | None = None,
                   progress: Progress | None = None, descriptor: tuple[str, ...] | None = None) -> Path:
    """Write `root/DICOMDIR` for `entries` (header, file ID relative to root) atomically.

    Refuses (FileSetError, nothing written) non-conformant file IDs, transfer syntaxes outside
    `profile`, inconsistent patients, duplicate instances or file IDs. `descriptor` is the
    optional File-set Descriptor file ID (§b10), e.g. ("README",).
    """
    return _build(Path(root), entries, fileset_id, profile, progress, descriptor).dicomdir


# --- indexing a tree in place ---------------------------------------------------------------

def _ignored_at_root(name: str, is_dir: bool) -> bool:
    upper = name.upper()
    if is_dir:
        return upper in NON_DICOM_ROOT_DIRS
    return upper in ("DICOMDIR", _DICOMDIR_PART.upper()) or upper.endswith(NON_DICOM_ROOT_SUFFIXES)


def _tree_files(root: Path) -> Iterator[tuple[tuple[str, ...], Path]]:
    """Every file of the DICOM tree under root (known non-DICOM root content left out), sorted."""
    def walk(folder: Path, parts: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Path]]:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda e: e.name)
        for entry in entries:
            is_dir = entry.is_dir(follow_symlinks=True)
            if not parts and _ignored_at_root(entry.name, is_dir):
                continue
            if is_dir:
                yield from walk(Path(entry.path), parts + (entry.name,))
            else:
                yield parts + (entry.name,), Path(entry.path)
    yield from walk(root, ())


def index_tree(root: Path, *, fileset_id: str | None = None, profile: Profile | None = None,
               progress: Progress | None = None) -> FileSetSummary:
    """Write root/DICOMDIR for the DICOM files already laid out under root, like dcmmkdir.

    Every file of the DICOM tree must have a conformant file ID and be a DICOM file; anything
    else is refused with the list of offending paths (nothing is skipped silently). The File-set
    ID defaults to the folder's name in the file-ID character set.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileSetError(f"{root} is not a folder")
    files = list(_tree_files(root))
    problems = ["/".join(parts) for parts, _path in files if not is_conformant_file_id(parts)]
    if problems:
        raise _refuse(f"{len(problems)} file(s) under {root} have names a DICOMDIR cannot reference (each path "
                      "component must be 1-8 characters A-Z, 0-9 or _, at most 8 levels, no extension; rename "
                      "them, e.g. PT000000/ST000000/SE000000/IM000000):", problems)
    if not files:
        raise FileSetError(f"no files under {root}: nothing to index")
    entries: list[Entry] = []
    for done, (parts, path) in enumerate(files, 1):
        try:
            header = read_header(path)
        except (NotDicomError, InvalidInstanceError) as exc:
            problems.append(exc.message)
        else:
            damage = damaged(path)
            if damage:
                problems.append(f"{'/'.join(parts)}: {damage}")
            else:
                entries.append((header, parts))
        if progress and (done % 200 == 0 or done == len(files)):
            progress(done, len(files), "headers read")
    if problems:
        raise _refuse(f"{len(problems)} file(s) under {root} cannot be in the file-set (remove or move them):",
                      problems)
    return _build(root, entries, fileset_id or default_fileset_id(root), profile, progress, None)


def default_fileset_id(root: Path) -> str:
    name = re.sub(r"[^A-Z0-9_]", "_", Path(root).resolve().name.upper())[:16].strip("_")
    return name or "MEDIASTATION"


# --- verification ---------------------------------------------------------------------------

_PARENT_OF = {"PATIENT": None, "STUDY": "PATIENT", "SERIES": "STUDY"}
_TYPE1 = {"PATIENT": ("PatientID",), "STUDY": ("StudyDate", "StudyTime", "StudyID", "StudyInstanceUID"),
          "SERIES": ("Modality", "SeriesInstanceUID", "SeriesNumber")}


def verify_fileset(root: Path, profile: Profile | None = None) -> list[str]:
    """Problems of the file-set under root (§b45); an empty list means it is sound.

    The DICOMDIR must parse (pydicom), its record offsets must form one tree, it must reference
    exactly the DICOM files of the tree, each of which must exist, parse and match its record
    (SOP Class and Instance UIDs, transfer syntax, study and series UIDs); file IDs must conform
    and, with a profile, every transfer syntax must be in it.
    """
    root = Path(root)
    problems: list[str] = []
    dicomdir = root / "DICOMDIR"
    if not dicomdir.is_file():
        return [f"no DICOMDIR at the root of {root}"]
    try:
        ds = dcmread(dicomdir)
    except Exception as exc:  # any parse failure is a finding, not a crash
        return [f"DICOMDIR does not parse: {exc}"]
    meta = ds.file_meta
    if meta.get("MediaStorageSOPClassUID") != MEDIA_STORAGE_DIRECTORY:
        problems.append(f"DICOMDIR Media Storage SOP Class is {meta.get('MediaStorageSOPClassUID')}, "
                        f"not {MEDIA_STORAGE_DIRECTORY}")
    if meta.get("TransferSyntaxUID") != EXPLICIT_VR_LITTLE_ENDIAN:
        problems.append(f"DICOMDIR transfer syntax is {meta.get('TransferSyntaxUID')}, not Explicit VR Little Endian")
    fileset_id = str(ds.get("FileSetID", "") or "")
    if fileset_id and not FILESET_ID.match(fileset_id):
        problems.append(f"File-set ID {fileset_id!r} is not 1-16 characters A-Z, 0-9, _")
    referenced = _verify_records(root, ds, profile, problems)
    _verify_tree(root, referenced, problems)
    return problems


def _verify_records(root: Path, ds: Any, profile: Profile | None, problems: list[str]) -> set[tuple[str, ...]]:
    referenced: set[tuple[str, ...]] = set()
    visits, offset_problems = record_tree(ds)
    for visit in visits:
        _check_record(root, visit.record, visit.kind, visit.parent_type, visit.context, profile, problems, referenced)
    problems += offset_problems
    return referenced


@dataclass(frozen=True)
class RecordVisit:
    """A directory record reached from the root: its type, its parent's type, its ancestors by type."""

    record: Any
    kind: str
    parent_type: str | None
    context: dict[str, Any]


def record_tree(ds: Any) -> tuple[list[RecordVisit], list[str]]:
    """The records of a DICOMDIR data set in the order its offsets give them (PS3.10 8.5: first
    record of the root, next record, lower-level entity), and the problems of those offsets: one
    that points at no record, a loop, records no offset reaches."""
    records = list(ds.get("DirectoryRecordSequence", []))
    by_offset = {record.seq_item_tell: record for record in records}
    visits: list[RecordVisit] = []
    problems: list[str] = []
    visited: set[int] = set()
    pending = [(int(ds.get("OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity", 0) or 0), None, {})]
    while pending:  # depth first, as the records are laid out; a stack, not recursion (a loop can be deep)
        offset, parent_type, context = pending.pop()
        later: list[tuple[int, str | None, dict[str, Any]]] = []
        while offset:
            record = by_offset.get(offset)
            if record is None:
                problems.append(f"a record offset ({offset}) points at no directory record")
                break
            if offset in visited:
                problems.append(f"record at offset {offset} is reached twice (offsets loop)")
                break
            visited.add(offset)
            kind = str(record.get("DirectoryRecordType", ""))
            visits.append(RecordVisit(record, kind, parent_type, context))
            lower = int(record.get("OffsetOfReferencedLowerLevelDirectoryEntity", 0) or 0)
            if lower:
                later.append((lower, kind, {**context, kind: record}))
            offset = int(record.get("OffsetOfTheNextDirectoryRecord", 0) or 0)
        pending += reversed(later)
    orphans = len(records) - len(visited)
    if orphans > 0:
        problems.append(f"{orphans} directory record(s) are not reachable from the root (offsets are wrong)")
    return visits, problems


def _check_record(root: Path, record: Any, kind: str, parent_type: str | None, context: dict[str, Any],
                  profile: Profile | None, problems: list[str], referenced: set[tuple[str, ...]]) -> None:
    expected_parent = _PARENT_OF.get(kind, "SERIES")
    if expected_parent != parent_type:
        problems.append(f"{kind or 'a'} record under {parent_type or 'the root'} (expected under "
                        f"{expected_parent or 'the root'})")
    for keyword in _TYPE1.get(kind, ("InstanceNumber",) if kind in HAS_INSTANCE_NUMBER else ()):
        if not str(record.get(keyword, "") or "").strip():
            problems.append(f"{kind} record lacks Type 1 key {keyword}")
    if kind in _PARENT_OF:
        return
    if kind not in LEAF_KEYS:
        problems.append(f"unknown directory record type {kind!r}")
    file_id = tuple(str(p) for p in _values(record.get("ReferencedFileID")))
    if not file_id:
        problems.append(f"{kind} record without Referenced File ID")
        return
    name = "/".join(file_id)
    if not is_conformant_file_id(file_id):
        problems.append(f"{name}: file ID is not conformant")
    if file_id in referenced:
        problems.append(f"{name}: referenced by two records")
    referenced.add(file_id)
    ts = str(record.get("ReferencedTransferSyntaxUIDInFile", ""))
    if profile is not None and not profile.allows(ts):
        problems.append(f"{name}: transfer syntax {ts} is not allowed by {profile.name}")
    path = root.joinpath(*file_id)
    if not path.is_file():
        problems.append(f"{name}: referenced by the DICOMDIR but missing")
        return
    try:
        header = read_header(path)
    except (NotDicomError, InvalidInstanceError) as exc:
        problems.append(f"{name}: {exc.message}")
        return
    damage = damaged(path)
    if damage:
        problems.append(f"{name}: {damage}")
        return
    _compare(name, record, header, context, problems)


def damaged(path: Path) -> str | None:
    """What makes the file unfit for a file-set as a whole (dicom/validate.py: cut, or not DICOM to
    its end), or None. DCMTK's dcmmkdir refuses such a file; so does the station."""
    with open(path, "rb") as fp:
        checked = validate(fp, os.fstat(fp.fileno()).st_size)
    return f"{checked.problem}: {checked.detail}" if checked.problem else None


def _compare(name: str, record: Any, header: InstanceHeader, context: dict[str, Any], problems: list[str]) -> None:
    pairs = [("ReferencedSOPInstanceUIDInFile", header.sop_instance_uid, "SOP Instance UID"),
             ("ReferencedSOPClassUIDInFile", header.sop_class_uid, "SOP Class UID"),
             ("ReferencedTransferSyntaxUIDInFile", header.transfer_syntax, "transfer syntax")]
    for keyword, actual, label in pairs:
        if str(record.get(keyword, "")) != actual:
            problems.append(f"{name}: record says {label} {record.get(keyword, '')}, the file has {actual}")
    checks = [("SERIES", "SeriesInstanceUID", header.series_instance_uid),
              ("STUDY", "StudyInstanceUID", header.study_instance_uid),
              ("PATIENT", "PatientID", header.patient_id)]
    for level, keyword, actual in checks:
        parent = context.get(level)
        if parent is not None and keyword not in header.filled and str(parent.get(keyword, "")) != actual:
            problems.append(f"{name}: filed under {level} {parent.get(keyword, '')} but the file has {actual}")


def _values(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return [value] if isinstance(value, str) else list(value)


def _verify_tree(root: Path, referenced: set[tuple[str, ...]], problems: list[str]) -> None:
    for parts, path in _tree_files(root):
        if parts in referenced:
            continue
        name = "/".join(parts)
        if not is_conformant_file_id(parts):
            problems.append(f"{name}: file in the DICOM tree with a non-conformant name")
        elif _is_dicom(path):
            problems.append(f"{name}: DICOM file not referenced by the DICOMDIR")
        else:
            problems.append(f"{name}: non-DICOM file inside the DICOM tree")


def _is_dicom(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False
