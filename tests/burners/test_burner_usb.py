"""USB sticks: FAT32 images written without mounting (mtools), and the mounted-path writer."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from burners import (
    DriveError, MediaState, MediumNotBlank, MediumTooSmall, MediumUnsuitable, UnsupportedWrite, VerificationFailed,
)
from burners.readback import tree_digests
from burners.usb import FatImageTarget, MountedVolume, UsbBurner, probe_fs
from support.burner_media import flip_byte, make_tree

MTOOLS_ENV = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}


def mtools(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True, env=MTOOLS_ENV).stdout


@pytest.fixture
def stick(tmp_path: Path) -> FatImageTarget:
    return FatImageTarget.create(tmp_path / "usb.img", 40 * 1024 * 1024, "Mäkelä USB")


def test_fresh_fat32_image_is_a_blank_stick(stick: FatImageTarget) -> None:
    fs = probe_fs(stick.image)
    assert (fs.type, fs.version, fs.label) == ("vfat", "FAT32", "MAKELA_USB")
    status = UsbBurner(stick).status()
    assert status.state is MediaState.BLANK and status.medium_type == "vfat (FAT32)"
    assert 30 * 1024 * 1024 < status.free_bytes <= status.capacity_bytes <= 40 * 1024 * 1024


def test_tree_is_written_without_mounting_and_reads_back(tmp_path: Path, stick: FatImageTarget,
                                                         source_tree: Path) -> None:
    burner = UsbBurner(stick)
    written = burner.write_tree(source_tree, label="TESTUSB")
    assert written.kind == "tree" and written.files == 5
    burner.verify(written, expected_tree=source_tree)
    assert "files" in stick.check()  # fsck.vfat -n: clean
    out = tmp_path / "readback"
    out.mkdir()
    mtools("mcopy", "-s", "-n", "-i", str(stick.image), "::/DICOMDIR", "::/PT000000", "::/README.TXT", str(out))
    assert tree_digests(out) == tree_digests(source_tree)
    # File IDs are the FAT short names themselves (PS3.12 Annex R), not "~1"-style aliases
    listing = mtools("mdir", "-i", str(stick.image), "::/")
    short_names = {line.split()[0] for line in listing.splitlines()[3:] if line and not line.startswith(" ")}
    assert {"DICOMDIR", "PT000000", "README"} <= short_names
    assert UsbBurner(stick).status().state is MediaState.APPENDABLE
    burner.eject()  # an image needs no release; must not fail


def test_flipped_byte_on_the_stick_is_caught(stick: FatImageTarget, source_tree: Path) -> None:
    burner = UsbBurner(stick)
    written = burner.write_tree(source_tree, label="TESTUSB")
    victim = (source_tree / "PT000000/ST000000/SE000000/IM000001").read_bytes()
    offset = stick.image.read_bytes().index(victim[:4096]) + 77
    flip_byte(stick.image, offset)
    with pytest.raises(VerificationFailed) as caught:
        burner.verify(written, expected_tree=source_tree)
    assert [d["path"] for d in caught.value.details["differences"]] == ["PT000000/ST000000/SE000000/IM000001"]
    with pytest.raises(VerificationFailed):
        burner.verify(written)


def test_stick_with_files_is_refused_unless_wiping_confirmed(tmp_path: Path, stick: FatImageTarget,
                                                            source_tree: Path) -> None:
    old = tmp_path / "HOLIDAY.JPG"
    old.write_bytes(b"not a medical image")
    mtools("mcopy", "-i", str(stick.image), str(old), "::/")
    with pytest.raises(MediumNotBlank) as caught:
        UsbBurner(stick).write_tree(source_tree, label="TESTUSB")
    assert caught.value.exit_status == 1 and "HOLIDAY.JPG" in caught.value.message
    assert stick.entries() == ["HOLIDAY.JPG"]  # untouched
    burner = UsbBurner(stick, wipe_confirmed=True)
    written = burner.write_tree(source_tree, label="TESTUSB")
    assert stick.entries() == ["DICOMDIR", "PT000000", "README.TXT"]
    burner.verify(written, expected_tree=source_tree)


def test_only_fat16_and_fat32_are_accepted(tmp_path: Path, source_tree: Path) -> None:
    fat12 = FatImageTarget.create(tmp_path / "fat12.img", 4 * 1024 * 1024, "OLD", fat_bits=12)
    assert probe_fs(fat12.image).version == "FAT12"
    with pytest.raises(MediumUnsuitable) as caught:
        UsbBurner(fat12).write_tree(source_tree, label="X")
    assert "FAT12" in caught.value.message and "Annex R" in caught.value.message
    assert caught.value.exit_status == 1
    fat16 = FatImageTarget.create(tmp_path / "fat16.img", 16 * 1024 * 1024, "SD", fat_bits=16)
    written = UsbBurner(fat16).write_tree(source_tree, label="X")
    UsbBurner(fat16).verify(written, expected_tree=source_tree)


def test_foreign_file_system_is_formatted_only_when_confirmed(tmp_path: Path, source_tree: Path) -> None:
    image = tmp_path / "ext4.img"
    with open(image, "wb") as fp:
        fp.truncate(40 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", str(image)], check=True)
    target = FatImageTarget(image)
    with pytest.raises(MediumUnsuitable):
        UsbBurner(target).write_tree(source_tree, label="X")
    with pytest.raises(MediumNotBlank):  # formatting destroys what is there: the operator confirms it
        UsbBurner(target, format_first=True).write_tree(source_tree, label="X")
    assert probe_fs(image).type == "ext4"
    burner = UsbBurner(target, format_first=True, wipe_confirmed=True)
    written = burner.write_tree(source_tree, label="Åsa Öhman")
    fs = probe_fs(image)
    assert (fs.type, fs.version, fs.label) == ("vfat", "FAT32", "ASA_OHMAN")
    burner.verify(written, expected_tree=source_tree)


def test_tree_larger_than_the_stick_is_refused_before_writing(tmp_path: Path) -> None:
    small = FatImageTarget.create(tmp_path / "small.img", 12 * 1024 * 1024, "SMALL", fat_bits=16)
    big_tree = make_tree(tmp_path / "big", files=14, size=1_000_000)
    with pytest.raises(MediumTooSmall) as caught:
        UsbBurner(small).write_tree(big_tree, label="BIG")
    needed, free = caught.value.details["needed_bytes"], caught.value.details["free_bytes"]
    assert needed > free and str(needed) in caught.value.message and str(free) in caught.value.message
    assert small.entries() == []


def test_images_are_not_written_to_sticks(stick: FatImageTarget, iso_image: Path) -> None:
    with pytest.raises(UnsupportedWrite):
        UsbBurner(stick).write_image(iso_image, label="X")


def test_image_size_for_a_tree_fits_it(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "t", files=20, size=2_000_000)
    target = FatImageTarget.create(tmp_path / "fit.img", FatImageTarget.size_for(tree), "FIT")
    written = UsbBurner(target).write_tree(tree, label="FIT")
    UsbBurner(target).verify(written, expected_tree=tree)


# --- the mounted path ----------------------------------------------------------------------------
# iso9660 and vfat are not in this kernel (feasibility.md §7), so a stick cannot be mounted here:
# the mount point is a plain folder and the file system is probed from a FAT image standing for
# the partition. What is tested is the writer's own logic: staging, rename, flush, refusal, wipe.

@pytest.fixture
def mounted(tmp_path: Path, stick: FatImageTarget) -> MountedVolume:
    mountpoint = tmp_path / "media" / "USB"
    mountpoint.mkdir(parents=True)
    return MountedVolume(mountpoint, device=stick.image)


def test_mounted_stick_is_written_through_its_path(mounted: MountedVolume, source_tree: Path) -> None:
    (mounted.mountpoint / "System Volume Information").mkdir()  # Windows' own folder does not count
    burner = UsbBurner(mounted)
    assert burner.status().state is MediaState.BLANK
    written = burner.write_tree(source_tree, label="TESTUSB")
    assert sorted(os.listdir(mounted.mountpoint)) == ["DICOMDIR", "PT000000", "README.TXT",
                                                      "System Volume Information"]
    assert written.location == str(mounted.mountpoint)
    burner.verify(written, expected_tree=source_tree)
    flip_byte(mounted.mountpoint / "DICOMDIR", 5)
    with pytest.raises(VerificationFailed):
        burner.verify(written, expected_tree=source_tree)
    burner.eject()  # not a real mount point: release finds nothing to unmount


def test_mounted_stick_with_files_needs_confirmation(mounted: MountedVolume, source_tree: Path) -> None:
    (mounted.mountpoint / "OLD").mkdir()
    (mounted.mountpoint / "OLD" / "A.TXT").write_text("old")
    with pytest.raises(MediumNotBlank):
        UsbBurner(mounted).write_tree(source_tree, label="X")
    assert (mounted.mountpoint / "OLD" / "A.TXT").exists()
    UsbBurner(mounted, wipe_confirmed=True).write_tree(source_tree, label="X")
    assert not (mounted.mountpoint / "OLD").exists()


def test_failed_copy_leaves_the_stick_as_it_was(mounted: MountedVolume, source_tree: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import burners.usb

    calls = []
    real = burners.usb.copy_file

    def fail_on_fourth(source, target, **kwargs):
        calls.append(source)
        if len(calls) == 4:
            raise OSError(5, "Input/output error")
        return real(source, target, **kwargs)

    monkeypatch.setattr(burners.usb, "copy_file", fail_on_fourth)
    with pytest.raises(DriveError) as caught:
        UsbBurner(mounted).write_tree(source_tree, label="X")
    assert "Input/output error" in caught.value.message and caught.value.exit_status == 3
    assert os.listdir(mounted.mountpoint) == []
