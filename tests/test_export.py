"""Export from the real Orthanc to verified ISO images, through the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.fileset import FileSet

from support.cli import run, run_json
from support.synthetic import make_study
from support.viewer_disc import extract_iso

HETU = "010594Y9032"
NAME = "Mäkelä^Åsa"


@pytest.fixture(scope="module")
def archive(orthanc, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Three studies of one patient in Orthanc: uncompressed, JPEG 2000 and RLE (the last two need
    transcoding for a CD), ISO_IR 100 and ISO_IR 192 names."""
    folder = tmp_path_factory.mktemp("studies")
    tag = uuid.uuid4().hex[:6].upper()
    specs = [
        (f"A{tag}1", "TT VATSA", datetime(2026, 11, 20, 10, 31), "CT", "1.2.840.10008.1.2.1", "ISO_IR 100", 6, 2),
        (f"A{tag}2", "MT AIVOT", datetime(2026, 10, 2, 8, 15), "MR", "1.2.840.10008.1.2.4.90", "ISO_IR 192", 5, 1),
        (f"A{tag}3", "KEUHKOKUVA", datetime(2025, 1, 7, 14, 2), "CR", "1.2.840.10008.1.2.5", "ISO_IR 100", 2, 1),
    ]
    studies = []
    for accession, description, moment, modality, syntax, charset, images, series in specs:
        info = make_study(folder / accession, modality=modality, images=images, series=series,
                          patient_name=NAME, patient_id=HETU, accession=accession, study_description=description,
                          study_datetime=moment, transfer_syntax=syntax, charset=charset, rows=96, cols=96)
        orthanc.store(list(info.files))
        studies.append((info, moment))
    return studies


@pytest.fixture
def home(orthanc, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    result = run("init", "--archive-host", orthanc.host, "--archive-port", str(orthanc.dicom_port),
                 "--archive-ae", orthanc.ae_title, home=home)
    assert result.returncode == 0, result.stderr
    return home


def _request(tmp_path: Path, studies, **changes) -> Path:  # type: ignore[no-untyped-def]
    request = {
        "received_at": "2026-11-26T09:12:00+02:00",
        "patient": {"name": NAME, "hetu": HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": "Liisa Virtanen"},
        "requester": {"unit": "Jorvin sairaala", "person": "Liisa Virtanen"},
        "basis": {"kind": "consent", "reference": "HUS suostumus 2026-0042"},
        "destination": {"kind": "service_provider", "name": "Terveystalo Kamppi", "participates_in_care": True,
                        "address": {"name": "Terveystalo Kamppi", "street": "Jaakonkatu 3",
                                    "postal_code": "00100", "city": "Helsinki"}},
        "channel": "cd",
        "studies": [{"accession_number": info.accession, "study_description": info.study_description,
                     "study_datetime": moment.isoformat()} for info, moment in studies],
    }
    request.update(changes)
    path = tmp_path / f"request-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    return path


def _add(home: Path, request: Path) -> str:
    return run_json("request", "add", str(request), home=home)["request_id"]


def _dciodvfy_errors(path: Path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=120)
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")]


def test_export_from_orthanc_gives_a_valid_pdi_disc(home: Path, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    request_id = _add(home, _request(tmp_path, archive))
    out = tmp_path / "out"
    doc = run_json("export", request_id, "--to", str(out), "--mkdir", home=home, timeout=600)
    assert doc["state"] == "done" and len(doc["media"]) == 1
    medium = doc["media"][0]
    assert medium["kind"] == "cd" and medium["profile"] == "STD-GEN-CD"
    assert medium["instances"] == sum(info.instance_count for info, _ in archive)
    converted = {c["sop_instance_uid"] for c in doc["conversions"]}
    compressed = {uid for info, _ in archive if info.transfer_syntax != "1.2.840.10008.1.2.1"
                  for uid in info.sop_instance_uids}
    assert converted == compressed

    disc = extract_iso(Path(medium["image"]), tmp_path / "disc", lower=False)
    for name in ("DICOMDIR", "README.TXT", "INDEX.HTM", "LETTER.PDF"):
        assert (disc / name).is_file(), name
    assert _dciodvfy_errors(disc / "DICOMDIR") == []
    assert subprocess.run(["dcmdump", "-q", str(disc / "DICOMDIR")], capture_output=True, timeout=60).returncode == 0
    fileset = FileSet(dcmread(disc / "DICOMDIR"))
    assert fileset.ID == medium["fileset_id"]
    paths = [Path(instance.path) for instance in fileset]
    assert len(paths) == medium["instances"] and all(p.is_file() for p in paths)
    names = {str(instance.PatientName) for instance in fileset}
    assert names == {NAME}
    for path in paths:
        assert dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"

    letter = subprocess.run(["pdftotext", "-layout", doc["cover_letter"], "-"], capture_output=True, text=True,
                            timeout=60).stdout
    assert "Åsa Mäkelä" in letter and HETU in letter
    for info, _ in archive:
        assert info.accession in letter

    listing = run_json("log", "patient", HETU, home=home)["disclosures"]
    assert [e["request_id"] for e in listing] == [request_id]
    assert listing[0]["medium_id"] == medium["fileset_id"]


def test_a_study_larger_than_a_cd_spans_two_discs(home: Path, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = home / "station.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("cd_capacity_mb = 700", "cd_capacity_mb = 8.15"), encoding="utf-8")
    request_id = _add(home, _request(tmp_path, archive[:1]))
    doc = run_json("export", request_id, "--to", str(tmp_path / "out"), "--mkdir", home=home, timeout=600)
    assert [m["index"] for m in doc["media"]] == [1, 2] and {m["count"] for m in doc["media"]} == {2}
    assert sum(m["instances"] for m in doc["media"]) == archive[0][0].instance_count
    seen: set[str] = set()
    for medium in doc["media"]:
        disc = extract_iso(Path(medium["image"]), tmp_path / medium["fileset_id"], lower=False)
        assert _dciodvfy_errors(disc / "DICOMDIR") == []
        fileset = FileSet(dcmread(disc / "DICOMDIR"))
        uids = {instance.SOPInstanceUID for instance in fileset}
        assert uids and not uids & seen
        seen |= uids
        assert all(Path(instance.path).is_file() for instance in fileset)
        assert (disc / "LETTER.PDF").is_file() and (disc / "README.TXT").is_file()
        assert Path(medium["label"]).is_file()
    assert seen == set(archive[0][0].sop_instance_uids)


def test_a_mismatching_study_is_refused_and_nothing_is_written(home: Path, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    request = json.loads(_request(tmp_path, archive).read_text(encoding="utf-8"))
    request["studies"][0]["study_description"] = "TT KEUHKOT"
    request["studies"][1]["study_datetime"] = "2026-10-02T09:15:00"
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    request_id = _add(home, path)
    out = tmp_path / "out"
    doc = run_json("export", request_id, "--to", str(out), "--mkdir", home=home, expect=1)
    message = doc["error"]["message"]
    assert "TT KEUHKOT" in message and archive[1][0].accession in message
    assert not out.exists() or not any(out.iterdir())
    assert run_json("log", "patient", HETU, home=home)["disclosures"] == []


def test_only_approved_media_releases_are_exported(home: Path, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    consent_missing = _request(tmp_path, archive, basis={"kind": "care", "reference": ""})
    request_id = _add(home, consent_missing)
    doc = run_json("export", request_id, "--to", str(tmp_path / "out"), "--mkdir", home=home, expect=1)
    assert "needs_consent" in doc["error"]["message"]


def test_archive_down_fails_clearly_then_the_job_resumes_once(home: Path, archive, tmp_path: Path,
                                                              orthanc) -> None:  # type: ignore[no-untyped-def]
    config = home / "station.toml"
    good = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"port = \d+\nae_title = \"" + orthanc.ae_title,
                             "port = 9\nae_title = \"" + orthanc.ae_title, good) + "\n", encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8").replace("timeout = 30.0", "timeout = 2.0"), encoding="utf-8")
    request_id = _add(home, _request(tmp_path, archive[2:]))
    out = tmp_path / "out"
    failed = run_json("export", request_id, "--to", str(out), "--mkdir", home=home, expect=3)
    assert failed["error"]["code"] == "pacs_failed" and failed["error"]["state"] == "failed"
    config.write_text(good, encoding="utf-8")
    first = run_json("export", request_id, "--to", str(out), "--mkdir", home=home, timeout=600)
    assert first["job_id"] == failed["error"]["job_id"] and first["state"] == "done"
    again = run_json("export", request_id, "--to", str(out), "--mkdir", home=home, expect=1)
    assert "--again" in again["error"]["message"]
    assert len(run_json("log", "patient", HETU, home=home)["disclosures"]) == 1
    shipments = run_json("shipments", "list", home=home)["shipments"]
    assert [s["request_id"] for s in shipments] == [request_id]


def test_export_is_billed_once_and_a_returned_medium_is_sent_again(home: Path, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    request_id = _add(home, _request(tmp_path, archive[2:]))
    first = run_json("export", request_id, "--to", str(tmp_path / "out1"), "--mkdir", home=home, timeout=600)
    assert first["invoice_lines"], "a media export to a private provider is billed (R18/R19)"
    lines = run_json("billing", "export", "--from", "2000-01-01", "--to", "2100-12-31", "--format", "json",
                     home=home)["lines"]
    export_lines = [line for line in lines if line["reference"] == request_id]
    assert export_lines and all(Decimal(line["gross"]) > 0 for line in export_lines)
    shipment = first["shipment_id"]
    run_json("shipments", "post", shipment, "--tracking", "RR123456785FI", home=home)  # posted and returned today:
    run_json("shipments", "returned", shipment, home=home)                            # not before the export
    second = run_json("export", request_id, "--to", str(tmp_path / "out2"), "--mkdir", home=home, timeout=600)
    assert second["job_id"] != first["job_id"] and second["shipment_id"] != shipment
    assert second["media"][0]["fileset_id"] != first["media"][0]["fileset_id"]
    items_first = {line for line in first["invoice_lines"]}
    assert items_first & set(second["invoice_lines"]), "the re-sent medium is not billed as a new export"
    assert len(run_json("log", "patient", HETU, home=home)["disclosures"]) >= 2


def test_reports_from_the_archive_and_the_ris_folder_go_on_the_disc(home: Path, orthanc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 9: an SR stored with the study and a RIS folder report both end up readable on the disc;
    the folder one also as an Encapsulated PDF in the DICOMDIR; the letter lists both."""
    from support.sr import IMPRESSION, make_basic_text_sr

    tag = uuid.uuid4().hex[:6].upper()
    with_sr = make_study(tmp_path / "sr", modality="CT", images=2, patient_name=NAME, patient_id=HETU,
                         accession=f"R{tag}1", study_description="TT VATSA", study_datetime=datetime(2026, 3, 1, 8, 0))
    sr = make_basic_text_sr(with_sr.files[0], tmp_path / "sr" / "SR.dcm")
    from_folder = make_study(tmp_path / "ris", modality="MR", images=2, patient_name=NAME, patient_id=HETU,
                             accession=f"R{tag}2", study_description="MT AIVOT",
                             study_datetime=datetime(2026, 3, 2, 9, 0))
    orthanc.store([*with_sr.files, sr, *from_folder.files])
    ris = tmp_path / "ris-reports"
    ris.mkdir()
    (ris / f"r{tag}2.txt").write_text("Aivot: ei muutoksia. Lausunnon antoi Öhman.\n", encoding="utf-8")
    config = home / "station.toml"
    text = config.read_text(encoding="utf-8")
    head, reports = text.split("[reports]", 1)
    config.write_text(head + "[reports]" + reports.replace('folder = ""', f'folder = "{ris}"', 1), encoding="utf-8")
    studies = [(with_sr, datetime(2026, 3, 1, 8, 0)), (from_folder, datetime(2026, 3, 2, 9, 0))]
    request_id = _add(home, _request(tmp_path, studies))
    doc = run_json("export", request_id, "--to", str(tmp_path / "out"), "--mkdir", home=home, timeout=600)
    disc = extract_iso(Path(doc["media"][0]["image"]), tmp_path / "disc", lower=False)
    pdfs = sorted((disc / "REPORTS").iterdir())
    assert [p.name for p in pdfs] == ["R0000001.PDF", "R0000002.PDF"]
    texts = [subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True, timeout=60).stdout for p in pdfs]
    assert any(IMPRESSION in t for t in texts) and any("Lausunnon antoi Öhman" in t for t in texts)
    assert _dciodvfy_errors(disc / "DICOMDIR") == []
    fileset = FileSet(dcmread(disc / "DICOMDIR"))
    kinds = {instance.DirectoryRecordType for instance in fileset}
    assert {"IMAGE", "SR DOCUMENT", "ENCAP DOC"} <= kinds
    encapsulated = [Path(i.path) for i in fileset if i.DirectoryRecordType == "ENCAP DOC"]
    assert len(encapsulated) == 1 and dcmread(encapsulated[0]).StudyInstanceUID == from_folder.study_instance_uid
    letter = subprocess.run(["pdftotext", "-layout", doc["cover_letter"], "-"], capture_output=True, text=True,
                            timeout=60).stdout
    assert letter.count("lausunto mukana") == 2
    assert doc["viewer"][0]["reports_linked"] == 2, "the viewer links both reports next to their studies"


def test_export_burns_to_a_pseudo_drive_and_to_a_fat32_stick_image(home: Path, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 6: the export's workflow writes through the burner interface: xorriso onto a stdio:
    pseudo-drive (a disc image file as the drive) and a FAT32 image as the USB stick; both verified."""
    stick = tmp_path / "stick.img"
    subprocess.run(["truncate", "-s", "64M", str(stick)], check=True)
    subprocess.run(["mkfs.vfat", "-F", "32", "-n", "HUSUSB", str(stick)], check=True, capture_output=True)
    drive = tmp_path / "drive.img"
    config = home / "station.toml"
    config.write_text(config.read_text(encoding="utf-8") + (
        f'\n[[burners.devices]]\nname = "dvd"\nkind = "optical"\ndevice = "stdio:{drive}"\n'
        f'\n[[burners.devices]]\nname = "usb"\nkind = "usb"\ndevice = "{stick}"\n'), encoding="utf-8")
    disc_request = _add(home, _request(tmp_path, archive[2:]))
    burned = run_json("export", disc_request, "--burner", "dvd", home=home, timeout=600)
    assert burned["media"][0]["burner"] == "dvd" and drive.stat().st_size >= burned["media"][0]["bytes"]
    fileset = FileSet(dcmread(extract_iso(drive, tmp_path / "burned", lower=False) / "DICOMDIR"))
    assert {i.SOPInstanceUID for i in fileset} == set(archive[2][0].sop_instance_uids)

    usb_request = _add(home, _request(tmp_path, archive[:1], channel="usb"))
    written = run_json("export", usb_request, "--burner", "usb", home=home, timeout=600)
    medium = written["media"][0]
    assert medium["kind"] == "usb" and medium["profile"].startswith("STD-GEN-USB")
    listing = subprocess.run(["mdir", "-/", "-b", "-i", str(stick), "::/"], capture_output=True, text=True,
                             check=True).stdout
    for name in ("DICOMDIR", "README.TXT", "INDEX.HTM", "LETTER.PDF"):
        assert f"::/{name}" in listing
    assert subprocess.run(["fsck.vfat", "-n", str(stick)], capture_output=True).returncode == 0
