"""Make an instance fit a medium's profile (§b11-14): decompress, or re-encode as Explicit VR LE.

Every profile the station offers contains Explicit VR Little Endian, so that is the one target:
compressed pixel data is decoded (pydicom's decoders: pylibjpeg, pylibjpeg-libjpeg,
pylibjpeg-openjpeg, pyjpegls), Big Endian, Implicit VR and Deflated encodings are re-encoded. The
station never compresses, so lossless never becomes lossy; an image that was lossy-compressed
keeps saying so (Lossy Image Compression = 01, with its method and ratio). The SOP Instance UID is
kept: decoding is not a new lossy step, it is the same image (interfaces.md, "Export details").
Compressed pixel data is decoded one frame at a time and written as it comes, so a long cine costs
the memory of one frame (`_decode_frame_by_frame`; benchmarks/multiframe_memory.py).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread, dcmwrite
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_file_meta_info
from pydicom.pixels import as_pixel_options, get_decoder
from pydicom.uid import UID

from mediastation.dicom.fileset import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION
from mediastation.dicom.headers import EXPLICIT_VR_LITTLE_ENDIAN, NotDicomError
from mediastation.dicom.profiles import Profile
from mediastation.errors import InputError
from mediastation.files import write_atomic

EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"

VIDEO = {
    "1.2.840.10008.1.2.4.100": "MPEG-2 video", "1.2.840.10008.1.2.4.100.1": "MPEG-2 video",
    "1.2.840.10008.1.2.4.101": "MPEG-2 video", "1.2.840.10008.1.2.4.101.1": "MPEG-2 video",
    "1.2.840.10008.1.2.4.102": "MPEG-4 video", "1.2.840.10008.1.2.4.102.1": "MPEG-4 video",
    "1.2.840.10008.1.2.4.103": "MPEG-4 video", "1.2.840.10008.1.2.4.103.1": "MPEG-4 video",
    "1.2.840.10008.1.2.4.104": "MPEG-4 video", "1.2.840.10008.1.2.4.104.1": "MPEG-4 video",
    "1.2.840.10008.1.2.4.105": "MPEG-4 video", "1.2.840.10008.1.2.4.105.1": "MPEG-4 video",
    "1.2.840.10008.1.2.4.106": "MPEG-4 video", "1.2.840.10008.1.2.4.106.1": "MPEG-4 video",
    "1.2.840.10008.1.2.4.107": "HEVC video", "1.2.840.10008.1.2.4.108": "HEVC video",
}
"""Video syntaxes: no profile the station offers takes them, and decoding video to frames would
make a different (and huge) object, so such an instance cannot be placed (§b13)."""

LOSSY_METHODS = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1", "1.2.840.10008.1.2.4.51": "ISO_10918_1",
}
"""Syntaxes that are lossy by definition, with the Lossy Image Compression Method they imply."""

MAYBE_LOSSY_METHODS = {
    "1.2.840.10008.1.2.4.81": "ISO_14495_1", "1.2.840.10008.1.2.4.91": "ISO_15444_1",
    "1.2.840.10008.1.2.4.93": "ISO_15444_2", "1.2.840.10008.1.2.4.203": "ISO_15444_15",
    "1.2.840.10008.1.2.4.112": "ISO_18181_1",
}
"""Syntaxes that may be lossy: treated as lossy unless the dataset says Lossy Image Compression 00
(a false "lossless" is the dangerous mistake for a reader)."""

PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian
_SWAP_WIDTH = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


class NotPlaceable(InputError):
    """An instance that cannot be made to fit the medium's profile; `reason` says why."""

    code = "not_placeable"

    def __init__(self, path: Path, transfer_syntax: str, profile: str, reason: str) -> None:
        super().__init__(
            f"{path} ({UID(transfer_syntax).name}, {transfer_syntax}) cannot be placed on a {profile} medium: "
            f"{reason}",
            details={"path": str(path), "transfer_syntax": transfer_syntax, "profile": profile, "reason": reason})
        self.path, self.transfer_syntax, self.profile, self.reason = path, transfer_syntax, profile, reason


@dataclass(frozen=True)
class Conversion:
    """One transcoded instance, as the export's report lists it (interfaces.md "conversions")."""

    sop_instance_uid: str
    from_ts: str
    to_ts: str
    lossy: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"sop_instance_uid": self.sop_instance_uid, "from": self.from_ts, "to": self.to_ts}


def transfer_syntax_of(path: Path) -> str:
    """The file's (0002,0010), read from the file meta information only."""
    from mediastation.dicom.headers import meta_uids

    try:
        quick = meta_uids(path)
    except OSError as exc:
        raise NotDicomError(f"{path} is not a readable DICOM file: {exc}") from exc
    if quick is not None and quick[1]:
        return quick[1]
    try:
        meta = read_file_meta_info(path)
    except (InvalidDicomError, OSError, EOFError, ValueError) as exc:
        raise NotDicomError(f"{path} is not a readable DICOM file: {exc}") from exc
    transfer_syntax = str(meta.get("TransferSyntaxUID", "") or "")
    if not transfer_syntax:
        raise NotDicomError(f"{path} has no Transfer Syntax UID in its file meta information")
    return transfer_syntax


def conform(src: Path, dst: Path, profile: Profile) -> Conversion | None:
    """None when `src` already fits `profile` (the caller links or copies it); otherwise write a
    conforming Explicit VR Little Endian copy to `dst` (atomically) and say what was converted.

    Raises NotPlaceable when the instance cannot fit (video, no decoder, undecodable data).
    """
    src, dst = Path(src), Path(dst)
    source_ts = transfer_syntax_of(src)
    if profile.allows(source_ts):
        return None
    if source_ts in VIDEO:
        raise NotPlaceable(src, source_ts, profile.name,
                           f"{VIDEO[source_ts]} is not in the profile and the station does not turn video into "
                           "frames; send it on a medium with a video profile or electronically")
    if UID(source_ts).is_compressed:
        streamed = _decode_frame_by_frame(src, dst, source_ts, profile)
        if streamed is not None:
            return streamed
    try:
        ds = dcmread(src)
    except Exception as exc:  # pydicom raises many kinds; any of them means the file is unusable here
        raise NotPlaceable(src, source_ts, profile.name, f"the file does not parse: {exc}") from exc
    lossy = False
    if UID(source_ts).is_compressed and "PixelData" in ds:
        lossy = _decompress(ds, src, source_ts, profile)
    elif source_ts == EXPLICIT_VR_BIG_ENDIAN:
        _swap_to_little_endian(ds)
    _mark_written(ds)
    _save(ds, dst)
    return Conversion(str(ds.SOPInstanceUID), source_ts, EXPLICIT_VR_LITTLE_ENDIAN, lossy)


def _mark_written(ds: Dataset) -> None:
    ds.file_meta.TransferSyntaxUID = EXPLICIT_VR_LITTLE_ENDIAN
    ds.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    ds.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION


def _decoder(src: Path, source_ts: str, profile: Profile) -> Any:
    try:
        decoder = get_decoder(UID(source_ts))
    except NotImplementedError as exc:
        raise NotPlaceable(src, source_ts, profile.name, "pydicom has no decoder for this syntax") from exc
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies)
        raise NotPlaceable(src, source_ts, profile.name, f"no decoder for it is installed ({missing})")
    return decoder


def _decode_frame_by_frame(src: Path, dst: Path, source_ts: str, profile: Profile) -> Conversion | None:
    """Decode a compressed instance one frame at a time into `dst`: the header, then the native
    Pixel Data written frame by frame as each is decoded, so memory holds one frame however many
    there are (a 600-frame 640 x 480 RGB cine is 553 MB decoded; decoded whole, that was the
    export's peak). The first frame is decoded before the header is written: it says what the
    decoder made of the pixels (RGB from YBR, interleaved) and so the value length of them all.
    None when the file is not one this path takes (no pixel data at the top level, 1-bit samples):
    the caller decodes it whole."""
    with open(src, "rb") as fp:
        try:
            ds = dcmread(fp, stop_before_pixels=True)
            start = fp.tell()
            head = fp.read(12)
            count = int(ds.get("NumberOfFrames", 1) or 1)
        except Exception as exc:  # pydicom raises many kinds; any of them means the file is unusable here
            raise NotPlaceable(src, source_ts, profile.name, f"the file does not parse: {exc}") from exc
        if len(head) < 12 or head[:4] != PIXEL_DATA_TAG or int(ds.get("BitsAllocated", 0) or 0) not in (8, 16, 32):
            return None
        decoder = _decoder(src, source_ts, profile)
        compressed_size = os.fstat(fp.fileno()).st_size - start - 12
        frames = _decoded_frames(decoder.iter_array(fp, as_rgb=True, **_pixel_options(ds, source_ts)),
                                 src, source_ts, profile)
        decoded = next(frames, None)
        if decoded is None:
            raise NotPlaceable(src, source_ts, profile.name, "its pixel data holds no frame")
        first, meta = decoded
        if meta:
            ds.PhotometricInterpretation = meta["photometric_interpretation"]
            if int(meta.get("samples_per_pixel", 1)) > 1:
                ds.PlanarConfiguration = int(meta["planar_configuration"])
        size = first.nbytes * count
        if size + 1 >= 2**32 - 1:
            raise NotPlaceable(src, source_ts, profile.name, "decoded, its pixel data would exceed 4 GB")
        lossy = _mark_lossy(ds, source_ts, size, compressed_size)
        _mark_written(ds)

        def write(part: Path) -> None:
            written = 0
            with open(part, "wb") as out:
                dcmwrite(out, ds, enforce_file_format=True)
                vr = b"OB" if int(ds.BitsAllocated) <= 8 else b"OW"
                out.write(PIXEL_DATA_TAG + vr + b"\x00\x00" + (size + size % 2).to_bytes(4, "little"))
                for array in itertools.chain((first,), (array for array, _meta in frames)):
                    if written == count or array.nbytes != first.nbytes:
                        raise NotPlaceable(src, source_ts, profile.name,
                                           f"its frames do not match Number of Frames {count} and its size")
                    out.write(memoryview(np.ascontiguousarray(array, array.dtype.newbyteorder("<"))).cast("B"))
                    written += 1
                if written != count:
                    raise NotPlaceable(src, source_ts, profile.name,
                                       f"it has {written} frames where Number of Frames says {count}")
                if size % 2:
                    out.write(b"\x00")

        write_atomic(dst, write, fsync=False)
    return Conversion(str(ds.SOPInstanceUID), source_ts, EXPLICIT_VR_LITTLE_ENDIAN, lossy)


def _decoded_frames(frames: Iterator[tuple[np.ndarray, dict[str, Any]]], src: Path, source_ts: str,
                    profile: Profile) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    try:
        yield from frames
    except Exception as exc:  # the decoders raise many kinds; all mean the same here
        reason = " ".join(str(exc).split())
        raise NotPlaceable(src, source_ts, profile.name, f"its pixel data cannot be decoded: {reason}") from exc


def _pixel_options(ds: Dataset, source_ts: str) -> dict[str, Any]:
    options = as_pixel_options(ds)
    options.update(transfer_syntax_uid=UID(source_ts), pixel_keyword="PixelData")
    return options


def _mark_lossy(ds: Dataset, source_ts: str, decoded_size: int, compressed_size: int) -> bool:
    """Lossy Image Compression 01 with its method and ratio (PS3.3 C.7.6.1.1.5) on an image decoded
    from a lossy syntax (or one flagged lossy already); True when the image is lossy."""
    flag = str(ds.get("LossyImageCompression", "") or "")
    method = _lossy_flag(ds, source_ts)
    if method is None:
        return flag == "01"
    ds.LossyImageCompression = "01"
    if "LossyImageCompressionMethod" not in ds and "LossyImageCompressionRatio" not in ds:
        ds.LossyImageCompressionMethod = method
        if compressed_size > 0:
            ds.LossyImageCompressionRatio = f"{decoded_size / compressed_size:.2f}"[:16]
    return True


def _lossy_flag(ds: Dataset, source_ts: str) -> str | None:
    """The Lossy Image Compression Method a decoded image keeps (PS3.3 C.7.6.1.1.5), or None."""
    flag = str(ds.get("LossyImageCompression", "") or "")
    method = LOSSY_METHODS.get(source_ts)
    if method is None and flag != "00":
        method = MAYBE_LOSSY_METHODS.get(source_ts)
    return method


def _decompress(ds: Dataset, src: Path, source_ts: str, profile: Profile) -> bool:
    """Decode the pixel data in place, keeping the SOP Instance UID; True when the image is lossy."""
    _decoder(src, source_ts, profile)
    compressed_size = _compressed_size(ds)
    try:
        ds.decompress(generate_instance_uid=False)
    except Exception as exc:  # the decoders raise many kinds; all mean the same here
        reason = " ".join(str(exc).split())
        raise NotPlaceable(src, source_ts, profile.name, f"its pixel data cannot be decoded: {reason}") from exc
    return _mark_lossy(ds, source_ts, len(ds.PixelData), compressed_size)


def _compressed_size(ds: Dataset) -> int:
    element = ds["PixelData"]
    value = element.value
    return len(value) if isinstance(value, (bytes, bytearray)) else 0


def _swap_to_little_endian(ds: Dataset) -> None:
    """pydicom re-encodes decoded values itself, but OW/OF/OL/OD/OV bytes must be swapped by hand."""
    for element in ds.iterall():
        width = _SWAP_WIDTH.get(element.VR)
        value = element.value
        if width and isinstance(value, (bytes, bytearray)) and len(value) % width == 0:
            element.value = np.frombuffer(value, dtype=f">u{width}").astype(f"<u{width}").tobytes()


def _save(ds: Dataset, dst: Path) -> None:
    # the file meta's syntax decides the encoding
    write_atomic(dst, lambda part: dcmwrite(part, ds, enforce_file_format=True), fsync=False)
