"""The request file (interfaces.md): structural problems all listed with paths; R10 items may be absent."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from mediastation.domain.request import Problem, ReleaseRequest, RequestInvalid, content_hash, parse_request

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "request.json"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def with_change(path: str, value: object) -> str:
    """The interfaces.md example with one dotted path (`studies.0.register`) set, as JSON text."""
    data = copy.deepcopy(example())
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return json.dumps(data)


def problems_of(text: str | bytes) -> list[Problem]:
    with pytest.raises(RequestInvalid) as caught:
        parse_request(text)
    return caught.value.problems


def test_interfaces_example_parses_to_its_values() -> None:
    request = parse_request(EXAMPLE.read_bytes())
    assert request.patient.hetu == "010594Y9032"
    assert request.patient.name == "Mäkelä^Aino"
    assert request.no_prohibition.confirmed is True
    assert request.basis.kind == "care"
    assert request.destination.kind == "service_provider"
    assert request.destination.address is not None and request.destination.address.postal_code == "00100"
    assert request.destination.dicom_node is None
    assert request.received_at == datetime(2026, 11, 26, 7, 12, tzinfo=timezone.utc)
    (study,) = request.studies
    assert (study.accession_number, study.study_description, study.register) == ("HUS123456", "TT VATSA", "HUS-yhtyma")
    assert study.study_datetime == datetime(2026, 11, 20, 10, 31)


def test_defaults_of_optional_keys() -> None:
    request = parse_request('{"studies": [{"accession_number": "A1"}]}')
    assert (request.channel, request.content, request.urgent, request.language) == ("auto", "images_and_reports",
                                                                                    False, "fi")
    assert request.studies[0].register == "HUS-yhtyma"
    assert request.received_at is None


@pytest.mark.parametrize("text", [
    "{}",
    '{"patient": null, "no_prohibition": null, "requester": null, "basis": null, "destination": null, "studies": null}',
    '{"patient": {"name": "", "hetu": "  "}, "basis": {"kind": ""}, "destination": {"kind": null, "name": ""}}',
    '{"no_prohibition": {"confirmed": null, "confirmed_by": ""}, "studies": []}',
    '{"studies": [{"accession_number": "", "study_description": null, "study_datetime": ""}]}',
])
def test_missing_r10_items_are_not_structural_problems(text: str) -> None:
    """R10: absent, null or blank items parse (empty) so the decision can name each one."""
    request = parse_request(text)
    assert request.patient.hetu == ""
    assert request.basis.kind is None
    assert request.no_prohibition.confirmed is None


@pytest.mark.parametrize("path, value, where, says", [
    ("urgent", "true", "urgent", "boolean"),
    ("no_prohibition.confirmed", "yes", "no_prohibition.confirmed", "boolean"),
    ("patient.hetu", 10594, "patient.hetu", "string"),
    ("studies.0.accession_number", 123456, "studies[0].accession_number", "string"),
    ("channel", "fax", "channel", "'auto'"),
    ("content", "images", "content", "reports_only"),
    ("language", "de", "language", "'fi'"),
    ("basis.kind", "friendship", "basis.kind", "'care'"),
    ("destination.kind", "hospital", "destination.kind", "service_provider"),
    ("received_at", "26.11.2026 9:12", "received_at", "ISO 8601"),
    ("received_at", 1764141120, "received_at", "datetime"),
    ("studies.0.study_datetime", "2026-11-20", "studies[0].study_datetime", "time of day"),
    ("studies.0.study_datetime", "2026-02-30T10:00:00", "studies[0].study_datetime", "ISO 8601"),
    ("destination.dicom_node", {"ae_title": "PACS", "host": "pacs.example", "port": "104"},
     "destination.dicom_node.port", "integer"),
    ("destination.dicom_node", {"ae_title": "A" * 17, "host": "pacs.example", "port": 104},
     "destination.dicom_node.ae_title", "16"),
    ("destination.dicom_node", {"ae_title": "PACS", "port": 104}, "destination.dicom_node.host", "required"),
    ("destination.dicom_node", {"ae_title": "PACS", "host": "h", "port": 70000},
     "destination.dicom_node.port", "65535"),
    ("destination.address.zip", "00100", "destination.address.zip", "unknown key"),
    ("patient.age", 32, "patient.age", "unknown key"),
    ("request_id", "x", "request_id", "unknown key"),
    ("basis", ["care"], "basis", "JSON object"),
    ("studies", {"accession_number": "A"}, "studies", "array"),
    ("studies.0", "HUS123456", "studies[0]", "JSON object"),
])
def test_structural_problem_names_its_path(path: str, value: object, where: str, says: str) -> None:
    problems = problems_of(with_change(path, value))
    assert [p.path for p in problems] == [where]
    assert says.lower() in problems[0].message.lower()


def test_unknown_key_lists_the_allowed_keys() -> None:
    (problem,) = problems_of(with_change("destination.address.zip", "00100"))
    assert "postal_code" in problem.message and "street" in problem.message


def test_every_problem_of_a_bad_file_is_listed() -> None:
    text = json.dumps({
        "received_at": "yesterday",
        "patient": {"name": "Mäkelä^Aino", "hetu": "010594Y9032", "sex": "F"},
        "urgent": "no",
        "channel": "pigeon",
        "studies": [{"accession_number": "A1", "study_datetime": "2026-11-20"},
                    {"accession_number": 2, "register": 5}],
        "priority": 1,
    })
    problems = problems_of(text)
    assert {p.path for p in problems} == {
        "received_at", "patient.sex", "urgent", "channel", "studies[0].study_datetime",
        "studies[1].accession_number", "studies[1].register", "priority"}
    with pytest.raises(ValueError) as caught:  # the CLI maps it as a ValueError; message joins them all
        parse_request(text)
    assert all(p.path in str(caught.value) for p in problems)


@pytest.mark.parametrize("text, says", [
    ("", "not JSON"),
    ("{'patient': {}}", "not JSON"),
    ('{"patient": {"name": "A"}', "not JSON"),
    ("[]", "JSON object"),
    ('"request"', "JSON object"),
    (b"\xff\xfe{}", "UTF-8"),
    ('{"channel": "cd", "channel": "usb"}', "more than once"),
])
def test_whole_file_problems_are_at_dollar(text: str | bytes, says: str) -> None:
    (problem,) = problems_of(text)
    assert problem.path == "$"
    assert says in problem.message


def test_byte_order_mark_and_bytes_are_accepted() -> None:
    assert parse_request("\ufeff{}".encode("utf-8")) == parse_request("{}")


@pytest.mark.parametrize("given, utc", [
    ("2026-11-26T09:12:00+02:00", datetime(2026, 11, 26, 7, 12, tzinfo=timezone.utc)),
    ("2026-11-26T07:12:00Z", datetime(2026, 11, 26, 7, 12, tzinfo=timezone.utc)),
    ("2026-11-26T09:12:00", datetime(2026, 11, 26, 7, 12, tzinfo=timezone.utc)),  # naive = Helsinki (EET)
    ("2026-06-15T09:12:00", datetime(2026, 6, 15, 6, 12, tzinfo=timezone.utc)),  # naive = Helsinki (EEST)
])
def test_received_at_naive_is_helsinki_time(given: str, utc: datetime) -> None:
    received = parse_request(with_change("received_at", given)).received_at
    assert received is not None and received.utcoffset() is not None
    assert received == utc


def test_study_datetime_with_offset_becomes_helsinki_wall_clock() -> None:
    request = parse_request(with_change("studies.0.study_datetime", "2026-11-20T08:31:00Z"))
    assert request.studies[0].study_datetime == datetime(2026, 11, 20, 10, 31)


def test_request_is_frozen() -> None:
    request = parse_request(EXAMPLE.read_bytes())
    with pytest.raises(ValidationError):
        request.channel = "usb"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        request.patient.hetu = "131052-308T"  # type: ignore[misc]


def test_constructing_in_code_validates_too() -> None:
    with pytest.raises(ValidationError):
        ReleaseRequest(channel="fax")  # type: ignore[arg-type]


def test_fingerprint_ignores_formatting_and_spelling_of_the_same_instant() -> None:
    original = EXAMPLE.read_text(encoding="utf-8")
    compact = json.dumps(json.loads(original), separators=(",", ":"), sort_keys=True)
    same_instant = with_change("received_at", "2026-11-26T07:12:00Z")
    naive = with_change("received_at", "2026-11-26T09:12:00")
    hashes = {content_hash(t) for t in (original, compact, same_instant, naive, original.encode())}
    assert len(hashes) == 1
    assert content_hash(original) == parse_request(original).fingerprint()
    assert len(content_hash(original)) == 64


@pytest.mark.parametrize("path, value", [
    ("received_at", "2026-11-26T09:13:00+02:00"),
    ("patient.hetu", "131052-308T"),
    ("studies.0.accession_number", "HUS123457"),
    ("urgent", True),
])
def test_fingerprint_changes_with_content(path: str, value: object) -> None:
    assert content_hash(with_change(path, value)) != content_hash(EXAMPLE.read_text(encoding="utf-8"))


def test_explicit_defaults_hash_like_omitted_ones() -> None:
    explicit = '{"channel": "auto", "urgent": false, "studies": [{"accession_number": "A", "register": "HUS-yhtyma"}]}'
    omitted = '{"studies": [{"accession_number": "A"}]}'
    assert content_hash(explicit) == content_hash(omitted)


def test_receipt_offset_is_kept_for_display() -> None:
    received = parse_request(EXAMPLE.read_bytes()).received_at
    assert received is not None and received.utcoffset() == timedelta(hours=2)
