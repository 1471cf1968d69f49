"""Import coercion (IHE IRWF; R-D1..R-D7 of docs/import-requirements.md) and the transcoding it may need.

What changes in every imported instance:
- Patient Name, Patient ID, Issuer of Patient ID (1.2.246.21 for a HETU), Birth Date and Sex
  become the local patient's (R-D1); Accession Number becomes the import order's when one is given
  (R-D3); Study, Series and SOP Instance UIDs never change (R-D5).
- The outside ID and issuer go into Other Patient IDs Sequence (R-D2); one Original Attributes
  Sequence item records every original value, reason COERCE, the outside institution as the source
  (R-D4); Instance Origin Status = IMPORTED and a Contributing Equipment item naming the station
  (R-D6); Institution Name stays the outside one (R-D7).
- Specific Character Set switches to ISO_IR 192 only when the local name does not fit the file's
  own character set (R-B2).

Writing streams: the header is re-encoded, the pixel data is copied byte for byte from the medium
(`InstanceHeader.pixel_offset`), so an instance costs the memory of its header. Only when the
archive does not take the file's transfer syntax, or the syntax is Big Endian or Deflated (R-B3,
catalogue #14), is the whole instance read and re-encoded: lossless decompression keeps the UIDs,
a lossy original stays marked lossy (R-E3), video is never transcoded, nothing new is made lossy.
"""

from __future__ import annotations

import copy
import shutil
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pydicom
from pydicom import dcmread
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from mediastation.dicom.headers import file_meta_bytes
from mediastation.dicom.inventory import InstanceHeader, fix_charset
from mediastation.dicom.rawheader import RawHeader, RawHeaderError, read_raw_header
from mediastation.dicom.sources import MediumFile
from mediastation.dicom.validate import ODD_LENGTH, UNDEFINED

UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
CONVERTED_ALWAYS = (ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian)  # re-encoded before sending
VIDEO = {
    "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.100.1", "1.2.840.10008.1.2.4.101",
    "1.2.840.10008.1.2.4.101.1", "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.102.1",
    "1.2.840.10008.1.2.4.103", "1.2.840.10008.1.2.4.103.1", "1.2.840.10008.1.2.4.104",
    "1.2.840.10008.1.2.4.104.1", "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.105.1",
    "1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.106.1", "1.2.840.10008.1.2.4.107",
    "1.2.840.10008.1.2.4.108",
}
LOSSY_METHODS = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1", "1.2.840.10008.1.2.4.51": "ISO_10918_1",
    "1.2.840.10008.1.2.4.81": "ISO_14495_1", "1.2.840.10008.1.2.4.91": "ISO_15444_1",
    "1.2.840.10008.1.2.4.93": "ISO_15444_1", "1.2.840.10008.1.2.4.201": "ISO_15444_15",
    "1.2.840.10008.1.2.4.202": "ISO_15444_15", "1.2.840.10008.1.2.4.203": "ISO_15444_15",
}
IMPLEMENTATION_VERSION = "MEDIASTATION"
SWAP_WIDTHS = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}
MEDIA_IMPORTER = ("MEDIM", "DCM", "Portable Media Importer Equipment")


class NotSendable(Exception):
    """The instance cannot go to this archive as it is; `reason` is the receipt's code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Coercion:
    """The local identity and provenance written into every instance of one patient group."""

    patient_name: str
    patient_id: str
    issuer: str
    birth_date: str
    sex: str | None  # None: nobody local knows, the outside value stays
    accession: str | None  # None: keep the outside value; "" blank it
    modifying_system: str  # the station's AE title
    station_name: str
    institution: str
    when: datetime


@dataclass(frozen=True)
class Written:
    transfer_syntax: str
    converted_from: str | None = None
    lossy: bool = False


# -- choosing the transfer syntax (R-E2) ---------------------------------------------------------------
def choose_syntax(original: str, accepted: set[str] | frozenset[str]) -> tuple[str, bool]:
    """(syntax to send, whether the instance must be re-encoded) for what the archive accepted.

    Raises NotSendable for video the archive does not take and when nothing fits.
    """
    if original in accepted and original not in CONVERTED_ALWAYS:
        return original, False
    if original in VIDEO:
        raise NotSendable("video_not_accepted", f"the archive does not accept {UID(original).name}; video is "
                                                "never transcoded")
    for target in UNCOMPRESSED:
        if target in accepted:
            return target, True
    raise NotSendable("transfer_syntax_not_accepted", f"the archive accepts neither {UID(original).name} "
                                                      "nor an uncompressed syntax for this SOP class")


def proposed_syntax(original: str) -> str | None:
    """The syntax to propose for a file as it is; None when it is always converted (Big Endian, Deflate)."""
    return None if original in CONVERTED_ALWAYS else original


# -- coercion (R-D1..R-D7) ------------------------------------------------------------------------------
def coerce(ds: Dataset, c: Coercion) -> None:
    """Rewrite the patient (and accession) attributes of `ds` in place, keeping the originals."""
    original = _originals(ds, c)
    _fit_charset(ds, [c.patient_name])
    outside_id = str(ds.get("PatientID", "") or "").strip()
    outside_issuer = str(ds.get("IssuerOfPatientID", "") or "").strip()
    qualifiers = ds.get("IssuerOfPatientIDQualifiersSequence")
    if outside_id and (outside_id, outside_issuer) != (c.patient_id, c.issuer):
        item = Dataset()
        item.PatientID = outside_id
        if outside_issuer:
            item.IssuerOfPatientID = outside_issuer
        if qualifiers:
            item.IssuerOfPatientIDQualifiersSequence = qualifiers
        item.TypeOfPatientID = "TEXT"
        others = list(ds.get("OtherPatientIDsSequence", []))
        if not any(str(o.get("PatientID", "")) == outside_id and str(o.get("IssuerOfPatientID", "")) == outside_issuer
                   for o in others):
            ds.OtherPatientIDsSequence = others + [item]
    if "IssuerOfPatientIDQualifiersSequence" in ds:
        del ds.IssuerOfPatientIDQualifiersSequence
    ds.PatientName = c.patient_name
    ds.PatientID = c.patient_id
    ds.IssuerOfPatientID = c.issuer
    ds.PatientBirthDate = c.birth_date
    if c.sex is not None:
        ds.PatientSex = c.sex
    if c.accession is not None:
        ds.AccessionNumber = c.accession
        if "IssuerOfAccessionNumberSequence" in ds:
            del ds.IssuerOfAccessionNumberSequence
    ds.InstanceOriginStatus = "IMPORTED"
    ds.OriginalAttributesSequence = list(ds.get("OriginalAttributesSequence", [])) + [_original_item(ds, c, original)]
    ds.ContributingEquipmentSequence = list(ds.get("ContributingEquipmentSequence", [])) + [_equipment(c)]


COERCED = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "AccessionNumber")
COERCED_KEYWORDS = COERCED
KEPT_IF_PRESENT = ("IssuerOfPatientIDQualifiersSequence", "OtherPatientIDsSequence", "InstanceOriginStatus",
                   "IssuerOfAccessionNumberSequence")


def _originals(ds: Dataset, c: Coercion) -> Dataset:
    """The Modified Attributes Sequence item: every coerced attribute as it was, empty if absent."""
    item = Dataset()
    for keyword in COERCED:
        if keyword == "AccessionNumber" and c.accession is None and "AccessionNumber" in ds:
            continue  # kept, not modified
        if keyword == "PatientSex" and c.sex is None:
            continue
        setattr(item, keyword, ds.get(keyword, "") or "")
    for keyword in KEPT_IF_PRESENT:
        if keyword in ds:
            setattr(item, keyword, ds.get(keyword))
    return item


def _original_item(ds: Dataset, c: Coercion, modified: Dataset, reason: str = "COERCE") -> Dataset:
    item = Dataset()
    item.SourceOfPreviousValues = str(ds.get("InstitutionName", "") or "")[:64]
    item.AttributeModificationDateTime = c.when.strftime("%Y%m%d%H%M%S.%f") + c.when.strftime("%z")
    item.ModifyingSystem = c.modifying_system[:64]
    item.ReasonForTheAttributeModification = reason
    item.ModifiedAttributesSequence = [modified]
    return item


def previous_values(ds: Dataset, tags: tuple[int, ...]) -> Dataset | None:
    """The elements a repair pads (their values of odd length, PS3.5 7.1.1) as the file has them."""
    item = Dataset()
    for tag in tags:
        if tag in ds and tag >> 16 not in (0x0002, 0x7FE0):
            item.add(copy.deepcopy(ds[tag]))
    return item if len(item) else None


def record_correction(ds: Dataset, previous: Dataset, c: Coercion) -> None:
    """IRWF's record of a repair that changed values (odd lengths padded): an Original Attributes
    item with reason CORRECT (PS3.3 C.12.1.1.9.2) holding the values as they were."""
    ds.OriginalAttributesSequence = list(ds.get("OriginalAttributesSequence", [])) + [
        _original_item(ds, c, previous, reason="CORRECT")]


def _equipment(c: Coercion) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = MEDIA_IMPORTER
    item = Dataset()
    item.PurposeOfReferenceCodeSequence = [code]
    item.Manufacturer = "HUS mediastation"
    item.InstitutionName = c.institution[:64]
    item.StationName = c.station_name[:16]
    item.ContributionDateTime = c.when.strftime("%Y%m%d%H%M%S") + c.when.strftime("%z")
    item.ContributionDescription = "Import of outside media"
    return item


def _fit_charset(ds: Dataset, values: list[str]) -> None:
    """Keep the file's character set when the new values fit it, else switch (R-B2).

    A file in the default repertoire (no Specific Character Set) gets ISO_IR 100 when Latin-1
    holds the new values (Finnish and Swedish names do), otherwise ISO_IR 192; ASCII is a subset
    of both, so its other values stay as they are.
    """
    if all(v.isascii() for v in values):
        return
    raw = ds.get("SpecificCharacterSet") or ""
    charsets = [raw] if isinstance(raw, str) else [str(v) for v in raw]
    if not charsets or charsets in ([""], ["ISO_IR 6"]):
        ds.decode()
        ds.SpecificCharacterSet = "ISO_IR 100" if _encodes(values, "latin-1") else "ISO_IR 192"
        return
    if len(charsets) == 1:
        try:
            if _encodes(values, convert_encodings(charsets)[0]):
                return
        except LookupError:
            pass
    ds.decode()  # every text value to str under the old character set, before it changes
    ds.SpecificCharacterSet = "ISO_IR 192"


def _encodes(values: list[str], codec: str) -> bool:
    try:
        for value in values:
            value.encode(codec)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


# -- writing the coerced instance ------------------------------------------------------------------
def write_coerced(source: MediumFile, header: InstanceHeader, coercion: Coercion, out: Path, *,
                  accepted: set[str] | frozenset[str], source_ae: str = "", repairs: tuple[str, ...] = (),
                  odd_tags: tuple[int, ...] = ()) -> Written:
    """Write the coerced instance to `out` (PS3.10) in a syntax the archive accepted; `repairs`
    (dicom/validate.py) are made on the way: the data set is then written by pydicom, which re-reads
    UN elements with their dictionary VR and pads odd lengths, and the pixel data's odd fragments are
    padded while they stream."""
    target, convert = choose_syntax(header.transfer_syntax, accepted)
    if not convert and not repairs:
        try:
            _write_spliced(source, header, coercion, out, target, source_ae)
            return Written(target)
        except (Unspliceable, RawHeaderError):
            pass
    if not convert and (header.pixel_offset is not None or header.transfer_syntax in UNCOMPRESSED):
        _write_streaming(source, header, coercion, out, target, source_ae, repairs, odd_tags)
        return Written(target)
    return _write_converted(source, header, coercion, out, target, source_ae, repairs, odd_tags)


class Unspliceable(Exception):
    """The quick path does not apply to this file; the pydicom path writes it."""


SPLICE_READ = frozenset(int(tag_for_keyword(k)) for k in (  # type: ignore[arg-type]
    "SpecificCharacterSet", "InstitutionName", *COERCED_KEYWORDS, "InstanceOriginStatus"))
SPLICE_REFUSE = frozenset(int(tag_for_keyword(k)) for k in (  # type: ignore[arg-type]
    "OtherPatientIDsSequence", "OriginalAttributesSequence", "ContributingEquipmentSequence",
    "IssuerOfPatientIDQualifiersSequence", "IssuerOfAccessionNumberSequence"))


def _write_spliced(source: MediumFile, header: InstanceHeader, coercion: Coercion, out: Path, syntax: str,
                   source_ae: str) -> None:
    """The quick path: the original header bytes with the coerced elements swapped in, then the pixels.

    Only the handful of patient elements is encoded anew; every other element is copied byte for
    byte, so an instance costs a few element encodings instead of a whole dataset (the store's
    CPU budget). Files that already carry the sequences coercion extends go the pydicom way.
    """
    with source.open() as fp:
        head, rest = spliced_head(fp, coercion, syntax)
        with open(out, "wb") as dst:
            dst.write(b"\x00" * 128 + b"DICM")
            dst.write(_meta_bytes(header, syntax, source_ae))
            dst.write(head)
            fp.seek(rest)
            shutil.copyfileobj(fp, dst, 1024 * 1024)


def spliced_head(fp: BinaryIO, coercion: Coercion, syntax: str) -> tuple[bytes, int]:
    """The coerced data set up to the pixel data (no file meta), and where in `fp` the rest of the
    data set starts, unchanged: sent as it is, no staged copy (pacs/store.py). Unspliceable when the
    quick path does not apply (another syntax, sequences coercion extends)."""
    raw = read_raw_header(fp, SPLICE_READ | SPLICE_REFUSE)
    if raw.transfer_syntax != syntax or SPLICE_REFUSE & set(tag for tag, _s, _e in raw.elements):
        raise Unspliceable()
    new = _coerced_elements(raw, coercion)
    kept = [(tag, start, end) for tag, start, end in raw.elements if tag not in new and tag & 0xFFFF != 0]
    pieces = sorted([(tag, None, data) for tag, data in new.items()] +
                    [(tag, (start, end), b"") for tag, start, end in kept], key=lambda piece: piece[0])
    return b"".join(raw_bytes(raw, span) if span else data for _tag, span, data in pieces), raw.header_end


_ELEMENTS_CACHE: dict[tuple, dict[int, bytes]] = {}  # type: ignore[type-arg]


def _coerced_elements(raw: RawHeader, coercion: Coercion) -> dict[int, bytes]:
    """The encoded replacement elements, by tag. Every instance of a patient group shares its
    original patient attributes, so the encoding is done once per group and study, not per file."""
    present = frozenset(tag for tag, _s, _e in raw.elements)
    key = (coercion, raw.little, raw.implicit, tuple(sorted((t, raw.values.get(t, b"")) for t in SPLICE_READ if t in present)))
    cached = _ELEMENTS_CACHE.get(key)
    if cached is not None:
        return cached
    old = _dataset_of(raw, set(present))
    charset_before = old.get("SpecificCharacterSet")
    coerce(old, coercion)
    if charset_before and old.get("SpecificCharacterSet") != charset_before:
        raise Unspliceable()  # the other text would have to be re-encoded
    new = {int(elem.tag): _encode(elem, raw, old.get("SpecificCharacterSet")) for elem in old
           if elem.keyword != "InstitutionName" and not (elem.keyword == "SpecificCharacterSet" and charset_before)}
    if len(_ELEMENTS_CACHE) > 256:
        _ELEMENTS_CACHE.clear()
    _ELEMENTS_CACHE[key] = new
    return new


def raw_bytes(raw: RawHeader, span: tuple[int, int]) -> bytes:
    return bytes(raw.buffer[span[0]:span[1]])


def _dataset_of(raw: RawHeader, present: set[int]) -> Dataset:
    """The coerced attributes as the file has them (absent stays absent), decoded in its charset."""
    ds = Dataset()
    charset_raw = raw.text(int(tag_for_keyword("SpecificCharacterSet"))).decode("ascii").strip(" \x00")  # type: ignore[arg-type]
    if charset_raw:
        values = [v.strip() for v in charset_raw.split("\\")]
        ds.SpecificCharacterSet = values[0] if len(values) == 1 else values
    encodings = convert_encodings(list(ds.SpecificCharacterSet) if "SpecificCharacterSet" in ds and
                                  not isinstance(ds.SpecificCharacterSet, str) else
                                  ([ds.SpecificCharacterSet] if "SpecificCharacterSet" in ds else None))
    for keyword in ("InstitutionName", *COERCED_KEYWORDS, "InstanceOriginStatus"):
        tag = int(tag_for_keyword(keyword))  # type: ignore[arg-type]
        if tag not in present:
            continue
        value = raw.text(tag)
        delimiters = {0x5E, 0x3D} if keyword == "PatientName" else {0x5C}
        text = value.decode("ascii") if value.isascii() and b"\x1b" not in value else decode_bytes(value, encodings, delimiters)
        setattr(ds, keyword, text.rstrip(" \x00"))
    return ds


def _encode(elem, raw: RawHeader, charset) -> bytes:  # type: ignore[no-untyped-def]
    buffer = DicomBytesIO()
    buffer.is_little_endian = raw.little
    buffer.is_implicit_VR = raw.implicit
    encodings = None if not charset else ([charset] if isinstance(charset, str) else list(charset))
    write_data_element(buffer, elem, encodings)
    return buffer.getvalue()


def _meta_bytes(header: InstanceHeader, syntax: str, source_ae: str) -> bytes:
    return file_meta_bytes(header.sop_class_uid, header.sop_instance_uid, syntax,
                           implementation_uid=PYDICOM_IMPLEMENTATION_UID, implementation_version=IMPLEMENTATION_VERSION,
                           source_ae=source_ae)


def _write_streaming(source: MediumFile, header: InstanceHeader, coercion: Coercion, out: Path, syntax: str,
                     source_ae: str, repairs: tuple[str, ...] = (), odd_tags: tuple[int, ...] = ()) -> None:
    """pydicom re-encodes the header; the pixel data is copied byte for byte (a repaired file's
    pixel data element is written anew around the same bytes: `_PixelElement`)."""
    with source.open() as fp:
        ds = dcmread(fp, stop_before_pixels=True, force=True)
        fix_charset(ds)
        previous = _repair_data_set(ds, repairs, odd_tags)
        coerce(ds, coercion)
        if previous is not None:
            record_correction(ds, previous, coercion)
        pixel = _PixelElement.read(fp, header.pixel_offset, ds) if repairs and header.pixel_offset is not None \
            else None
        if pixel is not None:
            pixel.fix_offset_table(ds)
        _prepare(ds, syntax, source_ae)
        with open(out, "wb") as dst:
            pydicom.dcmwrite(dst, ds, enforce_file_format=True)
            if pixel is not None:
                pixel.write(fp, dst, implicit=UID(syntax).is_implicit_VR)
            elif header.pixel_offset is not None:
                fp.seek(header.pixel_offset)
                shutil.copyfileobj(fp, dst, 1024 * 1024)


def _repair_data_set(ds: Dataset, repairs: tuple[str, ...], odd_tags: tuple[int, ...]) -> Dataset | None:
    """Every element decoded (UN with its dictionary VR: pydicom's replace_un_with_known_vr), so
    pydicom writes each anew, of even length; the previous values of the odd ones, or None."""
    if not repairs:
        return None
    previous = previous_values(ds, odd_tags) if ODD_LENGTH in repairs else None
    for _element in ds.iterall():
        pass
    return previous


@dataclass(frozen=True)
class _PixelElement:
    """The pixel data element of a file being repaired, as its items lie in the file: native (one
    value) or encapsulated (the Basic Offset Table and each fragment, PS3.5 A.4)."""

    tag: int
    vr: bytes
    value_start: int
    length: int  # of a native value; UNDEFINED for encapsulated
    items: tuple[tuple[int, int], ...] = ()  # encapsulated: (value start, length) of the offset table and fragments
    end: int = 0  # where the element ends in the file (elements after it are copied as they are)

    @classmethod
    def read(cls, fp: BinaryIO, offset: int, ds: Dataset) -> _PixelElement:
        fp.seek(offset)
        head = fp.read(12)
        group, element = struct.unpack("<HH", head[:4])
        tag = group << 16 | element
        if head[4:6] in (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN"):
            vr, length, start = head[4:6], struct.unpack("<I", head[8:12])[0], offset + 12
        else:  # implicit VR (or a writer's switch to it for the pixel data)
            vr, length, start = b"", struct.unpack("<I", head[4:8])[0], offset + 8
        if vr not in (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV"):
            vr = {0x7FE00008: b"OF", 0x7FE00009: b"OD"}.get(tag) or (
                b"OB" if length == UNDEFINED or int(ds.get("BitsAllocated", 16) or 16) <= 8 else b"OW")
        if length != UNDEFINED:
            return cls(tag, vr, start, length, end=start + length)
        items, position = [], start
        while True:
            fp.seek(position)
            item = fp.read(8)
            item_tag = struct.unpack("<HH", item[:4])
            item_length = struct.unpack("<I", item[4:8])[0]
            if item_tag == (0xFFFE, 0xE0DD):
                return cls(tag, vr, start, length, tuple(items), end=position + 8)
            items.append((position + 8, item_length))
            position += 8 + item_length

    def _padded_offsets(self) -> dict[int, int]:
        """Old fragment offset (from the first fragment's item, as the offset tables count) -> new."""
        moved, shift, offset = {}, 0, 0
        for _start, length in self.items[1:]:
            moved[offset] = offset + shift
            offset += 8 + length
            shift += length % 2
        moved[offset] = offset + shift
        return moved

    def fix_offset_table(self, ds: Dataset) -> None:
        """An Extended Offset Table (7FE0,0001) follows the fragments that grow by their padding."""
        if self.length != UNDEFINED or "ExtendedOffsetTable" not in ds:
            return
        moved = self._padded_offsets()
        old = struct.unpack(f"<{len(ds.ExtendedOffsetTable) // 8}Q", ds.ExtendedOffsetTable)
        ds.ExtendedOffsetTable = struct.pack(f"<{len(old)}Q", *(moved.get(o, o) for o in old))

    def write(self, fp: BinaryIO, dst: BinaryIO, *, implicit: bool) -> None:
        """The element, even in every length, then whatever followed it in the file."""
        length = self.length + self.length % 2 if self.length != UNDEFINED else UNDEFINED
        tag = struct.pack("<HH", self.tag >> 16, self.tag & 0xFFFF)
        dst.write(tag + (struct.pack("<I", length) if implicit else self.vr + b"\x00\x00" + struct.pack("<I", length)))
        if self.length != UNDEFINED:
            _copy_range(fp, dst, self.value_start, self.length, pad=self.length % 2 == 1)
        else:
            table_start, table_length = self.items[0]
            fp.seek(table_start)
            table = fp.read(table_length)
            if table:
                moved = self._padded_offsets()
                old = struct.unpack(f"<{table_length // 4}I", table)
                table = struct.pack(f"<{len(old)}I", *(moved.get(o, o) for o in old))
            dst.write(struct.pack("<HHI", 0xFFFE, 0xE000, len(table)) + table)
            for start, fragment in self.items[1:]:
                dst.write(struct.pack("<HHI", 0xFFFE, 0xE000, fragment + fragment % 2))
                _copy_range(fp, dst, start, fragment, pad=fragment % 2 == 1)
            dst.write(struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
        fp.seek(self.end)
        shutil.copyfileobj(fp, dst, 1024 * 1024)


def _copy_range(fp: BinaryIO, dst: BinaryIO, start: int, length: int, *, pad: bool) -> None:
    fp.seek(start)
    left = length
    while left:
        block = fp.read(min(left, 1024 * 1024))
        if not block:
            raise EOFError(f"the file ended {left} bytes before the end of its pixel data")
        dst.write(block)
        left -= len(block)
    if pad:
        dst.write(b"\x00")  # PS3.5 7.1.1 and A.4: a trailing NUL makes the length even


def _write_converted(source: MediumFile, header: InstanceHeader, coercion: Coercion, out: Path, syntax: str,
                     source_ae: str, repairs: tuple[str, ...] = (), odd_tags: tuple[int, ...] = ()) -> Written:
    """The whole instance read and re-encoded: decompression, Big Endian, Deflate."""
    original = header.transfer_syntax
    with source.open() as fp:
        ds = dcmread(fp, force=True)
    fix_charset(ds)
    previous = previous_values(ds, odd_tags) if ODD_LENGTH in repairs else None
    for _element in ds.iterall():
        pass  # every raw element decoded under its original encoding
    lossy = False
    if UID(original).is_compressed and "PixelData" in ds:
        lossy = _decompress(ds, original)
    elif ds.original_encoding[1] is False:
        _swap_to_little_endian(ds)
    coerce(ds, coercion)
    if previous is not None:
        record_correction(ds, previous, coercion)
    _prepare(ds, syntax, source_ae)
    with open(out, "wb") as dst:
        pydicom.dcmwrite(dst, ds, enforce_file_format=True)
    return Written(syntax, converted_from=original, lossy=lossy)


def _decompress(ds: Dataset, original: str) -> bool:
    """Lossless decoding to native pixels, same SOP Instance UID; marks a lossy original (R-E3)."""
    lossy = original in LOSSY_METHODS or str(ds.get("LossyImageCompression", "")) == "01"
    try:
        ds.decompress(generate_instance_uid=False)
    except Exception as exc:  # noqa: BLE001 - every decoder failure is the same outcome for the receipt
        raise NotSendable("cannot_decompress", f"{UID(original).name}: {exc}") from None
    if lossy:
        ds.LossyImageCompression = "01"
        if "LossyImageCompressionMethod" not in ds and original in LOSSY_METHODS:
            ds.LossyImageCompressionMethod = LOSSY_METHODS[original]
    return lossy


def _swap_to_little_endian(ds: Dataset) -> None:
    """Big Endian words to Little Endian (R-B3): other-VR values are raw bytes and need swapping."""
    import numpy as np  # only Big Endian files need it; workers stay small without it

    for element in ds.iterall():
        width = SWAP_WIDTHS.get(element.VR)
        if width and isinstance(element.value, (bytes, bytearray)) and len(element.value) % width == 0:
            element.value = np.frombuffer(element.value, dtype=f">u{width}").astype(f"<u{width}").tobytes()


def _prepare(ds: Dataset, syntax: str, source_ae: str) -> None:
    """A fresh File Meta Information for `syntax`; retired group lengths dropped (they would lie)."""
    for tag in [t for t in ds.keys() if t.element == 0 and t.group not in (0x0000, 0x0002)]:
        del ds[tag]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    if source_ae:
        meta.SourceApplicationEntityTitle = source_ae[:16]
    ds.file_meta = meta
    if "PixelData" in ds and not UID(syntax).is_compressed:
        ds["PixelData"].is_undefined_length = False
