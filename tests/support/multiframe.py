"""Multi-frame instances as vendors write them, generated with pydicom (and Pillow's JPEG encoder):
an Enhanced CT/MR whose window and rescale are only in the functional groups (different per frame,
frames stored out of spatial order), a dynamic enhanced series of two temporal positions, an
ultrasound cine in JPEG baseline YBR_FULL_422 with Frame Time and an RGB cine with Frame Time
Vector. Frames are written to the file one at a time (encapsulated as they are encoded), so the
benchmark's 600-frame cine and 1,000-frame CT are made without holding them in memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels.encoders import RLELosslessEncoder
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless, generate_uid

HETU = "010594Y9032"
NAME = "Multi^Frame"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"
SECONDARY_CAPTURE_RGB = "1.2.840.10008.5.1.4.1.1.7.4"  # Multi-frame True Colour SC
ITEM = b"\xfe\xff\x00\xe0"
SEQUENCE_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"


@dataclass(frozen=True)
class Made:
    path: Path
    series_uid: str
    sop_uid: str
    frames: int
    # Enhanced: per frame (in stored order) its window, rescale, temporal position and z
    windows: tuple[tuple[float, float], ...] = ()
    rescales: tuple[tuple[float, float], ...] = ()
    temporal: tuple[int, ...] = ()
    z: tuple[float, ...] = ()
    rate: float | None = None


def _study(study_uid: str, modality: str, series_number: int, description: str, sop_class: str,
           accession: str = "MF0001") -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = NAME, HETU, "19940501", "F"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "20261120", "103100", accession
    ds.StudyDescription, ds.StudyID, ds.ReferringPhysicianName = "MONIKUVA", "1", ""
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber, ds.SeriesDescription, ds.Modality = series_number, description, modality
    ds.InstanceNumber = 1
    ds.ContentDate, ds.ContentTime = "20261120", "103100"
    return ds


def _write(ds: Dataset, path: Path, syntax: str, frames: Iterator[bytes], *, encapsulated: bool) -> None:
    """The header by pydicom, then the Pixel Data element frame by frame."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        dcmwrite(out, ds, enforce_file_format=True)
        vr = b"OB" if encapsulated or int(ds.BitsAllocated) == 8 else b"OW"
        if encapsulated:
            out.write(b"\xe0\x7f\x10\x00" + vr + b"\x00\x00\xff\xff\xff\xff" + ITEM + b"\x00\x00\x00\x00")
            for frame in frames:
                padded = frame + b"\x00" * (len(frame) % 2)
                out.write(ITEM + len(padded).to_bytes(4, "little") + padded)
            out.write(SEQUENCE_END)
            return
        body = b"".join(frames)
        out.write(b"\xe0\x7f\x10\x00" + vr + b"\x00\x00" + (len(body) + len(body) % 2).to_bytes(4, "little"))
        out.write(body + b"\x00" * (len(body) % 2))


def _monochrome(ds: Dataset, rows: int, cols: int, frames: int, signed: bool = False) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, int(signed)


def _phantom(rows: int, cols: int, z: float, rng: np.random.Generator, noise: float = 8.0) -> np.ndarray:
    """A body with an organ whose size depends on z: 12-bit stored values, air at 24."""
    y, x = np.ogrid[-1.0:1.0:rows * 1j, -1.0:1.0:cols * 1j]
    body = (x / 0.85) ** 2 + (y / 0.65) ** 2 <= 1.0
    radius = 0.15 + 0.1 * np.cos(z / 20.0)
    organ = ((x - 0.3) ** 2 + (y + 0.1) ** 2) <= radius ** 2
    image = np.full((rows, cols), 24.0)
    image[body] = 1064.0
    image[body] += 200 * (x * np.ones((rows, 1)))[body]  # a gradient: many grey levels in any window
    image[organ & body] = 1400.0
    if noise:
        image += rng.normal(0.0, noise, size=(rows, cols))
    return np.clip(image, 0, 4095).astype(np.uint16)


def enhanced(path: Path, study_uid: str, *, modality: str = "CT", frames: int = 6, rows: int = 64, cols: int = 64,
             temporal: int = 1, syntax: str = ExplicitVRLittleEndian, series_number: int = 1,
             description: str = "", noise: float = 8.0, seed: int = 21, accession: str = "MF0001") -> Made:
    """An Enhanced CT or MR with no top-level window or rescale: each frame's window and rescale in
    its Per-frame Functional Groups (Frame VOI LUT, Pixel Value Transformation), orientation and
    pixel measures shared, Plane Position per frame; the frames stored in reverse order along z
    (the viewer orders them); with `temporal` > 1 the stack repeats at that many Temporal Position
    Indexes. `syntax`: Explicit VR Little Endian or RLE Lossless (made frame by frame)."""
    sop_class = ENHANCED_CT if modality == "CT" else ENHANCED_MR
    ds = _study(study_uid, modality, series_number, description or f"Enhanced {modality}", sop_class, accession)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.FrameOfReferenceUID = generate_uid()
    ds.PositionReferenceIndicator = ""
    _monochrome(ds, rows, cols, frames * temporal)
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [400.0 / cols, 400.0 / cols]
    measures.SliceThickness = 2.5
    shared.PixelMeasuresSequence = Sequence([measures])
    orientation = Dataset()
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PlaneOrientationSequence = Sequence([orientation])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame, windows, rescales, times, zs = [], [], [], [], []
    for time in range(1, temporal + 1):
        for stored in range(frames):
            z = -100.0 + (frames - 1 - stored) * 2.5  # stored from the top down: the viewer sorts
            item = Dataset()
            content = Dataset()
            content.StackID = "1"
            content.InStackPositionNumber = frames - stored
            content.TemporalPositionIndex = time
            content.DimensionIndexValues = [time, frames - stored]
            item.FrameContentSequence = Sequence([content])
            position = Dataset()
            position.ImagePositionPatient = [-200.0, -200.0, z]
            item.PlanePositionSequence = Sequence([position])
            voi = Dataset()
            center, width = (40.0 + 10 * stored, 400.0 + 20 * stored) if modality == "CT" else (600.0 + 25 * stored,
                                                                                              1200.0 + 50 * stored)
            voi.WindowCenter, voi.WindowWidth = center, width
            item.FrameVOILUTSequence = Sequence([voi])
            transform = Dataset()
            slope, intercept = (1.0, -1024.0 - stored) if modality == "CT" else (1.0 + 0.5 * (stored % 2), 0.0)
            transform.RescaleSlope, transform.RescaleIntercept = slope, intercept
            transform.RescaleType = "HU" if modality == "CT" else "US"
            item.PixelValueTransformationSequence = Sequence([transform])
            per_frame.append(item)
            windows.append((center, width))
            rescales.append((slope, intercept))
            times.append(time)
            zs.append(z)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    rng = np.random.default_rng(seed)

    def pixels() -> Iterator[np.ndarray]:
        for time, z in zip(times, zs, strict=True):
            yield _phantom(rows, cols, z + 40 * (time - 1), rng, noise)

    _write(ds, path, syntax, _encoded(pixels(), syntax, ds), encapsulated=syntax != ExplicitVRLittleEndian)
    return Made(path, str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID), frames * temporal, tuple(windows),
                tuple(rescales), tuple(times), tuple(zs))


def _encoded(arrays: Iterator[np.ndarray], syntax: str, ds: Dataset) -> Iterator[bytes]:
    for array in arrays:
        if syntax == RLELossless:
            yield RLELosslessEncoder.encode(
                np.ascontiguousarray(array), rows=array.shape[0], columns=array.shape[1],
                samples_per_pixel=int(ds.SamplesPerPixel), bits_allocated=int(ds.BitsAllocated),
                bits_stored=int(ds.BitsStored), pixel_representation=int(ds.PixelRepresentation),
                photometric_interpretation=str(ds.PhotometricInterpretation), number_of_frames=1,
                planar_configuration=0, encoding_plugin="pylibjpeg" if "pylibjpeg" in
                RLELosslessEncoder.available_plugins else "pydicom")
        else:
            yield np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def legacy_converted(path: Path, *, images: int = 4, accession: str = "MF0001", series_number: int = 6) -> Made:
    """A Legacy Converted Enhanced CT Image made by highdicom from a generated single-frame CT series
    (tests/support/synthetic.py): window and rescale land in the Shared Functional Groups, none at
    the top level. `windows` and `rescales` repeat the shared ones per frame; `z` is each frame's z."""
    from highdicom.legacy import LegacyConvertedEnhancedCTImage
    from pydicom import dcmread

    from support.synthetic import make_study

    info = make_study(path.parent / f".{path.name}-source", modality="CT", images=images, patient_name=NAME,
                      patient_id=HETU, accession=accession, study_description="MONIKUVA", seed=61)
    sources = [dcmread(source) for source in info.files]
    converted = LegacyConvertedEnhancedCTImage(sources, series_instance_uid=generate_uid(),
                                               series_number=series_number, sop_instance_uid=generate_uid(),
                                               instance_number=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    converted.save_as(path, enforce_file_format=True)
    window = (float(sources[0].WindowCenter), float(sources[0].WindowWidth))
    rescale = (float(sources[0].RescaleSlope), float(sources[0].RescaleIntercept))
    zs = tuple(float(item.PlanePositionSequence[0].ImagePositionPatient[2])
               for item in converted.PerFrameFunctionalGroupsSequence)
    return Made(path, str(converted.SeriesInstanceUID), str(converted.SOPInstanceUID), images,
                windows=(window,) * images, rescales=(rescale,) * images, z=zs)


def _echo_frame(rows: int, cols: int, index: int, frames: int) -> np.ndarray:
    """An RGB frame: a grey sector with a beating ring and a colour bar, different in every frame."""
    y, x = np.ogrid[0:rows, 0:cols]
    phase = 2 * np.pi * index / max(frames, 1)
    radius = rows * (0.2 + 0.05 * np.sin(phase))
    distance = np.hypot(y - rows * 0.55, x - cols * 0.5)
    grey = (60 + 120 * np.exp(-((distance - radius) / (rows * 0.03)) ** 2) + 0.1 * x).clip(0, 255)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    bar = slice(rows // 10, rows // 10 + max(rows // 20, 2))
    rgb[bar, : cols // 3] = (200, 40 + index % 100, 40)
    return rgb.astype(np.uint8)


def _cine(ds: Dataset, rows: int, cols: int, frames: int, photometric: str) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, photometric, 0
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0


def us_cine_jpeg(path: Path, study_uid: str, *, frames: int = 30, rows: int = 120, cols: int = 160,
                 frame_time: float = 40.0, series_number: int = 3, quality: int = 90,
                 accession: str = "MF0001") -> Made:
    """An ultrasound cine in JPEG baseline (Pillow's encoder, 4:2:2 chroma), YBR_FULL_422, with
    Frame Time (ms) and Frame Increment Pointer to it, each frame encapsulated as it is encoded."""
    ds = _study(study_uid, "US", series_number, "Sydämen ultraääni", US_MULTIFRAME, accession)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "CARDIAC"]
    _cine(ds, rows, cols, frames, "YBR_FULL_422")
    ds.FrameTime = frame_time
    ds.FrameIncrementPointer = 0x00181063
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    ds.LossyImageCompressionRatio = "10"

    def encoded() -> Iterator[bytes]:
        for index in range(frames):
            buffer = io.BytesIO()
            Image.fromarray(_echo_frame(rows, cols, index, frames), "RGB").save(
                buffer, "JPEG", quality=quality, subsampling=1)  # 4:2:2
            yield buffer.getvalue()

    _write(ds, path, JPEGBaseline8Bit, encoded(), encapsulated=True)
    return Made(path, str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID), frames, rate=1000.0 / frame_time)


def rgb_cine(path: Path, study_uid: str, *, frames: int = 24, rows: int = 96, cols: int = 128,
             interval: float = 50.0, series_number: int = 4, accession: str = "MF0001") -> Made:
    """A native RGB multi-frame (Multi-frame True Colour SC) timed by Frame Time Vector: 0, then
    `interval` ms between frames."""
    ds = _study(study_uid, "XC", series_number, "Värikuvasarja", SECONDARY_CAPTURE_RGB, accession)
    ds.ConversionType = "DV"
    _cine(ds, rows, cols, frames, "RGB")
    ds.FrameTimeVector = [0.0] + [interval] * (frames - 1)
    ds.FrameIncrementPointer = 0x00181065
    arrays = (_echo_frame(rows, cols, index, frames).tobytes() for index in range(frames))
    _write(ds, path, ExplicitVRLittleEndian, arrays, encapsulated=False)
    return Made(path, str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID), frames, rate=1000.0 / interval)

