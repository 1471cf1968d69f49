"""Damaged and odd files on outside media, against a real Orthanc (DCMTK-based, like many hospital
archives): copies of one instance are decided by their decoded pixel data and patient, what can be
repaired without changing the image is repaired and listed, cut and corrupt files never reach the
archive, an archive that drops one file is not taken for an outage, and a cut ISO image, a broken
DICOMDIR and an empty medium are named for what they are. The files are pydicom's own test files
and files written here (support/damaged_media.py)."""

from __future__ import annotations

import io
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments
from support.cli import run, run_json
from support.damaged_media import (
    all_un,
    as_outside,
    cut,
    odd_fragment,
    odd_value,
    other_pixels,
    short_pixels,
    with_private_elements,
)
from support.fileset import stage
from support.orthanc import OrthancServer
from support.outside_media import copy_testdata, make_dicomdir, outside_study, xorriso_iso
from test_import_run import HETU, Station, archived, outcomes

from mediastation.dicom.coerce import Coercion
from mediastation.dicom.inventory import take_inventory
from mediastation.dicom.sources import open_medium
from mediastation.dicom.validate import validate
from mediastation.pacs.network import DicomNode
from mediastation.pacs.store import StoreItem, StoreOutcome, StoreSettings, _encoding_problem, store_instances

MAP = ("--map", f"P1={HETU}", "--name", "P1=Mäkelä^Aino")
# one MR instance as pydicom ships it in five transfer syntaxes -> where it lies on the medium
MR_COPIES = {"MR_small.dcm": "MR/EXPLICIT", "MR_small_implicit.dcm": "MR/IMPLICIT",
             "MR_small_bigendian.dcm": "MR/BIGEND", "MR_small_RLE.dcm": "MR/RLE",
             "MR_small_jpeg_ls_lossless.dcm": "MR/JPEGLS"}


@pytest.fixture
def station(fresh_orthanc: OrthancServer, tmp_path: Path) -> Station:
    return Station(tmp_path / "home", fresh_orthanc)


def stored(pacs: OrthancServer, instance_id: str) -> Dataset:
    with urllib.request.urlopen(f"{pacs.url}/instances/{instance_id}/file", timeout=10) as response:
        return dcmread(io.BytesIO(response.read()))


def stored_bytes(pacs: OrthancServer, instance_id: str) -> bytes:
    with urllib.request.urlopen(f"{pacs.url}/instances/{instance_id}/file", timeout=10) as response:
        return response.read()


def by_path(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in document["files"]}


# -- duplicates by content -------------------------------------------------------------------------------
def test_one_instance_in_five_syntaxes_and_with_extra_private_elements_arrives_once(
        station: Station, fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    root = tmp_path / "disc"
    for name, path in MR_COPIES.items():
        as_outside(get_testdata_file(name), root / path)
    ct = as_outside(get_testdata_file("CT_small.dcm"), root / "CT" / "PLAIN")
    with_private_elements(ct, root / "CT" / "VENDOR")
    scan = station.scan(root)
    files = {f["path"]: f for f in scan["files"]}
    assert len({f["sha256"] for f in scan["files"]}) == 7  # every copy's bytes differ
    assert files["MR/EXPLICIT"]["reason"] == ""  # Explicit VR Little Endian: every archive takes it as it is
    for path in ("MR/IMPLICIT", "MR/BIGEND", "MR/RLE", "MR/JPEGLS"):
        assert files[path]["reason"] == "duplicate"
        assert any("same image as MR/EXPLICIT" in note for note in files[path]["notes"]), files[path]
    assert (files["CT/VENDOR"]["reason"], files["CT/PLAIN"]["reason"]) == ("", "duplicate")  # the fuller header

    doc = station.run(root, *MAP)
    assert doc["state"] == "done", doc["counts"]
    assert doc["counts"] == {"imported": 2, "skipped": 5}
    held = archived(fresh_orthanc)
    mr_uid = str(dcmread(get_testdata_file("MR_small.dcm")).SOPInstanceUID)
    assert set(held) == {mr_uid, str(dcmread(ct).SOPInstanceUID)}
    meta = fresh_orthanc.rest(f"/instances/{held[mr_uid]['_id']}/metadata?expand")
    assert meta["TransferSyntax"] == "1.2.840.10008.1.2.1"
    vendor = stored(fresh_orthanc, held[str(dcmread(ct).SOPInstanceUID)]["_id"])
    assert vendor.private_block(0x0029, "HUS TEST VENDOR")[0x10].value == "acquisition note"  # the fuller copy
    assert np.array_equal(stored(fresh_orthanc, held[mr_uid]["_id"]).pixel_array,
                          dcmread(get_testdata_file("MR_small.dcm")).pixel_array)


def test_copies_that_really_differ_are_a_conflict_the_operator_chooses_with_prefer(
        station: Station, fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    root = tmp_path / "stick"
    study = outside_study(root, "A", images=3, seed=1701)
    other_pixels(study.files[1], root / "B" / "EDITED")  # the same UIDs, another image
    as_outside(study.files[2], root / "B" / "RENAMED", PatientName="Virtanen^Veli")  # the same image, another name
    scan = station.scan(root)
    files = {f["path"]: f for f in scan["files"]}
    ville = next(g["key"] for g in scan["patients"] if g["name"] == "Virtanen^Ville")
    mapped = ("--map", f"{ville}={HETU}", "--name", f"{ville}=Mäkelä^Aino")
    second, third = (p.relative_to(root).as_posix() for p in study.files[1:])
    for path, differs in ((second, "pixel data"), ("B/EDITED", "pixel data"), (third, "patient"),
                          ("B/RENAMED", "patient")):
        assert files[path]["reason"] == "duplicate_conflict", path
        assert any(f"different {differs}" in n for n in files[path]["notes"]), files[path]

    first = station.run(root, *mapped)
    result = outcomes(first)
    assert result[study.files[0].relative_to(root).as_posix()] == ("imported", "")  # the rest is stored
    for path in (second, "B/EDITED", third, "B/RENAMED"):
        assert result[path] == ("rejected", "duplicate_conflict")
    conflicts = {c["sop_instance_uid"]: c for c in first["conflicts"]}
    assert conflicts[study.sop_instance_uids[1]] == {"sop_instance_uid": study.sop_instance_uids[1],
                                                     "files": sorted([second, "B/EDITED"]),
                                                     "differs": ["pixel data"], "preferred": None}
    assert any("--prefer" in w and "B/EDITED" in w for w in first["warnings"])
    assert set(archived(fresh_orthanc)) == {study.sop_instance_uids[0]}
    assert len(first["invoice_lines"]) == 1

    wrong = station.run(root, *mapped, "--prefer", study.files[0].relative_to(root).as_posix(), "--prefer", "NOPE",
                        expect=1)
    assert wrong["error"]["code"] == "import_refused" and len(wrong["error"]["problems"]) == 2

    chosen = station.run(root, *mapped, "--prefer", "B/EDITED")
    assert chosen["job_id"] != first["job_id"]
    result = outcomes(chosen)
    assert result["B/EDITED"][0] == "imported" and result[second] == ("skipped", "not_preferred")
    assert result[third] == ("rejected", "duplicate_conflict")  # not chosen: still not imported
    held = archived(fresh_orthanc)
    assert set(held) == set(study.sop_instance_uids[:2])
    in_archive = stored(fresh_orthanc, held[study.sop_instance_uids[1]]["_id"]).pixel_array
    assert np.array_equal(in_archive, dcmread(root / "B" / "EDITED").pixel_array)
    assert chosen["invoice_lines"] == [] and len(station.invoice_lines()) == 1  # one medium, billed once


# -- repairs ---------------------------------------------------------------------------------------------------
def test_elements_declared_un_odd_values_and_an_odd_fragment_are_repaired_and_listed(
        station: Station, fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    root = tmp_path / "disc"
    study = outside_study(root, "A", images=3, seed=1801)
    pixels = dcmread(study.files[0]).pixel_array
    all_un(study.files[0], root / "B" / "ALLUN")
    odd_value(study.files[1], root / "B" / "ODDVALUE", "StudyDescription", "TT VATSA1")
    jpeg = as_outside(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"), tmp_path / "jpeg.dcm")
    odd_fragment(jpeg, root / "B" / "ODDFRAG")
    for path in study.files[:2]:
        path.unlink()
    scan = {f["path"]: f for f in station.scan(root)["files"]}
    assert (scan["B/ALLUN"]["kind"], scan["B/ALLUN"]["repairs"]) == ("instance", ["vr_un"])
    assert scan["B/ODDVALUE"]["repairs"] == ["odd_length"]
    assert scan["B/ODDFRAG"]["repairs"] == ["odd_fragment"]

    doc = station.run(root, *MAP)
    assert doc["state"] == "done" and doc["counts"] == {"imported": 4}, doc["counts"]
    files = by_path(doc)
    assert files["B/ALLUN"]["repairs"] == ["vr_un"] and files["B/ODDFRAG"]["repairs"] == ["odd_fragment"]
    held = archived(fresh_orthanc)
    for uid in held:
        data = stored_bytes(fresh_orthanc, held[uid]["_id"])
        checked = validate(io.BytesIO(data), len(data))
        assert checked.ok and checked.repairs == (), (uid, checked)  # no UN, no odd length left
    un = stored(fresh_orthanc, held[study.sop_instance_uids[0]]["_id"])
    assert un["Rows"].VR == "US" and un["StudyInstanceUID"].VR == "UI" and un["PixelData"].VR == "OW"
    assert np.array_equal(un.pixel_array, pixels)
    odd = stored(fresh_orthanc, held[study.sop_instance_uids[1]]["_id"])
    correction = [item for item in odd.OriginalAttributesSequence if item.ReasonForTheAttributeModification == "CORRECT"]
    assert len(correction) == 1 and correction[0].ModifiedAttributesSequence[0].StudyDescription == "TT VATSA1"
    frag = held[str(dcmread(jpeg).SOPInstanceUID)]
    assert fresh_orthanc.rest(f"/instances/{frag['_id']}/metadata?expand")["TransferSyntax"] == \
        "1.2.840.10008.1.2.4.50"  # still the file's own JPEG: repaired, not re-encoded
    repaired = stored(fresh_orthanc, frag["_id"])
    assert all(len(f) % 2 == 0 for f in generate_fragments(repaired.PixelData))
    assert np.array_equal(repaired.pixel_array, dcmread(jpeg).pixel_array)
    receipt = subprocess.run(["pdftotext", doc["report"], "-"], capture_output=True, text=True, check=True).stdout
    assert "korjattu: vr_un" in receipt and "korjattu: odd_fragment" in receipt


# -- cut and corrupt files ------------------------------------------------------------------------------------
def damaged_medium(root: Path, tmp_path: Path, seed: int) -> dict[str, str]:
    """Whole images beside files cut at 25/50/90 %, inside the file meta, an image shorter than its
    pixel module and a JPEG 2000 image cut inside its fragment: path -> what `validate` must say."""
    source = outside_study(tmp_path / f"cuts{seed}", "X", images=4, seed=seed).files
    j2k = outside_study(tmp_path / f"j2k{seed}", "J", images=1, seed=seed + 1,
                        transfer_syntax="1.2.840.10008.1.2.4.90").files[0]
    expected = {}
    for path, fraction in (("CUT/AT25", 0.25), ("CUT/AT50", 0.5), ("CUT/AT90", 0.9)):
        cut(source[len(expected)], root / path, fraction)
        expected[path] = "inside the pixel data"
    cut(source[3], root / "CUT" / "INMETA", at=150)
    expected["CUT/INMETA"] = "inside the File Meta Information"
    short_pixels(source[3], root / "CUT" / "SHORT", missing=2000)
    expected["CUT/SHORT"] = "the image needs"
    data = j2k.read_bytes()
    cut(j2k, root / "CUT" / "J2KCUT", at=len(data) - 300)
    expected["CUT/J2KCUT"] = "fragment 1"
    return expected


def test_cut_and_corrupt_files_are_named_and_never_sent(station: Station, fresh_orthanc: OrthancServer,
                                                        tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    outside_study(whole, "A", images=4, seed=1901)
    started = time.monotonic()
    baseline = station.run(whole, *MAP)
    baseline_s = time.monotonic() - started
    assert baseline["counts"] == {"imported": 4}

    root = tmp_path / "damaged"
    good = outside_study(root, "A", images=4, seed=1902)
    expected = damaged_medium(root, tmp_path, 1903)
    scan = {f["path"]: f for f in station.scan(root)["files"]}
    for path, words in expected.items():
        assert (scan[path]["kind"], scan[path]["reason"]) == ("unreadable", "truncated"), scan[path]
        assert words in scan[path]["notes"][0], scan[path]
    started = time.monotonic()
    doc = station.run(root, *MAP)
    elapsed = time.monotonic() - started
    assert doc["state"] == "partial" and doc["counts"] == {"imported": 4, "rejected": len(expected)}
    assert {outcomes(doc)[p] for p in expected} == {("rejected", "truncated")}
    assert set(archived(fresh_orthanc)) == set(baseline_uids(baseline)) | set(good.sop_instance_uids)
    assert elapsed < baseline_s + 10, (elapsed, baseline_s)  # the archive never waited on a cut file


def baseline_uids(document: dict[str, Any]) -> list[str]:
    return [f["sop_instance_uid"] for f in document["files"] if f["outcome"] == "imported"]


def test_fileset_index_and_verify_refuse_a_cut_file(tmp_path: Path) -> None:
    study = outside_study(tmp_path / "src", "A", images=3, seed=2001)
    root = tmp_path / "fs"
    entries = stage(study.files, root)
    assert run_json("fileset", "verify", str(root))["ok"] is True
    victim = root.joinpath(*entries[1][1])
    data = victim.read_bytes()
    victim.write_bytes(data[:len(data) // 2])
    name = "/".join(entries[1][1])
    verified = run_json("fileset", "verify", str(root), expect=1)
    assert any(p.startswith(f"{name}: truncated") for p in verified["problems"]), verified["problems"]
    (root / "DICOMDIR").unlink()
    indexed = run_json("fileset", "index", str(root), expect=1)
    assert name in indexed["error"]["message"] and "truncated" in indexed["error"]["message"]
    assert not (root / "DICOMDIR").exists()


# -- an archive that drops a file ---------------------------------------------------------------------------
def test_a_file_the_archive_drops_is_tried_alone_then_rejected_while_the_rest_is_stored(
        fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    """Sent without its repair, an odd fragment makes Orthanc drop the store ("Odd Fragment Length")
    and stay silent: the other files go on, the file is tried once more alone, and since the
    archive still answers C-ECHO the file is `pacs_rejected_file`, never `pacs_unreachable`."""
    root = tmp_path / "m"
    study = outside_study(root, "A", images=6, seed=2101)
    odd_fragment(as_outside(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"), tmp_path / "j.dcm"), root / "ODD")
    inventory = take_inventory(open_medium(root))
    coercion = Coercion("Mäkelä^Aino", HETU, "1.2.246.21", "19940501", None, None, "MEDIASTATION", "MEDIASTATION",
                        "HUS", datetime.now(UTC))
    items = [StoreItem(n, f.source, f.header, "P1", size=f.size) for n, f in enumerate(inventory.files)
             if f.kind == "instance"]  # no repairs: the archive gets the file as the medium has it
    odd = next(n for n, f in enumerate(inventory.files) if f.path == "ODD")
    items.sort(key=lambda item: item.index != odd)  # the bad file first: the others follow it
    settings = StoreSettings(DicomNode(fresh_orthanc.ae_title, "127.0.0.1", fresh_orthanc.dicom_port), "MEDIASTATION",
                             3.0, str(tmp_path / "staging"), workers=1)
    outcomes_: dict[int, StoreOutcome] = {}
    started = time.monotonic()
    store_instances(items, {"P1": coercion}, settings, lambda o: outcomes_.__setitem__(o.index, o))
    elapsed = time.monotonic() - started
    bad = outcomes_.pop(odd)
    assert (bad.result, bad.reason) == ("rejected", "pacs_rejected_file"), bad
    assert "did not answer" in bad.warning and "C-ECHO" in bad.warning
    assert {o.result for o in outcomes_.values()} == {"stored"}
    assert fresh_orthanc.instance_count() == len(study.files)
    assert elapsed < 2 * 3.0 + 8, elapsed  # two waits for the bad file, not four, and nothing else waits

    fresh_orthanc.stop()  # an archive that is gone is unreachable, quickly
    outcomes_.clear()
    started = time.monotonic()
    store_instances(items[1:3], {"P1": coercion}, settings, lambda o: outcomes_.__setitem__(o.index, o))
    assert {o.reason for o in outcomes_.values()} == {"pacs_unreachable"}
    assert time.monotonic() - started < 15


def test_a_value_pydicom_cannot_encode_is_reported_in_words() -> None:
    ds = Dataset()
    ds.add_new(0x00280010, "US", "not a number")
    with pytest.raises(Exception) as raised:
        pydicom.dcmwrite(io.BytesIO(), ds, implicit_vr=False, little_endian=True)
    text = _encoding_problem(raised.value)
    assert "(0028,0010)" in text and "Traceback" not in text and "\n" not in text


# -- the medium ---------------------------------------------------------------------------------------------
def test_a_cut_iso_image_is_broken_and_its_lost_files_are_named(station: Station, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    outside_study(tree, "DICOM/ST1", images=6, seed=2201)
    make_dicomdir(tree)
    image = xorriso_iso(tree, tmp_path / "full.iso")
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    extents = sorted(iso.get_record(rr_path=f"/DICOM/ST1/S001/I{n:07d}").inode.extent_location() * 2048
                     for n in range(1, 7))
    iso.close()
    half = cut(image, tmp_path / "half.iso", at=extents[3] + 100)  # the 4th image cut, the rest lost
    scan = station.scan(half)
    assert scan["medium_state"] == "broken"
    assert scan["medium_problems"][0].startswith(f"the image ends at byte {extents[3] + 100} of ")
    files = {f["path"]: f for f in scan["files"]}
    assert [files[f"DICOM/ST1/S001/I{n:07d}"]["kind"] for n in range(1, 7)] == ["instance"] * 3 + ["unreadable"] * 3
    assert {files[f"DICOM/ST1/S001/I{n:07d}"]["reason"] for n in range(4, 7)} == {"truncated"}
    assert scan["dicomdir"] == "broken"  # the DICOMDIR is written after the images: it is lost too

    nothing = cut(image, tmp_path / "start.iso", at=extents[0])
    refused = station.run(nothing, *MAP, expect=1)
    assert refused["error"]["code"] == "import_refused"
    assert refused["error"]["message"].startswith("the medium holds no DICOM instances")
    assert "the image ends at byte" in refused["error"]["message"]
    assert run_json("import", "list", home=station.home)["jobs"] == [] and station.invoice_lines() == []


@pytest.mark.parametrize("damage, words", [
    ("bad_type", "invalid Directory Record Type ('BOGUS')"),
    ("loop", "reached twice (offsets loop)"),
    ("short_root", "not reachable from the root"),
])
def test_broken_dicomdirs_are_named_and_the_scan_still_finds_every_instance(
        station: Station, tmp_path: Path, damage: str, words: str) -> None:
    root = tmp_path / "disc"
    outside_study(root, "DICOM/ST1", images=2, seed=2301)
    outside_study(root, "DICOM/ST2", patient_id="JOR-0815", patient_name="Öhman^Åsa", images=2, seed=2302)
    make_dicomdir(root)
    expected = {f["sop_instance_uid"] for f in station.scan(root)["files"] if f["kind"] == "instance"}
    ds = dcmread(root / "DICOMDIR")
    records = list(ds.DirectoryRecordSequence)
    if damage == "bad_type":
        next(r for r in records if r.DirectoryRecordType == "IMAGE").DirectoryRecordType = "BOGUS"
    elif damage == "loop":
        last_image = [r for r in records if r.DirectoryRecordType == "IMAGE"][-1]
        first_patient_offset = int(ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity)
        last_image.OffsetOfTheNextDirectoryRecord = first_patient_offset
    else:
        patient = next(r for r in records if r.DirectoryRecordType == "PATIENT")
        patient.OffsetOfTheNextDirectoryRecord = 0  # the root chain stops after the first patient
    ds.save_as(root / "DICOMDIR", enforce_file_format=True)
    scan = station.scan(root)
    assert scan["dicomdir"] == "broken"
    assert any(words in p for p in scan["dicomdir_problems"]), scan["dicomdir_problems"]
    assert {f["sop_instance_uid"] for f in scan["files"] if f["kind"] == "instance"} == expected


def test_an_empty_medium_says_so_and_bills_nothing(station: Station, tmp_path: Path) -> None:
    root = tmp_path / "stick"
    copy_testdata("DICOMDIR-empty.dcm", root / "DICOMDIR")
    (root / "README.TXT").write_text("Kuvat\n", encoding="utf-8")
    scan = run("import", "scan", str(root), home=station.home)
    assert scan.returncode == 0 and "the medium holds no DICOM instances" in scan.stdout
    refused = station.run(root, *MAP, expect=1)
    assert refused["error"]["message"].startswith("the medium holds no DICOM instances")
    assert "--map" not in refused["error"]["message"]
    assert station.invoice_lines() == []
