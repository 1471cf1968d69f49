"""The desk's import from a disc in the station's drive (docs/desk.md `/imports/new`: "a drive or
stick the station sees"): `mediastation serve` under umockdev beside a fake DVD drive holding an
outside disc (tests/support/umockdev_desk.py); the drive is offered on the page and handed to the
medium reader, and a device the station does not list is refused as a source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest
from support.cli import REPO, run
from support.desk import PASSWORD, Client
from support.outside_media import outside_study, xorriso_iso

SYSTEM_PYTHON = "/usr/bin/python3"
CONTROLLER = REPO / "tests" / "support" / "umockdev_desk.py"


def _umockdev_missing() -> str | None:
    if shutil.which("umockdev-wrapper") is None:
        return "umockdev-wrapper is not installed (Debian package umockdev)"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('UMockdev', '1.0')"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return "Debian's python3 cannot load UMockdev (packages python3-gi, gir1.2-umockdev-1.0)"
    return None


@pytest.fixture(scope="module")
def drive_desk(tmp_path_factory: pytest.TempPathFactory) -> Any:
    reason = _umockdev_missing()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("desk-drive")
    study = outside_study(work / "disc", "DICOM/ST1", images=2, patient_name="Lahtinen^Liisa")
    iso = xorriso_iso(work / "disc", work / "outside.iso", volume="OUTSIDE_CLINIC")
    home = work / "home"
    assert run("init", home=home).returncode == 0
    for name, role in (("imp", "importer"), ("tech", "technician")):
        added = run("users", "add", name, "--role", role, "--password-stdin", home=home, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "UMOCKDEV_DIR")}
    env["PYTHONPATH"] = str(REPO)
    log = (work / "desk.log").open("w")
    controller = subprocess.Popen(["umockdev-wrapper", SYSTEM_PYTHON, str(CONTROLLER), "--python", sys.executable,
                                   "--home", str(home), "--iso", str(iso)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=REPO)
    try:
        line = controller.stdout.readline() if controller.stdout else ""
        assert line.strip(), (work / "desk.log").read_text()
        yield {"url": json.loads(line)["url"].rstrip("/"), "study": study, "log": work / "desk.log"}
    finally:
        if controller.stdin:
            controller.stdin.close()
        try:
            controller.wait(60)
        except subprocess.TimeoutExpired:
            controller.kill()
            controller.wait()
        log.close()
    assert "Traceback" not in (work / "desk.log").read_text(), (work / "desk.log").read_text()


def test_a_disc_in_the_drive_is_offered_and_handed_to_the_medium_reader(drive_desk: Any) -> None:
    """umockdev shows the fake /dev/sr0 as a character device (S_IFCHR), which the medium reader
    (dicom/sources.py: folders, files and block devices) refuses naming it; so here the desk's part
    is checked, that the drive is offered and a chosen drive is read as the medium, not refused as a
    source. The reading of a disc image itself is test_desk_import.py's upload."""
    client = Client(drive_desk["url"])
    csrf = client.sign_in_api("imp")
    page = client.get("/imports/new")
    assert page.status == 200
    assert '<option value="/dev/sr0">/dev/sr0 CD-R OUTSIDE_CLINIC</option>' in page.text
    answer = client.post("/imports/new", form={"csrf_token": csrf, "kind": "drive", "drive": "/dev/sr0"})
    assert answer.status == 422 and "/dev/sr0: not a folder, a file or a block device" in answer.text
    scanned = client.post("/api/v1/imports/scans", json_body={"source": "/dev/sr0"}, headers={"X-CSRF-Token": csrf})
    assert scanned.status == 422 and scanned.json()["error"]["code"] == "medium_unreadable", scanned.text


def test_a_device_the_station_does_not_list_is_refused(drive_desk: Any) -> None:
    client = Client(drive_desk["url"])
    csrf = client.sign_in_api("imp")
    for source in ("/dev/sda", "/dev/sr1", "/dev/sr0/../sda"):
        answer = client.post("/api/v1/imports/scans", json_body={"source": source}, headers={"X-CSRF-Token": csrf})
        assert answer.status == 422 and answer.json()["error"]["code"] == "source_refused", answer.text
    other = Client(drive_desk["url"])
    other_csrf = other.sign_in_api("tech")
    assert other.post("/api/v1/imports/scans", json_body={"source": "/dev/sr0"},
                      headers={"X-CSRF-Token": other_csrf}).status == 403
