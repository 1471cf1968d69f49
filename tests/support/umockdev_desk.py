"""The desk beside a fake DVD drive holding an outside disc: runs under `umockdev-wrapper` with
Debian's python3 (as umockdev_ctl.py), fakes /dev/sr0 with a closed CD-R whose content is the ISO,
starts `mediastation serve` in the project's venv as its child (it inherits the wrapper's
LD_PRELOAD, so it sees only the fake drive and reading /dev/sr0 reads the ISO), prints the desk's
`{"url": ...}` line and keeps it running until its stdin closes.

    umockdev-wrapper /usr/bin/python3 umockdev_desk.py --python VENV_PY --home DIR --iso DISC.iso
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

from umockdev_ctl import link_dev  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    for option in ("--python", "--home", "--iso"):
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    bed = UMockdev.Testbed.new()
    scsi = bed.add_device("scsi", "0:0:0:0", None, ["vendor", "HL-DT-ST", "model", "DVDRAM GH24NSD1", "type", "5"],
                          ["DEVTYPE", "scsi_device"])
    bed.add_device("block", "sr0", scsi, ["size", "0", "removable", "1"],
                   ["DEVNAME", "/dev/sr0", "DEVTYPE", "disk", "ID_CDROM", "1", "ID_CDROM_DVD", "1", "ID_BUS", "scsi",
                    "ID_VENDOR", "HL-DT-ST", "ID_MODEL", "DVDRAM_GH24NSD1", "ID_CDROM_MEDIA", "1",
                    "ID_CDROM_MEDIA_CD_R", "1", "ID_CDROM_MEDIA_STATE", "complete", "ID_FS_TYPE", "iso9660",
                    "ID_FS_LABEL", "OUTSIDE_CLINIC"])
    link_dev(bed.get_root_dir(), "sr0", args.iso)  # after add_device, which makes its own /dev/sr0
    desk = subprocess.Popen([args.python, "-m", "mediastation", "--home", args.home, "serve", "--port", "0", "--json",
                             "--no-worker"], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert desk.stdout is not None
        print(desk.stdout.readline().strip(), flush=True)
        sys.stdin.read()  # the test closes it when it is done
    finally:
        desk.terminate()
        try:
            desk.wait(30)
        except subprocess.TimeoutExpired:
            desk.kill()
            desk.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
