"""Electronic release and register copy through the CLI against real archives: the HUS Orthanc, a
receiving Orthanc (another hospital's archive) and a third as another register (R5, R6, R15, R17).
Every instance arrives once with its SOP Instance UID, the destination confirms it, the disclosure
log has one entry and billing none; a transfer broken by the destination resumes without sending
anything twice; a node nobody configured gets nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom import dcmread

from support.cli import REPO, run, run_json
from support.orthanc import OrthancServer, free_port
from support.synthetic import make_study
from support.transfer_station import electronic_destination, station_home

HETU = "010594Y9032"
NAME = "Mäkelä^Aino"
DESTINATION = "Kymenlaakson keskussairaala"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
J2K = "1.2.840.10008.1.2.4.90"


class Archive(OrthancServer):
    """An Orthanc that keeps its ports and storage over a restart, and accepts only `accepts`."""

    def __init__(self, *, accepts: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.accepts = accepts

    def _launch(self, binary: str) -> None:
        if not self._dicom_port:
            self._dicom_port, self._http_port = free_port(), free_port()
        storage = self.folder / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = self.configuration(storage)
        if self.accepts is not None:
            config["AcceptedTransferSyntaxes"] = self.accepts
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        from support.orthanc import _die_with_parent

        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen([*_die_with_parent(), binary, str(path)], stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             env={"TCP_NODELAY": "1", "PATH": "/usr/bin:/bin"}, cwd=self.folder)

    def knows(self, name: str, other: OrthancServer) -> None:
        """Add `other` to this archive's modalities (so it can C-MOVE there)."""
        body = json.dumps({"AET": other.ae_title, "Host": other.host, "Port": other.dicom_port}).encode()
        request = urllib.request.Request(f"{self.url}/modalities/{name}", data=body, method="PUT")
        urllib.request.urlopen(request, timeout=10).read()


def sop_uids(pacs: OrthancServer) -> dict[str, str]:
    """SOP Instance UID -> Orthanc id of every instance the archive holds."""
    found = {}
    for orthanc_id in pacs.rest("/instances"):
        tags = pacs.rest(f"/instances/{orthanc_id}/simplified-tags")
        found[tags["SOPInstanceUID"]] = orthanc_id
    return found


@pytest.fixture
def hus(tmp_path: Path):  # type: ignore[no-untyped-def]
    station_port = free_port()
    archive = Archive(ae_title="HUSPACS", station_port=station_port, folder=tmp_path / "hus").start()
    yield archive
    archive.close()


@pytest.fixture
def receiver(tmp_path: Path, hus: Archive):  # type: ignore[no-untyped-def]
    archive = Archive(ae_title="KYMSPACS", station_port=hus.station_port, folder=tmp_path / "kyms").start()
    yield archive
    archive.close()


def _studies(hus: OrthancServer, tmp_path: Path, *, images: int = 4, size: int = 64) -> list[tuple[Any, datetime]]:
    tag = uuid.uuid4().hex[:6].upper()
    studies = []
    for number, (syntax, description, moment) in enumerate((
            (J2K, "TT VATSA", datetime(2026, 11, 20, 10, 31)),
            (EXPLICIT_LE, "MT AIVOT", datetime(2026, 10, 2, 8, 15)))):
        accession = f"E{tag}{number}"
        info = make_study(tmp_path / "studies" / accession, modality="CT", images=images, patient_name=NAME,
                          patient_id=HETU, accession=accession, study_description=description, study_datetime=moment,
                          transfer_syntax=syntax, rows=size, cols=size)
        hus.store(list(info.files))
        studies.append((info, moment))
    return studies


def _home(tmp_path: Path, hus: OrthancServer, release: str) -> Path:
    home = station_home(tmp_path / "home", hus, release=release)
    config = home / "station.toml"
    text = re.sub(r"(?m)^timeout = [0-9.]+", "timeout = 10.0", config.read_text(encoding="utf-8"))
    config.write_text(text + "\n[imports]\ncommitment_timeout = 15.0\n", encoding="utf-8")
    return home


def _destination(receiver: OrthancServer, **extra: Any) -> str:
    return electronic_destination(DESTINATION, receiver, **extra)


def _request(home: Path, tmp_path: Path, studies: list[tuple[Any, datetime]], **destination: Any) -> dict[str, Any]:
    request = {
        "received_at": "2026-11-26T09:12:00+02:00",
        "patient": {"name": NAME, "hetu": HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": "Liisa Virtanen"},
        "requester": {"unit": DESTINATION, "person": "Liisa Virtanen"},
        "basis": {"kind": "consent", "reference": "HUS suostumus 2026-0042"},
        "destination": {"kind": "service_provider", "name": DESTINATION, "participates_in_care": True,
                        **destination},
        "channel": "auto",
        "studies": [{"accession_number": info.accession, "study_description": info.study_description,
                     "study_datetime": moment.isoformat()} for info, moment in studies],
    }
    path = tmp_path / f"request-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    return run_json("request", "add", str(path), home=home)


def _all_uids(studies: list[tuple[Any, datetime]]) -> set[str]:
    return {uid for info, _ in studies for uid in info.sop_instance_uids}


def _nothing_billed_one_entry(home: Path, channel: str) -> list[dict[str, Any]]:
    entries = run_json("log", "patient", HETU, home=home)["disclosures"]
    assert [e["channel"] for e in entries] == [channel]
    lines = run_json("billing", "export", "--from", "2000-01-01", "--to", "2100-12-31", "--format", "json",
                     home=home)["lines"]
    assert lines == []  # R17: electronic releases and register copies are not billed
    assert run_json("shipments", "list", home=home)["shipments"] == []  # nothing posted
    return entries


def test_an_electronic_release_arrives_whole_verified_logged_once_and_unbilled(
        tmp_path: Path, hus: Archive, receiver: Archive) -> None:
    studies = _studies(hus, tmp_path)
    home = _home(tmp_path, hus, _destination(receiver, commitment=True))
    added = _request(home, tmp_path, studies)
    assert added["channel"] == "electronic"  # R6: the link exists
    export = run("export", added["request_id"], home=home)
    assert export.returncode == 1 and "not on media" in export.stderr
    doc = run_json("send", added["request_id"], home=home, timeout=300)
    assert doc["state"] == "done" and doc["verification"] == "storage_commitment"
    assert doc["destination"]["ae_title"] == "KYMSPACS" and doc["destination"]["method"] == "relay"
    assert [(s["sent"], s["already_present"], s["failed"], s["verification"]) for s in doc["studies"]] == \
        [(4, 0, [], "committed"), (4, 0, [], "committed")]
    assert set(sop_uids(receiver)) == _all_uids(studies)  # unchanged SOP Instance UIDs, each once
    entries = _nothing_billed_one_entry(home, "electronic")
    assert entries[0]["seq"] == doc["disclosure_seq"]
    again = run("send", added["request_id"], "--json", home=home)
    assert again.returncode == 1 and "already sent" in json.loads(again.stdout)["error"]["message"]
    assert len(run_json("log", "patient", HETU, home=home)["disclosures"]) == 1


def test_a_destination_taking_only_explicit_le_gets_j2k_decoded_losslessly(tmp_path: Path, hus: Archive) -> None:
    plain = Archive(ae_title="PLAINPACS", station_port=hus.station_port, folder=tmp_path / "plain",
                    accepts=[EXPLICIT_LE]).start()
    try:
        studies = _studies(hus, tmp_path)
        home = _home(tmp_path, hus, _destination(plain))
        added = _request(home, tmp_path, studies)
        doc = run_json("send", added["request_id"], home=home, timeout=300)
        assert doc["verification"] == "c-find" and doc["studies"][0]["converted"] == 4
        held = sop_uids(plain)
        assert set(held) == _all_uids(studies)
        original = studies[0][0]
        for path in original.files:
            source = dcmread(path)
            arrived = dcmread(_download(plain, held[source.SOPInstanceUID]))
            assert arrived.file_meta.TransferSyntaxUID == EXPLICIT_LE
            assert np.array_equal(arrived.pixel_array, source.pixel_array)  # lossless
    finally:
        plain.close()


def _download(pacs: OrthancServer, orthanc_id: str) -> Any:
    from io import BytesIO

    with urllib.request.urlopen(f"{pacs.url}/instances/{orthanc_id}/file", timeout=10) as response:
        return BytesIO(response.read())


def test_a_transfer_broken_by_the_destination_resumes_without_sending_twice(
        tmp_path: Path, hus: Archive, receiver: Archive) -> None:
    studies = _studies(hus, tmp_path, images=150, size=256)
    home = _home(tmp_path, hus, _destination(receiver))
    added = _request(home, tmp_path, studies)
    process = subprocess.Popen([sys.executable, "-m", "mediastation", "--home", str(home), "send", added["request_id"],
                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.monotonic() + 120
    while receiver.instance_count() < 10:
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.02)
    os.kill(receiver.pid, signal.SIGKILL)  # the other hospital's archive goes down mid-transfer
    receiver.wait_stopped()
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 3, (stdout, stderr)
    assert "Traceback" not in stderr and json.loads(stdout)["error"]["state"] == "failed"
    assert run_json("log", "patient", HETU, home=home)["disclosures"] == []  # nothing recorded
    receiver.start()
    before = {uid: receiver.rest(f"/instances/{i}/metadata?expand")["ReceptionDate"]
              for uid, i in sop_uids(receiver).items()}
    assert 0 < len(before) < 300
    time.sleep(1.1)
    doc = run_json("send", added["request_id"], home=home, timeout=300)
    assert doc["state"] == "done"
    assert sum(s["sent"] + s["already_present"] for s in doc["studies"]) == 300
    after = {uid: receiver.rest(f"/instances/{i}/metadata?expand")["ReceptionDate"]
             for uid, i in sop_uids(receiver).items()}
    assert set(after) == _all_uids(studies)
    assert {uid: after[uid] for uid in before} == before  # what arrived before the break was not sent again
    _nothing_billed_one_entry(home, "electronic")


def test_c_move_by_the_archive_that_knows_the_destination(tmp_path: Path, hus: Archive, receiver: Archive) -> None:
    studies = _studies(hus, tmp_path)
    hus.knows("kyms", receiver)
    home = _home(tmp_path, hus, _destination(receiver, method="c-move"))
    added = _request(home, tmp_path, studies)
    doc = run_json("send", added["request_id"], home=home, timeout=300)
    assert doc["destination"]["method"] == "c-move" and doc["verification"] == "c-find"
    assert [s["sent"] for s in doc["studies"]] == [4, 4]
    assert set(sop_uids(receiver)) == _all_uids(studies)
    assert not (home / "jobs" / doc["job_id"] / "retrieved").exists()  # nothing passed through the station
    _nothing_billed_one_entry(home, "electronic")


def test_c_move_to_a_destination_the_archive_does_not_know_is_refused_clearly(
        tmp_path: Path, hus: Archive, receiver: Archive) -> None:
    studies = _studies(hus, tmp_path)
    home = _home(tmp_path, hus, _destination(receiver, method="c-move"))
    added = _request(home, tmp_path, studies)
    failed = run("send", added["request_id"], "--json", home=home, timeout=300)
    assert failed.returncode == 3 and "Traceback" not in failed.stderr
    message = json.loads(failed.stdout)["error"]["message"]
    assert "refused to move" in message and "destination AE KYMSPACS" in message
    assert sop_uids(receiver) == {} and run_json("log", "patient", HETU, home=home)["disclosures"] == []


def test_a_node_nobody_configured_gets_nothing(tmp_path: Path, hus: Archive, receiver: Archive) -> None:
    studies = _studies(hus, tmp_path)
    home = _home(tmp_path, hus, _destination(receiver))
    stranger = {"ae_title": "STRANGER", "host": "127.0.0.1", "port": receiver.dicom_port}
    added = _request(home, tmp_path, studies, dicom_node=stranger)
    assert added["channel"] == "electronic"
    refused = run("send", added["request_id"], "--json", home=home)
    assert refused.returncode == 1
    error = json.loads(refused.stdout)["error"]
    assert error["reason"] == "unconfigured_node" and "STRANGER" in error["message"]
    assert sop_uids(receiver) == {} and run_json("jobs", "list", home=home)["jobs"] == []
    assert run_json("log", "patient", HETU, home=home)["disclosures"] == []


def test_a_register_copy_moves_between_the_registers_nodes(tmp_path: Path, hus: Archive, receiver: Archive) -> None:
    studies = _studies(hus, tmp_path)
    hus.knows("register", receiver)
    registers = (
        '[[release.registers]]\ncode = "HUS-yhtyma"\nlabel = "HUS-yhtymä"\nuusimaa_area = true\n'
        f'ae_title = "{hus.ae_title}"\nhost = "{hus.host}"\nport = {hus.dicom_port}\n'
        '[[release.registers]]\ncode = "Kymsote"\nlabel = "Kymsote"\n'
        f'ae_title = "{receiver.ae_title}"\nhost = "{receiver.host}"\nport = {receiver.dicom_port}\n')
    home = _home(tmp_path, hus, registers)
    request = {
        "received_at": "2026-11-26T09:12:00+02:00", "patient": {"name": NAME, "hetu": HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": "Liisa Virtanen"},
        "requester": {"unit": "Kymsote", "person": "Liisa Virtanen"},
        "basis": {"kind": "consent", "reference": "HUS suostumus 2026-0043"},
        "destination": {"kind": "register", "name": "Kymsote", "participates_in_care": True},
        "channel": "auto",
        "studies": [{"accession_number": info.accession, "study_description": info.study_description,
                     "study_datetime": moment.isoformat(), "register": "HUS-yhtyma"} for info, moment in studies],
    }
    path = tmp_path / "register.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    added = run_json("request", "add", str(path), home=home)
    assert added["channel"] == "register_copy", added
    doc = run_json("send", added["request_id"], home=home, timeout=300)
    assert doc["channel"] == "register_copy" and doc["destination"]["method"] == "c-move"
    assert set(sop_uids(receiver)) == _all_uids(studies)
    _nothing_billed_one_entry(home, "register_copy")
