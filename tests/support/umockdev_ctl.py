"""Controller for the hot-plug tests: fakes a DVD drive and USB sticks with umockdev and drives
`mediastation watch` / `mediastation devices` through insertions, one event at a time.

Runs with Debian's /usr/bin/python3 (python3-gi, gir1.2-umockdev-1.0) and must itself run under
`umockdev-wrapper`; the station runs as a child in the project's venv and
inherits the wrapper's LD_PRELOAD, so it sees only the fake devices and `/dev/sr0` reads the ISO.

    umockdev-wrapper /usr/bin/python3 umockdev_ctl.py --python VENV_PY --home DIR \
        --dicom-iso DISC.iso --blank-fat BLANK.img --dicom-fat DICOM.img

Prints one JSON document: the `devices` outputs and every line `watch` printed.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

LINE_TIMEOUT = 30.0


class Station:
    def __init__(self, python: str, home: str) -> None:
        self.base = [python, "-m", "mediastation", "--home", home]

    def devices(self) -> dict:
        result = subprocess.run(self.base + ["devices", "--json"], capture_output=True, text=True, timeout=120)
        return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}

    def start_watch(self, events: int) -> subprocess.Popen:
        return subprocess.Popen(self.base + ["watch", "--json", "--max-events", str(events), "--timeout", "120"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)


def read_line(stream, what: str) -> str:
    ready, _, _ = select.select([stream], [], [], LINE_TIMEOUT)
    if not ready:
        raise TimeoutError(f"no {what} within {LINE_TIMEOUT} s")
    return stream.readline()


def link_dev(root: str, name: str, target: str) -> None:
    """Back the fake /dev/<name> with a file (an ISO or FAT image)."""
    os.makedirs(os.path.join(root, "dev"), exist_ok=True)
    path = os.path.join(root, "dev", name)
    if os.path.lexists(path):
        os.remove(path)
    os.symlink(target, path)


def main() -> int:
    parser = argparse.ArgumentParser()
    for option in ("--python", "--home", "--dicom-iso", "--blank-fat", "--dicom-fat"):
        parser.add_argument(option, required=True)
    args = parser.parse_args()

    bed = UMockdev.Testbed.new()
    root = bed.get_root_dir()
    setp = UMockdev.Testbed.set_property
    scsi = bed.add_device("scsi", "0:0:0:0", None, ["vendor", "HL-DT-ST", "model", "DVDRAM GH24NSD1", "type", "5"],
                          ["DEVTYPE", "scsi_device"])
    sr0 = bed.add_device("block", "sr0", scsi, ["size", "0", "removable", "1"],
                         ["DEVNAME", "/dev/sr0", "DEVTYPE", "disk", "ID_CDROM", "1", "ID_CDROM_DVD", "1",
                          "ID_BUS", "scsi", "ID_VENDOR", "HL-DT-ST", "ID_MODEL", "DVDRAM_GH24NSD1"])
    station = Station(args.python, args.home)
    report: dict = {"devices_before": station.devices(), "events": []}

    watcher = station.start_watch(events=6)
    try:
        report["ready"] = read_line(watcher.stderr, "readiness line").strip()

        def expect_event(step: str) -> None:
            report["events"].append({"step": step, "line": read_line(watcher.stdout, f"event for {step}")})

        # 1. a blank DVD-R goes into the drive
        setp(bed, sr0, "ID_CDROM_MEDIA", "1")
        setp(bed, sr0, "ID_CDROM_MEDIA_DVD_R", "1")
        setp(bed, sr0, "ID_CDROM_MEDIA_STATE", "blank")
        bed.uevent(sr0, "change")
        expect_event("blank disc")
        # 2. it is swapped for an outside disc with DICOM content (the ISO behind /dev/sr0)
        link_dev(root, "sr0", args.dicom_iso)
        setp(bed, sr0, "ID_CDROM_MEDIA_DVD_R", "0")
        setp(bed, sr0, "ID_CDROM_MEDIA_CD_R", "1")
        setp(bed, sr0, "ID_CDROM_MEDIA_STATE", "complete")
        setp(bed, sr0, "ID_FS_TYPE", "iso9660")
        setp(bed, sr0, "ID_FS_LABEL", "OUTSIDE_CLINIC")
        bed.uevent(sr0, "change")
        expect_event("dicom disc")
        # 3. the tray is emptied
        setp(bed, sr0, "ID_CDROM_MEDIA", "0")
        bed.uevent(sr0, "change")
        expect_event("tray empty")
        # 4. an empty FAT32 stick and 5. a stick with a DICOM file-set are plugged in
        sticks = {}
        for n, (name, image, label) in enumerate((("sdb", args.blank_fat, "EMPTY"), ("sdc", args.dicom_fat, "CLINIC"))):
            link_dev(root, name, image)
            usb = bed.add_device("usb", f"usb1/1-{n + 1}", None, ["idVendor", "0781", "idProduct", "5567"],
                                 ["DEVTYPE", "usb_device", "ID_BUS", "usb"])
            sticks[name] = bed.add_device(
                "block", name, usb, ["size", str(os.path.getsize(image) // 512), "removable", "1"],
                ["DEVNAME", f"/dev/{name}", "DEVTYPE", "disk", "ID_BUS", "usb", "ID_VENDOR", "SanDisk",
                 "ID_MODEL", "Cruzer_Blade", "ID_FS_TYPE", "vfat", "ID_FS_VERSION", "FAT32", "ID_FS_LABEL", label])
            expect_event(f"{name} plugged in")
        report["devices_with_sticks"] = station.devices()
        # 6. the empty stick is pulled out
        bed.uevent(sticks["sdb"], "remove")
        expect_event("sdb removed")
        watcher.wait(timeout=LINE_TIMEOUT)
        report["watch_returncode"] = watcher.returncode
        report["watch_stderr"] = watcher.stderr.read()
    except Exception as exc:  # report what happened; the test prints it
        report["error"] = f"{exc.__class__.__name__}: {exc}"
    finally:
        if watcher.poll() is None:
            watcher.terminate()
            try:
                watcher.wait(timeout=10)
            except subprocess.TimeoutExpired:
                watcher.kill()
                watcher.wait()
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
