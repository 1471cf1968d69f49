"""`[export] compressed_profile = "auto"`: a DVD or USB takes the general-purpose profile under which
the fewest instances must be converted (§b11-14), every conversion is still listed, and a lossy
image decoded for the medium keeps saying it is lossy. Exports run through the CLI from the folder
archive `mediastation init` sets up."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from mediastation.dicom.profiles import STD_GEN_CD, STD_GEN_DVD_J2K, STD_GEN_DVD_JPEG, STD_GEN_USB_JPEG
from mediastation.dicom.profiles import fewest_conversions, profile_for_medium
from support import multiframe as mf
from support.cli import run, run_json
from support.synthetic import make_study
from support.viewer_disc import extract_iso


@pytest.mark.parametrize(("syntaxes", "flavour"), [
    ([JPEGBaseline8Bit] * 3, "JPEG"),
    ([JPEG2000Lossless, JPEG2000], "J2K"),
    ([JPEGBaseline8Bit, JPEG2000Lossless, JPEG2000Lossless], "J2K"),  # one conversion rather than two
    ([JPEGBaseline8Bit, JPEGBaseline8Bit, JPEG2000], "JPEG"),
    ([JPEGBaseline8Bit, JPEG2000], "J2K"),  # a tie keeps J2K
    ([JPEGLosslessSV1, JPEGExtended12Bit, ExplicitVRLittleEndian], "JPEG"),
    ([ExplicitVRLittleEndian] * 4, "J2K"),
    ([RLELossless, JPEGLSLossless], "J2K"),  # converted under both
    ([], "J2K"),
])
def test_fewest_conversions(syntaxes: list[str], flavour: str) -> None:
    assert fewest_conversions(syntaxes) == flavour


def test_auto_per_medium() -> None:
    assert profile_for_medium("dvd", "auto", [JPEGBaseline8Bit]) is STD_GEN_DVD_JPEG
    assert profile_for_medium("usb", "AUTO", [JPEGBaseline8Bit]) is STD_GEN_USB_JPEG
    assert profile_for_medium("dvd-dl", "auto", [JPEG2000]) is STD_GEN_DVD_J2K
    assert profile_for_medium("cd", "auto", [JPEGBaseline8Bit]) is STD_GEN_CD  # a CD is always uncompressed


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A home whose folder archive holds a JPEG baseline cine (accession MFAUTO1) and a JPEG 2000
    CT study of the same patient (MFAUTO2); the configuration keeps the new default, auto."""
    root = tmp_path_factory.mktemp("profiles")
    home = root / "home"
    done = run("init", home=home)
    assert done.returncode == 0, done.stderr
    assert re.search(r'(?m)^compressed_profile = "auto"', (home / "station.toml").read_text(encoding="utf-8"))
    cine = mf.us_cine_jpeg(home / "archive" / "cine" / "IM1", generate_uid(), frames=12, accession="MFAUTO1")
    ct = make_study(home / "archive" / "ct", modality="CT", images=2, patient_name=mf.NAME, patient_id=mf.HETU,
                    accession="MFAUTO2", study_description="TT VATSA", study_datetime=datetime(2026, 11, 21, 9, 0),
                    transfer_syntax=JPEG2000Lossless)
    return {"root": root, "home": home, "cine": cine, "ct": ct}


def _export(station: dict, name: str, studies: list[tuple[str, str, str]]) -> tuple[dict, Path]:
    request = {
        "received_at": "2026-11-26T09:12:00+02:00", "patient": {"name": mf.NAME, "hetu": mf.HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": "Liisa Virtanen"},
        "requester": {"unit": "Jorvin sairaala", "person": "Liisa Virtanen"},
        "basis": {"kind": "consent", "reference": "HUS suostumus 2026-0042"},
        "destination": {"kind": "service_provider", "name": "Terveystalo Kamppi", "participates_in_care": True,
                        "address": {"name": "Terveystalo Kamppi", "street": "Jaakonkatu 3", "postal_code": "00100",
                                    "city": "Helsinki"}},
        "channel": "dvd",
        "studies": [{"accession_number": accession, "study_description": description, "study_datetime": moment}
                    for accession, description, moment in studies],
    }
    path = station["root"] / f"request-{name}.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    request_id = run_json("request", "add", str(path), home=station["home"])["request_id"]
    out = station["root"] / f"out-{name}"
    doc = run_json("export", request_id, "--to", str(out), "--mkdir", home=station["home"], timeout=600)
    assert doc["state"] == "done" and len(doc["media"]) == 1
    return doc, extract_iso(Path(doc["media"][0]["image"]), station["root"] / f"disc-{name}", lower=False)


CINE = ("MFAUTO1", "MONIKUVA", "2026-11-20T10:31:00")
CT = ("MFAUTO2", "TT VATSA", "2026-11-21T09:00:00")


def _on_disc(disc: Path) -> dict[str, object]:
    """SOP Instance UID -> the header of its file on the disc."""
    files = [p for p in (disc / "DICOM").rglob("*") if p.is_file()]
    return {str(ds.SOPInstanceUID): ds for ds in (dcmread(p, stop_before_pixels=True) for p in files)}


def test_a_jpeg_baseline_disc_uses_the_jpeg_profile_and_converts_nothing(station: dict) -> None:
    doc, disc = _export(station, "jpeg", [CINE])
    assert doc["media"][0]["profile"] == "STD-GEN-DVD-JPEG"
    assert doc["conversions"] == []
    header = _on_disc(disc)[station["cine"].sop_uid]
    assert header.file_meta.TransferSyntaxUID == JPEGBaseline8Bit  # the original bytes, not re-encoded
    assert (disc / "IHE_PDI" / "MANIFEST.JS").is_file()


def test_a_mix_takes_the_profile_with_fewest_conversions_and_lists_them(station: dict) -> None:
    doc, disc = _export(station, "mix", [CINE, CT])  # 1 JPEG baseline, 2 JPEG 2000
    assert doc["media"][0]["profile"] == "STD-GEN-DVD-J2K"
    assert [c["sop_instance_uid"] for c in doc["conversions"]] == [station["cine"].sop_uid]
    assert doc["conversions"][0]["from"] == JPEGBaseline8Bit and doc["conversions"][0]["to"] == ExplicitVRLittleEndian
    headers = _on_disc(disc)
    cine = headers[station["cine"].sop_uid]
    assert cine.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert cine.LossyImageCompression == "01" and cine.LossyImageCompressionMethod == "ISO_10918_1"
    for uid in station["ct"].sop_instance_uids:
        assert headers[uid].file_meta.TransferSyntaxUID == JPEG2000Lossless
