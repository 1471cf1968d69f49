"""Profiles and transcoding (§b11-14): what leaves on a medium fits its profile, and is the same image."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from mediastation.dicom.fileset import verify_fileset
from mediastation.dicom.profiles import (
    PROFILES,
    STD_GEN_CD,
    STD_GEN_DVD_J2K,
    STD_GEN_DVD_JPEG,
    STD_GEN_USB_J2K,
    STD_GEN_USB_JPEG,
    profile_for_medium,
    profile_named,
)
from mediastation.dicom.transcode import Conversion, NotPlaceable, conform
from mediastation.errors import InputError
from support.fileset import stage
from support.synthetic import make_study

SEED = 11


def test_profiles_per_medium() -> None:
    assert profile_for_medium("cd") is STD_GEN_CD
    assert profile_for_medium("cd", "JPEG") is STD_GEN_CD  # CD is always uncompressed
    assert profile_for_medium("dvd") is STD_GEN_DVD_J2K and profile_for_medium("dvd-dl", "JPEG") is STD_GEN_DVD_JPEG
    assert profile_for_medium("usb", "JPEG") is STD_GEN_USB_JPEG and profile_for_medium("USB") is STD_GEN_USB_J2K
    assert STD_GEN_CD.transfer_syntaxes == {ExplicitVRLittleEndian}
    assert STD_GEN_DVD_JPEG.transfer_syntaxes == {ExplicitVRLittleEndian, "1.2.840.10008.1.2.4.70",
                                                  "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}
    assert STD_GEN_USB_J2K.transfer_syntaxes == {ExplicitVRLittleEndian, JPEG2000Lossless, "1.2.840.10008.1.2.4.91"}
    assert all(ExplicitVRLittleEndian in p.transfer_syntaxes for p in PROFILES.values())
    assert profile_named("std-gen-dvd-jpeg") is STD_GEN_DVD_JPEG
    for bad in (lambda: profile_for_medium("floppy"), lambda: profile_for_medium("dvd", "MPEG"),
                lambda: profile_named("STD-GEN-HD")):
        with pytest.raises(InputError):
            bad()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory):
    return make_study(tmp_path_factory.mktemp("ref"), images=2, rows=32, cols=32, seed=SEED)


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless, JPEGLSLossless, ImplicitVRLittleEndian],
                         ids=lambda uid: uid.name)
def test_lossless_sources_keep_uid_and_pixels(tmp_path: Path, reference, syntax: str) -> None:
    study = make_study(tmp_path / "src", images=2, rows=32, cols=32, seed=SEED, transfer_syntax=syntax)
    for src, ref in zip(study.files, reference.files):
        dst = tmp_path / "out" / src.name
        conversion = conform(src, dst, STD_GEN_CD)
        assert conversion == Conversion(dcmread(ref).SOPInstanceUID, syntax, ExplicitVRLittleEndian, False)
        assert conversion.to_json() == {"sop_instance_uid": conversion.sop_instance_uid, "from": syntax,
                                        "to": ExplicitVRLittleEndian}
        out, original = dcmread(dst), dcmread(ref)
        assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert out.SOPInstanceUID == out.file_meta.MediaStorageSOPInstanceUID == original.SOPInstanceUID
        np.testing.assert_array_equal(out.pixel_array, original.pixel_array)
        assert "LossyImageCompression" not in out
        assert (out.PatientName, out.StudyInstanceUID) == (original.PatientName, original.StudyInstanceUID)
        assert not list(dst.parent.glob(".*"))  # no part file left


def test_a_file_inside_the_profile_is_left_to_the_caller(tmp_path: Path, reference) -> None:
    assert conform(reference.files[0], tmp_path / "x", STD_GEN_CD) is None
    j2k = make_study(tmp_path / "src", images=1, rows=32, cols=32, transfer_syntax=JPEG2000Lossless)
    assert conform(j2k.files[0], tmp_path / "y", STD_GEN_DVD_J2K) is None
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, reference) -> tuple[Path, Path]:
    """A lossy JPEG baseline copy made by DCMTK, and one with its lossy flags stripped."""
    folder = tmp_path_factory.mktemp("lossy")
    lossy, bare = folder / "LOSSY", folder / "BARE"
    subprocess.run(["dcmcjpeg", "+eb", str(reference.files[0]), str(lossy)], check=True, timeout=60)
    shutil.copyfile(lossy, bare)
    subprocess.run(["dcmodify", "-nb", "-ea", "(0028,2110)", "-ea", "(0028,2112)", "-ea", "(0028,2114)", str(bare)],
                   check=True, timeout=60)
    return lossy, bare


def test_decompressed_lossy_images_say_so(tmp_path: Path, baseline: tuple[Path, Path]) -> None:
    lossy, bare = baseline
    assert dcmread(lossy).file_meta.TransferSyntaxUID == JPEGBaseline8Bit and "LossyImageCompression" not in dcmread(bare)
    for src in (lossy, bare):
        dst = tmp_path / src.name
        conversion = conform(src, dst, STD_GEN_CD)
        assert conversion is not None and conversion.lossy and conversion.from_ts == JPEGBaseline8Bit
        out, before = dcmread(dst), dcmread(src)
        assert out.SOPInstanceUID == before.SOPInstanceUID
        assert out.LossyImageCompression == "01"
        assert out.LossyImageCompressionMethod == "ISO_10918_1"
        assert float(out.LossyImageCompressionRatio) > 0
        np.testing.assert_array_equal(out.pixel_array, before.pixel_array)  # the same decoded image
    kept = dcmread(tmp_path / "LOSSY")
    assert float(kept.LossyImageCompressionRatio) == float(dcmread(lossy).LossyImageCompressionRatio)
    assert conform(lossy, tmp_path / "dvd", STD_GEN_DVD_JPEG) is None  # baseline fits the JPEG profile


def test_big_endian_is_re_encoded_as_little_endian(tmp_path: Path) -> None:
    src = Path(get_testdata_file("MR_small_bigendian.dcm"))
    little = dcmread(get_testdata_file("MR_small.dcm"))
    conversion = conform(src, tmp_path / "OUT", STD_GEN_CD)
    assert conversion is not None and conversion.from_ts == ExplicitVRBigEndian
    out = dcmread(tmp_path / "OUT")
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert out.SOPInstanceUID == dcmread(src).SOPInstanceUID
    np.testing.assert_array_equal(out.pixel_array, little.pixel_array)
    np.testing.assert_array_equal(out.pixel_array, dcmread(src).pixel_array)
    assert (out.Rows, out.Columns, out.BitsAllocated) == (little.Rows, little.Columns, little.BitsAllocated)
    result = subprocess.run(["dcmdump", str(tmp_path / "OUT")], capture_output=True, text=True, errors="replace")
    assert result.returncode == 0 and "LittleEndianExplicit" in result.stdout


def test_video_cannot_be_placed(tmp_path: Path, reference) -> None:
    video = tmp_path / "VIDEO"
    ds = dcmread(reference.files[0])
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG-2 MP@ML
    ds.PixelData = encapsulate([b"\x00\x00\x01\xba" * 4])  # a stand-in MPEG stream
    ds.save_as(video)
    with pytest.raises(NotPlaceable) as refused:
        conform(video, tmp_path / "OUT", STD_GEN_CD)
    assert refused.value.reason and "MPEG-2" in refused.value.message and "STD-GEN-CD" in refused.value.message
    assert str(video) in refused.value.message and refused.value.exit_status == 1
    assert not (tmp_path / "OUT").exists()


def test_undecodable_pixel_data_is_not_placeable(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", images=1, rows=32, cols=32, transfer_syntax=RLELossless)
    ds = dcmread(study.files[0])
    ds.PixelData = ds.PixelData[:40] + b"\x00" * 8  # a damaged fragment
    ds.save_as(tmp_path / "BROKEN")
    with pytest.raises(NotPlaceable, match="cannot be decoded"):
        conform(tmp_path / "BROKEN", tmp_path / "OUT", STD_GEN_CD)
    assert not (tmp_path / "OUT").exists()


def test_a_transcoded_tree_makes_a_conformant_cd(tmp_path: Path) -> None:
    files = [*make_study(tmp_path / "a", images=2, rows=32, cols=32, transfer_syntax=RLELossless).files,
             *make_study(tmp_path / "b", images=2, rows=32, cols=32, transfer_syntax=JPEG2000Lossless).files,
             *make_study(tmp_path / "c", images=1, rows=32, cols=32).files]
    staged, conversions = [], []
    for n, src in enumerate(files):
        dst = tmp_path / "stage" / f"F{n}"
        dst.parent.mkdir(exist_ok=True)
        conversion = conform(src, dst, STD_GEN_CD)
        if conversion is None:
            shutil.copyfile(src, dst)
        else:
            conversions.append(conversion)
        staged.append(dst)
    assert len(conversions) == 4
    root = tmp_path / "cd"
    stage(staged, root, fileset_id="CD1", profile=STD_GEN_CD)
    assert verify_fileset(root, STD_GEN_CD) == []
