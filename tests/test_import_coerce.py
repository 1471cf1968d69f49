"""IRWF coercion of imported instances (R-D1..R-D7, R-B2, R-B3, R-E2, R-E3 of docs/import-requirements.md)
and the store's pure decisions: presentation contexts (R-E1) and C-STORE statuses (R-E8)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from support.outside_media import OUTSIDE_INSTITUTION, copy_testdata, outside_study

from mediastation.dicom.coerce import (
    Coercion,
    NotSendable,
    choose_syntax,
    coerce,
    write_coerced,
)
from mediastation.dicom.inventory import examine
from mediastation.dicom.sources import MediumFile, OsFile
from mediastation.pacs.store import MAX_CONTEXTS, interpret_status, plan_contexts

HETU = "010594Y9032"
EXPLICIT, IMPLICIT, BIG = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
J2K_LOSSLESS, JPEG_BASELINE, RLE = "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.5"
MPEG4 = "1.2.840.10008.1.2.4.102"
WHEN = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)


def coercion(name: str = "Mäkelä^Aino", sex: str | None = "F", accession: str | None = "HUS-IMP-1") -> Coercion:
    return Coercion(name, HETU, "1.2.246.21", "19940501", sex, accession, modifying_system="MEDIASTATION",
                    station_name="MEDIASTATION", institution="HUS", when=WHEN)


def written(path: Path, tmp_path: Path, accepted: set[str], c: Coercion | None = None):
    item = examine(MediumFile(path.name, path.stat().st_size, OsFile(str(path))))
    assert item.kind == "instance", item
    out = tmp_path / f"out-{path.name}"
    result = write_coerced(item.source, item.header, c or coercion(), out, accepted=frozenset(accepted))
    return result, dcmread(out), item


@pytest.fixture
def outside(tmp_path: Path):
    return outside_study(tmp_path / "m", "A", images=2, seed=5)


def test_patient_identity_is_coerced_and_uids_kept(outside, tmp_path: Path) -> None:
    original = dcmread(outside.files[0])
    result, ds, _ = written(outside.files[0], tmp_path, {EXPLICIT})
    assert result.converted_from is None
    assert (str(ds.PatientName), ds.PatientID, ds.IssuerOfPatientID, ds.PatientBirthDate, ds.PatientSex) == \
        ("Mäkelä^Aino", HETU, "1.2.246.21", "19940501", "F")
    assert ds.AccessionNumber == "HUS-IMP-1"
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        assert ds[keyword].value == original[keyword].value
    assert ds.file_meta.MediaStorageSOPInstanceUID == original.SOPInstanceUID
    assert ds.InstitutionName == OUTSIDE_INSTITUTION  # R-D7: provenance stays
    assert np.array_equal(ds.pixel_array, original.pixel_array)


def test_outside_identity_is_kept_in_other_patient_ids(outside, tmp_path: Path) -> None:
    _, ds, _ = written(outside.files[0], tmp_path, {EXPLICIT})
    (item,) = ds.OtherPatientIDsSequence
    assert (item.PatientID, item.IssuerOfPatientID, item.TypeOfPatientID) == ("JOR-4711", "JORVI-RIS", "TEXT")


def test_one_original_attributes_item_with_every_original_value(outside, tmp_path: Path) -> None:
    _, ds, _ = written(outside.files[0], tmp_path, {EXPLICIT})
    (item,) = ds.OriginalAttributesSequence
    assert item.ReasonForTheAttributeModification == "COERCE"
    assert item.SourceOfPreviousValues == OUTSIDE_INSTITUTION
    assert item.ModifyingSystem == "MEDIASTATION"
    assert item.AttributeModificationDateTime.startswith("20261126103000")
    (old,) = item.ModifiedAttributesSequence
    assert (str(old.PatientName), old.PatientID, old.IssuerOfPatientID, old.PatientBirthDate, old.PatientSex,
            old.AccessionNumber) == ("Virtanen^Ville", "JOR-4711", "JORVI-RIS", "19800101", "M", "JOR123")
    assert "StudyInstanceUID" not in old  # MESA: the Study Instance UID never changes
    assert ds.InstanceOriginStatus == "IMPORTED"
    (equipment,) = ds.ContributingEquipmentSequence
    code = equipment.PurposeOfReferenceCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator) == ("MEDIM", "DCM")
    assert equipment.InstitutionName == "HUS"


def test_kept_accession_and_unknown_sex_stay_as_they_were(outside, tmp_path: Path) -> None:
    _, ds, _ = written(outside.files[0], tmp_path, {EXPLICIT}, coercion(sex=None, accession=None))
    assert (ds.PatientSex, ds.AccessionNumber) == ("M", "JOR123")
    modified = ds.OriginalAttributesSequence[0].ModifiedAttributesSequence[0]
    assert "AccessionNumber" not in modified and "PatientSex" not in modified


def test_a_second_import_adds_its_own_items() -> None:
    ds = Dataset()
    ds.PatientID, ds.IssuerOfPatientID, ds.PatientName = "A1", "X", "Doe^John"
    coerce(ds, coercion())
    ds.PatientID = "B2"  # e.g. exported again and brought back under another id
    coerce(ds, coercion())
    assert len(ds.OriginalAttributesSequence) == 2 and len(ds.ContributingEquipmentSequence) == 2
    assert [i.PatientID for i in ds.OtherPatientIDsSequence] == ["A1", "B2"]


@pytest.mark.parametrize("charset, name, expected", [
    (None, "Mäkelä^Aino", "ISO_IR 100"),           # default repertoire cannot hold ä
    (None, "Doe^John", None),                        # ASCII fits everywhere: nothing changes
    ("ISO_IR 100", "Mäkelä^Aino", "ISO_IR 100"),     # Latin-1 holds Finnish names
    ("ISO_IR 192", "Mäkelä^Aino", "ISO_IR 192"),
    ("ISO_IR 144", "Mäkelä^Aino", "ISO_IR 192"),     # Cyrillic cannot: switch to UTF-8
    (None, "Łukasiewicz^Jan", "ISO_IR 192"),
])
def test_character_set_fits_the_new_name(charset: str | None, name: str, expected: str | None) -> None:
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    ds.PatientName, ds.PatientID = "Иванов^Иван" if charset == "ISO_IR 144" else "Doe^John", "X1"
    ds.StudyDescription = "Тест" if charset == "ISO_IR 144" else "TEST"
    coerce(ds, coercion(name=name))
    assert ds.get("SpecificCharacterSet") == expected
    assert str(ds.PatientName) == name
    if charset == "ISO_IR 144":
        assert ds.StudyDescription == "Тест"  # decoded under the old set, kept under the new one


def test_written_names_survive_a_round_trip_in_the_new_charset(outside, tmp_path: Path) -> None:
    _, ds, _ = written(outside.files[0], tmp_path, {EXPLICIT}, coercion(name="Łukasiewicz^Jan"))
    assert ds.SpecificCharacterSet == "ISO_IR 192" and str(ds.PatientName) == "Łukasiewicz^Jan"
    assert str(ds.OriginalAttributesSequence[0].ModifiedAttributesSequence[0].PatientName) == "Virtanen^Ville"


@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "MR_small_expb.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_jpeg_ls_lossless.dcm", "MR_small_RLE.dcm", "MR_small_implicit.dcm"])
def test_transcoding_keeps_pixels_and_uids(tmp_path: Path, name: str) -> None:
    reference = dcmread(copy_testdata("MR_small.dcm", tmp_path / "ref.dcm")).pixel_array
    path = copy_testdata(name, tmp_path / name)
    result, ds, item = written(path, tmp_path, {EXPLICIT})
    assert ds.file_meta.TransferSyntaxUID == EXPLICIT
    assert result.converted_from == item.header.transfer_syntax and not result.lossy
    assert ds.SOPInstanceUID == item.header.sop_instance_uid
    assert np.array_equal(ds.pixel_array, reference)


def test_deflate_is_inflated_before_sending(tmp_path: Path) -> None:
    path = copy_testdata("image_dfl.dcm", tmp_path / "DFL")
    original = dcmread(path)
    result, ds, _ = written(path, tmp_path, {EXPLICIT, "1.2.840.10008.1.2.1.99"})
    assert (result.converted_from, ds.file_meta.TransferSyntaxUID) == ("1.2.840.10008.1.2.1.99", EXPLICIT)
    assert np.array_equal(ds.pixel_array, original.pixel_array)


def test_an_accepted_compressed_syntax_is_sent_as_it_is(tmp_path: Path) -> None:
    path = copy_testdata("MR_small_jp2klossless.dcm", tmp_path / "J2K")
    result, ds, _ = written(path, tmp_path, {EXPLICIT, J2K_LOSSLESS})
    assert result.converted_from is None and ds.file_meta.TransferSyntaxUID == J2K_LOSSLESS
    original = dcmread(path)
    assert ds.PixelData == original.PixelData  # the encapsulated stream is copied byte for byte


def test_decompressed_lossy_stays_marked_lossy(tmp_path: Path) -> None:
    path = copy_testdata("SC_rgb_jpeg_dcmtk.dcm", tmp_path / "JPEG")
    result, ds, _ = written(path, tmp_path, {IMPLICIT})
    assert result.lossy and result.converted_from == JPEG_BASELINE
    assert ds.LossyImageCompression == "01" and ds.LossyImageCompressionMethod == "ISO_10918_1"
    assert not ds.file_meta.TransferSyntaxUID.is_compressed


def test_no_preamble_files_get_a_file_meta(tmp_path: Path) -> None:
    path = copy_testdata("ExplVR_LitEndNoMeta.dcm", tmp_path / "RAW")
    _, ds, item = written(path, tmp_path, {EXPLICIT})
    assert ds.file_meta.MediaStorageSOPInstanceUID == item.header.sop_instance_uid
    assert ds.file_meta.TransferSyntaxUID == EXPLICIT


@pytest.mark.parametrize("original, accepted, expected", [
    (EXPLICIT, {EXPLICIT, IMPLICIT}, (EXPLICIT, False)),
    (IMPLICIT, {EXPLICIT}, (EXPLICIT, True)),
    (BIG, {BIG, EXPLICIT}, (EXPLICIT, True)),          # Big Endian always becomes Little Endian (R-B3)
    (J2K_LOSSLESS, {J2K_LOSSLESS, EXPLICIT}, (J2K_LOSSLESS, False)),
    (J2K_LOSSLESS, {IMPLICIT}, (IMPLICIT, True)),
    (RLE, {EXPLICIT, IMPLICIT}, (EXPLICIT, True)),
])
def test_syntax_choice(original: str, accepted: set[str], expected: tuple[str, bool]) -> None:
    assert choose_syntax(original, accepted) == expected


def test_video_is_never_transcoded() -> None:
    with pytest.raises(NotSendable) as caught:
        choose_syntax(MPEG4, {EXPLICIT, IMPLICIT})
    assert caught.value.reason == "video_not_accepted"
    assert choose_syntax(MPEG4, {MPEG4}) == (MPEG4, False)
    with pytest.raises(NotSendable, match="transfer_syntax_not_accepted"):
        choose_syntax(RLE, {J2K_LOSSLESS})


def test_one_context_per_class_and_syntax_plus_a_fallback() -> None:
    (contexts,) = plan_contexts([("1.1", EXPLICIT), ("1.1", J2K_LOSSLESS), ("1.1", BIG), ("1.2", IMPLICIT)])
    assert [(c.abstract_syntax, c.transfer_syntaxes) for c in contexts] == [
        ("1.1", (EXPLICIT, IMPLICIT)), ("1.1", (EXPLICIT,)), ("1.1", (J2K_LOSSLESS,)),
        ("1.2", (EXPLICIT, IMPLICIT)), ("1.2", (IMPLICIT,))]  # Implicit files go as they are, not re-encoded


def test_more_than_128_contexts_split_by_sop_class() -> None:
    pairs = [(f"1.2.3.{n}", syntax) for n in range(50) for syntax in (EXPLICIT, J2K_LOSSLESS, RLE)]
    associations = plan_contexts(pairs)
    assert len(associations) == 2 and all(len(a) <= MAX_CONTEXTS for a in associations)
    assert sum(len(a) for a in associations) == 200  # fallback, Explicit, J2K and RLE per class
    classes = [{c.abstract_syntax for c in a} for a in associations]
    assert not classes[0] & classes[1]  # a SOP class's contexts stay together


@pytest.mark.parametrize("status, kind", [
    (0x0000, "success"), (0xB000, "warning"), (0xB006, "warning"), (0xB007, "warning"), (0xA700, "retry"),
    (0xA7FF, "retry"), (0xA900, "failure"), (0xC000, "failure"), (0xC123, "failure"), (0x0117, "failure"),
    (0x0122, "failure"), (0x0124, "failure"), (0x0213, "retry"), (None, "lost"),
])
def test_every_c_store_status_is_interpreted(status: int | None, kind: str) -> None:
    assert interpret_status(status).kind == kind


@pytest.mark.parametrize("case", ["explicit", "implicit", "no_meta", "latin1", "utf8", "default_charset_new_name",
                                  "kept_accession", "with_group_lengths"])
def test_the_quick_splice_writes_what_pydicom_writes(tmp_path: Path, case: str) -> None:
    """The byte-splicing writer and the pydicom writer give the same dataset (and the same pixels)."""
    from mediastation.dicom import coerce as module

    syntax = IMPLICIT if case == "implicit" else EXPLICIT
    charset = {"utf8": "ISO_IR 192"}.get(case, "ISO_IR 100")
    name = "Äijälä^Öljy" if case in ("latin1", "utf8") else "Virtanen^Ville"
    study = outside_study(tmp_path / "m", "A", images=1, seed=9, transfer_syntax=syntax, charset=charset,
                          patient_name=name)
    path = study.files[0]
    if case == "no_meta":
        from support.outside_media import without_preamble
        without_preamble(path, tmp_path / "RAW")
        path = tmp_path / "RAW"
    if case == "default_charset_new_name":
        ds = dcmread(path)
        del ds.SpecificCharacterSet
        ds.save_as(path)
    if case == "with_group_lengths":
        ds = dcmread(path)
        ds.add_new(0x00100000, "UL", 42)  # a stale retired group length
        ds.save_as(path)
    item = examine(MediumFile(path.name, path.stat().st_size, OsFile(str(path))))
    c = coercion(accession=None) if case == "kept_accession" else coercion()
    spliced, slow = tmp_path / "spliced.dcm", tmp_path / "slow.dcm"
    module._write_spliced(item.source, item.header, c, spliced, item.header.transfer_syntax, "MEDIASTATION")
    module._write_streaming(item.source, item.header, c, slow, item.header.transfer_syntax, "MEDIASTATION")
    a, b = dcmread(spliced), dcmread(slow)
    assert a.file_meta.TransferSyntaxUID == b.file_meta.TransferSyntaxUID == item.header.transfer_syntax
    assert a.to_json_dict() == b.to_json_dict()
    assert 0x00100000 not in a
    assert np.array_equal(a.pixel_array, b.pixel_array)


def test_files_that_already_carry_coercion_sequences_take_the_pydicom_path(outside, tmp_path: Path) -> None:
    from mediastation.dicom import coerce as module

    first = tmp_path / "first.dcm"
    item = examine(MediumFile("x", 0, OsFile(str(outside.files[0]))))
    module.write_coerced(item.source, item.header, coercion(), first, accepted={EXPLICIT})
    again = examine(MediumFile("y", 0, OsFile(str(first))))
    with pytest.raises(module.Unspliceable):
        module._write_spliced(again.source, again.header, coercion(), tmp_path / "x.dcm", EXPLICIT, "")
    _, ds, _ = written(first, tmp_path, {EXPLICIT})
    assert len(ds.OriginalAttributesSequence) == 2  # appended to, not replaced
