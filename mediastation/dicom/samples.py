"""Synthetic DICOM studies: for `mediastation demo`, the tests and the benchmarks; no network.

Every instance is built, written and dropped before the next one, so a study of thousands of
images costs the memory of one. Names carry ä, ö and å; Patient IDs are valid HETUs with an
individual number of 900-999 (test codes, never a real person). Compressed transfer syntaxes go
through pydicom's encoders (RLE built in; JPEG 2000 needs pylibjpeg + pylibjpeg-openjpeg; JPEG-LS
needs pyjpegls) and keep their SOP Instance UID: the compression is lossless, it is the same image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Literal

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    MRImageStorage,
    RLELossless,
    generate_uid,
)

from mediastation.domain.hetu import OID as HETU_ISSUER
from mediastation.domain.hetu import CENTURIES, check_character, is_valid

Modality = Literal["CT", "MR", "CR"]
Charset = Literal["ISO_IR 100", "ISO_IR 192"]

UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
COMPRESSED = (RLELossless, JPEG2000Lossless, JPEGLSLossless)
TRANSFER_SYNTAXES = UNCOMPRESSED + COMPRESSED
SOP_CLASSES = {"CT": CTImageStorage, "MR": MRImageStorage, "CR": ComputedRadiographyImageStorage}
PYTHON_CODECS = {"ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
FINNISH_NAMES = ("Mäkelä^Aino", "Öhman^Åsa", "Häkkinen^Jörö", "Åström^Märta", "Väänänen^Pääkkö")
INSTITUTION = "HUS Helsingin yliopistollinen sairaala"
BITS_STORED = 12  # unsigned 12-bit samples: every lossless encoder takes them


@dataclass(frozen=True)
class StudyInfo:
    """What a test needs to find the study again: its UIDs, files and identifying attributes."""

    study_instance_uid: str
    series_instance_uids: tuple[str, ...]
    sop_instance_uids: tuple[str, ...]
    files: tuple[Path, ...]
    sop_class_uid: str
    transfer_syntax: str
    modality: str
    patient_name: str
    patient_id: str
    accession: str
    study_description: str
    charset: str

    @property
    def instance_count(self) -> int:
        return len(self.files)


@dataclass(frozen=True)
class _Series:
    uid: str
    number: int
    frame_of_reference: str
    start: datetime


def synthetic_hetu(n: int) -> str:
    """The n-th synthetic HETU (n >= 0): a valid code with individual number 900-999 (test range).

    Birth dates step through 1925-2024 (113 is coprime to 36500); codes are distinct for n < 3,650,000.
    """
    if not 0 <= n < 3_650_000:
        raise ValueError(f"n must be in 0..3649999, got {n}")
    born = date(1925, 1, 1) + timedelta(days=(n * 113) % 36_500)
    individual = f"{900 + ((n // 36_500) * 37 + n) % 100:03d}"
    ddmmyy = born.strftime("%d%m%y")
    sign = "-" if born.year < 2000 else "A"
    return f"{ddmmyy}{sign}{individual}{check_character(ddmmyy, individual)}"


def synthetic_hetus(count: int, start: int = 0) -> list[str]:
    """`count` distinct synthetic HETUs."""
    return [synthetic_hetu(n) for n in range(start, start + count)]


def make_study(
    out_dir: Path,
    *,
    modality: Modality = "CT",
    images: int = 3,
    series: int = 1,
    patient_name: str = "Mäkelä^Aino",
    patient_id: str = "010594Y9032",
    accession: str = "HUS123456",
    study_description: str = "TT VATSA",
    study_datetime: datetime = datetime(2024, 3, 14, 9, 30, 0),
    charset: Charset = "ISO_IR 100",
    transfer_syntax: str = ExplicitVRLittleEndian,
    rows: int = 64,
    cols: int = 64,
    seed: int | None = None,
) -> StudyInfo:
    """Write one study of `series` x `images` instances under `out_dir`, one file at a time.

    Files go to out_dir/ST<hash>/SE<nnn>/IM<nnnnn>.dcm, so several studies may share `out_dir`.
    UIDs are new on each call unless `seed` is given (then the whole study is reproducible);
    pixels depend only on `seed` and the image's position.
    """
    _check_arguments(modality, images, series, patient_name, charset, transfer_syntax)
    uid = _uid_source(seed)
    study_uid = uid("study")
    study_dir = Path(out_dir) / f"ST{hashlib.sha1(study_uid.encode()).hexdigest()[:8].upper()}"
    study = _study_dataset(modality, patient_name, patient_id, accession, study_description,
                           study_datetime, charset, study_uid)
    series_uids, sop_uids, files = [], [], []
    for s in range(series):
        info = _Series(uid(f"series-{s}"), s + 1, uid(f"frame-{s}"), study_datetime + timedelta(minutes=2 + 5 * s))
        series_uids.append(info.uid)
        folder = study_dir / f"SE{info.number:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(images):
            sop_uid = uid(f"instance-{s}-{i}")
            ds = _instance(study, modality, info, i, sop_uid, rows, cols, _seed(seed, s, i))
            path = folder / f"IM{i + 1:05d}.dcm"
            _write(ds, path, UID(transfer_syntax))
            sop_uids.append(sop_uid)
            files.append(path)
    return StudyInfo(
        study_instance_uid=study_uid, series_instance_uids=tuple(series_uids),
        sop_instance_uids=tuple(sop_uids), files=tuple(files), sop_class_uid=SOP_CLASSES[modality],
        transfer_syntax=str(transfer_syntax), modality=modality, patient_name=patient_name,
        patient_id=patient_id, accession=accession, study_description=study_description, charset=charset,
    )


def _check_arguments(modality: str, images: int, series: int, patient_name: str, charset: str,
                     transfer_syntax: str) -> None:
    if modality not in SOP_CLASSES:
        raise ValueError(f"modality must be one of {sorted(SOP_CLASSES)}, got {modality!r}")
    if images < 1 or series < 1:
        raise ValueError("a study needs at least one series of at least one image")
    if charset not in PYTHON_CODECS:
        raise ValueError(f"charset must be one of {sorted(PYTHON_CODECS)}, got {charset!r}")
    if transfer_syntax not in TRANSFER_SYNTAXES:
        raise ValueError(f"transfer syntax {transfer_syntax} is not one the generator writes")
    patient_name.encode(PYTHON_CODECS[charset])  # UnicodeEncodeError: the name does not fit the charset


def _uid_source(seed: int | None) -> Callable[[str], str]:
    """Random UIDs, or UIDs derived from the seed and the object's role when a seed is given."""
    if seed is None:
        return lambda role: generate_uid()
    return lambda role: generate_uid(entropy_srcs=["mediastation-synthetic", str(seed), role])


def _seed(seed: int | None, series: int, image: int) -> int:
    return ((seed or 0) * 1_000_003 + series * 100_003 + image) % 2**32


def _study_dataset(modality: str, patient_name: str, patient_id: str, accession: str, description: str,
                   when: datetime, charset: str, study_uid: str) -> Dataset:
    """Patient, general study and equipment attributes shared by every instance of the study."""
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.SOPClassUID = SOP_CLASSES[modality]
    ds.StudyDate = when.strftime("%Y%m%d")
    ds.StudyTime = when.strftime("%H%M%S")
    ds.AccessionNumber = accession
    ds.Modality = modality
    ds.Manufacturer = "MediaStation Synthetic"
    ds.InstitutionName = INSTITUTION
    ds.ReferringPhysicianName = "Hämäläinen^Pekka"
    ds.StationName = f"HUS{modality}01"
    ds.StudyDescription = description
    ds.ManufacturerModelName = "Phantom"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.IssuerOfPatientID = HETU_ISSUER
    ds.PatientBirthDate, ds.PatientSex = _birth_and_sex(patient_id)
    ds.DeviceSerialNumber = "0001"
    ds.SoftwareVersions = "1.0"
    ds.StudyInstanceUID = study_uid
    ds.StudyID = accession[-8:]
    return ds


def _birth_and_sex(patient_id: str) -> tuple[str, str]:
    """Birth date and sex a HETU implies (odd individual number: male); empty for other IDs."""
    if not is_valid(patient_id):
        return "", ""
    year = CENTURIES[patient_id[6]] + int(patient_id[4:6])
    sex = "M" if int(patient_id[7:10]) % 2 else "F"
    return f"{year}{patient_id[2:4]}{patient_id[0:2]}", sex


def _instance(study: Dataset, modality: str, series: _Series, index: int, sop_uid: str,
              rows: int, cols: int, seed: int) -> Dataset:
    ds = Dataset()
    ds.update(study)
    ds.SOPInstanceUID = sop_uid
    when = series.start + timedelta(seconds=index)
    ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = when.strftime("%Y%m%d")
    ds.SeriesTime = series.start.strftime("%H%M%S")
    ds.ContentTime = ds.AcquisitionTime = when.strftime("%H%M%S")
    ds.InstanceCreationDate, ds.InstanceCreationTime = ds.ContentDate, ds.ContentTime
    ds.SeriesInstanceUID = series.uid
    ds.SeriesNumber = series.number
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = index + 1
    ds.BurnedInAnnotation = "NO"
    _pixel_module(ds, _phantom(modality, rows, cols, index, seed))
    {"CT": _ct, "MR": _mr, "CR": _cr}[modality](ds, series, index)
    return ds


def _pixel_module(ds: Dataset, pixels: np.ndarray) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = BITS_STORED
    ds.HighBit = BITS_STORED - 1
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.astype("<u2").tobytes()


def _cross_sectional(ds: Dataset, series: _Series, index: int, thickness: float) -> None:
    """Frame of reference, image plane and patient position: CT and MR slices of an axial stack."""
    ds.FrameOfReferenceUID = series.frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "HFS"
    ds.BodyPartExamined = "ABDOMEN"
    spacing = 400.0 / ds.Columns
    z = -100.0 + index * thickness
    ds.PixelSpacing = [spacing, spacing]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-200.0, -200.0, z]
    ds.SliceThickness = thickness
    ds.SliceLocation = z


def _ct(ds: Dataset, series: _Series, index: int) -> None:
    _cross_sectional(ds, series, index, thickness=2.5)
    ds.SeriesDescription = "Vatsa 2.5 mm"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.KVP = 120
    ds.XRayTubeCurrent = 200
    ds.ConvolutionKernel = "STANDARD"
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.WindowCenterWidthExplanation = "PEHMYTKUDOS"


def _mr(ds: Dataset, series: _Series, index: int) -> None:
    _cross_sectional(ds, series, index, thickness=5.0)
    ds.SeriesDescription = "T2 aksiaali"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "NONE"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = 4000.0
    ds.EchoTime = 90.0
    ds.EchoTrainLength = 16
    ds.MagneticFieldStrength = 1.5
    ds.ImagedNucleus = "1H"
    ds.SpacingBetweenSlices = 5.0
    ds.WindowCenter, ds.WindowWidth = 1200, 2400


def _cr(ds: Dataset, series: _Series, index: int) -> None:
    ds.SeriesDescription = "Thorax PA"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["L", "F"]
    ds.ImagerPixelSpacing = [0.2, 0.2]
    ds.KVP = 125
    ds.WindowCenter, ds.WindowWidth = 2048, 4096


def _phantom(modality: str, rows: int, cols: int, index: int, seed: int) -> np.ndarray:
    """A body outline with organs that shift from slice to slice, plus seeded noise: 12-bit unsigned."""
    y, x = np.ogrid[-1.0:1.0:rows * 1j, -1.0:1.0:cols * 1j]
    shift = 0.1 * np.sin(index / 5.0)
    body = (x / 0.85) ** 2 + (y / 0.65) ** 2 <= 1.0
    organ = ((x - 0.35 - shift) / 0.25) ** 2 + ((y + 0.1) / 0.2) ** 2 <= 1.0
    bone = (x ** 2 + (y - 0.45) ** 2) <= 0.01
    air, tissue, organ_v, bone_v = {"CT": (24, 1064, 1084, 1724), "MR": (0, 800, 2000, 200),
                                    "CR": (3800, 1800, 1500, 600)}[modality]
    image = np.full((rows, cols), air, dtype=np.float32)
    image[body] = tissue
    image[organ & body] = organ_v
    image[bone] = bone_v
    image += np.random.default_rng(seed).normal(0.0, 12.0, size=(rows, cols)).astype(np.float32)
    return np.clip(image, 0, 2**BITS_STORED - 1).astype(np.uint16)


def _write(ds: Dataset, path: Path, transfer_syntax: UID) -> None:
    """Write as a PS3.10 file (preamble, group 2) in the requested transfer syntax."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationVersionName = "MEDIASTATION"
    ds.file_meta = meta
    if transfer_syntax in COMPRESSED:
        ds.compress(transfer_syntax, generate_instance_uid=False)
    else:
        meta.TransferSyntaxUID = transfer_syntax
    ds.save_as(path, enforce_file_format=True)
