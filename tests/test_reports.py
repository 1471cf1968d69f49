"""Reports that travel with the images: finding, rendering and encapsulating them.

Real parts only: studies from the sample generator, SR and Encapsulated PDF datasets built with
pydicom, PDFs read back with poppler's `pdftotext`, instances checked by dicom3tools' `dciodvfy`.
"""

from __future__ import annotations

import io
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import BasicTextSRStorage, ExplicitVRLittleEndian, XRayRadiationDoseSRStorage, generate_uid
from reportlab.pdfgen.canvas import Canvas

from mediastation.config import parse_settings
from mediastation.dicom.fileset import verify_fileset
from mediastation.errors import ConfigError, NotFoundError
from mediastation.reports import (
    Report,
    ReportFolderUnavailable,
    ReportInvalid,
    encapsulate_pdf,
    encapsulated_document,
    find_reports,
    render_report,
    report_uids,
)
from support.fileset import stage
from support.sr import FINDING, IMPRESSION, _code, _sr
from support.synthetic import make_study

ROOT = "1.2.826.0.1.3680043.8.498."
HEADER = dict(patient_name="Mäkelä^Aino", hetu="010594Y9032", study_description="TT VATSA",
              study_datetime=datetime(2024, 3, 14, 9, 30), language="fi")


def _pdftotext(path: Path) -> str:
    result = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, timeout=60,
                            check=True)
    return result.stdout


def _dciodvfy_errors(path: Path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=60)
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")]


def _in_order(haystack: str, needles: list[str]) -> bool:
    position = 0
    for needle in needles:
        found = haystack.find(needle, position)
        if found < 0:
            return False
        position = found + len(needle)
    return True


def _pdf(path: Path, line: str, *, odd: bool = True) -> Path:
    """A small real PDF; `odd` makes its length odd so the DICOM value needs its padding byte."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    canvas.drawString(72, 720, line)
    canvas.save()
    data = buffer.getvalue()
    if (len(data) % 2 == 1) != odd:
        data += b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def study(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_study(tmp_path / "study", images=2, seed=9)


# -- finding ----------------------------------------------------------------------------------

def test_a_basic_text_sr_renders_its_headings_and_text_in_reading_order(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sr = _sr(study.files[0], tmp_path / "study" / "SR" / "report.dcm")
    dose = _sr(study.files[0], tmp_path / "study" / "SR" / "dose.dcm", sop_class=XRayRadiationDoseSRStorage)
    dose_as_enhanced = _sr(study.files[0], tmp_path / "study" / "SR" / "dose2.dcm", sop_class="1.2.840.10008.5.1.4.1.1.88.22",
                           title=_code("113701", "DCM", "X-Ray Radiation Dose Report"))
    (tmp_path / "study" / "COMPLETE.json").write_text("{}")
    files = [*study.files, dose, dose_as_enhanced, sr, tmp_path / "study" / "COMPLETE.json"]

    reports = find_reports(files, study.accession, folder=None, given=None)
    assert reports == [Report(study.accession, "sr", sr, "Diagnostic Imaging Report",
                              dcmread(sr).SOPInstanceUID)]
    assert reports[0].is_instance and not reports[0].is_file

    out = render_report(reports[0], tmp_path / "out" / "R0000001.PDF", **HEADER)
    shown = _pdftotext(out)
    assert _in_order(shown, ["Diagnostic Imaging Report", "Aino Mäkelä", "010594Y9032", study.accession,
                             "TT VATSA", "14.3.2024 klo 09.30", "Person Observer Name: Pääkkö Väänänen",
                             "Findings", "Maksassa ei näy pesäkkeitä", "Impressions", IMPRESSION,
                             "Varmentanut: Pääkkö Väänänen, HUS Kuvantaminen, 14.3.2024 klo 10.30"])
    assert "Finding:" not in shown and "Language of Content" not in shown  # label repeats its heading; modifier
    assert "1 (1)" in shown
    again = render_report(reports[0], tmp_path / "again.pdf", **HEADER)
    assert again.read_bytes() == out.read_bytes()  # deterministic: a resumed export gets the same PDF


def test_several_report_instances_come_oldest_first(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    final = _sr(study.files[0], tmp_path / "sr" / "a.dcm", content_time="120000")
    preliminary = _sr(study.files[0], tmp_path / "sr" / "b.dcm", content_time="090000")
    reports = find_reports([final, *study.files, preliminary], study.accession, folder=None, given=None)
    assert [r.source for r in reports] == [preliminary, final]


def test_the_ris_folder_is_matched_case_insensitively_and_a_pdf_beats_a_txt(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ris"
    folder.mkdir()
    (folder / "hus123456.TXT").write_text("Lausunto: ei löydöksiä.\n", encoding="utf-8")
    (folder / "OTHER1.pdf").write_bytes(_pdf(tmp_path / "o.pdf", "other").read_bytes())
    reports = find_reports(study.files, "HUS123456", folder=folder, given=None)
    assert [(r.kind, r.source.name, r.is_file) for r in reports] == [("folder_txt", "hus123456.TXT", True)]

    _pdf(folder / "Hus123456.Pdf", "Lausunto")
    reports = find_reports(study.files, "HUS123456", folder=folder, given=None)
    assert [(r.kind, r.source.name) for r in reports] == [("folder_pdf", "Hus123456.Pdf")]
    assert find_reports(study.files, "HUS999", folder=folder, given=None) == []
    assert find_reports(study.files, "", folder=folder, given=None) == []

    with pytest.raises(ReportFolderUnavailable, match="mount the RIS share"):
        find_reports(study.files, "HUS123456", folder=tmp_path / "not-mounted", given=None)
    (folder / "HUS777.pdf").write_text("not a pdf")
    with pytest.raises(ReportInvalid, match="HUS777.pdf is not a PDF"):
        find_reports(study.files, "hus777", folder=folder, given=None)


def test_a_given_file_wins_over_the_study_and_the_folder(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sr = _sr(study.files[0], tmp_path / "sr.dcm")
    folder = tmp_path / "ris"
    _pdf(folder / f"{study.accession}.pdf", "from the RIS")
    given = tmp_path / "operator" / "lausunto.txt"
    given.parent.mkdir()
    given.write_text("Korjattu lausunto.\n", encoding="utf-8")
    files = [*study.files, sr]

    assert [r.kind for r in find_reports(files, study.accession, folder=folder, given=given)] == ["given_txt"]
    assert [r.kind for r in find_reports(files, study.accession, folder=folder, given=None)] == ["sr"]
    assert [r.kind for r in find_reports(study.files, study.accession, folder=folder, given=None)] == ["folder_pdf"]
    assert [r.kind for r in find_reports(files, study.accession, folder=folder, given=None,
                                         order=["folder", "study"])] == ["folder_pdf"]
    with pytest.raises(ReportInvalid, match="does not include"):
        find_reports(files, study.accession, folder=folder, given=given, order=["folder", "study"])

    with pytest.raises(NotFoundError, match="does not exist"):
        find_reports(files, study.accession, folder=None, given=tmp_path / "missing.pdf")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Löydös".encode("latin-1"))
    with pytest.raises(ReportInvalid, match="not UTF-8"):
        find_reports(files, study.accession, folder=None, given=latin1)
    word = tmp_path / "report.docx"
    word.write_bytes(b"PK\x03\x04")
    with pytest.raises(ReportInvalid, match=r"must be a \.pdf or a UTF-8 \.txt"):
        find_reports(files, study.accession, folder=None, given=word)


# -- rendering --------------------------------------------------------------------------------

def test_a_txt_report_renders_readable_with_finnish_letters(tmp_path: Path) -> None:
    source = tmp_path / "HUS1.txt"
    source.write_bytes("\ufeffTT VATSA\r\n\r\nLöydökset:\r\nMaksa ja perna ovat tavalliset, "
                       "Åbo-löydös ööliö.\r\n\r\nJohtopäätös: ei muutoksia.\r\n".encode("utf-8"))
    report = Report("HUS1", "folder_txt", source, source.name)
    out = render_report(report, tmp_path / "R.PDF", **{**HEADER, "language": "sv"})
    shown = _pdftotext(out)
    assert _in_order(shown, ["Radiologiskt utlåtande", "Aino Mäkelä", "HUS1", "14.3.2024 kl. 09.30",
                             "Löydökset:", "Åbo-löydös ööliö.", "Johtopäätös: ei muutoksia."])
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert "Helvetica" not in fonts and "yes" in fonts  # an embedded TrueType face, not a base-14 font


def test_an_encapsulated_pdf_instance_is_extracted_byte_identical(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = _pdf(tmp_path / "original.pdf", "Lausunto PACSista", odd=True)
    instance = encapsulate_pdf(original, study.files[0], tmp_path / "study" / "DOC" / "doc.dcm", uid_root=ROOT,
                               title="Lausunto")
    reports = find_reports([*study.files, instance], study.accession, folder=None, given=None)
    assert [(r.kind, r.title) for r in reports] == [("pdf_instance", "Lausunto")]
    out = render_report(reports[0], tmp_path / "R0000001.PDF", **HEADER)
    assert out.read_bytes() == original.read_bytes()

    # Another writer's instance without Encapsulated Document Length: the padding NUL goes by itself.
    ds = dcmread(instance)
    del ds.EncapsulatedDocumentLength
    ds.save_as(tmp_path / "nolength.dcm")
    assert dcmread(tmp_path / "nolength.dcm").EncapsulatedDocument.endswith(b"\x00")
    data, mime = encapsulated_document(tmp_path / "nolength.dcm")
    assert (data, mime) == (original.read_bytes(), "application/pdf")


def test_a_cda_instance_renders_its_sections(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cda = ("<?xml version='1.0' encoding='UTF-8'?><ClinicalDocument xmlns='urn:hl7-org:v3'>"
           "<title>Radiologinen lausunto</title><component><structuredBody><component><section>"
           "<title>Löydökset</title><text><paragraph>Keuhkot ovat puhtaat.</paragraph>"
           "<paragraph>Sydän normaalikokoinen.</paragraph></text></section></component>"
           "</structuredBody></component></ClinicalDocument>").encode("utf-8")
    pdf = _pdf(tmp_path / "x.pdf", "x")
    instance = encapsulate_pdf(pdf, study.files[0], tmp_path / "cda.dcm", uid_root=ROOT, title="CDA")
    ds = dcmread(instance)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.104.2"
    ds.MIMETypeOfEncapsulatedDocument = "text/XML"
    ds.EncapsulatedDocument = cda + b"\x00" * (len(cda) % 2)
    ds.EncapsulatedDocumentLength = len(cda)
    ds.save_as(instance)
    reports = find_reports([instance], study.accession, folder=None, given=None)
    assert [r.kind for r in reports] == ["cda_instance"]
    shown = _pdftotext(render_report(reports[0], tmp_path / "cda.pdf", **HEADER))
    assert _in_order(shown, ["Radiologinen lausunto", "Aino Mäkelä", "Löydökset", "Keuhkot ovat puhtaat.",
                             "Sydän normaalikokoinen."])


# -- encapsulating ----------------------------------------------------------------------------

def test_a_report_file_becomes_a_valid_deterministic_encapsulated_pdf_of_its_study(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "HUS123456.txt"
    source.write_text("Lausunto: ei löydöksiä.\n", encoding="utf-8")
    rendered = render_report(Report(study.accession, "folder_txt", source, source.name), tmp_path / "r.pdf", **HEADER)
    first = encapsulate_pdf(rendered, study.files[0], tmp_path / "a" / "REPORT.dcm", uid_root=ROOT,
                            title="Lausunto / Utlåtande / Report")
    second = encapsulate_pdf(rendered, study.files[1], tmp_path / "b" / "REPORT.dcm", uid_root=ROOT,
                             title="Lausunto / Utlåtande / Report")
    assert first.read_bytes() == second.read_bytes()  # same study + same PDF: the same instance
    assert _dciodvfy_errors(first) == []

    ds, template = dcmread(first), dcmread(study.files[0])
    for keyword in ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
                    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber", "StudyDescription",
                    "ReferringPhysicianName", "SpecificCharacterSet"):
        assert ds[keyword].value == template[keyword].value, keyword
    series_uid, instance_uid = report_uids(study.study_instance_uid,
                                           __import__("hashlib").sha256(rendered.read_bytes()).hexdigest(), ROOT)
    assert (ds.SeriesInstanceUID, ds.SOPInstanceUID) == (series_uid, instance_uid)
    assert ds.SOPInstanceUID.startswith(ROOT) and ds.SeriesInstanceUID not in study.series_instance_uids
    assert (ds.Modality, ds.MIMETypeOfEncapsulatedDocument, ds.BurnedInAnnotation) == ("DOC", "application/pdf", "YES")
    assert ds.DocumentTitle == "Lausunto / Utlåtande / Report" and ds.ContentDate == template.StudyDate
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert encapsulated_document(first) == (rendered.read_bytes(), "application/pdf")

    other = encapsulate_pdf(_pdf(tmp_path / "other.pdf", "another report"), study.files[0], tmp_path / "c.dcm",
                            uid_root="1.2.246.999.", title="Lausunto")
    assert dcmread(other).SOPInstanceUID.startswith("1.2.246.999.")
    assert dcmread(other).SOPInstanceUID != ds.SOPInstanceUID

    with pytest.raises(ReportInvalid, match="not a PDF"):
        encapsulate_pdf(source, study.files[0], tmp_path / "d.dcm", uid_root=ROOT, title="Lausunto")


def test_a_title_outside_the_study_character_set_switches_to_utf8(tmp_path: Path) -> None:
    study = make_study(tmp_path / "ascii", patient_name="Virtanen^Matti", images=1, seed=3)
    template = dcmread(study.files[0])
    del template.SpecificCharacterSet
    pdf = _pdf(tmp_path / "r.pdf", "r")
    latin = dcmread(encapsulate_pdf(pdf, template, tmp_path / "latin.dcm", uid_root=ROOT, title="Utlåtande"))
    assert latin.SpecificCharacterSet == "ISO_IR 100" and latin.DocumentTitle == "Utlåtande"
    greek = dcmread(encapsulate_pdf(pdf, template, tmp_path / "utf8.dcm", uid_root=ROOT, title="Γνωμάτευση",
                                    series_description="Report"))
    assert greek.SpecificCharacterSet == "ISO_IR 192" and greek.DocumentTitle == "Γνωμάτευση"
    assert _dciodvfy_errors(tmp_path / "utf8.dcm") == []


def _fileset(root: Path, files: list[Path]) -> list[str]:
    """What the export does with a study and its reports: file IDs, copies, DICOMDIR; the record types."""
    stage(files, root, fileset_id="REPORTS_TEST", prefix=("DICOM",))
    return [r.DirectoryRecordType for r in dcmread(root / "DICOMDIR").DirectoryRecordSequence]


def test_an_encapsulated_report_gets_its_encap_doc_record(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = encapsulate_pdf(_pdf(tmp_path / "r.pdf", "Lausunto"), study.files[0], tmp_path / "src" / "doc.dcm",
                          uid_root=ROOT, title="Lausunto")
    records = _fileset(tmp_path / "disc", [*study.files, doc])
    assert records.count("ENCAP DOC") == 1 and records.count("SERIES") == 2 and records.count("STUDY") == 1
    assert verify_fileset(tmp_path / "disc") == []
    assert _dciodvfy_errors(tmp_path / "disc" / "DICOMDIR") == []


def test_a_verified_sr_gets_a_valid_sr_document_record(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sr = _sr(study.files[0], tmp_path / "src" / "sr.dcm")
    records = _fileset(tmp_path / "disc", [*study.files, sr])
    assert records.count("SR DOCUMENT") == 1
    assert verify_fileset(tmp_path / "disc") == []
    assert _dciodvfy_errors(tmp_path / "disc" / "DICOMDIR") == []


# -- configuration ----------------------------------------------------------------------------

def test_reports_configuration_has_working_defaults_and_checks_its_values() -> None:
    settings = parse_settings({})
    assert (settings.reports.folder, settings.reports.missing) == ("", "warn")
    assert settings.reports.sources == ["given", "study", "folder"]
    assert settings.station.uid_root == ROOT
    assert parse_settings({"reports": {"missing": "block", "sources": ["folder"]},
                           "station": {"uid_root": "1.2.246.10.123."}}).reports.missing == "block"
    for bad in ({"reports": {"missing": "maybe"}}, {"reports": {"sources": []}},
                {"reports": {"sources": ["ris"]}}, {"station": {"uid_root": "1.2.246"}},
                {"station": {"uid_root": "1.02.3."}}, {"station": {"uid_root": "1." * 25}}):
        with pytest.raises(ConfigError):
            parse_settings(bad)
