"""The disclosure log sealed with a key outside the database, as a user and an attacker meet it through
the CLI: `init` makes the key (0600); an edit with the chain recomputed by plain SHA-256, a dropped
trigger and another key file each make `log verify` fail naming the first bad entry; `log patient`
marks what fails; `--against` checks the audit repository's anchors; the patient's PDF report read
back with pdftotext holds every entry; an old database is re-sealed once and says so."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from mediastation.audit import messages as m
from mediastation.audit.trail import disclosure_event
from mediastation.cli.demo import demo_request
from mediastation.domain.disclosure import GENESIS
from mediastation.store.db import Database, _alembic_config, _create_engine, open_database
from mediastation.store.disclosures import DisclosureLog, read_key_file
from mediastation.errors import ConfigError
from support.cli import run, run_json

HETU = "010594Y9032"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A station whose log holds three releases of the demo request (recorded with `log record`)."""
    home = tmp_path_factory.mktemp("sealed") / "home"
    assert run("init", home=home).returncode == 0
    request = home.parent / "request.json"
    request.write_text(json.dumps(demo_request()), encoding="utf-8")
    request_id = run_json("request", "add", str(request), home=home)["request_id"]
    for n, channel in enumerate(("cd", "usb", "electronic")):
        run_json("log", "record", request_id, "--channel", channel, *(["--again"] if n else []),
                 "--by", "Liisa Virtanen", home=home)
    return home


@pytest.fixture
def home(logged: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(logged, tmp_path / "home"))


def test_init_makes_a_private_key_once(home: Path) -> None:
    key = home / "disclosure.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    assert run_json("init", home=home)["log_key_created"] is False and key.read_bytes() == before
    assert run_json("log", "verify", home=home)["ok"] is True


def _sha_rechain(db: Path, edit: tuple[str, str]) -> None:
    """Edit every entry's content, then recompute the whole chain with SHA-256 as the old code did."""
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER disclosures_no_update")
        rows = conn.execute("SELECT seq, content_json FROM disclosures ORDER BY seq").fetchall()
        conn.execute("UPDATE disclosures SET prev_hash = 'x' || seq, entry_hash = 'y' || seq")
        prev = GENESIS
        for seq, content in rows:
            content = content.replace(*edit) if seq == 2 else content
            value = hashlib.sha256(f"{prev}\n{content}".encode()).hexdigest()
            conn.execute("UPDATE disclosures SET content_json = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
                         (content, prev, value, seq))
            prev = value
        conn.execute("CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures "
                     "BEGIN SELECT RAISE(ABORT, 'the disclosure log is append-only: add a correction entry'); END")


def test_an_edit_with_a_recomputed_sha256_chain_fails_verify(home: Path) -> None:
    _sha_rechain(home / "station.db", ("Terveystalo Kamppi", "Somewhere Else"))
    result = run("log", "verify", home=home)
    assert result.returncode == 1
    assert "first bad entry: 1" in result.stdout and "key file does not fit" in result.stdout
    document = run_json("log", "verify", home=home, expect=1)
    assert document["first_bad_entry"] == 1 and document["bad_entries"] == [1, 2, 3]


def test_one_edited_entry_is_named_and_marked_in_the_patients_listing(home: Path) -> None:
    with sqlite3.connect(home / "station.db") as conn:
        conn.execute("DROP TRIGGER disclosures_no_update")
        conn.execute("UPDATE disclosures SET content_json = replace(content_json, 'Liisa Virtanen', 'Nobody') "
                     "WHERE seq = 2")
    document = run_json("log", "verify", home=home, expect=1)
    assert document["first_bad_entry"] == 2 and document["bad_entries"] == [2]
    assert any("disclosures_no_update" in p for p in document["problems"])
    listing = run_json("log", "patient", HETU, home=home)["disclosures"]
    assert [e["verified"] for e in listing] == [True, False, True]
    assert "NOT VERIFIED" in run("log", "patient", HETU, home=home).stdout.splitlines()[1]


def test_a_dropped_trigger_alone_fails_verify(home: Path) -> None:
    with sqlite3.connect(home / "station.db") as conn:
        conn.execute("DROP TRIGGER disclosures_no_update")
    result = run("log", "verify", home=home)
    assert result.returncode == 1 and "trigger disclosures_no_update is missing" in result.stdout


def test_another_key_file_fails_verify(home: Path) -> None:
    key = home / "disclosure.key"
    key.write_text("ab" * 32 + "\n")
    result = run("log", "verify", home=home)
    assert result.returncode == 1 and "key file does not fit" in result.stdout


def test_verify_against_the_repositorys_anchors(home: Path, tmp_path: Path) -> None:
    """The anchors as the repository holds them (each entry's audit message); then the newest entry
    is deleted by hand: the chain alone cannot see that, the anchors can."""
    database = open_database(f"sqlite:///{home / 'station.db'}", log_key=read_key_file(home / "disclosure.key"))
    source = m.AuditSource("HUS media station", "MEDIASTATION", "ms1")
    export = tmp_path / "repository-export.log"
    export.write_text("\n".join(f"<85>1 - ms1 mediastation - IHE+RFC-3881 - \ufeff" + disclosure_event(source, e, None).to_xml()
                                for e in DisclosureLog(database).entries()), encoding="utf-8")
    database.dispose()
    good = run_json("log", "verify", "--against", str(export), home=home)
    assert good["ok"] and good["anchors"]["checked"] == 3
    with sqlite3.connect(home / "station.db") as conn:
        conn.execute("DROP TRIGGER disclosures_no_delete")
        conn.execute("DELETE FROM disclosures WHERE seq = 3")
        conn.execute("CREATE TRIGGER disclosures_no_delete BEFORE DELETE ON disclosures "
                     "BEGIN SELECT RAISE(ABORT, 'the disclosure log is append-only: add a correction entry'); END")
    assert run_json("log", "verify", home=home)["ok"]  # the chain alone: intact
    bad = run_json("log", "verify", "--against", str(export), home=home, expect=1)
    assert bad["first_bad_entry"] == 3 and "deleted" in bad["problems"][0]


@pytest.mark.parametrize("language, words", [("fi", ["LUOVUTUSSELVITYS", "Luovuttaja"]),
                                              ("sv", ["UTLÄMNANDEREDOGÖRELSE", "Mottagare"]),
                                              ("en", ["DISCLOSURE REPORT", "Released by"])])
def test_the_patients_pdf_report_holds_every_entry(home: Path, tmp_path: Path, language: str, words: list[str]) -> None:
    pdf = tmp_path / f"report_{language}.pdf"
    document = run_json("log", "patient", HETU, "--pdf", str(pdf), "--language", language, home=home)
    assert document["pdf"] == str(pdf)
    page = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(page.split())
    for word in [*words, HETU, "Terveystalo Kamppi", "Liisa Virtanen"]:
        assert word in flat, (word, page)
    for entry in document["disclosures"]:
        assert f"#{entry['seq']}" in flat
        for study in entry["released"]:
            assert study["accession_number"] in flat
    assert flat.count("Liisa Virtanen") == 3  # one per entry: none left out


def _legacy(url: str) -> Database:
    engine = _create_engine(url)
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        command.upgrade(cfg, "0005")
    return Database(engine, sessionmaker(engine, expire_on_commit=False))


def test_an_old_log_is_resealed_once_and_says_so(tmp_path: Path, database_url: str) -> None:
    """A database of the previous schema with a SHA-256 chain: without a key the upgrade refuses;
    with the key every entry is sealed, a last entry notes it, and a second start changes nothing."""
    legacy = _legacy(database_url)
    prev = GENESIS
    with legacy.engine.begin() as conn:
        for seq in (1, 2):
            content = json.dumps({"seq": seq, "patient": {"hetu": HETU}, "released": [], "channel": "cd"},
                                 sort_keys=True, separators=(",", ":"))
            value = hashlib.sha256(f"{prev}\n{content}".encode()).hexdigest()
            conn.execute(text("INSERT INTO disclosures (seq, patient_hetu, request_id, recorded_at, content_json, "
                              "prev_hash, entry_hash) VALUES (:s, :h, NULL, '2026-11-30T10:00:00+00:00', :c, :p, :e)"),
                         {"s": seq, "h": HETU, "c": content, "p": prev, "e": value})
            prev = value
    legacy.dispose()
    with pytest.raises(ConfigError, match="mediastation init"):
        open_database(database_url)
    key = bytes(range(32))
    sealed = open_database(database_url, log_key=key)
    log = DisclosureLog(sealed)
    entries = list(log.entries())
    assert [e.seq for e in entries] == [1, 2, 3] and log.verify().ok
    note = json.loads(entries[-1].content_json)
    assert note["kind"] == "re-anchor" and note["legacy_chain"] == "intact" and note["legacy_head"] == prev
    assert log.guard_problems() == []
    sealed.dispose()
    again = open_database(database_url, log_key=key)
    assert DisclosureLog(again).count() == 3
    again.dispose()
