"""The folder burner: images and trees land whole in a folder, and read back exactly."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from burners import Burner, DriveError, FolderBurner, MediumNotBlank, VerificationFailed
from burners.readback import manifest_sha256, tree_digests
from support.burner_media import flip_byte


def test_image_is_copied_whole_and_verifies(tmp_path: Path, iso_image: Path) -> None:
    seen: list[tuple[int, int | None, str]] = []
    burner = FolderBurner(tmp_path / "out")
    assert isinstance(burner, Burner)
    written = burner.write_image(iso_image, label="TESTDISC", progress=lambda d, t, w: seen.append((d, t, w)))
    target = tmp_path / "out" / "disc.iso"
    assert Path(written.location) == target
    assert target.read_bytes() == iso_image.read_bytes()
    assert written.bytes == iso_image.stat().st_size
    assert seen[-1] == (written.bytes, written.bytes, "written")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["disc.iso"]  # no stage left behind
    burner.verify(written)
    burner.verify(written, expected_sha256=written.sha256)


def test_flipped_byte_in_image_is_caught(tmp_path: Path, iso_image: Path) -> None:
    burner = FolderBurner(tmp_path / "out")
    written = burner.write_image(iso_image, label="TESTDISC")
    flip_byte(Path(written.location), 40_000)
    with pytest.raises(VerificationFailed) as caught:
        burner.verify(written)
    assert caught.value.exit_status == 3
    assert written.sha256 in caught.value.message


def test_wrong_expected_digest_is_caught(tmp_path: Path, iso_image: Path) -> None:
    burner = FolderBurner(tmp_path / "out")
    written = burner.write_image(iso_image, label="TESTDISC")
    with pytest.raises(VerificationFailed):
        burner.verify(written, expected_sha256="0" * 64)


def test_existing_image_is_refused_unless_overwrite_allowed(tmp_path: Path, iso_image: Path) -> None:
    out = tmp_path / "out"
    first = FolderBurner(out).write_image(iso_image, label="A")
    again = FolderBurner(out).write_image(iso_image, label="A")  # a resumed export: same bytes, nothing to do
    assert (again.location, again.sha256) == (first.location, first.sha256)
    flip_byte(iso_image, 100)  # a different image under the same name is refused
    with pytest.raises(MediumNotBlank) as caught:
        FolderBurner(out).write_image(iso_image, label="A")
    assert caught.value.exit_status == 1 and "allow_overwrite" in caught.value.message
    written = FolderBurner(out, allow_overwrite=True).write_image(iso_image, label="A")
    FolderBurner(out).verify(written)
    assert (out / "disc.iso").read_bytes() == iso_image.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["disc.iso"]


def test_tree_is_copied_and_verified_per_file(tmp_path: Path, source_tree: Path) -> None:
    burner = FolderBurner(tmp_path / "out")
    written = burner.write_tree(source_tree, label="TESTUSB")
    target = tmp_path / "out" / "tree"
    assert written.kind == "tree" and Path(written.location) == target
    assert tree_digests(target) == tree_digests(source_tree)
    assert written.files == 5
    assert written.sha256 == manifest_sha256(tree_digests(source_tree))
    burner.verify(written, expected_tree=source_tree)


def test_same_tree_again_is_accepted_a_different_one_refused(tmp_path: Path, source_tree: Path) -> None:
    burner = FolderBurner(tmp_path / "out")
    first = burner.write_tree(source_tree, label="T")
    assert burner.write_tree(source_tree, label="T").sha256 == first.sha256
    (source_tree / "README.TXT").write_text("changed")
    with pytest.raises(MediumNotBlank):
        burner.write_tree(source_tree, label="T")


def test_changed_missing_and_extra_files_are_named(tmp_path: Path, source_tree: Path) -> None:
    burner = FolderBurner(tmp_path / "out")
    written = burner.write_tree(source_tree, label="TESTUSB")
    target = Path(written.location)
    flip_byte(target / "PT000000/ST000000/SE000000/IM000001", 10)
    (target / "README.TXT").unlink()
    (target / "EXTRA").write_text("x")
    with pytest.raises(VerificationFailed) as caught:
        burner.verify(written, expected_tree=source_tree)
    problems = {d["path"]: d["problem"] for d in caught.value.details["differences"]}
    assert problems == {"PT000000/ST000000/SE000000/IM000001": "content differs",
                        "README.TXT": "missing", "EXTRA": "unexpected"}
    with pytest.raises(VerificationFailed):  # and without the source tree, by the manifest digest
        burner.verify(written)


def test_failed_write_leaves_nothing(tmp_path: Path, source_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import burners.folder

    real_copy = burners.folder.copy_file
    calls = []

    def disk_full_on_third_file(source, target, **kwargs):
        calls.append(source)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(source, target, **kwargs)

    monkeypatch.setattr(burners.folder, "copy_file", disk_full_on_third_file)
    out = tmp_path / "out"
    with pytest.raises(DriveError) as caught:
        FolderBurner(out).write_tree(source_tree, label="X")
    assert "No space left" in caught.value.message and caught.value.exit_status == 3
    assert list(out.iterdir()) == []


def test_an_image_on_the_same_file_system_is_moved_not_copied(tmp_path: Path, iso_image: Path) -> None:
    content, inode = iso_image.read_bytes(), iso_image.stat().st_ino
    digest = FolderBurner(tmp_path / "x").write_image(iso_image, label="X").sha256
    burner = FolderBurner(tmp_path / "out")
    written = burner.move_image(iso_image, label="TESTDISC", sha256=digest, size=len(content))
    target = tmp_path / "out" / "disc.iso"
    assert not iso_image.exists() and target.stat().st_ino == inode  # renamed: no second gigabyte written
    assert target.read_bytes() == content and written.location == str(target)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["disc.iso"]
    burner.verify(written)
    again = burner.move_image(iso_image, label="TESTDISC", sha256=digest, size=len(content))  # a resumed job
    assert again.location == written.location
    with pytest.raises(DriveError, match="is gone"):
        burner.move_image(iso_image, label="TESTDISC", sha256=digest, size=len(content) + 2048)


def test_moving_onto_an_existing_different_image_is_refused(tmp_path: Path, iso_image: Path) -> None:
    out = tmp_path / "out"
    FolderBurner(out).write_image(iso_image, label="A")
    flip_byte(iso_image, 100)
    with pytest.raises(MediumNotBlank):
        FolderBurner(out).move_image(iso_image, label="A", sha256="0" * 64, size=iso_image.stat().st_size)
    assert iso_image.exists()  # nothing was taken
