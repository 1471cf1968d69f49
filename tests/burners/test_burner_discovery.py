"""Discovery and hot-plug: `devices` and `watch` against fake drives and sticks (umockdev)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from burners.discovery import DeviceInfo, describe, station_action
from burners.base import MediaState
from burners.usb import FatImageTarget, UsbBurner
from support.burner_media import make_iso, make_tree
from support.cli import REPO, run, run_json

CONTROLLER = REPO / "tests" / "support" / "umockdev_ctl.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def test_devices_on_a_machine_without_drives_is_an_empty_list(tmp_path: Path) -> None:
    if any(Path("/dev").glob("sr*")):
        pytest.skip("this machine has an optical drive; the empty case needs one without")
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    doc = run_json("devices", home=home)
    assert doc["devices"] == [] and [b["name"] for b in doc["burners"]] == ["folder"]  # the folder burner


def test_udev_properties_are_described_and_classified(tmp_path: Path) -> None:
    blank = describe({"DEVNAME": "/dev/sr0", "ID_CDROM": "1", "ID_CDROM_MEDIA": "1",
                      "ID_CDROM_MEDIA_DVD_PLUS_R": "1", "ID_CDROM_MEDIA_DVD": "1", "ID_CDROM_MEDIA_STATE": "blank"})
    assert (blank.kind, blank.state, blank.medium_type) == ("optical", MediaState.BLANK, "DVD+R")
    assert station_action(blank) == ("export queue", "blank disc")
    empty = describe({"DEVNAME": "/dev/sr0", "ID_CDROM": "1"})
    assert empty.state is MediaState.NONE and station_action(empty)[0] == "none"
    assert describe({"DEVNAME": "/dev/vda", "DEVTYPE": "disk"}) is None  # the system disk is not a stick
    assert describe({"DEVNAME": "/dev/sdb", "DEVTYPE": "disk", "ID_BUS": "usb", "ID_PART_TABLE_TYPE": "dos"}) is None
    # a partition of a stick, backed by a FAT image and read with mtools (no mount)
    stick = FatImageTarget.create(tmp_path / "s.img", 40 * 1024 * 1024, "CLINIC")
    UsbBurner(stick).write_tree(make_tree(tmp_path / "t", files=1), label="CLINIC")
    info = describe({"DEVNAME": str(stick.image), "DEVTYPE": "partition", "ID_BUS": "usb", "ID_FS_TYPE": "vfat",
                     "ID_FS_VERSION": "FAT32", "ID_FS_LABEL": "CLINIC"})
    assert (info.kind, info.state, info.dicom) == ("usb", MediaState.APPENDABLE, True)
    assert station_action(info)[0] == "import scan"
    exfat = DeviceInfo("/dev/sdd1", "usb", None, MediaState.UNUSABLE, fs_type="exfat", dicom=False,
                       detail="exfat: not FAT16/FAT32 (PS3.12 Annex R)")
    assert station_action(exfat) == ("none", "exfat: not FAT16/FAT32 (PS3.12 Annex R)")
    assert station_action(info, "remove") == ("none", "removed")


def _umockdev_ready() -> str | None:
    if shutil.which("umockdev-wrapper") is None:
        return "umockdev-wrapper is not installed (Debian package umockdev)"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('UMockdev', '1.0')"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return "Debian's python3 cannot load UMockdev (packages python3-gi, gir1.2-umockdev-1.0)"
    return None


@pytest.fixture(scope="module")
def hotplug(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One umockdev session: a drive gets a blank and a DICOM disc, two sticks come and one goes."""
    reason = _umockdev_ready()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("hotplug")
    disc_tree = make_tree(work / "disc", files=2, size=50_000)
    iso = make_iso(disc_tree, work / "outside.iso", "OUTSIDE_CLINIC")
    blank = FatImageTarget.create(work / "blank.img", 40 * 1024 * 1024, "EMPTY")
    dicom = FatImageTarget.create(work / "dicom.img", 40 * 1024 * 1024, "CLINIC")
    UsbBurner(dicom).write_tree(disc_tree, label="CLINIC")
    assert run("init", home=work / "home").returncode == 0  # `devices` lists the home's burners too
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "UMOCKDEV_DIR")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        ["umockdev-wrapper", SYSTEM_PYTHON, str(CONTROLLER), "--python", sys.executable, "--home", str(work / "home"),
         "--dicom-iso", str(iso), "--blank-fat", str(blank.image), "--dicom-fat", str(dicom.image)],
        capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "error" not in report, report
    return report


def test_fake_drive_is_listed_by_devices(hotplug: dict) -> None:
    before = hotplug["devices_before"]
    assert before["returncode"] == 0, before["stderr"]
    devices = json.loads(before["stdout"])["devices"]
    assert [(d["device"], d["kind"], d["state"], d["model"]) for d in devices] == [
        ("/dev/sr0", "optical", "none", "HL-DT-ST DVDRAM GH24NSD1")]
    later = {d["device"]: d for d in json.loads(hotplug["devices_with_sticks"]["stdout"])["devices"]}
    assert set(later) == {"/dev/sr0", "/dev/sdb", "/dev/sdc"}
    assert (later["/dev/sdb"]["state"], later["/dev/sdb"]["dicom"]) == ("blank", False)
    assert (later["/dev/sdc"]["state"], later["/dev/sdc"]["dicom"]) == ("appendable", True)
    assert later["/dev/sdc"]["size_bytes"] == 40 * 1024 * 1024


def test_watch_sees_every_insertion_and_removal(hotplug: dict) -> None:
    assert "watching" in hotplug["ready"]
    records = {e["step"]: json.loads(e["line"]) for e in hotplug["events"]}
    summary = {step: (r["event"], r["device"], r["kind"], r["action"]) for step, r in records.items()}
    assert summary == {
        "blank disc": ("change", "/dev/sr0", "optical", "export queue"),
        "dicom disc": ("change", "/dev/sr0", "optical", "import scan"),
        "tray empty": ("change", "/dev/sr0", "optical", "none"),
        "sdb plugged in": ("add", "/dev/sdb", "usb", "export queue"),
        "sdc plugged in": ("add", "/dev/sdc", "usb", "import scan"),
        "sdb removed": ("remove", "/dev/sdb", "usb", "none"),
    }
    assert records["blank disc"]["medium_type"] == "DVD-R" and records["blank disc"]["state"] == "blank"
    disc = records["dicom disc"]
    assert (disc["dicom"], disc["state"], disc["label"]) == (True, "closed", "OUTSIDE_CLINIC")
    assert disc["medium_type"] == "CD-R"
    assert records["sdc plugged in"]["label"] == "CLINIC"
    assert hotplug["watch_returncode"] == 0  # stopped by itself after --max-events
