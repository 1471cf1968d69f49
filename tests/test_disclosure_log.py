"""The disclosure log (R13) on SQLite and PostgreSQL: chained, append-only, tamper-evident."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError as SADatabaseError

from mediastation.domain.disclosure import GENESIS, StoredEntry, verify_chain
from mediastation.store import Database
from mediastation.store.disclosures import DisclosureLog

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
                                                    entries[1].prev_hash, "f" * 64), entries[2]])
    assert {p.seq for p in forged} >= {2, 3}
