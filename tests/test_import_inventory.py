"""The inventory of an outside medium (R-A1..R-A5, R-A7, R-B2, R-C1, R-C3, R-E5): every file once,
with its kind and reason, DICOM by content, DICOMDIR never trusted alone."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from pydicom import dcmread
from support.damaged_media import other_pixels
from support.outside_media import (
    copy_testdata,
    edit_dicomdir,
    lowercase_tree,
    make_dicomdir,
    new_instance_like,
    non_dicom_files,
    outside_study,
    plain_iso,
    without_preamble,
    xorriso_iso,
    zip_tree,
)

from mediastation.dicom.inventory import Inventory, take_inventory
from mediastation.dicom.sources import open_medium

HETU = "010594Y9032"


def inventory(source: Path) -> Inventory:
    return take_inventory(open_medium(source))


def instance_uids(inv: Inventory) -> set[str]:
    return {f.sop_instance_uid for f in inv.files if f.kind == "instance" and f.sop_instance_uid}


def by_path(inv: Inventory) -> dict:
    return {f.path: f for f in inv.files}


@pytest.fixture(scope="module")
def pdi_disc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two patients, a DICOMDIR by dcmmkdir, and a viewer's extra files: a typical outside CD."""
    root = tmp_path_factory.mktemp("pdi") / "disc"
    outside_study(root, "DICOM/ST1", images=3, seed=11)
    outside_study(root, "DICOM/ST2", patient_id="JOR-0815", patient_name="Öhman^Åsa", birth_date="19700202",
                  sex="F", images=2, seed=12)
    make_dicomdir(root)
    non_dicom_files(root)
    return root


def copy_of(tree: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(tree, target, symlinks=True)
    return target


def test_every_file_once_with_its_kind_and_reason(pdi_disc: Path, tmp_path: Path) -> None:
    root = copy_of(pdi_disc, tmp_path)
    inv = inventory(root)
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert sorted(f.path for f in inv.files) == on_disk
    files = by_path(inv)
    assert files["DICOMDIR"].kind == "fileset"
    expected = {"README.TXT": "text", "INDEX.HTM": "html", "AUTORUN.INF": "autorun", "VIEWER/VIEWER.EXE": "executable",
                "VIEWER/run.sh": "executable", "REPORT.PDF": "pdf", "EXPORT/IMG0001.JPG": "image", "EMPTY.DAT": "empty"}
    assert {p: (files[p].kind, files[p].reason) for p in expected} == {p: ("non_dicom", r) for p, r in expected.items()}
    assert len(instance_uids(inv)) == 5
    assert inv.dicomdir == "ok" and not inv.missing


def test_sha256_of_each_file(pdi_disc: Path) -> None:
    for item in inventory(pdi_disc).files:
        assert item.sha256 == hashlib.sha256((pdi_disc / item.path).read_bytes()).hexdigest()
        assert item.size == (pdi_disc / item.path).stat().st_size


def test_groups_per_patient_and_study(pdi_disc: Path) -> None:
    inv = inventory(pdi_disc)
    groups = {g.identity.name: g for g in inv.patients}
    assert set(groups) == {"Virtanen^Ville", "Öhman^Åsa"}
    ville = groups["Virtanen^Ville"]
    assert (ville.identity.patient_id, ville.identity.issuer, ville.identity.birth_date, ville.sex) == \
        ("JOR-4711", "JORVI-RIS", "19800101", "M")
    assert [(s.instances, s.modalities, s.description) for s in ville.studies] == [(3, ("CT",), "TT VATSA")]
    for item in inv.files:
        if item.kind == "instance":
            assert item.patient_key == next(g.key for g in inv.patients if g.identity == item.header.identity)


def test_without_dicomdir_the_same_instances_are_found(pdi_disc: Path, tmp_path: Path) -> None:
    root = copy_of(pdi_disc, tmp_path)
    with_dicomdir = instance_uids(inventory(root))
    (root / "DICOMDIR").unlink()
    inv = inventory(root)
    assert instance_uids(inv) == with_dicomdir
    assert inv.dicomdir == "absent"


def test_stale_dicomdir_missing_files_and_orphans_are_reported(pdi_disc: Path, tmp_path: Path) -> None:
    root = copy_of(pdi_disc, tmp_path)
    expected = instance_uids(inventory(root))
    gone = root / "DICOM/ST2/S001/I0000002"
    gone_uid = dcmread(gone).SOPInstanceUID
    gone.unlink()
    orphan = outside_study(root, "LATER/ST9", patient_id="JOR-4711", images=1, seed=13)
    inv = inventory(root)
    assert instance_uids(inv) == expected - {gone_uid} | set(orphan.sop_instance_uids)
    assert inv.dicomdir == "broken"
    assert inv.missing == ("DICOM/ST2/S001/I0000002",)
    assert "not_in_dicomdir" in by_path(inv)["LATER/ST9/S001/I0000001"].notes


@pytest.mark.parametrize("damage", [dict(shift_offsets=22), dict(shift_offsets=-6), dict(reverse=True)])
def test_offsets_that_miss_and_records_in_any_order_lose_nothing(pdi_disc: Path, tmp_path: Path, damage: dict) -> None:
    root = copy_of(pdi_disc, tmp_path)
    expected = instance_uids(inventory(root))
    edit_dicomdir(root / "DICOMDIR", **damage)
    inv = inventory(root)
    assert instance_uids(inv) == expected
    assert not inv.missing and not any("not_in_dicomdir" in f.notes for f in inv.files)
    if "shift_offsets" in damage:
        assert inv.dicomdir == "broken" and any("points at no directory record" in p for p in inv.dicomdir_problems)


def test_upper_case_file_ids_over_a_lower_case_mount(pdi_disc: Path, tmp_path: Path) -> None:
    root = copy_of(pdi_disc, tmp_path)
    lowercase_tree(root)
    inv = inventory(root)
    assert not inv.missing and inv.dicomdir == "ok"
    assert len(instance_uids(inv)) == 5


def test_version_suffix_and_dcm_alternate_names_resolve(pdi_disc: Path, tmp_path: Path) -> None:
    root = copy_of(pdi_disc, tmp_path)
    edit_dicomdir(root / "DICOMDIR", file_id_suffix=";1")
    for path in (root / "DICOM").rglob("I*"):
        path.rename(path.with_name(path.name + ".dcm"))
    inv = inventory(root)
    assert not inv.missing and not any("not_in_dicomdir" in f.notes for f in inv.files)
    assert len(instance_uids(inv)) == 5


def test_plain_iso_with_dicomdir_resolves_every_record(pdi_disc: Path, tmp_path: Path) -> None:
    source = copy_of(pdi_disc, tmp_path)
    for name in ("VIEWER/run.sh",):  # not an ISO 9660 level 1 name
        (source / name).unlink()
    inv = inventory(plain_iso(source, tmp_path / "plain.iso"))
    assert inv.dicomdir == "ok" and len(instance_uids(inv)) == 5


def test_dicom_is_recognised_by_content_not_by_name(tmp_path: Path) -> None:
    root = tmp_path / "stick"
    study = outside_study(root, "A", images=3, seed=21)
    study.files[0].rename(root / "A" / "scan.IMA")
    without_preamble(study.files[1], root / "B" / "RAWDATA")
    study.files[1].unlink()
    study.files[2].rename(root / "A" / "image.jpg")  # a DICOM file with a misleading name
    copy_testdata("DICOMDIR-empty.dcm", root / "C" / "DICOMDIR.dcm")  # a DICOMDIR named *.dcm is not an image
    copy_testdata("ExplVR_BigEndNoMeta.dcm", root / "C" / "BIGEND")
    files = by_path(inventory(root))
    assert files["A/scan.IMA"].kind == files["A/image.jpg"].kind == "instance"
    raw = files["B/RAWDATA"]
    assert raw.kind == "instance" and {"no_preamble", "no_meta_header"} <= set(raw.notes)
    assert raw.header.transfer_syntax == "1.2.840.10008.1.2.1"
    assert files["C/DICOMDIR.dcm"].kind == "fileset"
    assert files["C/BIGEND"].header.transfer_syntax == "1.2.840.10008.1.2.2"


@pytest.mark.parametrize("name, syntax", [
    ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"), ("image_dfl.dcm", "1.2.840.10008.1.2.1.99"),
    ("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90"), ("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),
    ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"), ("SC_rgb_jpeg_dcmtk.dcm", "1.2.840.10008.1.2.4.50"),
    ("MR_small_implicit.dcm", "1.2.840.10008.1.2"), ("rtstruct.dcm", "1.2.840.10008.1.2"),
])
def test_pydicom_test_files_in_every_transfer_syntax(tmp_path: Path, name: str, syntax: str) -> None:
    copy_testdata(name, tmp_path / "m" / "FILE")
    item = inventory(tmp_path / "m").files[0]
    assert (item.kind, item.header.transfer_syntax) == ("instance", syntax)


def test_broken_files_are_unreadable_with_a_reason(tmp_path: Path) -> None:
    root = tmp_path / "m"
    copy_testdata("MR_truncated.dcm", root / "TRUNC")
    study = outside_study(root, "A", images=1, seed=22)
    data = study.files[0].read_bytes()
    (root / "CUT").write_bytes(data[:900])  # cut inside the header
    (root / "NOUID").parent.mkdir(exist_ok=True)
    new_instance_like(study.files[0], root / "NOUID")
    ds = dcmread(root / "NOUID")
    del ds.SOPInstanceUID
    ds.file_meta.MediaStorageSOPInstanceUID = ""
    ds.save_as(root / "NOUID")
    files = by_path(inventory(root))
    assert (files["TRUNC"].kind, files["TRUNC"].reason) == ("unreadable", "truncated")
    assert files["CUT"].kind == "unreadable"  # cut inside the header: truncated, corrupt or its UIDs lost
    assert (files["NOUID"].kind, files["NOUID"].reason) == ("unreadable", "missing_uid")


def test_same_patient_id_with_another_name_stays_two_groups(tmp_path: Path) -> None:
    root = tmp_path / "m"
    outside_study(root, "A", patient_id="12345", patient_name="Virtanen^Ville", images=1, seed=31)
    outside_study(root, "B", patient_id="12345", patient_name="Nieminen^Niina", birth_date="19900909", images=1, seed=32)
    inv = inventory(root)
    assert len(inv.patients) == 2
    assert all(any("12345" in w for w in g.warnings) for g in inv.patients)


def test_several_patients_on_one_disc_each_get_a_group(tmp_path: Path) -> None:
    root = tmp_path / "m"
    for n in range(4):
        outside_study(root, f"P{n}", patient_id=f"ID{n}", patient_name=f"Potilas^Numero{n}", images=1, seed=40 + n)
    assert len(inventory(root).patients) == 4


def test_a_hetu_as_outside_patient_id_is_suggested_never_mapped(tmp_path: Path) -> None:
    root = tmp_path / "m"
    outside_study(root, "A", patient_id=HETU, birth_date="19940501", images=1, issuer="", seed=51)
    outside_study(root, "B", patient_id="131052-308T", birth_date="19520101", images=1, issuer="", seed=52)
    groups = {g.identity.patient_id: g for g in inventory(root).patients}
    assert groups[HETU].suggested_hetu == HETU
    assert groups["131052-308T"].suggested_hetu is None  # the birth date disagrees with the HETU


def test_duplicates_on_the_medium(tmp_path: Path) -> None:
    root = tmp_path / "m"
    study = outside_study(root, "A", images=3, seed=61)
    shutil.copyfile(study.files[0], root / "COPY")  # the same file twice
    new_instance_like(study.files[1], root / "EDITED", SeriesDescription="another header, the same image")
    other_pixels(study.files[2], root / "CONFLICT")  # the same UID, another image
    files = by_path(inventory(root))
    first, copy = files["A/S001/I0000001"], files["COPY"]
    assert (first.reason, copy.reason) == ("", "duplicate")
    assert (files["A/S001/I0000002"].reason, files["EDITED"].reason) == ("", "duplicate")  # the DICOMDIR-less tie: path
    assert files["A/S001/I0000003"].reason == files["CONFLICT"].reason == "duplicate_conflict"
    assert files["CONFLICT"].differs == ("pixel data",)
    assert not files["CONFLICT"].sendable and not copy.sendable and first.sendable


def test_misspelt_character_set_is_normalised(tmp_path: Path) -> None:
    root = tmp_path / "m"
    study = outside_study(root, "A", images=1, patient_name="Äijälä^Öljy", charset="ISO_IR 192", seed=71)
    ds = dcmread(study.files[0])
    ds.SpecificCharacterSet = "ISO IR 192"  # catalogue #16
    ds.save_as(study.files[0])
    assert inventory(root).patients[0].identity.name == "Äijälä^Öljy"


def test_members_of_a_zip_are_inventoried_as_files_of_the_medium(tmp_path: Path) -> None:
    root = tmp_path / "stick"
    study = outside_study(tmp_path / "elsewhere", "A", images=2, seed=81)
    zip_tree([(f, f"study/{f.name}") for f in study.files], root / "EXPORT.ZIP", extra={"../evil": b"x"})
    files = by_path(inventory(root))
    assert files["EXPORT.ZIP"].reason == "archive"
    assert {files[f"EXPORT.ZIP/study/{f.name}"].kind for f in study.files} == {"instance"}
    assert (files["EXPORT.ZIP/../evil"].kind, files["EXPORT.ZIP/../evil"].reason) == ("unreadable", "unsafe_path")


def test_iso_and_folder_give_the_same_inventory(pdi_disc: Path, tmp_path: Path) -> None:
    folder = inventory(pdi_disc)
    iso = inventory(xorriso_iso(pdi_disc, tmp_path / "disc.iso"))
    assert [(f.path, f.kind, f.reason, f.sha256) for f in iso.files] == \
        [(f.path, f.kind, f.reason, f.sha256) for f in folder.files]
    assert iso.fingerprint() == folder.fingerprint()
