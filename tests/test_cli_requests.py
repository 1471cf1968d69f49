"""Release requests and the disclosure log through the CLI with --json."""

from __future__ import annotations

import json
from datetime import date, timedelta
import sqlite3
from pathlib import Path

import pytest

from support.cli import EXAMPLES, run, run_json
from support.synthetic import synthetic_hetu

DECISION_KEYS = {"request_id", "decision", "channel", "billable", "on_call", "earliest_delivery", "reasons"}

EXAMPLE_OUTCOMES = {
    "request.json": ("needs_consent", 0, "consent_required"),
    "requests/needs_consent.json": ("needs_consent", 0, "consent_required"),
    "requests/no_release_needed.json": ("no_release_needed", 0, "uusimaa_care_access"),
    "requests/refused_invalid_hetu.json": ("refused", 1, "invalid_hetu"),
    "requests/refused_missing_fields.json": ("refused", 1, "missing_field"),
    "requests/release_cd.json": ("release", 0, "postal_delivery_week"),
    "first_release.json": ("release", 0, "postal_delivery_week"),  # the README's, for `init --samples`
    "requests/release_electronic.json": ("release", 0, "electronic_preferred"),
    "requests/route_defence_forces.json": ("route", 0, "defence_forces_register"),
    "requests/route_reports_only.json": ("route", 0, "reports_only"),
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    return home


def test_every_example_file_is_covered() -> None:
    found = {str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.json")}
    assert found == set(EXAMPLE_OUTCOMES)


@pytest.mark.parametrize("name", sorted(EXAMPLE_OUTCOMES))
def test_check_gives_the_documented_decision(home: Path, name: str) -> None:
    decision, status, code = EXAMPLE_OUTCOMES[name]
    doc = run_json("request", "check", str(EXAMPLES / name), home=home, expect=status)
    assert set(doc) == DECISION_KEYS
    assert doc["request_id"] is None
    assert doc["decision"] == decision
    assert code in {reason["code"] for reason in doc["reasons"]}
    assert all(reason["rule"].startswith("R") for reason in doc["reasons"])


def test_release_by_cd_matches_the_interfaces_shape(home: Path) -> None:
    doc = run_json("--json", "request", "check", str(EXAMPLES / "requests/release_cd.json"), home=home)
    assert (doc["decision"], doc["channel"], doc["billable"]) == ("release", "cd", True)
    # R16 from the later of receipt (26.11.2026) and the day it is checked: never a day already past
    assert doc["earliest_delivery"] >= (date.today() + timedelta(days=7)).isoformat()


def test_missing_fields_are_each_named(home: Path) -> None:
    doc = run_json("request", "check", str(EXAMPLES / "requests/refused_missing_fields.json"), home=home, expect=1)
    fields = {r["field"] for r in doc["reasons"] if r["code"] == "missing_field"}
    assert {"patient.hetu", "requester.person", "studies[0].study_description"} <= fields


def test_a_broken_file_lists_every_problem_without_traceback(home: Path, tmp_path: Path) -> None:
    bad = json.loads((EXAMPLES / "request.json").read_text(encoding="utf-8"))
    bad["urgent"] = "yes"
    bad["colour"] = "blue"
    bad["studies"][0]["study_datetime"] = "yesterday"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    doc = run_json("request", "check", str(path), home=home, expect=1)
    paths = {p["path"] for p in doc["error"]["problems"]}
    assert {"urgent", "colour", "studies[0].study_datetime"} <= paths
    assert doc["error"]["code"] == "invalid_request"
    plain = run("request", "check", str(path), home=home)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr and "colour" in plain.stderr


def test_not_json_and_missing_file_are_clear_errors(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json", encoding="utf-8")
    assert run_json("request", "check", str(path), home=home, expect=1)["error"]["code"] == "invalid_request"
    missing = run_json("request", "check", str(tmp_path / "nope.json"), home=home, expect=1)
    assert "nope.json" in missing["error"]["message"]


def test_request_from_stdin(home: Path) -> None:
    text = (EXAMPLES / "requests/release_cd.json").read_text(encoding="utf-8")
    assert run_json("request", "check", "-", home=home, stdin=text)["decision"] == "release"


def test_add_is_idempotent_on_content(home: Path, tmp_path: Path) -> None:
    source = EXAMPLES / "requests/release_cd.json"
    first = run_json("request", "add", str(source), home=home)
    assert first["created"] is True and first["request_id"]
    reformatted = tmp_path / "same.json"
    reformatted.write_text(json.dumps(json.loads(source.read_text(encoding="utf-8")), indent=8), encoding="utf-8")
    second = run_json("request", "add", str(reformatted), home=home)
    assert second["created"] is False and second["request_id"] == first["request_id"]
    assert "already stored" in second["note"]
    listed = run_json("request", "list", home=home)["requests"]
    assert [r["request_id"] for r in listed] == [first["request_id"]]
    shown = run_json("request", "show", first["request_id"], home=home)
    assert shown["decision"] == "release" and shown["request"]["patient"]["hetu"]


def test_show_unknown_request_is_refused(home: Path) -> None:
    doc = run_json("request", "show", "R-0000-0000", home=home, expect=1)
    assert doc["error"]["code"] == "not_found"


def _released(home: Path, name: str = "requests/release_cd.json") -> dict:
    added = run_json("request", "add", str(EXAMPLES / name), home=home)
    return run_json("log", "record", added["request_id"], "--medium-id", "HUS1234_1", "--by", "rtg-hoitaja",
                    home=home)


def test_release_is_logged_and_listed_for_the_patient(home: Path) -> None:
    entry = _released(home)
    request = json.loads((EXAMPLES / "requests/release_cd.json").read_text(encoding="utf-8"))
    hetu = request["patient"]["hetu"]
    listing = run_json("log", "patient", hetu, home=home)
    assert [e["seq"] for e in listing["disclosures"]] == [entry["seq"]]
    logged = listing["disclosures"][0]
    assert logged["recipient"]["name"] == request["destination"]["name"]
    assert logged["released"][0]["accession_number"] == request["studies"][0]["accession_number"]
    assert (logged["actor"], logged["channel"], logged["medium_id"]) == ("rtg-hoitaja", "cd", "HUS1234_1")
    other = synthetic_hetu(12345)
    assert other != hetu
    assert run_json("log", "patient", other, home=home)["disclosures"] == []


def test_only_released_decisions_can_be_logged_and_only_once(home: Path) -> None:
    consent = run_json("request", "add", str(EXAMPLES / "requests/needs_consent.json"), home=home)
    refused = run_json("log", "record", consent["request_id"], home=home, expect=1)
    assert "needs_consent" in refused["error"]["message"]
    entry = _released(home)
    again = run_json("log", "record", entry["request_id"], home=home, expect=1)
    assert "--again" in again["error"]["message"]


def test_correction_is_a_new_entry(home: Path) -> None:
    entry = _released(home)
    fix = run_json("log", "correct", str(entry["seq"]), "--note", "wrong medium id", home=home)
    assert fix["seq"] == entry["seq"] + 1 and fix["correction_of"] == entry["seq"]
    assert run_json("log", "verify", home=home)["entries"] == 2


def test_verify_passes_then_fails_after_a_hand_edit(home: Path) -> None:
    _released(home)
    _released(home, "requests/release_electronic.json")
    ok = run_json("log", "verify", home=home)
    assert ok["ok"] is True and ok["entries"] == 2
    with sqlite3.connect(home / "station.db") as conn:
        conn.execute("DROP TRIGGER disclosures_no_update")
        conn.execute("UPDATE disclosures SET content_json = replace(content_json, 'rtg-hoitaja', 'someone') WHERE seq = 1")
    tampered = run_json("log", "verify", home=home, expect=1)
    assert tampered["ok"] is False
    assert any("entry 1" in p for p in tampered["problems"])
    plain = run("log", "verify", home=home)
    assert plain.returncode == 1 and "TAMPERED" in plain.stdout


def test_verify_sees_the_newest_entry_deleted(home: Path) -> None:
    _released(home)
    with sqlite3.connect(home / "station.db") as conn:
        conn.execute("DROP TRIGGER disclosures_no_delete")
        conn.execute("DELETE FROM disclosures")
    tampered = run_json("log", "verify", home=home, expect=1)
    assert any("no disclosure log entry" in p for p in tampered["problems"])


def test_invalid_hetu_for_patient_listing(home: Path) -> None:
    doc = run_json("log", "patient", "010594Y9033", home=home, expect=1)
    assert "check character" in doc["error"]["message"]


def test_configured_electronic_destination_changes_the_channel(home: Path, tmp_path: Path) -> None:
    config = home / "station.toml"
    config.write_text(config.read_text(encoding="utf-8") + (
        '\n[[release.electronic_destinations]]\nname = "Terveystalo Kamppi"\nae_title = "TTKAMPPI"\n'
        'host = "127.0.0.1"\nport = 11999\n'), encoding="utf-8")
    request = json.loads((EXAMPLES / "request.json").read_text(encoding="utf-8"))
    request["basis"] = {"kind": "consent", "reference": "HUS-suostumus 2026-0042"}
    path = tmp_path / "consented.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    doc = run_json("request", "check", str(path), home=home)
    assert (doc["decision"], doc["channel"], doc["billable"]) == ("release", "electronic", False)
