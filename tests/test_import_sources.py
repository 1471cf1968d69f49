"""Reading outside media without mounting and without trusting them (R-A6, R-A8): folders, ISO
images (Rock Ridge/Joliet by xorriso, plain ISO 9660 by pycdlib), and archives found on them."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from support.outside_media import non_dicom_files, plain_iso, xorriso_iso

from mediastation.dicom.sources import MediumError, open_medium, unsafe_member_name


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "DICOM" / "ST1").mkdir(parents=True)
    (root / "DICOM" / "ST1" / "IM1").write_bytes(b"first file")
    (root / "DICOM" / "ST1" / "IM2").write_bytes(b"second file" * 1000)
    (root / "Lääkärin lausunto.txt").write_text("lausunto", encoding="utf-8")
    return root


def contents(source: Path) -> dict[str, bytes]:
    medium = open_medium(source)
    out = {}
    for item in medium.files():
        assert item.problem is None, item
        with item.open() as fp:
            out[item.path] = fp.read()
    return out


def test_a_folder_lists_every_file_with_its_bytes(tree: Path) -> None:
    found = contents(tree)
    assert found == {"DICOM/ST1/IM1": b"first file", "DICOM/ST1/IM2": b"second file" * 1000,
                     "Lääkärin lausunto.txt": b"lausunto"}


def test_links_and_fifos_in_a_folder_are_listed_and_never_opened(tree: Path) -> None:
    (tree / "escape").symlink_to("/etc/passwd")
    os.mkfifo(tree / "pipe")  # opening a FIFO for reading would block the station forever
    by_path = {f.path: f for f in open_medium(tree).files()}
    assert by_path["escape"].problem == "link"
    assert by_path["pipe"].problem == "special_file"
    with pytest.raises(OSError):
        by_path["escape"].open()


def test_rock_ridge_iso_keeps_long_and_lower_case_names(tree: Path, tmp_path: Path) -> None:
    image = xorriso_iso(tree, tmp_path / "disc.iso")
    medium = open_medium(image)
    assert medium.kind == "iso" and "Rock Ridge" in medium.description
    assert contents(image) == contents(tree)


def test_plain_iso9660_names_lose_their_version_suffix(tree: Path, tmp_path: Path) -> None:
    (tree / "Lääkärin lausunto.txt").unlink()  # level 1 allows only 8.3 upper-case names
    image = plain_iso(tree, tmp_path / "plain.iso")
    found = contents(image)
    assert found == {"DICOM/ST1/IM1": b"first file", "DICOM/ST1/IM2": b"second file" * 1000}


def test_a_device_is_read_like_an_image_file(tree: Path, tmp_path: Path) -> None:
    """/dev/sr0 is a block device holding the same bytes as an image file; no mount is needed."""
    image = xorriso_iso(tree, tmp_path / "sr0")
    assert open_medium(image).kind == "iso"


def test_a_zip_on_the_medium_is_listed_member_by_member(tree: Path) -> None:
    with zipfile.ZipFile(tree / "STUDY.ZIP", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("CT/IM1", b"member one")
        archive.writestr("CT\\IM2", b"member two")  # Windows separators
        archive.writestr("../../etc/evil", b"outside")
        archive.writestr("/abs/path", b"absolute")
    by_path = {f.path: f for f in open_medium(tree).files()}
    assert by_path["STUDY.ZIP"].archive
    assert by_path["STUDY.ZIP/CT/IM1"].open().read() == b"member one"
    assert by_path["STUDY.ZIP/CT/IM2"].open().read() == b"member two"
    assert by_path["STUDY.ZIP/../../etc/evil"].problem == "unsafe_path"
    assert by_path["STUDY.ZIP/abs/path"].problem == "unsafe_path"
    assert not (tree.parent / "etc").exists()


def test_tar_gz_and_a_single_gz_file_are_read(tree: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (("a/IM1", b"tar one"), ("a/IM2", b"tar two")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("a/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    (tree / "export.tar.gz").write_bytes(buffer.getvalue())
    (tree / "single.dcm.gz").write_bytes(gzip.compress(b"gzipped alone"))
    by_path = {f.path: f for f in open_medium(tree).files()}
    assert by_path["export.tar.gz/a/IM2"].open().read() == b"tar two"
    assert by_path["export.tar.gz/a/link"].problem == "link"
    assert by_path["single.dcm.gz/single.dcm"].open().read() == b"gzipped alone"


def test_zip_inside_an_iso_is_read_from_the_image(tree: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(tree / "ARCH.ZIP", "w") as archive:
        archive.writestr("IM9", b"in the zip in the iso")
    image = xorriso_iso(tree, tmp_path / "disc.iso")
    assert contents(image)["ARCH.ZIP/IM9"] == b"in the zip in the iso"


def test_a_zip_file_itself_can_be_the_source(tmp_path: Path) -> None:
    path = tmp_path / "from_email.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("DICOM/IM1", b"x")
    assert contents(path) == {"DICOM/IM1": b"x"}


def test_encrypted_zip_members_are_refused_not_guessed(tree: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lausunto.txt", b"salattu")
    data = bytearray(buffer.getvalue())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set "encrypted" in both headers
        at = data.find(signature)
        data[at + flag_offset] |= 0x01
    (tree / "LOCKED.ZIP").write_bytes(bytes(data))
    by_path = {f.path: f for f in open_medium(tree).files()}
    assert by_path["LOCKED.ZIP/lausunto.txt"].problem == "encrypted"


def test_nothing_on_the_medium_is_executed(tmp_path: Path) -> None:
    root = tmp_path / "cd"
    non_dicom_files(root)
    for item in open_medium(root).files():
        with item.open() as fp:
            fp.read()
    assert not (root / "VIEWER" / "EXECUTED").exists()


@pytest.mark.parametrize("name, unsafe", [("a/b", False), ("../x", True), ("a/../../x", True), ("/etc/x", True),
                                          ("C:/x", True), ("a\\..\\x", True), ("..foo/bar", False)])
def test_unsafe_member_names(name: str, unsafe: bool) -> None:
    assert unsafe_member_name(name) is unsafe


def test_what_is_not_a_medium_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(MediumError, match="does not|cannot be read"):
        open_medium(tmp_path / "missing")
    (tmp_path / "note.txt").write_text("not a disc")
    with pytest.raises(MediumError, match="neither an ISO 9660 image nor a zip"):
        open_medium(tmp_path / "note.txt")


def test_a_broken_archive_on_the_medium_is_one_unreadable_file(tree: Path) -> None:
    (tree / "BROKEN.ZIP").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    by_path = {f.path: f for f in open_medium(tree).files()}
    assert by_path["BROKEN.ZIP"].problem.startswith("archive_unreadable")
    assert not any(path.startswith("BROKEN.ZIP/") for path in by_path)
