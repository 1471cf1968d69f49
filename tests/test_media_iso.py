"""ISO images of a staged medium: names, volume id, Joliet, read-back verification, spanning plans."""

from __future__ import annotations

from pathlib import Path

import pycdlib
import pytest

from burners.readback import iso_tree_digests
from mediastation.media.iso import IsoVerificationFailed, NotIso9660Name, build_iso, verify_image
from mediastation.media.spanning import SECTOR, DoesNotFit, Item, plan_discs


def _tree(root: Path) -> Path:
    (root / "DICOM" / "PT000000" / "ST000000").mkdir(parents=True)
    (root / "DICOM" / "PT000000" / "ST000000" / "IM000000").write_bytes(b"\x00" * 5000)
    (root / "DICOMDIR").write_bytes(b"dicomdir")
    (root / "README.TXT").write_text("Mäkelä\r\n", encoding="utf-8")
    return root


def test_image_has_level1_and_joliet_names_and_volume_id(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    image = build_iso(tree, tmp_path / "HUS1_1.iso", volume_id="HUS1_1")
    assert image.files == 3 and image.bytes % SECTOR == 0
    iso = pycdlib.PyCdlib()
    iso.open(str(image.path))
    try:
        names = {child.file_identifier().decode() for child in iso.list_children(iso_path="/")}
        assert {"DICOMDIR.;1", "README.TXT;1", "DICOM"} <= names
        joliet = {child.file_identifier().decode("utf-16-be") for child in iso.list_children(joliet_path="/")}
        assert {"DICOMDIR", "README.TXT", "DICOM"} <= joliet
        assert iso.pvd.volume_identifier.decode().strip() == "HUS1_1"
    finally:
        iso.close()
    with open(image.path, "rb") as fp:
        assert set(iso_tree_digests(fp)) == {"DICOMDIR", "README.TXT", "DICOM/PT000000/ST000000/IM000000"}
    assert verify_image(image.path, tree, volume_id="HUS1_1", expected_sha256=image.sha256) == image.sha256


def test_verification_catches_a_flipped_byte(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    image = build_iso(tree, tmp_path / "X.iso", volume_id="X")
    data = bytearray(image.path.read_bytes())
    position = data.index(b"dicomdir")
    data[position] ^= 0xFF
    image.path.write_bytes(bytes(data))
    with pytest.raises(IsoVerificationFailed, match="DICOMDIR: content differs"):
        verify_image(image.path, tree)


def test_verification_catches_a_file_missing_from_the_image(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    image = build_iso(tree, tmp_path / "X.iso", volume_id="X")
    (tree / "LETTER.PDF").write_bytes(b"%PDF")
    with pytest.raises(IsoVerificationFailed, match="LETTER.PDF: missing"):
        verify_image(image.path, tree)


def test_verification_catches_a_wrong_volume_id_digest_or_truncation(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    image = build_iso(tree, tmp_path / "X.iso", volume_id="X")
    with pytest.raises(IsoVerificationFailed, match="volume id is 'X'"):
        verify_image(image.path, tree, volume_id="Y")
    with pytest.raises(IsoVerificationFailed, match="reads back with SHA-256"):
        verify_image(image.path, tree, expected_sha256="0" * 64)
    iso = pycdlib.PyCdlib()
    iso.open(str(image.path))
    record = iso.get_record(joliet_path="/DICOM/PT000000/ST000000/IM000000")
    end = record.extent_location() * SECTOR + 2500  # half of the DICOM file is cut off
    iso.close()
    image.path.write_bytes(image.path.read_bytes()[:end])
    with pytest.raises(IsoVerificationFailed, match="IM000000: content differs"):
        verify_image(image.path, tree)


@pytest.mark.parametrize("name", ["readme.txt", "LONGFILENAME.TXT", "A.HTML", "Ä"])
def test_non_conformant_names_are_refused(tmp_path: Path, name: str) -> None:
    tree = _tree(tmp_path / "tree")
    (tree / name).write_text("x", encoding="utf-8")
    with pytest.raises(NotIso9660Name):
        build_iso(tree, tmp_path / "X.iso", volume_id="X")
    assert not (tmp_path / "X.iso").exists()


def _items(studies: dict[str, dict[str, int]], size: int) -> list[Item]:
    return [Item(study, series, f"{study}/{series}/{n}", size)
            for study, series_counts in studies.items() for series, count in series_counts.items()
            for n in range(count)]


def test_everything_on_one_disc_when_it_fits() -> None:
    items = _items({"S1": {"A": 3, "B": 3}}, 2000)
    assert plan_discs(items, capacity=10 * 4096, reserve=0) == [items]


def test_a_study_that_fits_a_fresh_disc_is_not_split() -> None:
    items = _items({"S1": {"A": 5}, "S2": {"B": 5}}, SECTOR)
    room = 8 * (SECTOR + 512)
    plan = plan_discs(items, capacity=room, reserve=0)
    assert [[i.study_key for i in disc] for disc in plan] == [["S1"] * 5, ["S2"] * 5]


def test_a_study_larger_than_a_disc_breaks_between_series() -> None:
    items = _items({"S1": {"A": 4, "B": 4}}, SECTOR)
    plan = plan_discs(items, capacity=6 * (SECTOR + 512), reserve=0)
    assert [{i.series_key for i in disc} for disc in plan] == [{"A"}, {"B"}]


def test_a_series_larger_than_a_disc_splits_between_instances_in_order() -> None:
    items = _items({"S1": {"A": 10}}, SECTOR)
    plan = plan_discs(items, capacity=4 * (SECTOR + 512), reserve=0)
    assert [len(d) for d in plan] == [4, 4, 2]
    assert [i for d in plan for i in d] == items


def test_an_instance_larger_than_the_medium_is_refused() -> None:
    with pytest.raises(DoesNotFit, match="larger medium"):
        plan_discs(_items({"S1": {"A": 1}}, 10_000), capacity=8000, reserve=0)
