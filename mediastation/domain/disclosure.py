"""The disclosure log (luovutusloki), R13: what left the house, to whom, on what basis, by whom.

Entries are chained: each holds an HMAC-SHA-256 of the previous entry's chain value and its own
canonical content, keyed with a secret kept outside the database (`[log] key_file`). Editing or
deleting an entry breaks the chain after it, and someone with only the database cannot compute the
chain again after an edit: a plain SHA-256 chain (what the station used before) can be recomputed
by anyone. Nothing updates or deletes an entry; a correction is a new entry that names the one it
corrects. The patient's right to learn to whom their data went (act 703/2023 § 11) is answered from
these entries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(content: Mapping[str, Any]) -> str:
    """One spelling for the same content, whatever the database or dict order."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


KEY_BYTES = 32


class InvalidLogKey(ValueError):
    """The key file does not hold a disclosure log key."""


def parse_log_key(text: str) -> bytes:
    """A key file's content: 64 hexadecimal digits (32 random bytes), surrounding space ignored."""
    value = text.strip()
    try:
        key = bytes.fromhex(value)
    except ValueError:
        raise InvalidLogKey("not hexadecimal") from None
    if len(key) != KEY_BYTES:
        raise InvalidLogKey(f"{len(key)} bytes where {KEY_BYTES} are expected")
    return key


def chain_mac(key: bytes, prev_hash: str, content_json: str) -> str:
    """An entry's chain value: HMAC-SHA-256 (RFC 2104) of the previous value and the content."""
    return hmac.new(key, f"{prev_hash}\n{content_json}".encode("utf-8"), hashlib.sha256).hexdigest()


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


def verify_chain(entries: Iterable[StoredEntry], key: bytes) -> list[ChainProblem]:
    """Every way the stored log differs from an untouched one sealed with `key` (R13); empty when
    intact.

    Detects an edited entry (its chain value no longer matches under the key, also when the whole
    chain was computed again without it), a deleted or inserted one (sequence gap or broken link),
    a look-up column changed behind the content's back, and a key that is not the log's own (then
    every entry fails; `key_mismatch` says so).
    """
    problems: list[ChainProblem] = []
    expected_prev, expected_seq = GENESIS, 1
    for entry in entries:
        problems.extend(_check_entry(entry, key, expected_prev, expected_seq))
        expected_prev, expected_seq = entry.entry_hash, entry.seq + 1
    return problems


def key_mismatch(entries: int, problems: Iterable[ChainProblem]) -> bool:
    """Every entry fails its chain value: the key is not the one the log was sealed with (an edit
    of every single entry would look the same, and is reported entry by entry as well)."""
    failed = {p.seq for p in problems if p.problem.startswith(MAC_MISMATCH)}
    return entries > 0 and len(failed) == entries


MAC_MISMATCH = "content does not match its chain value"


def _check_entry(entry: StoredEntry, key: bytes, expected_prev: str, expected_seq: int) -> list[ChainProblem]:
    found: list[str] = []
    if entry.seq != expected_seq:
        found.append(f"sequence jumps from {expected_seq - 1} to {entry.seq} (an entry was deleted)")
    if entry.prev_hash != expected_prev:
        found.append("does not link to the entry before it (an entry was deleted, inserted or edited)")
    if not hmac.compare_digest(chain_mac(key, entry.prev_hash, entry.content_json), entry.entry_hash):
        found.append(f"{MAC_MISMATCH} under the log's key (the entry was edited, or the key file is not "
                     "the one the log was written with)")
    try:
        content = json.loads(entry.content_json)
    except json.JSONDecodeError:
        found.append("content is not readable JSON (the entry was edited)")
    else:
        if content.get("seq") != entry.seq or content.get("patient", {}).get("hetu") != entry.patient_hetu:
            found.append("look-up columns differ from the recorded content (the entry was edited)")
    return [ChainProblem(entry.seq, text) for text in found]
