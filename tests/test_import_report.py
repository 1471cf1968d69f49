"""Reports on outside media reach the archive: an SR on the medium is imported like any
instance; a loose PDF the operator marks with `--report PATH=STUDY_UID` is stored as an Encapsulated
PDF instance of that study under the local patient, once, and a wrong mark is refused before
anything is sent."""

from __future__ import annotations

import io
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from support.orthanc import OrthancServer
from support.outside_media import non_dicom_files, outside_study
from support.sr import make_basic_text_sr
from test_import_run import HETU, Station, archived, outcomes

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n% Lausunto: ei merkittavaa loydosta\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def station(fresh_orthanc: OrthancServer, tmp_path: Path) -> Station:
    return Station(tmp_path / "home", fresh_orthanc)


@pytest.fixture
def medium(tmp_path: Path) -> dict[str, Any]:
    """A study with its images and an SR, a loose LAUSUNTO.PDF, and the usual extra files."""
    root = tmp_path / "stick"
    study = outside_study(root, "DICOM/ST1", images=2, seed=901)
    sr = make_basic_text_sr(study.files[0], root / "DICOM" / "ST1" / "S900" / "I0000900")
    (root / "LAUSUNTO.PDF").write_bytes(PDF)
    non_dicom_files(root)
    return {"root": root, "study": study, "sr": sr, "uid": study.info.study_instance_uid}


def stored_file(pacs: OrthancServer, instance_id: str) -> Any:
    with urllib.request.urlopen(f"{pacs.url}/instances/{instance_id}/file", timeout=10) as response:
        return dcmread(io.BytesIO(response.read()))


def test_an_sr_and_a_marked_pdf_arrive_in_the_study_under_the_local_patient(
        station: Station, medium: dict[str, Any], fresh_orthanc: OrthancServer) -> None:
    root, uid = medium["root"], medium["uid"]
    doc = station.run(root, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino", "--report", f"LAUSUNTO.PDF={uid}")
    result = {f["path"]: f for f in doc["files"]}
    report = result["LAUSUNTO.PDF"]
    assert (report["outcome"], report["reason"]) == ("imported", "encapsulated_report")
    assert result["REPORT.PDF"]["outcome"] == "skipped"  # an unmarked PDF stays on the medium
    assert result[medium["sr"].relative_to(root).as_posix()]["outcome"] == "imported"
    assert doc["state"] == "done"
    [study] = doc["studies"]
    assert (study["study_instance_uid"], study["imported"]) == (uid, 4)  # 2 images, the SR, the report

    held = archived(fresh_orthanc)
    assert set(held) == {*medium["study"].sop_instance_uids, dcmread(medium["sr"]).SOPInstanceUID,
                         report["sop_instance_uid"]}
    assert {t["StudyInstanceUID"] for t in held.values()} == {uid}
    assert {t["PatientID"] for t in held.values()} == {HETU}
    assert held[dcmread(medium["sr"]).SOPInstanceUID]["SOPClassUID"] == BASIC_TEXT_SR
    pdf = stored_file(fresh_orthanc, held[report["sop_instance_uid"]]["_id"])
    assert pdf.SOPClassUID == ENCAPSULATED_PDF and pdf.Modality == "DOC"
    assert (str(pdf.PatientID), str(pdf.PatientName), pdf.IssuerOfPatientID) == (HETU, "Mäkelä^Aino", "1.2.246.21")
    assert pdf.EncapsulatedDocument[:pdf.EncapsulatedDocumentLength] == PDF
    assert pdf.SeriesInstanceUID not in {t["SeriesInstanceUID"] for u, t in held.items() if u != pdf.SOPInstanceUID}

    again = station.run(root, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino", "--report", f"LAUSUNTO.PDF={uid}")
    assert (again["job_id"], again.get("note")) == (doc["job_id"], "already_imported")
    assert fresh_orthanc.instance_count() == 4


def test_a_report_marked_after_the_images_went_in_is_stored_once_and_not_billed_again(
        station: Station, medium: dict[str, Any], fresh_orthanc: OrthancServer) -> None:
    root, uid = medium["root"], medium["uid"]
    first = station.run(root, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
    assert outcomes(first)["LAUSUNTO.PDF"][0] == "skipped" and fresh_orthanc.instance_count() == 3
    later = station.run(root, "--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino", "--report", f"lausunto.pdf={uid}")
    assert later["job_id"] != first["job_id"]
    result = outcomes(later)
    assert result["LAUSUNTO.PDF"] == ("imported", "encapsulated_report")
    assert {o for p, (o, _r) in result.items() if p.startswith("DICOM/")} == {"already_present"}
    assert later["invoice_lines"] == []  # the study was billed with its images
    pdfs = [t for t in archived(fresh_orthanc).values() if t["SOPClassUID"] == ENCAPSULATED_PDF]
    assert len(pdfs) == 1 and fresh_orthanc.instance_count() == 4


def test_a_wrong_report_mark_is_refused_and_nothing_is_stored(
        station: Station, medium: dict[str, Any], fresh_orthanc: OrthancServer) -> None:
    root, uid = medium["root"], medium["uid"]
    base = ("--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
    cases = {f"MISSING.PDF={uid}": "no such file on the medium", f"README.TXT={uid}": "not a PDF",
             "LAUSUNTO.PDF=1.2.3.4.5": "not a study of a mapped group", "LAUSUNTO.PDF": "expected PATH=STUDY_UID"}
    for mark, problem in cases.items():
        bad = station.run(root, *base, "--report", mark, expect=1)
        assert bad["error"]["code"] == "import_refused" and problem in bad["error"]["message"], bad
    both = station.run(root, *base, "--report", f"MISSING.PDF={uid}", "--report", "LAUSUNTO.PDF=1.2.3", expect=1)
    assert len(both["error"]["problems"]) == 2  # every problem named at once
    assert fresh_orthanc.instance_count() == 0
