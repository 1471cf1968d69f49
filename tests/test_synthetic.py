"""The synthetic study generator: valid files in every transfer syntax, names and HETUs intact."""

from __future__ import annotations

import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from mediastation.domain.hetu import Hetu
from support.synthetic import (
    COMPRESSED,
    FINNISH_NAMES,
    TRANSFER_SYNTAXES,
    make_study,
    synthetic_hetu,
    synthetic_hetus,
)

NAME = "Öhman-Åström^Märta Ängelä"


@pytest.mark.parametrize("transfer_syntax", TRANSFER_SYNTAXES, ids=lambda uid: uid.name)
@pytest.mark.parametrize("modality", ["CT", "MR", "CR"])
def test_every_syntax_reads_back_and_decodes_losslessly(tmp_path: Path, modality: str, transfer_syntax: str) -> None:
    reference = make_study(tmp_path / "ref", modality=modality, images=2, seed=7)
    study = make_study(tmp_path / "out", modality=modality, images=2, seed=7, transfer_syntax=transfer_syntax)
    for path, ref_path, sop_uid in zip(study.files, reference.files, study.sop_instance_uids):
        ds = dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == transfer_syntax
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID == sop_uid
        assert ds.Modality == modality and ds.SOPClassUID == study.sop_class_uid
        pixels = ds.pixel_array
        assert pixels.shape == (64, 64) and pixels.std() > 0
        np.testing.assert_array_equal(pixels, dcmread(ref_path).pixel_array)


def test_compression_keeps_the_sop_instance_uid(tmp_path: Path) -> None:
    for syntax in COMPRESSED:
        plain = make_study(tmp_path / f"plain-{syntax}", seed=3)
        packed = make_study(tmp_path / f"packed-{syntax}", seed=3, transfer_syntax=syntax)
        assert packed.sop_instance_uids == plain.sop_instance_uids
        assert [dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in packed.files] == list(plain.sop_instance_uids)


def test_files_are_ps3_10_with_preamble_and_meta(tmp_path: Path) -> None:
    study = make_study(tmp_path, images=1, transfer_syntax=ImplicitVRLittleEndian)
    raw = study.files[0].read_bytes()
    assert raw[128:132] == b"DICM"
    assert dcmread(study.files[0]).file_meta.ImplementationVersionName == "MEDIASTATION"


@pytest.mark.parametrize("charset, codec", [("ISO_IR 100", "latin-1"), ("ISO_IR 192", "utf-8")])
def test_finnish_names_survive_in_both_charsets(tmp_path: Path, charset: str, codec: str) -> None:
    for n, name in enumerate((NAME, *FINNISH_NAMES)):
        study = make_study(tmp_path / str(n), modality="MR", images=1, patient_name=name, charset=charset)
        path = study.files[0]
        assert name.encode(codec) in path.read_bytes()  # encoded as the charset says, not by accident
        ds = dcmread(path)
        assert ds.SpecificCharacterSet == charset
        assert str(ds.PatientName) == name
        assert str(ds.ReferringPhysicianName) == "Hämäläinen^Pekka"


def test_a_name_outside_the_charset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):
        make_study(tmp_path, patient_name="Wałęsa^Elżbieta", charset="ISO_IR 100")
    assert not any(tmp_path.iterdir())


def test_headers_carry_the_study_identity(tmp_path: Path) -> None:
    hetu = synthetic_hetu(42)
    study = make_study(tmp_path, images=3, series=2, patient_id=hetu, accession="HUS777", study_description="TT PÄÄ")
    assert study.instance_count == 6 and len(set(study.series_instance_uids)) == 2
    assert len(set(study.sop_instance_uids)) == 6
    for path in study.files:
        ds = dcmread(path, stop_before_pixels=True)
        assert ds.StudyInstanceUID == study.study_instance_uid
        assert ds.SeriesInstanceUID in study.series_instance_uids
        assert (ds.PatientID, ds.IssuerOfPatientID, ds.AccessionNumber) == (hetu, "1.2.246.21", "HUS777")
        assert ds.PatientBirthDate == Hetu(hetu).birth_date.strftime("%Y%m%d")
        assert ds.StudyDescription == "TT PÄÄ"


def test_uids_are_new_each_call_unless_seeded(tmp_path: Path) -> None:
    a, b = make_study(tmp_path / "a"), make_study(tmp_path / "b")
    assert a.study_instance_uid != b.study_instance_uid
    c, d = make_study(tmp_path / "c", seed=9), make_study(tmp_path / "d", seed=9)
    assert c.study_instance_uid == d.study_instance_uid and c.sop_instance_uids == d.sop_instance_uids


@pytest.mark.parametrize("modality, syntax", [("CT", ExplicitVRLittleEndian), ("CT", JPEG2000Lossless),
                                              ("MR", RLELossless), ("CR", JPEGLSLossless)])
def test_dciodvfy_finds_no_errors(tmp_path: Path, modality: str, syntax: str) -> None:
    study = make_study(tmp_path, modality=modality, images=1, charset="ISO_IR 192", transfer_syntax=syntax)
    errors = _dciodvfy_errors(study.files[0])
    assert errors == [], errors


def test_dciodvfy_check_catches_a_broken_file(tmp_path: Path) -> None:
    """The check above would pass vacuously if dciodvfy's errors were not where we look."""
    study = make_study(tmp_path, images=1)
    ds = dcmread(study.files[0])
    del ds.PatientID
    ds.save_as(tmp_path / "broken.dcm")
    assert any("PatientID" in line for line in _dciodvfy_errors(tmp_path / "broken.dcm"))


def _dciodvfy_errors(path: Path) -> list[str]:
    if shutil.which("dciodvfy") is None:
        pytest.fail("dciodvfy (Debian dicom3tools) is missing: run `make test`, which installs it", pytrace=False)
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")]


def test_synthetic_hetus_are_valid_distinct_test_codes() -> None:
    codes = synthetic_hetus(2000)
    assert len(set(codes)) == 2000
    hetus = [Hetu(code) for code in codes]  # raises on an invalid one
    assert all(h.is_temporary for h in hetus)
    assert len({h.birth_date for h in hetus}) > 1000
    assert synthetic_hetu(3_649_999) not in codes
    with pytest.raises(ValueError):
        synthetic_hetu(-1)


def test_memory_stays_flat_with_the_number_of_images(tmp_path: Path) -> None:
    def peak(images: int, where: str) -> int:
        tracemalloc.start()
        make_study(tmp_path / where, images=images, rows=256, cols=256)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(2, "small"), peak(40, "large")
    image_bytes = 256 * 256 * 2
    assert large < small + 5 * image_bytes, (small, large)  # holding 40 images would add 38 of them
