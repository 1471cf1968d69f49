"""A minimal reader of a DICOM file's top level, for speed: where each element starts and ends.

The inventory reads thousands of headers while the patient waits, and the import rewrites a few
patient attributes of every instance. pydicom builds a whole Dataset for that (about 1 ms a file);
this walks the top-level elements with `struct` only, keeps the bytes of the tags asked for and the
byte range of every element, and stops at the pixel data. Nested sequences are skipped, not parsed.

Anything unusual (Deflate, a UN element of undefined length, a damaged length) raises
`RawHeaderError` and the caller falls back to pydicom, which is slower but forgiving.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95")
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
VRS = LONG_VRS | {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN", b"SH",
                  b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}
PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
CHUNK = 64 * 1024
MAX_HEADER = 64 * 1024 * 1024


class RawHeaderError(ValueError):
    """Not something this reader handles; use pydicom."""


@dataclass
class RawHeader:
    preamble: bool
    meta: dict[int, bytes]  # group 0002 values
    transfer_syntax: str
    little: bool
    implicit: bool
    dataset_start: int
    elements: list[tuple[int, int, int]] = field(default_factory=list)  # (tag, start, end), top level
    values: dict[int, bytes] = field(default_factory=dict)  # the wanted tags' value bytes
    vrs: dict[int, bytes] = field(default_factory=dict)  # their VR when explicit
    pixel_offset: int | None = None
    pixel_end: int | None = None  # None for encapsulated (undefined length) pixel data
    pixel_value: int | None = None  # where the pixel data's value starts (after its element header)
    header_end: int = 0  # where the top-level elements before the pixel data end
    buffer: bytearray = field(default_factory=bytearray, repr=False)  # the file's bytes read so far

    def text(self, tag: int) -> bytes:
        return self.values.get(tag, b"")


class _Buffer:
    """The file's bytes from offset 0, read on demand in chunks."""

    def __init__(self, fp: BinaryIO, head: bytes = b"") -> None:
        self.fp = fp
        self.data = bytearray(head)
        self.eof = False

    def ensure(self, end: int) -> None:
        if end > MAX_HEADER:
            raise RawHeaderError("header too long")
        while len(self.data) < end and not self.eof:
            self.fp.seek(len(self.data))
            chunk = self.fp.read(max(CHUNK, end - len(self.data)))
            if not chunk:
                self.eof = True
            self.data += chunk
        if len(self.data) < end:
            raise RawHeaderError("truncated")

    def take(self, offset: int, size: int) -> bytes:
        self.ensure(offset + size)
        return bytes(self.data[offset:offset + size])


def read_raw_header(fp: BinaryIO, wanted: frozenset[int] | set[int], head: bytes = b"") -> RawHeader:
    """Walk the top level of a PS3.10 file (or a bare dataset) up to its pixel data."""
    buf = _Buffer(fp, head)
    try:
        buf.ensure(132)
    except RawHeaderError:
        pass  # a bare dataset may be shorter than a preamble
    preamble = bytes(buf.data[128:132]) == b"DICM"
    pos = 132 if preamble else 0
    meta: dict[int, bytes] = {}
    if _tag_at(buf, pos, True) >> 16 == 0x0002:
        pos = _read_meta(buf, pos, meta)
    syntax = meta.get(0x00020010, b"").rstrip(b"\x00 ").decode("ascii", "replace")
    if syntax:
        if syntax in DEFLATED:
            raise RawHeaderError("deflated")
        little, implicit = syntax != EXPLICIT_BE, syntax == IMPLICIT_LE
    else:
        little, implicit = _guess_encoding(buf, pos)
        syntax = IMPLICIT_LE if implicit else (EXPLICIT_LE if little else EXPLICIT_BE)
    header = RawHeader(preamble, meta, syntax, little, implicit, pos)
    _walk(buf, header, wanted)
    header.buffer = buf.data
    return header


def _tag_at(buf: _Buffer, pos: int, little: bool) -> int:
    raw = buf.take(pos, 4)
    group, element = struct.unpack("<HH" if little else ">HH", raw)
    return group << 16 | element


def _read_meta(buf: _Buffer, pos: int, meta: dict[int, bytes]) -> int:
    """Group 0002 is always Explicit VR Little Endian."""
    while True:
        try:
            tag = _tag_at(buf, pos, True)
        except RawHeaderError:
            return pos
        if tag >> 16 != 0x0002:
            return pos
        vr = buf.take(pos + 4, 2)
        if vr in LONG_VRS:
            length, start = struct.unpack("<I", buf.take(pos + 8, 4))[0], pos + 12
        else:
            length, start = struct.unpack("<H", buf.take(pos + 6, 2))[0], pos + 8
        if length == UNDEFINED:
            raise RawHeaderError("undefined length in meta")
        meta[tag] = buf.take(start, length)
        pos = start + length


def _guess_encoding(buf: _Buffer, pos: int) -> tuple[bool, bool]:
    """A bare dataset: the endianness whose first group is 0008 (or 0002), explicit when a VR follows."""
    raw = buf.take(pos, 8)
    for little in (True, False):
        group = struct.unpack("<H" if little else ">H", raw[:2])[0]
        if group in (0x0008, 0x0002):
            return little, raw[4:6] not in VRS
    raise RawHeaderError("not a dataset")


def _walk(buf: _Buffer, header: RawHeader, wanted: frozenset[int] | set[int]) -> None:
    order = "<" if header.little else ">"
    pos = header.dataset_start
    last_tag = -1
    while True:
        try:
            buf.ensure(pos + 8)
        except RawHeaderError:
            if buf.eof and len(buf.data) == pos:
                header.header_end = pos
                return
            raise
        group, element = struct.unpack_from(order + "HH", buf.data, pos)
        tag = group << 16 | element
        if tag <= last_tag:
            raise RawHeaderError("elements out of order")
        last_tag = tag
        if tag in PIXEL_TAGS:
            header.pixel_offset = header.header_end = pos
            header.pixel_end = _pixel_end(buf, header, pos, order)
            return
        vr, length, start = _element_header(buf, header, pos, order)
        if length == UNDEFINED:
            if vr not in (b"SQ", None):
                raise RawHeaderError(f"undefined length {vr!r}")
            end = _skip_sequence(buf, start, order, header.implicit)
        else:
            end = start + length
        if tag in wanted:
            header.values[tag] = buf.take(start, length) if length != UNDEFINED else b""
            if vr:
                header.vrs[tag] = vr
        header.elements.append((tag, pos, end))
        pos = end


def _element_header(buf: _Buffer, header: RawHeader, pos: int, order: str) -> tuple[bytes | None, int, int]:
    if header.implicit:
        return None, struct.unpack_from(order + "I", buf.data, pos + 4)[0], pos + 8
    vr = bytes(buf.data[pos + 4:pos + 6])
    if vr in LONG_VRS:
        buf.ensure(pos + 12)
        return vr, struct.unpack_from(order + "I", buf.data, pos + 8)[0], pos + 12
    if vr not in VRS:
        raise RawHeaderError(f"unknown VR {vr!r}")
    return vr, struct.unpack_from(order + "H", buf.data, pos + 6)[0], pos + 8


def _pixel_end(buf: _Buffer, header: RawHeader, pos: int, order: str) -> int | None:
    buf.ensure(pos + 8)
    vr = bytes(buf.data[pos + 4:pos + 6])
    if header.implicit or vr not in VRS:  # some writers switch to implicit VR for the pixel data
        length, start = struct.unpack_from(order + "I", buf.data, pos + 4)[0], pos + 8
    elif vr in LONG_VRS:
        buf.ensure(pos + 12)
        length, start = struct.unpack_from(order + "I", buf.data, pos + 8)[0], pos + 12
    else:
        length, start = struct.unpack_from(order + "H", buf.data, pos + 6)[0], pos + 8
    header.pixel_value = start
    return None if length == UNDEFINED else start + length


def _skip_sequence(buf: _Buffer, pos: int, order: str, implicit: bool) -> int:
    """The end of an undefined-length sequence starting at its first item (after its header)."""
    while True:
        buf.ensure(pos + 8)
        tag = _tag_at(buf, pos, header_little(order))
        length = struct.unpack_from(order + "I", buf.data, pos + 4)[0]
        if tag == SEQUENCE_END:
            return pos + 8
        if tag != ITEM:
            raise RawHeaderError("not an item")
        pos = pos + 8 + length if length != UNDEFINED else _skip_item(buf, pos + 8, order, implicit)


def _skip_item(buf: _Buffer, pos: int, order: str, implicit: bool) -> int:
    while True:
        buf.ensure(pos + 8)
        tag = _tag_at(buf, pos, header_little(order))
        if tag == ITEM_END:
            return pos + 8
        if implicit:
            length, start, vr = struct.unpack_from(order + "I", buf.data, pos + 4)[0], pos + 8, None
        else:
            vr = bytes(buf.data[pos + 4:pos + 6])
            if vr in LONG_VRS:
                buf.ensure(pos + 12)
                length, start = struct.unpack_from(order + "I", buf.data, pos + 8)[0], pos + 12
            elif vr in VRS:
                length, start = struct.unpack_from(order + "H", buf.data, pos + 6)[0], pos + 8
            else:
                raise RawHeaderError(f"unknown VR {vr!r} in an item")
        if length == UNDEFINED:
            if vr not in (b"SQ", None):
                raise RawHeaderError("undefined length inside an item")
            pos = _skip_sequence(buf, start, order, implicit)
        else:
            pos = start + length


def header_little(order: str) -> bool:
    return order == "<"
