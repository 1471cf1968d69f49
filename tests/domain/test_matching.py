"""Requested studies against what the archive found (R10.6, R13), table-driven."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from mediastation.domain.matching import (
    StudyFound, StudyMismatch, compare, dicom_date, dicom_time_to_minute, normalise_description, same_person_name,
)
from mediastation.domain.request import Study

HETU = "010594Y9032"
REQUESTED = Study(accession_number="HUS123456", study_description="TT VATSA",
                  study_datetime=datetime(2026, 11, 20, 10, 31))
FOUND = StudyFound(accession_number="HUS123456", study_instance_uid="1.2.3.4", study_description="TT VATSA",
                   study_date="20261120", study_time="103100", patient_id=HETU, patient_name="Mäkelä^Aino",
                   modalities=("CT",), instances=120)


def fields(mismatches: list[StudyMismatch]) -> list[tuple[str, str, str]]:
    return [(m.field, m.requested, m.found) for m in mismatches]


@pytest.mark.parametrize("change", [
    {},
    {"study_description": "tt vatsa"},
    {"study_description": "  Tt   Vatsa \t"},
    {"study_time": "103159.999999"},  # seconds and fractions: equal to the minute
    {"study_time": "1031"},
    {"study_time": "10:31:00"},  # ACR-NEMA spelling
    {"study_date": "2026.11.20"},
    {"patient_id": " 010594y9032 "},
    {"accession_number": " HUS123456 "},
    {"modalities": ("CT", "SR"), "instances": None},  # not compared
])
def test_the_same_study_matches(change: dict) -> None:
    assert compare([REQUESTED], [replace(FOUND, **change)], HETU) == []


@pytest.mark.parametrize("change, expected", [
    ({"study_description": "TT THORAX"}, [("study_description", "TT VATSA", "TT THORAX")]),
    ({"study_description": "TT VATSA VARJOAINE"}, [("study_description", "TT VATSA", "TT VATSA VARJOAINE")]),
    ({"study_description": ""}, [("study_description", "TT VATSA", "")]),
    ({"study_date": "20261121"}, [("study_date", "2026-11-20", "2026-11-21")]),
    ({"study_date": ""}, [("study_date", "2026-11-20", "")]),
    ({"study_date": "2026112"}, [("study_date", "2026-11-20", "2026112")]),
    ({"study_time": "103200"}, [("study_time", "10:31", "10:32")]),
    ({"study_time": "093100"}, [("study_time", "10:31", "09:31")]),
    ({"study_time": "10"}, [("study_time", "10:31", "10")]),  # no minutes: cannot be shown to match
    ({"study_time": "2531"}, [("study_time", "10:31", "2531")]),
    ({"patient_id": "010594Y9043"}, [("patient_id", HETU, "010594Y9043")]),
    ({"patient_id": "010594-9032"}, [("patient_id", HETU, "010594-9032")]),  # century sign differs: another person
    ({"patient_id": ""}, [("patient_id", HETU, "")]),
    ({"study_description": "MRI PAA", "study_date": "20250101", "study_time": "000000", "patient_id": "X"},
     [("study_description", "TT VATSA", "MRI PAA"), ("study_date", "2026-11-20", "2025-01-01"),
      ("study_time", "10:31", "00:00"), ("patient_id", HETU, "X")]),
])
def test_each_difference_is_reported(change: dict, expected: list) -> None:
    mismatches = compare([REQUESTED], [replace(FOUND, **change)], HETU)
    assert fields(mismatches) == expected
    assert all(m.accession_number == "HUS123456" and m.study_instance_uid == "" for m in mismatches)


def test_a_missing_study_is_reported_and_the_others_still_compared() -> None:
    second = Study(accession_number="HUS999", study_description="RTG THORAX",
                   study_datetime=datetime(2026, 1, 2, 8, 0))
    mismatches = compare([REQUESTED, second], [replace(FOUND, study_description="X")], HETU)
    assert fields(mismatches) == [("study_description", "TT VATSA", "X"), ("study_count", "1", "0")]
    assert mismatches[1].accession_number == "HUS999"
    assert "not found" in str(mismatches[1]) and "HUS999" in str(mismatches[1])


def test_two_studies_under_one_accession_number_are_refused_and_each_described() -> None:
    other = replace(FOUND, study_instance_uid="1.2.3.5", patient_id="311299-999E")
    mismatches = compare([REQUESTED], [FOUND, other], HETU)
    assert fields(mismatches) == [("study_count", "1", "2"), ("patient_id", HETU, "311299-999E")]
    assert mismatches[1].study_instance_uid == "1.2.3.5"
    assert "2 studies" in str(mismatches[0]) and "1.2.3.5" in str(mismatches[1])


def test_studies_of_other_accession_numbers_are_ignored() -> None:
    assert compare([REQUESTED], [FOUND, replace(FOUND, accession_number="HUS1", study_instance_uid="9")], HETU) == []


def test_a_study_requested_twice_is_reported_once() -> None:
    assert fields(compare([REQUESTED, REQUESTED], [], HETU)) == [("study_count", "1", "0")]


def test_an_empty_request_item_never_matches() -> None:
    """decide() refuses incomplete requests first; should one get here, nothing blank passes."""
    blank = Study(accession_number="HUS123456")
    assert fields(compare([blank], [FOUND], "")) == [
        ("study_description", "", "TT VATSA"), ("study_date", "", "2026-11-20"), ("study_time", "", "10:31"),
        ("patient_id", "", HETU)]


def test_the_message_names_the_study_and_both_values() -> None:
    text = str(compare([REQUESTED], [replace(FOUND, study_description="TT THORAX")], HETU)[0])
    assert text == "HUS123456: study name requested 'TT VATSA', archive has 'TT THORAX'"


@pytest.mark.parametrize("value, expected", [
    ("20261120", "2026-11-20"), ("2026.11.20", "2026-11-20"), (" 20261120 ", "2026-11-20"),
    ("", ""), ("2026-11-20", ""), ("202611201", ""),
])
def test_dicom_date(value: str, expected: str) -> None:
    assert dicom_date(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("1031", "10:31"), ("103100", "10:31"), ("103159.123456", "10:31"), ("10:31:59", "10:31"),
    ("10", ""), ("", ""), ("2400", ""), ("1060", ""), ("ab31", ""),
])
def test_dicom_time_to_minute(value: str, expected: str) -> None:
    assert dicom_time_to_minute(value) == expected


def test_description_normalisation_keeps_letters_apart() -> None:
    assert normalise_description("Thorax") == normalise_description("THORAX")
    assert normalise_description("Pää") == normalise_description("PA\u0308A\u0308")  # composed or not
    assert normalise_description("Pää") != normalise_description("Paa")


# -- the patient's name (R10.1) ----------------------------------------------------------------------

NAME = "Mäkelä^Aino"


@pytest.mark.parametrize("requested, archived", [
    ("Mäkelä^Aino", "Mäkelä^Aino"),
    ("MÄKELÄ^AINO", "Mäkelä^Aino"),                  # case
    ("Makela^Aino", "Mäkelä^Aino"),                  # accents dropped by a typist or an old archive
    ("Mäkelä^Aino", "MAKELA^AINO"),
    ("Mäkelä^Aino Maria", "Mäkelä^Maria Aino"),      # order of given names
    ("Mäkelä^Aino^Maria", "Mäkelä^Maria Aino"),      # middle name component = another given name
    ("Mäkelä^Aino", "Mäkelä^Aino^^Dr^"),             # prefix and suffix (titles) ignored
    ("Aino Mäkelä", "Mäkelä^Aino"),                  # plain text: the same words
    ("  Mäkelä ^ Aino ", "Mäkelä^Aino"),             # spacing
    ("Mäkelä^Aino", "Mäkelä^Aino=マケラ^アイノ"),       # ideographic groups ignored
    ("von Wright^Georg", "Georg von Wright"),
])
def test_the_same_name_matches(requested: str, archived: str) -> None:
    assert same_person_name(requested, archived)
    assert compare([REQUESTED], [replace(FOUND, patient_name=archived)], HETU, requested) == []


@pytest.mark.parametrize("requested, archived", [
    ("<script>alert(1)</script>^Aino", "Mäkelä^Aino"),  # the request's name is not the archive's
    ("Mäkelä^Aino", "Mäkelä^Anna"),
    ("Mäkelä^Aino", "Aino^Mäkelä"),                   # family and given name swapped in PN
    ("Mäkelä^Aino", "Mäkelä^Aino Maria"),             # a given name more
    ("Mäkelä^Aino", "Mäkelä-Virtanen^Aino"),
    ("Mäkelä^Aino", ""),                               # blank never matches
    ("", "Mäkelä^Aino"),
    ("Mäkelä^Aino", "Mäkelä^Aino\\Virtanen^Ville"),  # two patients in one study (folder archive)
])
def test_a_different_name_is_listed(requested: str, archived: str) -> None:
    assert not same_person_name(requested, archived)
    mismatches = compare([REQUESTED], [replace(FOUND, patient_name=archived)], HETU, requested)
    assert fields(mismatches) == [("patient_name", requested.strip(), archived.strip())]
    assert "patient name" in str(mismatches[0]) and repr(archived.strip()) in str(mismatches[0])


def test_without_a_name_only_the_study_is_compared() -> None:
    assert compare([REQUESTED], [replace(FOUND, patient_name="Anyone^Else")], HETU) == []
