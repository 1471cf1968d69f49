"""The disclosure log's chain values as the audit repository holds them.

Every entry's audit message carries its sequence number and chain value (ParticipantObjectDetail
`DisclosureLogChainValue`, mediastation/audit/messages.py). An export of the repository's messages
(its log file, or the messages saved one after another, in any order, with anything between them)
is read here; `log verify --against FILE` then checks the database's log against it, which also
catches what the chain alone cannot: the newest entries deleted, or the whole log rewritten by
someone who has the key.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from mediastation.audit.messages import LOG_ANCHOR_DETAIL

MESSAGE = re.compile(r"<AuditMessage\b.*?</AuditMessage>", re.S)


@dataclass(frozen=True)
class Anchors:
    values: dict[int, str]  # seq -> chain value
    messages: int  # audit messages read
    unreadable: int  # fragments that were not XML, or not a chain value


def read_anchors(path: Path) -> Anchors:
    text = path.read_text(encoding="utf-8", errors="replace")
    values: dict[int, str] = {}
    messages = unreadable = 0
    for fragment in MESSAGE.findall(text):
        messages += 1
        try:
            root = ET.fromstring(fragment)
        except ET.ParseError:
            unreadable += 1
            continue
        for detail in root.iter("ParticipantObjectDetail"):
            if detail.get("type") != LOG_ANCHOR_DETAIL:
                continue
            try:
                seq, value = base64.b64decode(detail.get("value", ""), validate=True).decode("ascii").split(":", 1)
                values[int(seq)] = value
            except (binascii.Error, UnicodeDecodeError, ValueError):
                unreadable += 1
    return Anchors(values, messages, unreadable)
