"""The disclosure log (luovutusloki), R13: what left the house, to whom, on what basis, by whom.

Entries are chained by hash: each holds the SHA-256 of the previous entry's hash and its own
canonical content, so editing or deleting any entry breaks every hash after it. Nothing updates or
deletes an entry; a correction is a new entry that names the one it corrects. The patient's right to
learn to whom their data went (act 703/2023 § 11) is answered from these entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(content: Mapping[str, Any]) -> str:
    """One spelling for the same content, whatever the database or dict order."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, content_json: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{content_json}".encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredEntry:
    """An entry as read back: its sequence number, the columns used for look-ups, and the chain."""

    seq: int
    patient_hetu: str
    content_json: str
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}"


def verify_chain(entries: Iterable[StoredEntry]) -> list[ChainProblem]:
    """Every way the stored log differs from an untouched one (R13); empty when intact.

    Detects an edited entry (its hash no longer matches), a deleted or inserted one (sequence gap
    or broken link), and a look-up column changed behind the content's back.
    """
    problems: list[ChainProblem] = []
    expected_prev, expected_seq = GENESIS, 1
    for entry in entries:
        problems.extend(_check_entry(entry, expected_prev, expected_seq))
        expected_prev, expected_seq = entry.entry_hash, entry.seq + 1
    return problems


def _check_entry(entry: StoredEntry, expected_prev: str, expected_seq: int) -> list[ChainProblem]:
    found: list[str] = []
    if entry.seq != expected_seq:
        found.append(f"sequence jumps from {expected_seq - 1} to {entry.seq} (an entry was deleted)")
    if entry.prev_hash != expected_prev:
        found.append("does not link to the entry before it (an entry was deleted, inserted or edited)")
    if chain_hash(entry.prev_hash, entry.content_json) != entry.entry_hash:
        found.append("content does not match its hash (the entry was edited)")
    try:
        content = json.loads(entry.content_json)
    except json.JSONDecodeError:
        found.append("content is not readable JSON (the entry was edited)")
    else:
        if content.get("seq") != entry.seq or content.get("patient", {}).get("hetu") != entry.patient_hetu:
            found.append("look-up columns differ from the recorded content (the entry was edited)")
    return [ChainProblem(entry.seq, text) for text in found]
