"""A DICOM file checked from its first byte to its last before the archive sees it (PS3.5 7, A.4;
PS3.10 7.1), streaming: the walk reads element headers and small values, and seeks past everything
else, so a gigabyte of pixel data costs a few reads, never its size in memory.

What stops a file (`problem`):
- `truncated`: an element, an item or the File Meta Information runs past the end of the file; the
  encapsulated pixel data ends without its sequence delimiter or holds fewer fragments than frames;
  native pixel data shorter than the Image Pixel module says (Rows x Columns x Samples per Pixel x
  Number of Frames x Bits Allocated).
- `corrupt_dicom`: what no reader can take as DICOM (an item tag where an element must be, an
  undefined length on a value that cannot have one, a sequence that overruns its item).

What the station repairs without changing the image (`repairs`, see dicom/coerce.py `write_coerced`):
- `vr_un`: elements declared UN whose VR the data dictionary knows (a converter's bug): re-read
  with the dictionary's VR (pydicom's `replace_un_with_known_vr`), written with it.
- `vr_implicit`: an explicit-VR data set with elements whose VR is not one (implicit VR inside):
  read as pydicom does (`assume_implicit_vr_switch`) and written explicitly.
- `odd_length`: a value of odd length, padded as PS3.5 7.1.1 says (a trailing space or NUL).
- `odd_fragment`: an encapsulated pixel data fragment of odd length, padded with a trailing NUL
  (PS3.5 A.4; DCMTK-based archives abort the association on "Odd Fragment Length").

Measured on the import benchmark's medium (2,000 instances, 1 GB, five transfer syntaxes): the walk
adds ~0.05 s of CPU to the inventory's ~1.4 s (SHA-256 and headers), three runs each.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

from pydicom.datadict import dictionary_has_tag, dictionary_VR

EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95")
LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"})
VRS = LONG_VRS | {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN", b"SH",
                  b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_PIXEL_DATA = 0x7FE00010, 0x7FE00008, 0x7FE00009
PIXEL_TAGS = frozenset({PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_PIXEL_DATA})
# Image Pixel module values the pixel data's length is checked against (PS3.3 C.7.6.3)
SAMPLES, PHOTOMETRIC, FRAMES, ROWS, COLUMNS, BITS_ALLOCATED = (0x00280002, 0x00280004, 0x00280008, 0x00280010,
                                                              0x00280011, 0x00280100)
IMAGE_PIXEL = frozenset({SAMPLES, PHOTOMETRIC, FRAMES, ROWS, COLUMNS, BITS_ALLOCATED})
SOP_CLASS = 0x00080016
WINDOW = 64 * 1024
MAX_DEPTH = 64  # nested sequences deeper than this are not a real data set

TRUNCATED, CORRUPT = "truncated", "corrupt_dicom"
VR_UN, VR_IMPLICIT, ODD_LENGTH, ODD_FRAGMENT = "vr_un", "vr_implicit", "odd_length", "odd_fragment"
REWRITTEN = frozenset({VR_UN, VR_IMPLICIT, ODD_LENGTH})  # repairs of the data set: pydicom re-encodes it


@dataclass(frozen=True)
class Validation:
    """What `validate` found: a problem that stops the file, or the repairs it needs (each once)."""

    problem: str = ""                  # "" | truncated | corrupt_dicom
    detail: str = ""                   # what is wrong, and where
    repairs: tuple[str, ...] = ()      # codes, in the order above
    notes: tuple[str, ...] = ()        # what each repair changes, for the report
    odd_tags: tuple[int, ...] = ()     # top-level elements whose value length is odd (their previous
                                       # values go into Original Attributes: dicom/coerce.py)

    @property
    def ok(self) -> bool:
        return not self.problem


class _Stop(Exception):
    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail


def _tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


class _Bytes:
    """The file's bytes at any offset, one window at a time."""

    def __init__(self, fp: BinaryIO, size: int, head: bytes = b"") -> None:
        self.fp, self.size = fp, size
        self.start, self.data = 0, bytes(head)

    def get(self, pos: int, count: int) -> bytes:
        offset = pos - self.start
        if 0 <= offset and offset + count <= len(self.data):
            return self.data[offset:offset + count]
        self.fp.seek(pos)
        self.data, self.start = self.fp.read(max(count, WINDOW)), pos
        return self.data[:count]


@dataclass
class _Findings:
    odd: list[int] = field(default_factory=list)
    odd_fragments: list[int] = field(default_factory=list)
    un: int = 0
    implicit: int = 0
    pixel: dict[int, bytes] = field(default_factory=dict)
    pixel_data: bool = False  # the top-level data set holds (float/double) pixel data


class _Walk:
    def __init__(self, data: _Bytes, little: bool, native: bool = True) -> None:
        self.data, self.size = data, data.size
        self.order = "<" if little else ">"
        self.native = native  # the transfer syntax keeps pixel data uncompressed: its length is checked
        self.found = _Findings()

    # -- data sets -------------------------------------------------------------------------------
    def dataset(self, pos: int, end: int | None, depth: int, implicit: bool) -> int:
        """Walk the elements from `pos` to `end` (None: to the item delimiter of an undefined-length
        item, or at depth 0 to the end of the file); the position after them."""
        if depth > MAX_DEPTH:
            raise _Stop(CORRUPT, f"sequences nested more than {MAX_DEPTH} deep at byte {pos}")
        order = self.order
        while True:
            if end is not None and pos >= end:
                if pos > end:
                    raise _Stop(CORRUPT, f"an element at depth {depth} runs past the end of its item (byte {end})")
                return pos
            if depth == 0 and pos >= self.size:
                return pos
            head = self.data.get(pos, 8)
            if len(head) < 8:
                if depth == 0 and not head.strip(b"\x00"):
                    return self.size  # NUL padding after the last element (a CD writer's sector fill)
                raise _Stop(TRUNCATED, f"the file ends at byte {self.size} inside the element header at byte {pos}")
            group, element = struct.unpack(order + "HH", head[:4])
            tag = group << 16 | element
            if tag == ITEM_END and end is None and depth > 0:
                return pos + 8
            if tag in (ITEM, ITEM_END, SEQUENCE_END):
                raise _Stop(CORRUPT, f"an item tag {_tag(tag)} where a data element must be (byte {pos})")
            if depth == 0 and tag == 0 and not self._rest(pos).strip(b"\x00"):
                return self.size
            vr: bytes | None = None
            if implicit:
                length, start = struct.unpack(order + "I", head[4:8])[0], pos + 8
            else:
                vr = head[4:6]
                if vr in LONG_VRS:
                    more = self.data.get(pos + 8, 4)
                    if len(more) < 4:
                        raise _Stop(TRUNCATED, f"the file ends at byte {self.size} inside the header of {_tag(tag)}")
                    length, start = struct.unpack(order + "I", more)[0], pos + 12
                elif vr in VRS:
                    length, start = struct.unpack(order + "H", head[6:8])[0], pos + 8
                elif tag in PIXEL_TAGS:
                    vr = None  # some writers switch to implicit VR for the pixel data
                    length, start = struct.unpack(order + "I", head[4:8])[0], pos + 8
                elif self._implicit_fits(head, pos):
                    self.found.implicit += 1  # pydicom's assume_implicit_vr_switch: this level is implicit from here
                    implicit, vr = True, None
                    length, start = struct.unpack(order + "I", head[4:8])[0], pos + 8
                else:
                    raise _Stop(CORRUPT, f"{_tag(tag)} at byte {pos} has no valid VR ({vr!r})")
            if tag in PIXEL_TAGS:
                pos = self.pixel_data(tag, length, start, top=depth == 0)
                self.found.pixel_data = self.found.pixel_data or depth == 0
                continue
            sequence = vr == b"SQ" or (vr is None and _dictionary_sq(tag))
            if length == UNDEFINED:
                if sequence or vr == b"UN" or vr is None:
                    # UN of undefined length is a sequence in Implicit VR Little Endian (PS3.5 6.2.2)
                    inside = implicit if sequence else True
                    pos = self.sequence(start, None, depth, inside, tag)
                    continue
                raise _Stop(CORRUPT, f"{_tag(tag)} {vr.decode('ascii', 'replace')} has an undefined length, which "
                                     "only sequences and pixel data may have")
            value_end = start + length
            if value_end > self.size:
                raise _Stop(TRUNCATED, f"the file ends at byte {self.size}, inside {_tag(tag)} whose value runs "
                                       f"to byte {value_end}")
            if length % 2:
                self.found.odd.append(tag if depth == 0 else -tag)
            if vr == b"UN" and group % 2 == 0 and dictionary_has_tag(tag):
                self.found.un += 1
            if sequence:
                self.sequence(start, value_end, depth, implicit, tag)
            elif depth == 0 and (tag in IMAGE_PIXEL or tag == SOP_CLASS):
                self.found.pixel[tag] = self.data.get(start, min(length, 64))
            pos = value_end

    def image_complete(self) -> None:
        """A file cut exactly between two elements before its pixel data parses as a whole data set:
        an image (Rows and Columns given, or an image SOP class) without pixel data was cut."""
        if self.found.pixel_data:
            return
        sop_class = self.found.pixel.get(SOP_CLASS, b"").rstrip(b"\x00 ").decode("ascii", "replace")
        if (self._us(ROWS) and self._us(COLUMNS)) or _is_image_class(sop_class):
            raise _Stop(TRUNCATED, f"the file ends at byte {self.size} before the pixel data an image must have")

    def _rest(self, pos: int) -> bytes:
        return self.data.get(pos, min(self.size - pos, WINDOW))

    def _implicit_fits(self, head: bytes, pos: int) -> bool:
        length = struct.unpack(self.order + "I", head[4:8])[0]
        return length == UNDEFINED or pos + 8 + length <= self.size

    def sequence(self, pos: int, end: int | None, depth: int, implicit: bool, tag: int) -> int:
        order = self.order
        while True:
            if end is not None and pos >= end:
                if pos > end:
                    raise _Stop(CORRUPT, f"an item of {_tag(tag)} runs past the end of the sequence (byte {end})")
                return pos
            head = self.data.get(pos, 8)
            if len(head) < 8:
                raise _Stop(TRUNCATED, f"the file ends at byte {self.size} inside the sequence {_tag(tag)}")
            group, element = struct.unpack(order + "HH", head[:4])
            item = group << 16 | element
            length = struct.unpack(order + "I", head[4:8])[0]
            if item == SEQUENCE_END and end is None:
                return pos + 8
            if item != ITEM:
                raise _Stop(CORRUPT, f"the sequence {_tag(tag)} holds {_tag(item)} where an item must be (byte {pos})")
            if length == UNDEFINED:
                pos = self.dataset(pos + 8, None, depth + 1, implicit)
                continue
            item_end = pos + 8 + length
            if item_end > self.size:
                raise _Stop(TRUNCATED, f"the file ends at byte {self.size} inside an item of {_tag(tag)} that runs "
                                       f"to byte {item_end}")
            self.dataset(pos + 8, item_end, depth + 1, implicit)
            pos = item_end

    # -- pixel data ------------------------------------------------------------------------------
    def pixel_data(self, tag: int, length: int, start: int, *, top: bool) -> int:
        """Pixel data (top: of the image; else of an icon in a sequence, checked for its bounds)."""
        if length == UNDEFINED:
            return self.fragments(start, top=top)
        value_end = start + length
        if value_end > self.size:
            raise _Stop(TRUNCATED, f"the file ends at byte {self.size}, inside the pixel data that runs to byte "
                                   f"{value_end}")
        needed = self.pixel_bytes(tag) if top and self.native else None
        if needed is not None and length < needed:
            raise _Stop(TRUNCATED, f"the pixel data holds {length} bytes; the image needs {needed} (Rows x Columns x "
                                   "Samples per Pixel x Number of Frames x Bits Allocated)")
        if length % 2:
            self.found.odd.append(tag)
        return value_end

    def pixel_bytes(self, tag: int) -> int | None:
        values = self.found.pixel
        rows, columns = self._us(ROWS), self._us(COLUMNS)
        if not rows or not columns:
            return None
        bits = {FLOAT_PIXEL_DATA: 32, DOUBLE_PIXEL_DATA: 64}.get(tag) or self._us(BITS_ALLOCATED)
        if not bits:
            return None
        samples = self._us(SAMPLES) or 1
        try:
            frames = max(1, int(values.get(FRAMES, b"1").rstrip(b"\x00 ").decode("ascii") or 1))
        except ValueError:
            frames = 1
        pixels = rows * columns * samples * frames
        needed = (pixels + 7) // 8 if bits == 1 else pixels * bits // 8
        if values.get(PHOTOMETRIC, b"").startswith(b"YBR_FULL_422"):
            needed = needed // 3 * 2  # two chrominance samples shared by each pair of pixels (PS3.3 C.7.6.3.1.2)
        return needed

    def frames(self) -> int:
        try:
            return max(1, int(self.found.pixel.get(FRAMES, b"1").rstrip(b"\x00 ").decode("ascii") or 1))
        except ValueError:
            return 1

    def _us(self, tag: int) -> int | None:
        value = self.found.pixel.get(tag)
        if value is None or len(value) < 2:
            return None
        return int(struct.unpack(self.order + "H", value[:2])[0])

    def fragments(self, pos: int, *, top: bool = True) -> int:
        """The items of encapsulated pixel data (PS3.5 A.4): the Basic Offset Table, then fragments
        each within the file, then the sequence delimiter."""
        order, index = self.order, 0
        while True:
            head = self.data.get(pos, 8)
            if len(head) < 8:
                raise _Stop(TRUNCATED, f"the file ends at byte {self.size} inside the encapsulated pixel data, after "
                                       f"{max(0, index - 1)} fragment(s) and before its sequence delimiter")
            group, element = struct.unpack(order + "HH", head[:4])
            item = group << 16 | element
            length = struct.unpack(order + "I", head[4:8])[0]
            if item == SEQUENCE_END:
                if top and index - 1 < self.frames():
                    raise _Stop(TRUNCATED, f"the encapsulated pixel data holds {max(0, index - 1)} fragment(s) for "
                                           f"{self.frames()} frame(s)")
                return pos + 8
            if item != ITEM or length == UNDEFINED:
                raise _Stop(CORRUPT, f"the encapsulated pixel data holds {_tag(item)} where a fragment must be "
                                     f"(byte {pos})")
            if pos + 8 + length > self.size:
                what = "the Basic Offset Table" if index == 0 else f"fragment {index}"
                raise _Stop(TRUNCATED, f"the file ends at byte {self.size}, inside {what} of the pixel data "
                                       f"({length} bytes from byte {pos + 8})")
            if length % 2:
                if index == 0:
                    raise _Stop(CORRUPT, f"the Basic Offset Table has an odd length ({length})")
                self.found.odd_fragments.append(index)
            index += 1
            pos += 8 + length


def _is_image_class(sop_class: str) -> bool:
    from pydicom.uid import UID

    return bool(sop_class) and "Image Storage" in UID(sop_class).name


def _dictionary_sq(tag: int) -> bool:
    try:
        return dictionary_VR(tag) == "SQ"
    except KeyError:
        return False


def validate(fp: BinaryIO, size: int, head: bytes = b"") -> Validation:
    """Check the whole file `fp` of `size` bytes (`head`: its first bytes, already read)."""
    data = _Bytes(fp, size, head)
    try:
        start, syntax = _meta(data)
        if syntax in DEFLATED:
            return _validate_deflated(data, start)
        little, implicit = _encoding(data, start, syntax)
        walk = _Walk(data, little, native=not syntax or syntax in (EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE))
        walk.dataset(start, None, 0, implicit)
        walk.image_complete()
    except _Stop as stop:
        return Validation(stop.problem, stop.detail)
    return _result(walk.found)


def _meta(data: _Bytes) -> tuple[int, str]:
    """Where the data set starts and the transfer syntax the File Meta Information names ("" when
    the file has none: a bare data set)."""
    if data.get(128, 4) != b"DICM":
        return 0, ""
    pos, syntax, end = 132, "", None
    first = data.get(132, 12)
    if len(first) == 12 and first[:4] == b"\x02\x00\x00\x00" and first[4:6] == b"UL":
        end = 144 + struct.unpack("<I", first[8:12])[0]
        if end > data.size:
            raise _Stop(TRUNCATED, f"the file ends at byte {data.size}, inside the File Meta Information (which "
                                   f"runs to byte {end})")
    while True:
        head = data.get(pos, 8)
        if len(head) < 8:
            if end is None and pos >= data.size:
                return pos, syntax
            raise _Stop(TRUNCATED, f"the file ends at byte {data.size}, inside the File Meta Information")
        group, element = struct.unpack("<HH", head[:4])
        if group != 0x0002:
            return pos, syntax
        if end is not None and pos >= end:
            return pos, syntax
        vr = head[4:6]
        if vr in LONG_VRS:
            length, start = struct.unpack("<I", data.get(pos + 8, 4))[0], pos + 12
        elif vr in VRS:
            length, start = struct.unpack("<H", head[6:8])[0], pos + 8
        else:
            raise _Stop(CORRUPT, f"the File Meta Information holds {_tag(group << 16 | element)} with no valid VR")
        if length == UNDEFINED or start + length > data.size:
            raise _Stop(TRUNCATED, f"the file ends at byte {data.size}, inside the File Meta Information")
        if element == 0x0010:
            syntax = data.get(start, length).rstrip(b"\x00 ").decode("ascii", "replace")
        pos = start + length  # odd lengths here do not matter: the station writes its own meta


def _encoding(data: _Bytes, pos: int, syntax: str) -> tuple[bool, bool]:
    """(little endian, implicit VR) of the data set: as its transfer syntax says, else as its first
    element looks (a file without File Meta Information, inventory.sniff_dicom)."""
    if syntax:
        return syntax != EXPLICIT_BE, syntax == IMPLICIT_LE
    head = data.get(pos, 8)
    if len(head) < 8:
        raise _Stop(TRUNCATED, f"the file ends at byte {data.size}, before its first data element")
    for little in (True, False):
        group = struct.unpack("<H" if little else ">H", head[:2])[0]
        if group in (0x0008, 0x0002):
            return little, head[4:6] not in VRS
    return True, head[4:6] not in VRS


def _validate_deflated(data: _Bytes, start: int) -> Validation:
    """A deflated data set (PS3.5 A.5) is inflated and walked in memory: such files are small, and
    the station re-encodes them whole anyway (dicom/coerce.py)."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    pos = start
    try:
        while pos < data.size:
            chunk = data.get(pos, WINDOW)
            if not chunk:
                break
            out += inflater.decompress(chunk)
            pos += len(chunk)
    except zlib.error as exc:
        return Validation(CORRUPT, f"the deflated data set does not inflate ({exc})")
    if not inflater.eof:
        return Validation(TRUNCATED, f"the file ends at byte {data.size}, before the end of its deflated data set")
    inflated = bytes(out)
    walk = _Walk(_Bytes(io.BytesIO(inflated), len(inflated), inflated), True)
    try:
        walk.dataset(0, None, 0, False)
    except _Stop as stop:
        return Validation(stop.problem, f"in the deflated data set: {stop.detail}")
    return _result(walk.found)


def _result(found: _Findings) -> Validation:
    repairs, notes = [], []
    if found.un:
        repairs.append(VR_UN)
        notes.append(f"{found.un} element(s) declared UN re-read with the data dictionary's VR")
    if found.implicit:
        repairs.append(VR_IMPLICIT)
        notes.append("elements without an explicit VR in an explicit-VR data set written with their VR")
    if found.odd:
        repairs.append(ODD_LENGTH)
        shown = ", ".join(_tag(abs(t)) + ("" if t > 0 else " (in a sequence)") for t in found.odd[:8])
        notes.append(f"{len(found.odd)} value(s) of odd length padded to even (PS3.5 7.1.1): {shown}"
                     + (" ..." if len(found.odd) > 8 else ""))
    if found.odd_fragments:
        repairs.append(ODD_FRAGMENT)
        shown = ", ".join(str(n) for n in found.odd_fragments[:8])
        notes.append(f"pixel data fragment(s) {shown} of odd length padded with a trailing NUL (PS3.5 A.4)")
    return Validation(repairs=tuple(repairs), notes=tuple(notes),
                      odd_tags=tuple(t for t in found.odd if t > 0 and t not in PIXEL_TAGS and t >> 16 != 0x0002))
