"""Pixels for the offline viewer: a JPEG preview and an embedded copy of each frame.

The embedded copy is what the viewer draws and windows: the frame decoded by pydicom (whatever the
original transfer syntax) and written as little-endian samples, DICOM-RLE-compressed by pydicom
when that is smaller and the caller asks for it (a budget that needs the smaller form). The browser
then decodes only these two trivial forms; JPEG, JPEG-LS and JPEG 2000 never reach it on this path.
Frames are handled one at a time from the file, which is read once for the preview and the copy.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, iter_pixels
from pydicom.pixels.encoders import RLELosslessEncoder

from mediastation.dicom.multiframe import FUNCTIONAL_GROUPS, FrameValues, frame_values
from mediastation.dicom.rawheader import EXPLICIT_LE, IMPLICIT_LE, RawHeader, RawHeaderError, read_raw_header

try:  # the same text as the standard library's, about 30 times faster (SIMD)
    from pybase64 import b64encode
except ImportError:  # pragma: no cover - optional speed-up
    from base64 import b64encode

PREVIEW_SIZE = 512
PREVIEW_QUALITY = 85
# Huffman-optimised JPEGs are about 6 % smaller but take 2.5 times as long to encode (measured on
# 512 x 512 CT); a preview is a convenience beside the original, so the faster form is written.
PREVIEW_OPTIMIZE = False
# pylibjpeg-rle (Rust) writes the same bytes as pydicom's pure-Python encoder, about 50 times faster.
_RLE_PLUGIN = "pylibjpeg" if "pylibjpeg" in RLELosslessEncoder.available_plugins else "pydicom"
# the Image Pixel attributes the frames need (group 0028); a frame with any of NOT_PLAIN goes through pydicom
PIXEL_MODULE = frozenset({0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100, 0x00280101,
                          0x00280102, 0x00280103, 0x00281050, 0x00281051, 0x00281052, 0x00281053})
MODALITY_LUT_SEQUENCE = 0x00283000
NOT_PLAIN = frozenset({0x00281101, 0x00281201, MODALITY_LUT_SEQUENCE})  # palette, modality LUT
_INTEGER_TYPES = {np.dtype("uint8"), np.dtype("int8"), np.dtype("uint16"), np.dtype("int16")}


@dataclass(frozen=True)
class Frame:
    """One decoded frame, ready for the viewer: stored samples plus how to read them."""

    stored: np.ndarray  # (rows, cols) integers or float32 modality values; (rows, cols, 3) uint8 RGB
    slope: float
    intercept: float
    photometric: str  # MONOCHROME1, MONOCHROME2 or RGB
    center: float | None
    width: float | None

    @property
    def colour(self) -> bool:
        return self.stored.ndim == 3

    def modality_values(self) -> np.ndarray:
        """What the viewer's test hook reports: stored * slope + intercept (colour: the RGB bytes)."""
        if self.colour:
            return self.stored
        return self.stored.astype(np.float64) * self.slope + self.intercept


def frames(source: Path) -> Iterator[Frame]:
    """The frames of one instance, decoded by pydicom one at a time from a single read of the file
    (pydicom hands back the Image Pixel module, group 0028, that it read on the way); plain native
    greyscale frames straight from the file (`_plain_frames`)."""
    plain = _plain_frames(source)
    if plain is not None:
        yield from plain
        return
    header = Dataset()
    context: tuple[str, float | None, float | None] | None = None
    per_frame: list[FrameValues] | None = None
    for index, array in enumerate(iter_pixels(source, ds_out=header, specific_tags=list(FUNCTIONAL_GROUPS))):
        if context is None:
            context = (str(header.get("PhotometricInterpretation", "MONOCHROME2")), *_window(header))
            per_frame = frame_values(header, int(header.get("NumberOfFrames", 1) or 1))
        yield _with_values(_frame(array, header, *context), per_frame, index)


def _with_values(frame: Frame, per_frame: list[FrameValues] | None, index: int) -> Frame:
    """The frame with its own window and rescale from the functional groups where they give one
    (mediastation.dicom.multiframe); the top level's otherwise. A frame already turned into
    modality values (a modality LUT) keeps its values; colour has neither."""
    if per_frame is None or index >= len(per_frame) or frame.colour:
        return frame
    values = per_frame[index]
    changes: dict[str, float] = {}
    if values.center is not None and values.width is not None:
        changes.update(center=values.center, width=values.width)
    if frame.stored.dtype in _INTEGER_TYPES:
        if values.slope is not None and values.slope != 0:
            changes["slope"] = values.slope
        if values.intercept is not None:
            changes["intercept"] = values.intercept
    return replace(frame, **changes) if changes else frame


def raw_dataset(raw: RawHeader, syntax: str | None = None) -> Dataset:
    """The values the quick reader kept (`raw.values`), as a pydicom Dataset that converts them on
    access exactly as after dcmread: no second parse of the file for a few attributes."""
    ds = _converting_dataset(tuple(raw.values.items()), tuple(raw.vrs.items()), raw.implicit, raw.little)
    if syntax is not None:
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = syntax
    return ds


def _converting_dataset(values: tuple[tuple[int, bytes], ...], vrs: tuple[tuple[int, bytes], ...], implicit: bool,
                        little: bool) -> Dataset:
    known = dict(vrs)
    elements = {tag: RawDataElement(Tag(tag), known[tag].decode() if tag in known else None, len(value), value,
                                    0, implicit, little, True, False)
                for tag, value in values}
    ds = Dataset(elements)
    ds.set_original_encoding(implicit, little)
    return ds


def _plain_frames(source: Path) -> Iterator[Frame] | None:
    """Native little-endian greyscale frames of 8 or 16 bits (most CT, MR, CR) read straight from
    the file: the same arrays as pydicom's iter_pixels, unused high bits corrected the same way,
    without pydicom parsing the whole data set first (~1 ms a file). None: pydicom's path."""
    try:
        with open(source, "rb") as fp:
            raw = read_raw_header(fp, PIXEL_MODULE)
    except (OSError, RawHeaderError, struct.error, ValueError):
        return None
    layout = _plain_layout(raw)
    if layout is None:
        return None
    per_frame = None
    if any(tag in FUNCTIONAL_GROUPS for tag, _start, _end in raw.elements):
        groups = dcmread(source, stop_before_pixels=True, specific_tags=list(FUNCTIONAL_GROUPS))
        per_frame = frame_values(groups, layout.count)
    return _read_plain(source, layout, per_frame)


@dataclass(frozen=True)
class _PlainLayout:
    header: Dataset  # group 0028
    dtype: np.dtype
    rows: int
    columns: int
    count: int  # frames
    shift: int  # Bits Allocated - Bits Stored
    photometric: str
    center: float | None
    width: float | None
    start: int = 0  # where the samples start in the file

    @property
    def total(self) -> int:
        return self.rows * self.columns * self.count * self.dtype.itemsize


def _plain_layout(raw: RawHeader) -> _PlainLayout | None:
    if raw.transfer_syntax not in (EXPLICIT_LE, IMPLICIT_LE) or raw.pixel_value is None or raw.pixel_end is None \
            or any(tag in NOT_PLAIN for tag, _start, _end in raw.elements):
        return None
    layout = _series_layout(tuple(raw.values.items()), tuple(raw.vrs.items()), raw.implicit, raw.little)
    if layout is None or raw.pixel_end - raw.pixel_value not in (layout.total, layout.total + 1):
        return None
    return replace(layout, start=raw.pixel_value)


@lru_cache(maxsize=32)
def _series_layout(values: tuple[tuple[int, bytes], ...], vrs: tuple[tuple[int, bytes], ...], implicit: bool,
                   little: bool) -> _PlainLayout | None:
    """The layout for these Image Pixel values: decoded once for the instances of a series that
    share them byte for byte (pydicom's conversion is most of the cost of a plain frame)."""
    header = _converting_dataset(values, vrs, implicit, little)
    try:
        rows, columns, allocated = int(header.Rows), int(header.Columns), int(header.BitsAllocated)
        stored = int(header.get("BitsStored", allocated) or allocated)
        signed = int(header.get("PixelRepresentation", 0) or 0)
        count = int(header.get("NumberOfFrames", 1) or 1)
        photometric = str(header.get("PhotometricInterpretation", ""))
        plain = int(header.get("SamplesPerPixel", 1) or 1) == 1 and allocated in (8, 16) and 0 < stored <= allocated \
            and signed in (0, 1) and photometric in ("MONOCHROME1", "MONOCHROME2")
    except (AttributeError, TypeError, ValueError):
        return None
    if not plain or rows < 1 or columns < 1 or count < 1:
        return None
    dtype = np.dtype(f"<{'i' if signed else 'u'}{allocated // 8}")
    return _PlainLayout(header, dtype, rows, columns, count, allocated - stored, photometric, *_window(header))


def _read_plain(source: Path, layout: _PlainLayout, per_frame: list[FrameValues] | None) -> Iterator[Frame]:
    size = layout.rows * layout.columns * layout.dtype.itemsize
    with open(source, "rb", buffering=0) as fp:
        for number in range(layout.count):
            fp.seek(layout.start + number * size)
            samples = bytearray(size)
            if fp.readinto(samples) != size:
                raise ValueError(f"{source}: the pixel data ends early")
            array = np.frombuffer(samples, layout.dtype).reshape(layout.rows, layout.columns)
            if layout.shift:  # as pydicom does: bits above Bits Stored do not count (PS3.5 8.1.1)
                np.left_shift(array, layout.shift, out=array)
                np.right_shift(array, layout.shift, out=array)
            yield _with_values(_frame(array, layout.header, layout.photometric, layout.center, layout.width),
                               per_frame, number)


def _frame(array: np.ndarray, header: Dataset, photometric: str, center: float | None,
           width: float | None) -> Frame:
    if photometric == "PALETTE COLOR":
        return Frame(_to_uint8(apply_color_lut(array, header)), 1.0, 0.0, "RGB", None, None)
    if array.ndim == 3:
        return Frame(_to_uint8(array, int(header.get("BitsStored", 8))), 1.0, 0.0, "RGB", None, None)
    kind = "MONOCHROME1" if photometric == "MONOCHROME1" else "MONOCHROME2"
    if array.dtype in _INTEGER_TYPES and "ModalityLUTSequence" not in header:
        slope = float(header.get("RescaleSlope", 1) or 1)
        intercept = float(header.get("RescaleIntercept", 0) or 0)
        return Frame(array, slope, intercept, kind, center, width)
    values = apply_modality_lut(array, header).astype(np.float32)
    return Frame(values, 1.0, 0.0, kind, center, width)


def _to_uint8(array: np.ndarray, bits_stored: int = 16) -> np.ndarray:
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    shift = max(bits_stored - 8, 0) if array.max(initial=0) > 255 else 0
    return (array >> shift).clip(0, 255).astype(np.uint8)


def _first(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _window(header: Dataset) -> tuple[float | None, float | None]:
    center, width = _first(header.get("WindowCenter")), _first(header.get("WindowWidth"))
    if center is None or width is None or width < 1:
        return None, None
    return center, width


def window_limits(frame: Frame) -> tuple[float, float]:
    """The frame's own window, or its value range when the file gives none (as the viewer does)."""
    if frame.center is not None and frame.width is not None:
        return frame.center, frame.width
    return _limits(frame.modality_values())


def windowed(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM linear VOI function (PS3.3 C.11.2.1.2) to 0..255, the formula of the viewer's render.js."""
    c, w = center - 0.5, max(width - 1.0, 1e-6)
    out = ((values - c) / w + 0.5) * 255.0
    out = np.where(values <= c - w / 2, 0.0, np.where(values > c + w / 2, 255.0, out))
    return np.floor(out + 0.5).clip(0, 255).astype(np.uint8)


def grey(frame: Frame) -> np.ndarray:
    """The monochrome frame at its own window as 0..255, MONOCHROME1 inverted: what the preview shows.

    Integer samples go through a lookup table of every possible stored value, computed with
    `windowed` itself, so the result is the same byte for byte as windowing each pixel, at the cost
    of one indexing pass (the table is cached per series window)."""
    invert = frame.photometric == "MONOCHROME1"
    if frame.stored.dtype not in _INTEGER_TYPES:
        out = windowed(frame.modality_values(), *window_limits(frame))
        return 255 - out if invert else out
    stored = frame.stored
    if frame.center is not None and frame.width is not None:
        table = _full_table(stored.dtype.str, frame.slope, frame.intercept, frame.center, frame.width, invert)
        return np.take(table, stored.view(_pattern_type(stored.dtype)))
    low, high = int(stored.min()), int(stored.max())
    values = np.arange(low, high + 1, dtype=np.float64) * frame.slope + frame.intercept
    table = windowed(values, *_limits(values[[0, -1]]))
    if invert:
        table = 255 - table
    return np.take(table, stored.astype(np.intp) - low if low else stored)


def _pattern_type(dtype: np.dtype) -> np.dtype:
    """The unsigned type whose value is the bit pattern of a stored sample (the table's index)."""
    return np.dtype(f"u{dtype.itemsize}")


@lru_cache(maxsize=32)
def _full_table(dtype: str, slope: float, intercept: float, center: float, width: float,
                invert: bool) -> np.ndarray:
    """0..255 for every stored value of `dtype`, indexed by its bit pattern (signed types wrap)."""
    kind = np.dtype(dtype)
    patterns = np.arange(1 << (8 * kind.itemsize), dtype=np.int64).astype(_pattern_type(kind))
    values = patterns.view(kind).astype(np.float64) * slope + intercept
    table = windowed(values, center, width)
    return 255 - table if invert else table


def _limits(values: np.ndarray) -> tuple[float, float]:
    """The window covering `values` (their range), as the viewer does when a file gives none."""
    low, high = float(values.min()), float(values.max())
    return (low + high) / 2, max(high - low, 1.0)


def preview_jpeg(frame: Frame) -> tuple[bytes, int, int]:
    """A JPEG of the frame at its own window, at most PREVIEW_SIZE pixels a side: (bytes, width, height)."""
    image = Image.fromarray(frame.stored, "RGB") if frame.colour else Image.fromarray(grey(frame), "L")
    image.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=PREVIEW_QUALITY, optimize=PREVIEW_OPTIMIZE)
    return out.getvalue(), image.width, image.height


def embedded_copy(frame: Frame, *, compress: bool = True) -> tuple[dict[str, Any], bytes]:
    """(meta, base64) of the frame for a DISC_DATA script: raw little-endian samples, or DICOM RLE when
    `compress` and that is smaller (the viewer decodes both; RLE costs most of the station's time)."""
    stored = frame.stored
    is_float = stored.dtype.kind == "f"
    if is_float:
        stored = stored.astype("<f4")
    samples = 3 if frame.colour else 1
    bits = stored.dtype.itemsize * 8
    signed = stored.dtype.kind == "i"
    raw = np.ascontiguousarray(stored, dtype=stored.dtype.newbyteorder("<"))
    encoding, payload = "raw", memoryview(raw).cast("B")  # the samples as they are: no copy
    if compress and not is_float:
        rle = RLELosslessEncoder.encode(
            np.ascontiguousarray(stored), rows=stored.shape[0], columns=stored.shape[1],
            samples_per_pixel=samples, bits_allocated=bits, bits_stored=bits,
            pixel_representation=int(signed), photometric_interpretation=frame.photometric,
            number_of_frames=1, planar_configuration=0, encoding_plugin=_RLE_PLUGIN,
        )
        if len(rle) < raw.nbytes:
            encoding, payload = "rle", rle
    meta: dict[str, Any] = {
        "rows": int(stored.shape[0]), "columns": int(stored.shape[1]), "samples": samples, "bits": bits,
        "signed": signed, "float": is_float, "encoding": encoding, "slope": frame.slope,
        "intercept": frame.intercept, "photometric": frame.photometric,
    }
    if frame.center is not None and frame.width is not None:
        meta.update(center=frame.center, width=frame.width)
    return meta, b64encode(payload)
