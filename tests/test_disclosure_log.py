"""The disclosure log (R13) on SQLite and PostgreSQL: chained, append-only, tamper-evident."""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError as SADatabaseError

from mediastation.domain.disclosure import GENESIS, StoredEntry, verify_chain
from mediastation.store import Database
from mediastation.store.disclosures import DisclosureLog, LogKeyMissing
from support.db_fixtures import TEST_LOG_KEY

SQLITE_GUARDS = importlib.import_module("mediastation.store.migrations.versions.0002_release_requests_disclosures").SQLITE_GUARDS

HETU_A, HETU_B = "010594Y9032", "020516C903K"


def _content(name: str, accession: str) -> dict:
    return {"patient": {"name": name}, "released": [{"accession_number": accession}],
            "recipient": {"name": "Terveystalo Kamppi"}, "basis": {"kind": "consent", "reference": "S-1"},
            "channel": "cd", "actor": "tester"}


def _fill(log: DisclosureLog) -> list[StoredEntry]:
    return [
        log.append(_content("Mäkelä^Aino", "HUS1"), patient_hetu=HETU_A, request_id="R-1"),
        log.append(_content("Öhman^Åsa", "HUS2"), patient_hetu=HETU_B, request_id="R-2"),
        log.append(_content("Mäkelä^Aino", "HUS3"), patient_hetu=HETU_A, request_id="R-3"),
    ]


def test_entries_chain_from_genesis_and_verify(database: Database) -> None:
    log = DisclosureLog(database)
    first, second, third = _fill(log)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.entry_hash and third.prev_hash == second.entry_hash
    result = log.verify()
    assert result.ok and result.entries == 3 and result.head_hash == third.entry_hash


def test_patient_listing_holds_only_their_entries(database: Database) -> None:
    log = DisclosureLog(database)
    _fill(log)
    entries = log.for_patient(HETU_A)
    assert [json.loads(e.content_json)["released"][0]["accession_number"] for e in entries] == ["HUS1", "HUS3"]


def test_database_refuses_update_and_delete(database: Database) -> None:
    log = DisclosureLog(database)
    _fill(log)
    for statement in ("UPDATE disclosures SET patient_hetu = 'x' WHERE seq = 1", "DELETE FROM disclosures WHERE seq = 2"):
        with pytest.raises(SADatabaseError, match="append-only"):
            with database.engine.begin() as conn:
                conn.execute(text(statement))
    assert log.verify().ok


def _drop_guards(database: Database) -> None:
    """What someone editing the database by hand would do first."""
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER disclosures_no_change ON disclosures"))
        else:
            conn.execute(text("DROP TRIGGER disclosures_no_update"))
            conn.execute(text("DROP TRIGGER disclosures_no_delete"))


@pytest.mark.parametrize("tampering, expected", [
    ("UPDATE disclosures SET content_json = replace(content_json, 'HUS2', 'HUS9') WHERE seq = 2", "edited"),
    ("UPDATE disclosures SET patient_hetu = '131052-308T' WHERE seq = 1", "look-up columns"),
    ("DELETE FROM disclosures WHERE seq = 2", "deleted"),
])
def test_verify_detects_hand_edits(database: Database, tampering: str, expected: str) -> None:
    log = DisclosureLog(database)
    _fill(log)
    _drop_guards(database)
    with database.engine.begin() as conn:
        conn.execute(text(tampering))
    result = log.verify()
    assert not result.ok
    assert any(expected in problem.problem for problem in result.problems)


def test_rehashing_an_edited_entry_still_breaks_the_next_link(database: Database) -> None:
    log = DisclosureLog(database)
    entries = _fill(log)
    forged = verify_chain([entries[0], StoredEntry(2, HETU_B, entries[1].content_json.replace("HUS2", "HUS9"),
                                                    entries[1].prev_hash, "f" * 64), entries[2]], TEST_LOG_KEY)
    assert {p.seq for p in forged} >= {2, 3}


def test_an_edit_with_the_whole_chain_recomputed_without_the_key_fails(database: Database) -> None:
    """What an attacker with only the database does: edit entry 2, then compute every chain value
    again with plain SHA-256 (as the station itself did before the key). The links all fit, and the
    log still fails from the edited entry on."""
    log = DisclosureLog(database)
    _fill(log)
    _drop_guards(database)
    with database.engine.begin() as conn:
        rows = conn.execute(text("SELECT seq, content_json FROM disclosures ORDER BY seq")).all()
        prev = GENESIS
        conn.execute(text("UPDATE disclosures SET prev_hash = 'x' || seq, entry_hash = 'y' || seq"))
        for seq, content in rows:
            content = content.replace("HUS2", "HUS9")
            value = hashlib.sha256(f"{prev}\n{content}".encode()).hexdigest()
            conn.execute(text("UPDATE disclosures SET content_json = :c, prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                         {"c": content, "p": prev, "h": value, "s": seq})
            prev = value
    _restore_guards(database)
    result = log.verify()
    assert not result.ok and not result.guards
    assert min(result.bad_entries) == 1 and result.wrong_key  # every value is now a forgery


@pytest.mark.parametrize("statement", ["drop", "disable"])
def test_verify_notices_a_protecting_trigger_gone(database: Database, statement: str) -> None:
    log = DisclosureLog(database)
    _fill(log)
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER disclosures_no_change ON disclosures" if statement == "drop"
                              else "ALTER TABLE disclosures DISABLE TRIGGER disclosures_no_change"))
        elif statement == "drop":
            conn.execute(text("DROP TRIGGER disclosures_no_update"))
        else:  # SQLite cannot disable a trigger: one that lets everything through does the same
            conn.execute(text("DROP TRIGGER disclosures_no_update"))
            conn.execute(text("CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures BEGIN SELECT 1; END"))
    result = log.verify()
    assert not result.problems and not result.ok
    name = "disclosures_no_change" if database.dialect == "postgresql" else "disclosures_no_update"
    assert any(name in problem for problem in result.guards), result.guards


def test_another_key_fails_every_entry(database: Database) -> None:
    log = DisclosureLog(database)
    _fill(log)
    other = DisclosureLog(replace(database, log_key=bytes(32)))
    result = other.verify()
    assert result.wrong_key and result.bad_entries == {1, 2, 3}
    assert log.verify().ok


def test_appending_without_the_key_is_refused(database: Database) -> None:
    with pytest.raises(LogKeyMissing, match="key_file"):
        DisclosureLog(replace(database, log_key=None)).append(_content("Mäkelä^Aino", "HUS1"), patient_hetu=HETU_A,
                                                               request_id="R-1")


def _restore_guards(database: Database) -> None:
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("CREATE TRIGGER disclosures_no_change BEFORE UPDATE OR DELETE ON disclosures "
                              "FOR EACH ROW EXECUTE FUNCTION disclosures_append_only()"))
        else:
            for statement in SQLITE_GUARDS:
                conn.execute(text(statement))
