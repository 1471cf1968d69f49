"""The DICOM audit message schema (PS3.15 A.5.1.1, tests/audit/dicom-audit-message.rnc) as a validator."""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from lxml import etree

SCHEMA = Path(__file__).resolve().parents[1] / "audit" / "dicom-audit-message.rnc"


@functools.cache
def audit_schema() -> etree.RelaxNG:
    """The schema as published, its trailing `##` documentation comments read as plain comments
    (rnc2rng, which lxml uses for the compact syntax, accepts `##` only before a pattern)."""
    return etree.RelaxNG.from_rnc_string(re.sub(r"##", "#", SCHEMA.read_text(encoding="utf-8")))


def schema_errors(xml: str) -> list[str]:
    """Every way `xml` departs from the schema; empty when it validates."""
    schema = audit_schema()
    if schema.validate(etree.fromstring(xml.encode("utf-8"))):
        return []
    return [f"{e.line}: {e.message}" for e in schema.error_log]


def parsed(message: Any) -> ET.Element:
    """A received message (support/rsyslog.py Received) as XML, once it validated against the schema."""
    assert schema_errors(message.xml) == [], message.xml
    return ET.fromstring(message.xml)


def event(root: ET.Element) -> str:
    """The message's EventID code (PS3.16 CID 400)."""
    return root.find("EventIdentification/EventID").get("csd-code")  # type: ignore[union-attr,return-value]
