"""`mediastation import scan|run` against a real Orthanc: what must arrive
arrives with the local identity and its original UIDs, what must not is reported with a reason,
every file of the medium is accounted for once, an interrupted import finishes without duplicates
and the import is billed once."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom import dcmread
from support.cli import REPO, run, run_json
from support.orthanc import OrthancServer, _die_with_parent, free_port
from support.outside_media import (
    OUTSIDE_ISSUER,
    copy_testdata,
    make_dicomdir,
    new_instance_like,
    non_dicom_files,
    outside_study,
    restamp,
    without_preamble,
    xorriso_iso,
    zip_tree,
)
from support.damaged_media import other_pixels
from support.synthetic import make_study

HETU = "010594Y9032"
OTHER_HETU = "131052-308T"
UNCOMPRESSED_ONLY = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]


class Station:
    """A station home pointed at one archive; `run` calls the CLI as a user would."""

    def __init__(self, home: Path, pacs: OrthancServer) -> None:
        self.home = home
        assert run("init", "--archive-host", pacs.host, "--archive-port", str(pacs.dicom_port),
                   "--archive-ae", pacs.ae_title, home=home).returncode == 0
        self.point_at(pacs)

    def point_at(self, pacs: OrthancServer) -> None:
        config = self.home / "station.toml"
        text = config.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^port = \d+(\s+# our listening)", rf"port = {pacs.station_port}\1", text)
        text = re.sub(r"(?m)^(\[archive\][^\[]*?)^port = \d+", rf"\1port = {pacs.dicom_port}", text, flags=re.DOTALL)
        text = re.sub(r"(?m)^timeout = [0-9.]+", "timeout = 10.0", text)
        if "[imports]" not in text:
            text += "\n[imports]\ncommitment_timeout = 15.0\n"
        config.write_text(text, encoding="utf-8")

    def scan(self, source: Path) -> dict[str, Any]:
        return run_json("import", "scan", str(source), home=self.home)

    def run(self, source: Path, *args: str, expect: int = 0) -> dict[str, Any]:
        return run_json("import", "run", str(source), *args, home=self.home, expect=expect, timeout=300)

    def invoice_lines(self) -> list[dict[str, Any]]:
        day = time.strftime("%Y-%m-%d")
        return run_json("billing", "export", "--from", day, "--to", day, "--format", "json", home=self.home)["lines"]


@pytest.fixture
def station(fresh_orthanc: OrthancServer, tmp_path: Path) -> Station:
    return Station(tmp_path / "home", fresh_orthanc)


def archived(pacs: OrthancServer) -> dict[str, dict[str, Any]]:
    """Every instance in the archive by SOP Instance UID: its full tags (simplified)."""
    found = {}
    for instance_id in pacs.rest("/instances"):
        tags = pacs.rest(f"/instances/{instance_id}/tags?simplify")
        tags["_id"] = instance_id
        found[tags["SOPInstanceUID"]] = tags
    return found


def files_on(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def outcomes(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    paths = [f["path"] for f in document["files"]]
    assert len(paths) == len(set(paths)), "a file appears twice"
    return {f["path"]: (f["outcome"], f["reason"]) for f in document["files"]}


# -- a typical outside disc ---------------------------------------------------------------------------------
@pytest.fixture
def disc(tmp_path: Path) -> dict[str, Any]:
    """Two patients, a second study in JPEG 2000, a copy and a conflict, a zip, a viewer, a DICOMDIR."""
    root = tmp_path / "disc"
    ct = outside_study(root, "DICOM/ST1", images=3, seed=101)
    j2k = outside_study(root, "DICOM/ST2", images=2, seed=102, transfer_syntax="1.2.840.10008.1.2.4.90", modality="MR")
    other = outside_study(root, "DICOM/ST3", patient_id="JOR-0815", patient_name="Öhman^Åsa", birth_date="19700202",
                          sex="F", images=2, seed=103)
    make_dicomdir(root)
    extras = non_dicom_files(root)
    (root / "BACKUP").mkdir()
    shutil.copyfile(ct.files[0], root / "BACKUP" / "COPY1")
    other_pixels(j2k.files[1], root / "BACKUP" / "CONFLICT")  # the same UIDs, another image
    zipped = outside_study(tmp_path / "z", "ZIP", images=2, seed=104)
    zip_tree([(f, f"study/{f.name}") for f in zipped.files], root / "EXPORT.ZIP", extra={"../../escape": b"x"})
    return {"root": root, "ct": ct, "j2k": j2k, "other": other, "zipped": zipped, "extras": extras}


def test_scan_lists_groups_and_every_file_once(station: Station, disc: dict[str, Any]) -> None:
    doc = station.scan(disc["root"])
    assert doc["dicomdir"] == "broken"  # the zip's and BACKUP's instances are not in the DICOMDIR
    paths = [f["path"] for f in doc["files"]]
    expected = files_on(disc["root"]) | {f"EXPORT.ZIP/study/{f.name}" for f in disc["zipped"].files} | {"EXPORT.ZIP/../../escape"}
    assert sorted(paths) == sorted(expected)
    groups = {g["name"]: g for g in doc["patients"]}
    assert set(groups) == {"Virtanen^Ville", "Öhman^Åsa"}
    ville = groups["Virtanen^Ville"]
    assert (ville["patient_id"], ville["issuer"], ville["birth_date"], ville["suggested_hetu"]) == \
        ("JOR-4711", OUTSIDE_ISSUER, "19800101", None)
    assert sorted(s["instances"] for s in ville["studies"]) == [1, 2, 3]  # the conflicting pair is not counted
    kinds = {f["path"]: (f["kind"], f["reason"]) for f in doc["files"]}
    assert kinds["BACKUP/COPY1"] == ("instance", "duplicate")
    assert kinds["BACKUP/CONFLICT"] == ("instance", "duplicate_conflict")
    assert kinds["EXPORT.ZIP/../../escape"] == ("unreadable", "unsafe_path")
    assert kinds["VIEWER/VIEWER.EXE"] == ("non_dicom", "executable")


def test_import_coerces_identity_keeps_uids_and_accounts_for_every_file(
        station: Station, disc: dict[str, Any], fresh_orthanc: OrthancServer) -> None:
    keys = {g["name"]: g["key"] for g in station.scan(disc["root"])["patients"]}
    ville = keys["Virtanen^Ville"]
    doc = station.run(disc["root"], "--map", f"{ville}={HETU}", "--name", f"{ville}=Mäkelä^Aino",
                      "--accession", "HUS-IMP-77", "--operator", "Liisa Virtanen")
    assert doc["state"] == "partial"  # Åsa's group is not mapped, the conflict is not sent
    result = outcomes(doc)
    expected_files = files_on(disc["root"]) | {f"EXPORT.ZIP/study/{f.name}" for f in disc["zipped"].files} | \
        {"EXPORT.ZIP/../../escape"}
    assert set(result) == expected_files
    root = disc["root"]
    sent = [*disc["ct"].files, disc["j2k"].files[0], *[root / "EXPORT.ZIP" / "study" / f.name for f in disc["zipped"].files]]
    for path in sent:
        assert result[path.relative_to(root).as_posix()][0] == "imported"
    assert result[disc["j2k"].files[1].relative_to(root).as_posix()] == ("rejected", "duplicate_conflict")
    assert result["BACKUP/CONFLICT"] == ("rejected", "duplicate_conflict")
    assert result["BACKUP/COPY1"] == ("skipped", "duplicate")
    for path in disc["other"].files:
        assert result[path.relative_to(root).as_posix()] == ("unreconciled", "not_mapped")
    for name, reason in disc["extras"].items():
        assert result[name] == ("skipped", reason)
    assert result["DICOMDIR"] == ("skipped", "dicomdir")
    assert result["EXPORT.ZIP/../../escape"] == ("rejected", "unsafe_path")

    in_pacs = archived(fresh_orthanc)
    expected_uids = {*disc["ct"].sop_instance_uids, disc["j2k"].sop_instance_uids[0], *disc["zipped"].sop_instance_uids}
    assert set(in_pacs) == expected_uids
    studies = {disc["ct"].info.study_instance_uid, disc["j2k"].info.study_instance_uid,
               disc["zipped"].info.study_instance_uid}
    for tags in in_pacs.values():
        assert (tags["PatientID"], tags["PatientName"], tags["IssuerOfPatientID"], tags["PatientBirthDate"]) == \
            (HETU, "Mäkelä^Aino", "1.2.246.21", "19940501")
        assert tags["StudyInstanceUID"] in studies
        assert tags["AccessionNumber"] == "HUS-IMP-77"
        assert tags["PatientSex"] == "M"  # nobody local said otherwise: the outside value stays
        assert tags["OtherPatientIDsSequence"][0]["PatientID"] == "JOR-4711"
        original = tags["OriginalAttributesSequence"][-1]
        assert original["ReasonForTheAttributeModification"] == "COERCE"
        assert original["SourceOfPreviousValues"] == "Jorvin sairaala"
        assert original["ModifiedAttributesSequence"][0]["PatientName"] == "Virtanen^Ville"
        assert tags["InstanceOriginStatus"] == "IMPORTED"
    j2k = in_pacs[disc["j2k"].sop_instance_uids[0]]
    assert fresh_orthanc.rest(f"/instances/{j2k['_id']}/metadata?expand")["TransferSyntax"] == "1.2.840.10008.1.2.4.90"

    by_study = {s["study_instance_uid"]: s for s in doc["studies"]}
    assert by_study[disc["ct"].info.study_instance_uid]["imported"] == 3
    assert by_study[disc["other"].info.study_instance_uid]["unreconciled"] == 2
    assert doc["commitment"]["state"] == "committed" and doc["commitment"]["committed"] == len(expected_uids)
    assert len(doc["invoice_lines"]) == 1
    (line,) = station.invoice_lines()
    assert line["reference"] == doc["job_id"] and line["item_code"] == "IMPORT-MEDIA" and line["quantity"] == 3
    receipt = subprocess.run(["pdftotext", doc["report"], "-"], capture_output=True, text=True, check=True).stdout
    assert HETU in receipt and "Mäkelä" in receipt and "Liisa Virtanen" in receipt
    assert all(path.split("/")[-1] in receipt for path in result)  # every file is on the receipt


class UncompressedOrthanc(OrthancServer):
    """An archive that accepts only Implicit and Explicit VR Little Endian, and no private SOP class."""

    def configuration(self, storage: Path) -> dict[str, Any]:
        return {**super().configuration(storage), "AcceptedTransferSyntaxes": UNCOMPRESSED_ONLY,
                "UnknownSopClassAccepted": False}


@pytest.fixture
def uncompressed_orthanc(tmp_path_factory: pytest.TempPathFactory):
    server = UncompressedOrthanc(ae_title="HUSPACS", station_port=free_port(),
                                 folder=tmp_path_factory.mktemp("uncompressed-orthanc"))
    with server:
        yield server


def test_iso_with_every_syntax_into_an_archive_that_takes_only_uncompressed(
        uncompressed_orthanc: OrthancServer, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    studies = [outside_study(tree, f"DICOM/S{n}", images=2, seed=200 + n, transfer_syntax=ts)
               for n, ts in enumerate(["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.5",
                                       "1.2.840.10008.1.2"])]
    identity = dict(PatientID="JOR-4711", PatientName="Virtanen^Ville", IssuerOfPatientID=OUTSIDE_ISSUER,
                    PatientBirthDate="19800101")
    for name, target in (("MR_small_bigendian.dcm", "BIGEND"), ("image_dfl.dcm", "DEFLATE"),
                         ("SC_rgb_jpeg_dcmtk.dcm", "JPEGLOSS")):
        restamp(copy_testdata(name, tree / "OTHER" / target), **identity)
    without_preamble(studies[3].files[0], tree / "OTHER" / "RAW")
    studies[3].files[0].unlink()
    private = tree / "OTHER" / "PRIVATE"  # a vendor's own SOP class the archive does not know (R-E4)
    new_instance_like(studies[2].files[0], private, SOPClassUID="1.2.826.0.1.3680043.8.498.77.1",
                      SOPInstanceUID="1.2.826.0.1.3680043.8.498.77.2")
    originals = {ds.SOPInstanceUID: ds for ds in (dcmread(p, force=True) for p in tree.rglob("*") if p.is_file())}
    originals.pop("1.2.826.0.1.3680043.8.498.77.2")
    station = Station(tmp_path / "home", uncompressed_orthanc)
    image = xorriso_iso(tree, tmp_path / "outside.iso")
    doc = station.run(image, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
    assert doc["state"] == "partial" and doc["counts"] == {"imported": len(originals), "rejected": 1}, doc["counts"]
    assert outcomes(doc)["OTHER/PRIVATE"] == ("rejected", "sop_class_not_accepted")
    converted = {f["sop_instance_uid"]: f.get("converted_from") for f in doc["files"]}
    # Implicit VR files, the one without a meta header too, go as they are; everything else is re-encoded
    assert all(bool(converted[uid]) == (_syntax(originals[uid]) not in ("1.2.840.10008.1.2", "raw"))
               for uid in originals)
    in_pacs = archived(uncompressed_orthanc)
    assert set(in_pacs) == set(originals)
    for uid, tags in in_pacs.items():
        stored = dcmread(_download(uncompressed_orthanc, tags["_id"], tmp_path))
        assert stored.file_meta.TransferSyntaxUID in UNCOMPRESSED_ONLY and stored.PatientID == HETU
        original = originals[uid]
        if _syntax(original) == "1.2.840.10008.1.2.4.50":
            assert stored.LossyImageCompression == "01"  # R-E3: a decompressed lossy image stays lossy-marked
        else:
            if "TransferSyntaxUID" not in original.file_meta:  # the file without meta header
                original.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2"
            assert np.array_equal(stored.pixel_array, original.pixel_array), uid


def _syntax(ds: Any) -> str:
    return str(ds.file_meta.get("TransferSyntaxUID", "raw"))


def _download(pacs: OrthancServer, instance_id: str, tmp_path: Path) -> Path:
    import urllib.request

    target = tmp_path / f"{instance_id}.dcm"
    with urllib.request.urlopen(f"{pacs.url}/instances/{instance_id}/file", timeout=10) as response:
        target.write_bytes(response.read())
    return target


def test_same_medium_again_stores_and_bills_nothing_new(station: Station, fresh_orthanc: OrthancServer,
                                                        tmp_path: Path) -> None:
    root = tmp_path / "stick"
    study = outside_study(root, "A", images=3, seed=301)
    first = station.run(root, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
    assert first["state"] == "done" and first["counts"] == {"imported": 3}
    received = {uid: _reception(fresh_orthanc, t["_id"]) for uid, t in archived(fresh_orthanc).items()}
    time.sleep(1.1)  # Orthanc's reception time has one-second resolution
    again = station.run(root, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
    assert (again["job_id"], again.get("note"), again["invoice_lines"]) == \
        (first["job_id"], "already_imported", first["invoice_lines"])
    copy = tmp_path / "copy"  # another medium with the same instances (e.g. the patient's second disc)
    shutil.copytree(root / "A", copy / "X" / "A")
    other = station.run(copy, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
    assert other["job_id"] != first["job_id"]
    assert {f["outcome"] for f in other["files"]} == {"already_present"} and other["invoice_lines"] == []
    assert {uid: _reception(fresh_orthanc, t["_id"]) for uid, t in archived(fresh_orthanc).items()} == received
    assert len(station.invoice_lines()) == 1
    assert set(received) == set(study.sop_instance_uids)


def _reception(pacs: OrthancServer, instance_id: str) -> str:
    return pacs.rest(f"/instances/{instance_id}/metadata?expand")["ReceptionDate"]


def test_an_instance_in_the_archive_under_another_patient_is_not_overwritten(
        station: Station, fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    root = tmp_path / "stick"
    outside_study(root, "A", images=2, seed=401)
    station.run(root, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
    doc = station.run(root, "--map", f"P1={OTHER_HETU}", "--name", "P1=Toinen^Potilas", expect=1)
    assert {f["outcome"] for f in doc["files"]} == {"rejected"}
    assert {f["reason"] for f in doc["files"]} == {"present_under_other_patient"}
    assert {t["PatientID"] for t in archived(fresh_orthanc).values()} == {HETU}


def test_a_patient_the_archive_knows_gets_the_archives_demographics(
        station: Station, fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    known = make_study(tmp_path / "local", images=1, patient_id=HETU, patient_name="Mäkelä^Aino^Inkeri")
    fresh_orthanc.store(known.files)
    root = tmp_path / "stick"
    outside_study(root, "A", images=2, seed=501, sex="F")
    doc = station.run(root, "--map", f"P1={HETU}")  # no --name: the archive knows the HETU
    assert doc["patients"][0]["demographics_from"] == "pacs"
    imported = [t for uid, t in archived(fresh_orthanc).items() if uid not in known.sop_instance_uids]
    assert len(imported) == 2
    assert {(t["PatientName"], t["PatientSex"]) for t in imported} == {("Mäkelä^Aino^Inkeri", "M")}


def test_refusals_name_every_problem_and_store_nothing(station: Station, fresh_orthanc: OrthancServer,
                                                       tmp_path: Path) -> None:
    root = tmp_path / "stick"
    outside_study(root, "A", images=1, seed=601)
    bad = station.run(root, "--map", "P1=010594Y9033", "--map", "P7=010594Y9032", expect=1)
    assert bad["error"]["code"] == "import_refused"
    assert any("check character" in p for p in bad["error"]["problems"])
    assert any("P7: no such group" in p for p in bad["error"]["problems"])
    assert bad["error"]["patients"][0]["key"] == "P1"  # the groups, so the operator can fix the mapping
    unknown = station.run(root, "--map", f"P1={HETU}", expect=1)
    assert "--name P1=" in unknown["error"]["message"]
    nothing = station.run(root, expect=1)
    assert "nothing is mapped" in nothing["error"]["message"]
    assert fresh_orthanc.instance_count() == 0


def test_an_archive_that_does_not_answer_is_exit_3(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", "--archive-host", "127.0.0.1", "--archive-port", str(free_port()), "--archive-ae", "NOBODY",
               home=home).returncode == 0
    root = tmp_path / "stick"
    outside_study(root, "A", images=1, seed=701)
    doc = run_json("import", "run", str(root), "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino", home=home, expect=3)
    assert doc["error"]["code"] == "pacs_failed" and "NOBODY" in doc["error"]["message"]


# -- interrupted imports -------------------------------------------------------------------------------------
class PersistentOrthanc(OrthancServer):
    """An Orthanc whose archive survives a restart (the harness starts each one empty)."""

    def _launch(self, binary: str) -> None:
        self._dicom_port, self._http_port = free_port(), free_port()
        storage = self.folder / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config_path = self.folder / "orthanc.json"
        config_path.write_text(json.dumps(self.configuration(storage), indent=2), encoding="utf-8")
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [*_die_with_parent(), binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env={**os.environ, "TCP_NODELAY": "1"}, cwd=self.folder)


def start_import(station: Station, source: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "mediastation", "--home", str(station.home), "import", "run", str(source), *args,
           "--json"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def wait_for_instances(pacs: OrthancServer, at_least: int, process: subprocess.Popen[str], timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        count = pacs.instance_count()
        if count >= at_least:
            return count
        time.sleep(0.02)
    raise AssertionError(f"the import ended (or stalled) before {at_least} instances arrived: {process.poll()}")


@pytest.fixture
def big_stick(tmp_path: Path) -> tuple[Path, set[str]]:
    root = tmp_path / "stick"
    uids: set[str] = set()
    for n in range(4):
        uids |= set(outside_study(root, f"S{n}", images=60, seed=800 + n).sop_instance_uids)
    return root, uids


def test_killed_import_runs_again_without_sending_anything_twice(
        station: Station, fresh_orthanc: OrthancServer, big_stick: tuple[Path, set[str]]) -> None:
    root, uids = big_stick
    args = ("--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
    process = start_import(station, root, *args)
    wait_for_instances(fresh_orthanc, 40, process)
    os.kill(process.pid, signal.SIGKILL)  # power cut on the station, say
    process.communicate(timeout=30)
    time.sleep(1.5)  # the archive finishes storing what was in flight
    before = {uid: _reception(fresh_orthanc, t["_id"]) for uid, t in archived(fresh_orthanc).items()}
    assert 0 < len(before) < len(uids)
    time.sleep(1.1)
    doc = station.run(root, *args)
    assert doc["state"] == "done" and doc["counts"] == {"imported": len(uids)}
    after = {uid: _reception(fresh_orthanc, t["_id"]) for uid, t in archived(fresh_orthanc).items()}
    assert set(after) == uids
    assert {uid: after[uid] for uid in before} == before  # what arrived before the kill was not sent again
    assert len(station.invoice_lines()) == 1


def test_archive_stopping_half_way_then_the_same_import_again(tmp_path: Path, big_stick: tuple[Path, set[str]]) -> None:
    root, uids = big_stick
    pacs = PersistentOrthanc(ae_title="HUSPACS", station_port=free_port(), folder=tmp_path / "pacs")
    pacs.start()
    try:
        station = Station(tmp_path / "home", pacs)
        args = ("--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
        process = start_import(station, root, *args)
        wait_for_instances(pacs, 40, process)
        os.kill(pacs.pid, signal.SIGKILL)  # the archive dies under the import
        pacs.wait_stopped()
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 3, stderr
        first = json.loads(stdout)
        assert first["state"] in ("partial", "failed") and first["counts"].get("failed")
        assert {f["reason"].split(":")[0] for f in first["files"] if f["outcome"] == "failed"} <= \
            {"pacs_unreachable", "not_verified"}
        assert first["invoice_lines"] == []  # nothing is billed before the import is complete
        assert sum(1 for f in first["files"] if f["outcome"] != "failed") + first["counts"]["failed"] == len(uids)
        pacs.start()
        station.point_at(pacs)
        doc = station.run(root, *args)
        assert doc["job_id"] == first["job_id"] and doc["state"] == "done"
        assert doc["counts"] == {"imported": len(uids)}
        assert set(archived(pacs)) == uids and pacs.instance_count() == len(uids)
        assert len(station.invoice_lines()) == 1
    finally:
        pacs.close()


def test_show_list_and_the_text_output(station: Station, fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    root = tmp_path / "stick"
    outside_study(root, "A", images=1, seed=901, patient_id=HETU, birth_date="19940501", issuer="")
    scan = run("import", "scan", str(root), home=station.home)
    assert scan.returncode == 0 and f"--map P1={HETU}" in scan.stdout  # the suggestion, for the operator to confirm
    doc = station.run(root, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino", "--language", "sv")
    shown = run_json("import", "show", doc["job_id"].lower(), home=station.home)
    assert (shown["job_id"], shown["counts"]) == (doc["job_id"], {"imported": 1})
    listed = run_json("import", "list", home=station.home)["jobs"]
    assert [j["job_id"] for j in listed] == [doc["job_id"]]
    text = run("import", "show", doc["job_id"], home=station.home)
    assert text.returncode == 0 and "imported 1" in text.stdout
    receipt = subprocess.run(["pdftotext", doc["report"], "-"], capture_output=True, text=True, check=True).stdout
    assert "inläsning" in receipt.lower()  # --language sv
    missing = run_json("import", "show", "I-NOSUCHJOB", home=station.home, expect=1)
    assert missing["error"]["code"] == "not_found"
