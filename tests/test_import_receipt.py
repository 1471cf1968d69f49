"""The import receipt PDF in Finnish, Swedish and English: every file listed, letters intact."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from mediastation.documents.import_receipt import TEXTS, write_import_receipt
from mediastation.errors import InputError

DOCUMENT = {
    "job_id": "I-0123456789ABCDEF", "state": "partial", "operator": "Liisa Virtanen", "medium": "ISO 9660 image",
    "dicomdir": "broken", "counts": {"imported": 2, "skipped": 1, "unreconciled": 1},
    "patients": [{"key": "P1", "hetu": "010594Y9032", "name": "Mäkelä^Aino", "demographics_from": "operator",
                  "outside": {"patient_id": "JOR-4711", "issuer": "JORVI-RIS", "name": "Åström^Märta",
                              "birth_date": "19940501"}}],
    "studies": [{"study_instance_uid": "1.2.3", "hetu": "010594Y9032", "imported": 2, "already_present": 0,
                 "failed": 0, "rejected": 0, "date": "20240314", "description": "TT VATSA"}],
    "files": [{"path": "DICOM/IM1", "outcome": "imported", "reason": ""},
              {"path": "DICOM/IM2", "outcome": "imported", "reason": ""},
              {"path": "README.TXT", "outcome": "skipped", "reason": "text"},
              {"path": "OTHER/" + "VERY_LONG_FOLDER_NAME/" * 8 + "LAST_PART.DCM", "outcome": "unreconciled",
               "reason": "not_mapped"}],
    "invoice_lines": ["L-ABCD-1234"], "warnings": ["P1: Öljy-varoitus"],
}


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_receipt_in_each_language(tmp_path: Path, language: str) -> None:
    path = write_import_receipt(tmp_path / "r.pdf", DOCUMENT, language=language, station="HUS Meilahti",
                                when=datetime(2026, 11, 26, 10, 30))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert TEXTS[language]["title"].split()[0] in text
    for expected in ("010594Y9032", "Mäkelä", "Åström", "L-ABCD-1234", "README.TXT", "DICOM/IM2", "LAST_PART.DCM",
                     "Öljy", TEXTS[language]["unreconciled"].split(",")[0]):
        assert expected in text, expected


def test_every_language_has_every_text() -> None:
    assert all(set(TEXTS[language]) == set(TEXTS["fi"]) for language in TEXTS)


def test_an_unknown_language_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        write_import_receipt(tmp_path / "r.pdf", DOCUMENT, language="de", station="x", when=datetime.now())
    assert not (tmp_path / "r.pdf").exists()
