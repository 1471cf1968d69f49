"""The desk's tables and its form encoding, without a server: the three languages say the same
things, every reason code of the rules has its sentence, and the request form is the request file
(the form of a file posts back the same document)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mediastation.desk import forms, i18n
from mediastation.domain.request import parse_request
from support.cli import EXAMPLES

RELEASE_RULES = Path(__file__).resolve().parents[1] / "mediastation" / "domain" / "release.py"


def test_every_language_has_every_label() -> None:
    keys = {language: set(table) for language, table in i18n.LABELS.items()}
    assert set(keys) == set(i18n.LANGUAGES)
    assert keys["sv"] == keys["fi"] and keys["en"] == keys["fi"]
    assert set(i18n.REASONS["sv"]) == set(i18n.REASONS["fi"])


def test_every_reason_code_of_the_rules_has_a_sentence() -> None:
    codes = set(re.findall(r'Reason\(\s*"([a-z_]+)"', RELEASE_RULES.read_text(encoding="utf-8")))
    codes |= set(re.findall(r'route_code="([a-z_]+)"', (RELEASE_RULES.parent / "policy.py").read_text(encoding="utf-8")))
    assert codes, "no reason codes found: the pattern is stale"
    assert codes <= set(i18n.REASONS["fi"]), codes - set(i18n.REASONS["fi"])


def test_every_form_field_has_a_label() -> None:
    paths = [path for _, fields in forms.SECTIONS for path, _, _ in fields]
    paths += [f"studies.0.{name}" for name, _ in forms.STUDY_FIELDS]
    for language in i18n.LANGUAGES:
        for path in paths:
            assert not i18n.field_label(language, path).startswith(("f_", "Tutkimus 1: f_")), (language, path)
    for path, prefix in forms.CHOICE_LABELS.items():
        choices = next(c for _, fields in forms.SECTIONS for p, _, c in fields if p == path)
        for choice in filter(None, choices):
            assert prefix + choice in i18n.LABELS["fi"], (path, choice)


def test_a_reason_in_finnish_names_the_field() -> None:
    reason = {"code": "missing_field", "rule": "R10", "message": "...", "field": "studies[1].study_datetime"}
    assert i18n.reason_text("fi", reason, {}) == "Pyynnöstä puuttuu: Tutkimus 2: Tutkimuksen aika. Lisää se ja tarkista uudelleen."
    assert i18n.reason_text("en", reason, {}) == "..."  # English: the rules' own sentence
    assert i18n.field_id("studies[1].study_datetime") == i18n.field_id("studies.1.study_datetime")


@pytest.mark.parametrize("name", ["first_release.json", "requests/release_electronic.json",
                                  "requests/refused_missing_fields.json"])
def test_the_form_of_a_request_file_posts_the_same_request(name: str) -> None:
    document = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    posted = forms.document_from_form(forms.form_from_document(document).values)
    assert parse_request(json.dumps(posted)) == parse_request(json.dumps(document))


def test_an_empty_form_is_an_empty_request() -> None:
    posted = forms.document_from_form({"destination.address.country": "FI", "channel": "auto",
                                       "studies.0.register": "HUS-yhtyma"})
    assert posted["studies"] == [] and posted["destination"]["address"] is None
    assert "received_at" not in posted and "confirmed" not in posted.get("no_prohibition", {})
