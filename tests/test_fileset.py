"""The DICOMDIR writer: conformant file-sets that DCMTK, dicom3tools and pydicom read (§b1-24)."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.fileset import FileSet
from pydicom.sequence import Sequence
from pydicom.uid import (
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    RLELossless,
    generate_uid,
)

from mediastation.dicom.fileset import (
    MEDIA_STORAGE_DIRECTORY,
    FileSetError,
    NotDicomError,
    assign_file_ids,
    index_tree,
    read_header,
    verify_fileset,
    write_dicomdir,
)
from mediastation.dicom.profiles import STD_GEN_CD
from support.cli import run, run_json
from support.fileset import stage
from support.synthetic import make_study, synthetic_hetu

FILE_ID = re.compile(r"^[A-Z0-9_]{1,8}$")
ASA, JYRKI = "Mäkelä^Åsa", "Öhman^Jyrki"


def dciodvfy_errors(path: Path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=60)
    return [line for line in (result.stdout + result.stderr).splitlines() if "Error" in line]


def dciodvfy_warnings(path: Path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=60)
    return [line for line in (result.stdout + result.stderr).splitlines() if "Warning" in line]


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three patients, Finnish names in both character sets, four transfer syntaxes."""
    src = tmp_path_factory.mktemp("src")
    asa, jyrki, third = synthetic_hetu(1), synthetic_hetu(2), synthetic_hetu(3)
    made = {
        "asa_latin1": make_study(src, patient_name=ASA, patient_id=asa, charset="ISO_IR 100", images=3, series=2,
                                 rows=16, cols=16, accession="HUS000001", study_description="TT VATSA"),
        "asa_utf8": make_study(src, patient_name=ASA, patient_id=asa, charset="ISO_IR 192", images=2, rows=16,
                               cols=16, accession="HUS000002", study_description="TT KEUHKOT ÄÖÅ",
                               transfer_syntax=ImplicitVRLittleEndian, study_datetime=datetime(2025, 1, 2, 8, 0)),
        "jyrki": make_study(src, patient_name=JYRKI, patient_id=jyrki, charset="ISO_IR 192", modality="MR", images=2,
                            rows=16, cols=16, accession="HUS000003", transfer_syntax=RLELossless),
        "third": make_study(src, patient_name="Häkkinen^Jörö", patient_id=third, modality="CR", images=1, rows=32,
                            cols=32, accession="HUS000004", transfer_syntax=JPEG2000Lossless),
    }
    return made


@pytest.fixture(scope="module")
def disc(studies: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("disc")
    stage([f for s in studies.values() for f in s.files], root)
    return root


def all_files(studies: dict) -> list[Path]:
    return [f for s in studies.values() for f in s.files]


def test_dciodvfy_finds_no_errors_or_warnings(disc: Path) -> None:
    assert dciodvfy_errors(disc / "DICOMDIR") == []
    assert dciodvfy_warnings(disc / "DICOMDIR") == []


def test_dcmdump_reads_it_with_the_names_intact(disc: Path) -> None:
    result = subprocess.run(["dcmdump", "+U8", str(disc / "DICOMDIR")], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode("utf-8")
    assert "W:" not in result.stderr.decode("utf-8", "replace")
    assert "Mäkelä^Åsa" in text and "Öhman^Jyrki" in text and "TT KEUHKOT ÄÖÅ" in text
    assert text.count("MediaStorageDirectoryStorage") == 1


def test_pydicom_fileset_loads_every_file_with_names_intact(disc: Path, studies: dict) -> None:
    fs = FileSet(disc / "DICOMDIR")
    assert fs.ID == "TESTDISC"
    all_uids = {uid for s in studies.values() for uid in s.sop_instance_uids}
    assert {i.SOPInstanceUID for i in fs} == all_uids
    assert len(fs) == len(all_uids)
    for instance in fs:
        assert Path(instance.path).is_file()
        assert dcmread(instance.path, stop_before_pixels=True).SOPInstanceUID == instance.SOPInstanceUID
    names = {str(i.PatientName) for i in fs}
    assert names == {ASA, JYRKI, "Häkkinen^Jörö"}


def test_one_patient_record_per_patient_id_with_the_charset_of_its_strings(disc: Path, studies: dict) -> None:
    ds = dcmread(disc / "DICOMDIR")
    assert ds.file_meta.MediaStorageSOPClassUID == MEDIA_STORAGE_DIRECTORY
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    records = ds.DirectoryRecordSequence
    patients = [r for r in records if r.DirectoryRecordType == "PATIENT"]
    assert sorted(r.PatientID for r in patients) == sorted({s.patient_id for s in studies.values()})
    for record in patients:
        assert "SpecificCharacterSet" in record
    for record in records:
        if record.DirectoryRecordType in ("SERIES", "IMAGE"):
            assert "SpecificCharacterSet" not in record  # no affected strings there (Type 1C)
        assert "ImageType" not in record  # no Type 3 extras (§b24)
    studies_of_asa = [r for r in records if r.DirectoryRecordType == "STUDY" and r.AccessionNumber.startswith("HUS00000")]
    charsets = {r.AccessionNumber: r.SpecificCharacterSet for r in studies_of_asa}
    assert charsets["HUS000001"] == "ISO_IR 100" and charsets["HUS000002"] == "ISO_IR 192"
    # The Latin-1 and the UTF-8 study: the bytes differ, the name is the same person, written once
    # in the character set its PATIENT record declares.
    raw = (disc / "DICOMDIR").read_bytes()
    (asa,) = [r for r in patients if r.PatientName == ASA]
    codec = {"ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}[asa.SpecificCharacterSet]
    assert raw.count(ASA.encode(codec)) == 1


def test_file_ids_conform_and_dcmmkdir_accepts_them(disc: Path, tmp_path: Path) -> None:
    for instance in FileSet(disc / "DICOMDIR"):
        parts = Path(instance.path).relative_to(disc).parts
        assert len(parts) <= 8 and all(FILE_ID.match(p) for p in parts), parts
    tops = sorted(p.name for p in disc.iterdir() if p.is_dir())
    result = subprocess.run(["dcmmkdir", "+r", "-Pgp", "-Nxc", "+D", str(tmp_path / "DCMTKDIR"), *tops],
                            cwd=disc, capture_output=True, text=True, errors="replace", timeout=120)
    assert result.returncode == 0, result.stderr
    # dcmmkdir compares names byte-wise, so the Latin-1 and UTF-8 spellings of one name warn; file IDs must not.
    assert "filename" not in result.stderr.lower() and "invalid" not in result.stderr.lower(), result.stderr
    assert (tmp_path / "DCMTKDIR").is_file()


def test_verify_finds_the_written_fileset_sound(disc: Path) -> None:
    assert verify_fileset(disc) == []


def test_file_ids_and_bytes_are_deterministic(studies: dict, tmp_path: Path) -> None:
    files = all_files(studies)
    shuffled = files[:]
    random.Random(4).shuffle(shuffled)
    first = [(h.sop_instance_uid, f) for h, f in assign_file_ids(read_header(p) for p in files)]
    second = [(h.sop_instance_uid, f) for h, f in assign_file_ids(read_header(p) for p in shuffled)]
    assert first == second
    assert first[0][1] == ("PT000000", "ST000000", "SE000000", "IM000000")
    entries = stage(files, tmp_path / "a")
    stage(shuffled, tmp_path / "b")
    (tmp_path / "c").mkdir()
    write_dicomdir(tmp_path / "c", entries[::-1], fileset_id="TESTDISC")  # the writer sorts too
    reference = (tmp_path / "a" / "DICOMDIR").read_bytes()
    assert (tmp_path / "b" / "DICOMDIR").read_bytes() == reference
    assert (tmp_path / "c" / "DICOMDIR").read_bytes() == reference


def test_series_and_instances_are_ordered_by_number(studies: dict) -> None:
    entries = assign_file_ids(read_header(p) for p in studies["asa_latin1"].files)
    numbers = [(h.series_number, h.instance_number) for h, _ in entries]
    assert numbers == sorted(numbers)
    assert [f[-1] for _, f in entries[:3]] == ["IM000000", "IM000001", "IM000002"]
    assert [f[-2] for _, f in entries] == ["SE000000"] * 3 + ["SE000001"] * 3


def _strip(path: Path, **values: object) -> None:
    ds = dcmread(path)
    for keyword, value in values.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(path)


def test_missing_type1_keys_get_documented_defaults(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", images=2, rows=16, cols=16, accession="HUS777", patient_id="")
    for path in study.files:
        _strip(path, StudyDate="", StudyTime=None, StudyID="", Modality="", SeriesNumber=None, InstanceNumber="",
               SeriesDate=None, SeriesTime=None, AcquisitionDate="20240102", AcquisitionTime="101500")
    root = tmp_path / "disc"
    entries = stage(list(study.files), root)
    assert all(set(h.filled) >= {"PatientID", "StudyDate", "StudyTime", "StudyID", "Modality", "SeriesNumber",
                                 "InstanceNumber"} for h, _ in entries)
    records = {r.DirectoryRecordType: r for r in dcmread(root / "DICOMDIR").DirectoryRecordSequence}
    assert records["PATIENT"].PatientID.startswith("NOID_")
    study_record = records["STUDY"]
    assert (study_record.StudyDate, study_record.StudyTime) == ("20240102", "101500")  # from the acquisition
    assert study_record.StudyID == "HUS777"  # the accession number
    assert records["SERIES"].Modality == "OT" and records["SERIES"].SeriesNumber == 1
    numbers = [r.InstanceNumber for r in dcmread(root / "DICOMDIR").DirectoryRecordSequence
               if r.DirectoryRecordType == "IMAGE"]
    assert numbers == [1, 2]
    assert dciodvfy_errors(root / "DICOMDIR") == []
    assert verify_fileset(root) == []
    # The same input gives the same defaults: the file-set can be rebuilt identically.
    again = [(h.patient_id, h.study_id) for h, _ in assign_file_ids(read_header(p) for p in study.files)]
    assert again == [(h.patient_id, h.study_id) for h, _ in entries]


def test_inconsistent_patient_names_under_one_id_are_refused(tmp_path: Path) -> None:
    hetu = synthetic_hetu(40)
    one = make_study(tmp_path / "src", patient_name=ASA, patient_id=hetu, images=1, rows=16, cols=16)
    two = make_study(tmp_path / "src", patient_name="Virtanen^Matti", patient_id=hetu, images=1, rows=16, cols=16)
    root = tmp_path / "disc"
    root.mkdir()
    with pytest.raises(FileSetError) as refused:
        assign_file_ids(read_header(p) for p in one.files + two.files)
    assert hetu in refused.value.message and ASA in refused.value.message and "Virtanen^Matti" in refused.value.message
    entries = [(read_header(p), ("PT000000", "ST00000" + str(i), "SE000000", "IM000000"))
               for i, p in enumerate(one.files + two.files)]
    with pytest.raises(FileSetError, match="two names"):
        write_dicomdir(root, entries, fileset_id="X")
    assert not (root / "DICOMDIR").exists()


def test_inconsistent_birth_dates_are_refused_but_padding_is_not_a_difference(tmp_path: Path) -> None:
    hetu = synthetic_hetu(41)
    one = make_study(tmp_path / "a", patient_name=ASA, patient_id=hetu, images=1, rows=16, cols=16)
    two = make_study(tmp_path / "b", patient_name=ASA + "^^", patient_id=hetu, images=1, rows=16, cols=16)
    assert len(assign_file_ids(read_header(p) for p in one.files + two.files)) == 2
    _strip(two.files[0], PatientBirthDate="19000101")
    with pytest.raises(FileSetError, match="two birth dates"):
        assign_file_ids(read_header(p) for p in one.files + two.files)


def test_transfer_syntax_outside_the_profile_is_refused(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", images=1, rows=16, cols=16, transfer_syntax=RLELossless)
    entries = assign_file_ids(read_header(p) for p in study.files)
    root = tmp_path / "disc"
    root.mkdir()
    with pytest.raises(FileSetError) as refused:
        write_dicomdir(root, entries, fileset_id="CD1", profile=STD_GEN_CD)
    assert str(study.files[0]) in refused.value.message
    assert RLELossless in refused.value.message and "STD-GEN-CD" in refused.value.message
    assert not (root / "DICOMDIR").exists()
    write_dicomdir(root, entries, fileset_id="CD1")  # no profile: any syntax is listed
    assert (root / "DICOMDIR").exists()


def test_fileset_id_must_fit_the_file_id_charset(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", images=1, rows=16, cols=16)
    entries = assign_file_ids(read_header(p) for p in study.files)
    for bad in ("lower", "TOO_LONG_FILESET_ID", "SPACE X", ""):
        with pytest.raises(FileSetError, match="File-set ID"):
            write_dicomdir(tmp_path, entries, fileset_id=bad)


def test_non_image_objects_get_their_own_record_types(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", patient_name=ASA, patient_id=synthetic_hetu(5), images=1, rows=16, cols=16,
                       charset="ISO_IR 192")
    image = dcmread(study.files[0])
    sr = _sr(image, tmp_path / "sr.dcm")
    pdf = _pdf(image, tmp_path / "pdf.dcm")
    root = tmp_path / "disc"
    stage([*study.files, sr, pdf], root)
    records = dcmread(root / "DICOMDIR").DirectoryRecordSequence
    kinds = {r.DirectoryRecordType: r for r in records}
    assert {"PATIENT", "STUDY", "SERIES", "IMAGE", "SR DOCUMENT", "ENCAP DOC"} <= set(kinds)
    assert kinds["ENCAP DOC"].MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert kinds["ENCAP DOC"].DocumentTitle == "Lausunto Äö"
    assert kinds["ENCAP DOC"].SpecificCharacterSet == "ISO_IR 192"
    assert kinds["SR DOCUMENT"].CompletionFlag == "COMPLETE"
    assert kinds["SR DOCUMENT"].ConceptNameCodeSequence[0].CodeMeaning == "Lausunto"
    assert [i.RelationshipType for i in kinds["SR DOCUMENT"].ContentSequence] == ["HAS CONCEPT MOD"]
    assert dciodvfy_errors(root / "DICOMDIR") == []
    assert verify_fileset(root) == []
    assert len(FileSet(root / "DICOMDIR")) == 3


def _code(value: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, "DCM", meaning
    return code


def _derived(image: Dataset, sop_class: str, modality: str) -> Dataset:
    ds = Dataset()
    for keyword in ("SpecificCharacterSet", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
                    "ReferringPhysicianName", "Manufacturer"):
        setattr(ds, keyword, image.get(keyword, ""))
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, generate_uid()
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = modality, generate_uid(), 90, 1
    ds.ContentDate, ds.ContentTime = "20240314", "101010"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def _sr(image: Dataset, path: Path) -> Path:
    ds = _derived(image, "1.2.840.10008.5.1.4.1.1.88.11", "SR")  # Basic Text SR
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    ds.ValueType, ds.ConceptNameCodeSequence = "CONTAINER", Sequence([_code("11528-7", "Lausunto")])
    ds.ContinuityOfContent = "SEPARATE"
    modifier, text = Dataset(), Dataset()
    modifier.RelationshipType, modifier.ValueType = "HAS CONCEPT MOD", "CODE"
    modifier.ConceptNameCodeSequence = Sequence([_code("121049", "Language of Content Item and Descendants")])
    modifier.ConceptCodeSequence = Sequence([_code("fi", "Finnish")])
    text.RelationshipType, text.ValueType, text.TextValue = "CONTAINS", "TEXT", "Ei löydöksiä."
    text.ConceptNameCodeSequence = Sequence([_code("121071", "Finding")])
    ds.ContentSequence = Sequence([modifier, text])
    ds.save_as(path, enforce_file_format=True)
    return path


def _pdf(image: Dataset, path: Path) -> Path:
    ds = _derived(image, EncapsulatedPDFStorage, "DOC")
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.DocumentTitle = "Lausunto Äö"
    ds.BurnedInAnnotation = "YES"
    ds.ConceptNameCodeSequence = Sequence()
    ds.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_verify_catches_a_missing_file_an_extra_file_and_a_wrong_syntax(studies: dict, tmp_path: Path) -> None:
    root = tmp_path / "disc"
    entries = stage(all_files(studies), root)
    (missing_header, missing) = entries[0]
    root.joinpath(*missing).unlink()
    extra = root / "PT000000" / "EXTRA"
    shutil.copyfile(studies["asa_latin1"].files[0], extra)
    other = make_study(tmp_path / "other", images=1, rows=16, cols=16, transfer_syntax=RLELossless, seed=9)
    plain = [(h, f) for h, f in entries if h.transfer_syntax == ExplicitVRLittleEndian][1]
    shutil.copyfile(other.files[0], root.joinpath(*plain[1]))  # a different instance, RLE, where an EVRLE one was
    problems = verify_fileset(root)
    joined = "\n".join(problems)
    assert f"{'/'.join(missing)}: referenced by the DICOMDIR but missing" in joined
    assert "PT000000/EXTRA: DICOM file not referenced" in joined
    assert f"{'/'.join(plain[1])}: record says transfer syntax {ExplicitVRLittleEndian}" in joined
    assert f"{'/'.join(plain[1])}: record says SOP Instance UID" in joined


def test_verify_checks_the_profile_and_tolerates_pdi_content(disc: Path, tmp_path: Path) -> None:
    problems = verify_fileset(disc, STD_GEN_CD)
    assert any(RLELossless in p and "STD-GEN-CD" in p for p in problems)
    assert any(JPEG2000Lossless in p for p in problems)
    root = tmp_path / "copy"
    shutil.copytree(disc, root)
    (root / "README.TXT").write_text("Lue minut")
    (root / "INDEX.HTM").write_text("<html></html>")
    (root / "LETTER.PDF").write_bytes(b"%PDF")
    (root / "IHE_PDI").mkdir()
    (root / "IHE_PDI" / "PAGE1.HTM").write_text("x")
    (root / "VIEWER").mkdir()
    (root / "VIEWER" / "some-viewer.js").write_text("x")
    assert verify_fileset(root) == []
    (root / "PT000000" / "NOTES.TXT").write_text("stray")
    assert verify_fileset(root) == ["PT000000/NOTES.TXT: file in the DICOM tree with a non-conformant name"]


def test_verify_reports_an_unparsable_or_absent_dicomdir(tmp_path: Path) -> None:
    assert verify_fileset(tmp_path) == [f"no DICOMDIR at the root of {tmp_path}"]
    (tmp_path / "DICOMDIR").write_bytes(b"not dicom")
    assert verify_fileset(tmp_path)[0].startswith("DICOMDIR does not parse")


def test_verify_catches_broken_offsets(studies: dict, tmp_path: Path) -> None:
    root = tmp_path / "disc"
    stage(all_files(studies), root)
    raw = bytearray((root / "DICOMDIR").read_bytes())
    ds = dcmread(root / "DICOMDIR")
    first = ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity
    # Point the first patient's next-record offset two bytes off (what fo-dicom's charset bug did).
    raw[first + 16:first + 20] = (ds.DirectoryRecordSequence[0].OffsetOfTheNextDirectoryRecord + 2).to_bytes(4, "little")
    (root / "DICOMDIR").write_bytes(bytes(raw))
    problems = verify_fileset(root)
    assert any("points at no directory record" in p for p in problems)
    assert any("not reachable from the root" in p for p in problems)


def test_index_tree_writes_in_place_like_dcmmkdir(studies: dict, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    entries = assign_file_ids(read_header(p) for p in all_files(studies))
    for n, (header, _file_id) in enumerate(entries):  # a layout of our own: DICOM/Sn/Fnnnnn
        target = root / "DICOM" / f"S{header.study_instance_uid[-3:].replace('.', '_')}" / f"F{n:05d}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(header.path, target)
    (root / "README.TXT").write_text("x")
    summary = index_tree(root, fileset_id="INPLACE")
    assert (summary.patients, summary.studies, summary.series, summary.instances) == (3, 4, 5, len(entries))
    assert summary.dicomdir == root / "DICOMDIR"
    assert verify_fileset(root) == []
    assert dciodvfy_errors(root / "DICOMDIR") == []


def test_index_tree_refuses_bad_names_and_non_dicom_files(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", images=1, rows=16, cols=16)
    root = tmp_path / "tree"
    (root / "SUB").mkdir(parents=True)
    shutil.copyfile(study.files[0], root / "SUB" / "IM1.dcm")
    with pytest.raises(FileSetError) as refused:
        index_tree(root)
    assert "SUB/IM1.dcm" in refused.value.message
    (root / "SUB" / "IM1.dcm").rename(root / "SUB" / "IM1")
    (root / "SUB" / "JUNK").write_bytes(b"\x00" * 300)
    with pytest.raises(FileSetError) as refused:
        index_tree(root)
    assert "JUNK is not a DICOM file" in refused.value.message
    assert not (root / "DICOMDIR").exists()
    (root / "SUB" / "JUNK").unlink()
    assert index_tree(root).instances == 1


def test_read_header_refuses_non_dicom_and_reads_sequences_like_pydicom(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("hello")
    with pytest.raises(NotDicomError, match="not a DICOM file"):
        read_header(tmp_path / "x")
    study = make_study(tmp_path / "src", images=1, rows=16, cols=16, patient_name=ASA, charset="ISO_IR 100")
    for implicit in (False, True):
        ds = dcmread(study.files[0])
        item, inner = Dataset(), Dataset()
        inner.CodeValue, inner.CodingSchemeDesignator, inner.CodeMeaning = "T-D4000", "SRT", "Vatsa"
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = "1.2.3", "1.2.3.4"
        item.PurposeOfReferenceCodeSequence = Sequence([inner])
        ds.ReferencedImageSequence = Sequence([item, item])
        ds.AnatomicRegionSequence = Sequence([inner])
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        path = tmp_path / f"seq{implicit}"
        ds.save_as(path)  # pydicom writes sequences and items with undefined length
        header = read_header(path)
        assert (header.patient_name, header.study_instance_uid, header.instance_number, header.series_number) == (
            ASA, ds.StudyInstanceUID, 1, 1)
        assert header.transfer_syntax == ds.file_meta.TransferSyntaxUID


def test_cli_index_and_verify(studies: dict, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    stage(all_files(studies), root)
    (root / "DICOMDIR").unlink()
    doc = run_json("fileset", "index", str(root), "--id", "CLIDISC")
    assert doc["dicomdir"] == str((root / "DICOMDIR").resolve())
    assert (doc["fileset_id"], doc["patients"], doc["studies"], doc["series"], doc["instances"]) == (
        "CLIDISC", 3, 4, 5, len(all_files(studies)))
    assert run_json("fileset", "verify", str(root))["ok"] is True
    refused = run("fileset", "index", str(root), "--profile", "STD-GEN-CD")
    assert refused.returncode == 1 and "STD-GEN-CD" in refused.stderr and "Traceback" not in refused.stderr
    bad = run_json("fileset", "verify", str(root), "--profile", "STD-GEN-CD", expect=1)
    assert bad["ok"] is False and bad["error"]["code"] == "fileset_invalid" and bad["problems"]
    text = run("fileset", "index", str(root))
    assert text.returncode == 0 and "3 patient(s)" in text.stdout
