"""Damaged and odd files as they come on outside media, made from pydicom's own test files and the
synthetic studies: cut files, an image shorter than its pixel module, elements all declared UN, an
encapsulated fragment of odd length, copies of one instance, a cut ISO image, broken DICOMDIRs."""

from __future__ import annotations

import struct
from pathlib import Path

from pydicom import dcmread
from pydicom.encaps import generate_fragments

from support.outside_media import OUTSIDE_ISSUER, OUTSIDE_INSTITUTION

LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
IDENTITY = dict(PatientID="JOR-4711", PatientName="Virtanen^Ville", IssuerOfPatientID=OUTSIDE_ISSUER,
                PatientBirthDate="19800101", PatientSex="M", InstitutionName=OUTSIDE_INSTITUTION)


def as_outside(source: Path | str, target: Path, **changes: object) -> Path:
    """A copy of `source` under the outside patient of the synthetic studies (and `changes`),
    written in its own transfer syntax."""
    ds = dcmread(source)
    for keyword, value in {**IDENTITY, **changes}.items():
        setattr(ds, keyword, value)
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return target


def cut(source: Path, target: Path, fraction: float | None = None, *, at: int | None = None) -> Path:
    """The first `fraction` of the file (or its first `at` bytes)."""
    data = source.read_bytes()
    end = at if at is not None else int(len(data) * (fraction or 0))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data[:end])
    return target


def _top_elements(data: bytes, start: int) -> list[tuple[int, int, bytes, int, int]]:
    """(tag, header start, VR, value start, value end) of the top-level elements of an Explicit VR
    Little Endian data set whose sequences all have defined lengths."""
    elements, pos = [], start
    while pos < len(data):
        group, element = struct.unpack_from("<HH", data, pos)
        vr = data[pos + 4:pos + 6]
        if vr in LONG_VRS:
            length, value = struct.unpack_from("<I", data, pos + 8)[0], pos + 12
        else:
            length, value = struct.unpack_from("<H", data, pos + 6)[0], pos + 8
        elements.append((group << 16 | element, pos, vr, value, value + length))
        pos = value + length
    return elements


def all_un(source: Path, target: Path) -> Path:
    """Every top-level element after the File Meta Information declared UN, its value unchanged, as a
    known converter bug leaves them (sequences are kept: their content needs its own VRs)."""
    ds = dcmread(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True, implicit_vr=False, little_endian=True)
    data = target.read_bytes()
    meta_end = 144 + struct.unpack_from("<I", data, 140)[0]
    out = bytearray(data[:meta_end])
    for tag, _pos, vr, value, end in _top_elements(data, meta_end):
        if vr == b"SQ":
            out += data[_pos:end]
            continue
        out += struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"UN\x00\x00" + struct.pack("<I", end - value)
        out += data[value:end]
    target.write_bytes(bytes(out))
    return target


def odd_fragment(source: Path, target: Path) -> Path:
    """The encapsulated image with its last fragment's trailing NUL pad removed: a fragment of odd
    length (PS3.5 A.4 wants even; DCMTK aborts on it)."""
    ds = dcmread(source)
    last = list(generate_fragments(ds.PixelData))[-1]
    assert last.endswith(b"\x00") and len(last) % 2 == 0, "needs a last fragment padded with a NUL"
    data = Path(source).read_bytes()
    start = data.rindex(last)
    length = struct.unpack_from("<I", data, start - 4)[0]
    assert length == len(last)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data[:start - 4] + struct.pack("<I", length - 1) + last[:-1] + data[start + length:])
    return target


def short_pixels(source: Path, target: Path, missing: int) -> Path:
    """A native image whose pixel data element holds `missing` bytes fewer than Rows x Columns needs,
    its declared length telling the truth (a writer that stopped early)."""
    ds = dcmread(source)
    ds.PixelData = ds.PixelData[:-missing]
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return target


def other_pixels(source: Path, target: Path) -> Path:
    """The same instance (same UIDs, same patient) with one pixel changed, written uncompressed: a
    copy whose image really differs."""
    ds = dcmread(source)
    pixels = ds.pixel_array.copy()
    pixels.flat[0] = pixels.flat[0] + 1 if pixels.flat[0] < pixels.max() else pixels.flat[0] - 1
    ds.PixelData = pixels.tobytes()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    if "PlanarConfiguration" in ds:
        ds.PlanarConfiguration = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return target


def with_private_elements(source: Path, target: Path) -> Path:
    """The same instance with a vendor's private block added (more header, the same image)."""
    ds = dcmread(source)
    block = ds.private_block(0x0029, "HUS TEST VENDOR", create=True)
    block.add_new(0x10, "LO", "acquisition note")
    block.add_new(0x11, "DS", "1.5")
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return target


def odd_value(source: Path, target: Path, keyword: str, value: str) -> Path:
    """`keyword` set to `value` (of odd length) and written without its pad byte: a value of odd
    length, as a careless writer leaves it (PS3.5 7.1.1 wants every value even)."""
    assert len(value) % 2 == 1
    ds = dcmread(source)
    setattr(ds, keyword, value)
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    data = target.read_bytes()
    element = ds[keyword]
    encoded = value.encode("ascii")
    header = struct.pack("<HH", element.tag.group, element.tag.element) + str(element.VR).encode() + \
        struct.pack("<H", len(encoded) + 1)
    position = data.index(header + encoded)
    target.write_bytes(data[:position] + header[:6] + struct.pack("<H", len(encoded)) + encoded
                       + data[position + len(header) + len(encoded) + 1:])
    return target
