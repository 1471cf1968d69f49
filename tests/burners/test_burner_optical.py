"""Optical burning through real xorriso on pseudo-drives: a file (`stdio:`) and a fixed-size loop device."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from burners import DriveError, MediaState, MediumNotBlank, MediumTooSmall, NoMedium, VerificationFailed
from burners.optical import OpticalBurner, list_drives, parse_devices, parse_toc
from support.burner_media import flip_byte, make_iso, make_tree

BLANK_CDR = """\
Drive current: -outdev '/dev/sr0'
Media current: CD-R
Media product: 97m34s23f/79m59s73f , Mitsubishi Chemical Corporation
Media status : is blank
Media blocks : 0 readable , 359846 writable , 359846 overall
Media summary: 0 sessions, 0 data blocks, 0 data,  703m free
"""
CLOSED_DVD = """\
Media current: DVD+R
Media status : is written , is closed
Media summary: 1 session, 1017152 data blocks, 1987m data,     0 free
"""
APPENDABLE_DVDRW = """\
Media current: DVD-RW sequential recording
Media status : is written , is appendable
Media summary: 1 session, 100 data blocks, 200k data, 4.2g free
"""
NO_DISC = """\
Drive current: -outdev '/dev/sr0'
Media current: is not present
Media status : is not present
"""
DEVICES = """\
Full drive scan done
-----------------------------------------------------------------------------
0  -dev '/dev/sr0' rwrw-- :  'Optiarc ' 'DVD RW AD-5240S'
1  -dev '/dev/sr1' rwrw-- :  'HL-DT-ST' 'BD-RE  WH16NS40'
-----------------------------------------------------------------------------
"""


def test_toc_of_real_media_is_parsed() -> None:
    blank = parse_toc("/dev/sr0", BLANK_CDR)
    assert (blank.state, blank.medium_type) == (MediaState.BLANK, "CD-R")
    assert blank.free_bytes == blank.capacity_bytes == 359846 * 2048
    closed = parse_toc("/dev/sr0", CLOSED_DVD)
    assert (closed.state, closed.medium_type, closed.free_bytes) == (MediaState.CLOSED, "DVD+R", 0)
    appendable = parse_toc("/dev/sr0", APPENDABLE_DVDRW)
    assert appendable.state is MediaState.APPENDABLE
    assert appendable.free_bytes == int(4.2 * 1024**3)
    none = parse_toc("/dev/sr0", NO_DISC)
    assert (none.state, none.medium_type, none.free_bytes) == (MediaState.NONE, None, None)


def test_devices_are_parsed_and_this_machine_has_none() -> None:
    drives = parse_devices(DEVICES)
    assert [(d.device, d.vendor, d.model) for d in drives] == [
        ("/dev/sr0", "Optiarc", "DVD RW AD-5240S"), ("/dev/sr1", "HL-DT-ST", "BD-RE  WH16NS40")]
    if not any(Path("/dev").glob("sr*")):
        assert list_drives() == []


def test_burn_to_pseudo_drive_closes_and_verifies(tmp_path: Path, iso_image: Path, source_tree: Path) -> None:
    disc = tmp_path / "disc.img"
    disc.touch()
    burner = OpticalBurner(f"stdio:{disc}")
    before = burner.status()
    assert before.state is MediaState.BLANK and before.free_bytes > iso_image.stat().st_size
    seen: list[tuple[int, int | None, str]] = []
    written = burner.write_image(iso_image, label="TESTDISC", progress=lambda *a: seen.append(a))
    size = iso_image.stat().st_size
    assert written.bytes == size and written.location == str(disc)
    with open(disc, "rb") as fp:  # the image's extent is on the medium, byte for byte
        assert fp.read(size) == iso_image.read_bytes()
    assert seen[-1] == (size, size, "written")
    burner.verify(written, expected_tree=source_tree)
    assert burner.status().state is MediaState.APPENDABLE  # libburn's stdio emulation never says "closed"
    burner.eject()  # a pseudo-drive has no tray: nothing happens, nothing fails


def test_flipped_byte_on_the_medium_is_caught(tmp_path: Path, iso_image: Path, source_tree: Path) -> None:
    disc = tmp_path / "disc.img"
    burner = OpticalBurner(f"stdio:{disc}")
    written = burner.write_image(iso_image, label="TESTDISC")
    victim = source_tree / "PT000000/ST000000/SE000000/IM000002"
    offset = iso_image.read_bytes().index(victim.read_bytes()[:4096]) + 1234
    flip_byte(disc, offset)
    with pytest.raises(VerificationFailed) as whole:
        burner.verify(written)
    assert whole.value.exit_status == 3
    with pytest.raises(VerificationFailed) as per_file:  # with the tree: which file is damaged
        burner.verify(written, expected_sha256=None, expected_tree=source_tree)
    assert "PT000000/ST000000/SE000000/IM000002" in per_file.value.message


def test_non_blank_medium_is_refused_unless_overwrite_allowed(tmp_path: Path, iso_image: Path) -> None:
    disc = tmp_path / "disc.img"
    OpticalBurner(f"stdio:{disc}").write_image(iso_image, label="FIRST")
    other = make_iso(make_tree(tmp_path / "other", files=1), tmp_path / "other.iso", "SECOND")
    with pytest.raises(MediumNotBlank) as caught:
        OpticalBurner(f"stdio:{disc}").write_image(other, label="SECOND")
    assert caught.value.exit_status == 1 and "appendable" in caught.value.message
    with open(disc, "rb") as fp:
        assert fp.read(iso_image.stat().st_size) == iso_image.read_bytes()  # untouched
    burner = OpticalBurner(f"stdio:{disc}", allow_overwrite=True)
    written = burner.write_image(other, label="SECOND")  # blank=as_needed, then burn
    burner.verify(written)


def test_progress_is_parsed_from_xorriso_output(tmp_path: Path, iso_image: Path) -> None:
    # xorriso prints UPDATE lines once a second, so a small test image gives none; this wrapper puts
    # two of libburn's own lines in front and lets the real xorriso burn.
    wrapper = tmp_path / "xorriso"
    wrapper.write_text("#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -dao ] && "
                       "echo 'xorriso : UPDATE :    0 of    1 MB written (fifo 50%) [buf  50%]' && "
                       "echo 'xorriso : UPDATE :    1 of    1 MB written (fifo 99%) [buf 100%]'; done\n"
                       "exec xorriso \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    seen: list[tuple[int, int | None, str]] = []
    burner = OpticalBurner(f"stdio:{tmp_path / 'disc.img'}", xorriso=str(wrapper))
    burner.write_image(iso_image, label="TESTDISC", progress=lambda *a: seen.append(a))
    writing = [s for s in seen if s[2] == "writing"]
    # the wrapper's two lines come first; a slow machine may add real xorriso UPDATE lines after them
    assert writing[:2] == [(0, iso_image.stat().st_size, "writing"), (1024 * 1024, iso_image.stat().st_size, "writing")]
    real = [done for done, _total, _what in writing[2:]]  # xorriso's own lines count from 0 again
    assert real == sorted(real)


def test_drive_states_a_pseudo_drive_cannot_show(tmp_path: Path, iso_image: Path) -> None:
    """No disc / closed disc: libburn's wording replayed by a stand-in for xorriso."""
    def drive_saying(text: str) -> OpticalBurner:
        script = tmp_path / f"xorriso-{abs(hash(text))}"
        script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{text}EOF\n")
        script.chmod(0o755)
        return OpticalBurner("/dev/sr0", xorriso=str(script))

    with pytest.raises(NoMedium) as none:
        drive_saying(NO_DISC).write_image(iso_image, label="X")
    assert none.value.exit_status == 1 and "insert" in none.value.message
    with pytest.raises(MediumNotBlank):
        drive_saying(CLOSED_DVD).write_image(iso_image, label="X")
    with pytest.raises(DriveError) as busy:
        drive_saying("libburn : SORRY : Cannot open busy device '/dev/sr0'\n").status()
    assert "busy device" in busy.value.message and busy.value.exit_status == 3


@pytest.fixture
def loop_drive(tmp_path: Path):
    """A 1 MiB block device: a pseudo-drive with a fixed capacity (feasibility.md §5)."""
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        pytest.skip("needs root and losetup to attach a loop device of fixed size")
    backing = tmp_path / "cd.img"
    with open(backing, "wb") as fp:
        fp.truncate(1024 * 1024)
    attach = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True, text=True)
    if attach.returncode != 0:
        pytest.skip(f"losetup cannot attach a loop device here: {attach.stderr.strip()}")
    device = attach.stdout.strip()
    try:
        yield device, backing
    finally:
        subprocess.run(["losetup", "-d", device], check=False)


def test_image_larger_than_the_medium_is_refused_before_writing(tmp_path: Path, loop_drive) -> None:
    device, backing = loop_drive
    big = make_iso(make_tree(tmp_path / "big", files=3, size=500_000), tmp_path / "big.iso")
    burner = OpticalBurner(f"stdio:{device}")
    status = burner.status()
    assert status.capacity_bytes == 1024 * 1024
    with pytest.raises(MediumTooSmall) as caught:
        burner.write_image(big, label="BIG")
    message = caught.value.message
    assert str(status.free_bytes) in message and str(caught.value.details["needed_bytes"]) in message
    assert caught.value.exit_status == 1
    assert backing.read_bytes() == bytes(1024 * 1024)  # not a byte written


def test_xorriso_own_capacity_refusal_is_reported_as_too_small(tmp_path: Path, loop_drive,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    device, backing = loop_drive
    big = make_iso(make_tree(tmp_path / "big", files=3, size=500_000), tmp_path / "big.iso")
    burner = OpticalBurner(f"stdio:{device}")
    monkeypatch.setattr(burner, "_check_space", lambda *a: None)  # as if our own check were missing
    with pytest.raises(MediumTooSmall) as caught:
        burner.write_image(big, label="BIG")
    assert "exceeds free space" in caught.value.message
    assert backing.read_bytes() == bytes(1024 * 1024)


def test_image_that_fits_the_loop_device_burns_and_verifies(tmp_path: Path, loop_drive) -> None:
    device, _ = loop_drive
    small_tree = make_tree(tmp_path / "small", files=2, size=100_000)
    small = make_iso(small_tree, tmp_path / "small.iso")
    burner = OpticalBurner(f"stdio:{device}")
    written = burner.write_image(small, label="SMALL")
    burner.verify(written, expected_tree=small_tree)


def test_destroyed_file_system_is_a_verification_failure(tmp_path: Path, iso_image: Path, source_tree: Path) -> None:
    disc = tmp_path / "disc.img"
    burner = OpticalBurner(f"stdio:{disc}")
    written = burner.write_image(iso_image, label="TESTDISC")
    with open(disc, "r+b") as fp:  # wipe the primary volume descriptor (sector 16)
        fp.seek(16 * 2048)
        fp.write(bytes(2048))
    with pytest.raises(VerificationFailed) as caught:
        burner.verify(written, expected_tree=source_tree)
    assert "ISO 9660" in caught.value.message
