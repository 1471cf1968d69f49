"""The request form's fields <-> the request document (interfaces.md "Release request file").

Field names are the document's paths with list indexes (`patient.name`, `studies.0.accession_number`,
docs/desk.md), so the form is the file, one input per key: no value is interpreted here beyond its
JSON type (a checkbox is true or false, an empty optional value is left out); the rules judge the
document exactly as `request check FILE` would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

from mediastation.domain.matching import LookedUp, normalise_description
from mediastation.domain.request import HELSINKI

# (path, kind, choices) in the order the form shows them; kind: text, email, datetime, select, check, yesno
SECTIONS: tuple[tuple[str, tuple[tuple[str, str, tuple[str, ...]], ...]], ...] = (
    ("sec_patient", (("patient.name", "text", ()), ("patient.hetu", "text", ()), ("received_at", "datetime", ()))),
    ("sec_prohibition", (("no_prohibition.confirmed", "yesno", ()), ("no_prohibition.confirmed_by", "text", ()))),
    ("sec_requester", (("requester.unit", "text", ()), ("requester.person", "text", ()),
                       ("requester.email", "email", ()))),
    ("sec_basis", (("basis.kind", "select", ("", "care", "consent", "statutory", "patient_own")),
                   ("basis.reference", "text", ()))),
    ("sec_destination", (("destination.kind", "select", ("", "patient", "authorised_person", "authority", "insurer",
                                                          "service_provider", "register")),
                         ("destination.name", "text", ()), ("destination.county", "text", ()),
                         ("destination.participates_in_care", "check", ()),
                         ("destination.on_hus_commission", "check", ()))),
    ("sec_address", (("destination.address.name", "text", ()), ("destination.address.street", "text", ()),
                     ("destination.address.postal_code", "text", ()), ("destination.address.city", "text", ()),
                     ("destination.address.country", "text", ()))),
    ("sec_node", (("destination.dicom_node.ae_title", "text", ()), ("destination.dicom_node.host", "text", ()),
                  ("destination.dicom_node.port", "text", ()))),
    ("sec_delivery", (("channel", "select", ("auto", "cd", "dvd", "usb", "electronic", "register_copy")),
                      ("content", "select", ("images_and_reports", "images_only", "reports_only")),
                      ("urgent", "check", ()), ("language", "select", ("fi", "sv", "en")))),
)
STUDY_FIELDS = (("accession_number", "text"), ("study_description", "text"), ("study_datetime", "datetime"),
                ("register", "text"))
DEFAULTS = {"destination.address.country": "FI", "channel": "auto", "content": "images_and_reports",
            "language": "fi", "register": "HUS-yhtyma"}
CHECKS = frozenset(path for _, fields in SECTIONS for path, kind, _ in fields if kind == "check")
OPTIONAL_GROUPS = ("destination.dicom_node", "destination.address")
MOST_STUDIES = 50
CHOICE_LABELS = {"basis.kind": "basis_", "destination.kind": "dest_", "channel": "ch_", "content": "content_",
                 "language": "lang_"}


@dataclass(frozen=True)
class FormState:
    """What the form shows: each field's text and the number of study rows."""

    values: dict[str, str]
    study_rows: int


def _put(document: dict[str, Any], path: list[str], value: Any) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        document[head] = value
        return
    _put(document.setdefault(head, {}), rest, value)


def document_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The request document the form says."""
    document: dict[str, Any] = {}
    for _, fields in SECTIONS:
        for path, kind, _ in fields:
            raw = str(form.get(path) or "").strip()
            if kind == "check":
                _put(document, path.split("."), raw in ("true", "on", "1"))
            elif kind == "yesno":
                if raw in ("true", "false"):
                    _put(document, path.split("."), raw == "true")
            elif path.endswith(".port") and raw.isdigit():
                _put(document, path.split("."), int(raw))
            elif raw:
                _put(document, path.split("."), raw)
    destination = document.get("destination", {})
    for group in OPTIONAL_GROUPS:
        name = group.split(".")[1]
        if name in destination and not any(v not in ("", None, "FI") for v in destination[name].values()):
            destination[name] = None  # nothing typed in the group: no address / no link
    studies = []
    for index in range(MOST_STUDIES):
        row = {name: str(form.get(f"studies.{index}.{name}") or "").strip() for name, _ in STUDY_FIELDS}
        if not any(value for name, value in row.items() if name != "register"):
            continue
        studies.append({name: value for name, value in row.items() if value or name in ("accession_number",
                                                                                          "study_description")})
    document["studies"] = studies
    return document


def form_from_document(document: Mapping[str, Any] | None) -> FormState:
    """The form's fields for a request document (a stored request shown again, or an example)."""
    values: dict[str, str] = {}
    document = document or {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(f"{prefix}.{index}", inner)
        elif isinstance(value, bool):
            values[prefix] = "true" if value else "false"
        elif value is not None:
            values[prefix] = str(value)

    walk("", dict(document))
    for path in [p for p in values if p == "received_at" or p.endswith(".study_datetime")]:
        values[path] = local_minute(values[path])
    rows = len(document.get("studies") or [])
    return FormState(values, max(rows + 1, 2))


def local_minute(text: str) -> str:
    """An ISO date and time as a datetime-local field holds it (`2026-11-26T09:12`): a browser shows
    nothing for a value with an offset or fractions, and would send the field back empty. An
    offset is turned into Helsinki time, which is how the rules read a time without one
    (domain/request.py); text that is not a date and time is left as it is, for the check to name."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        moment = moment.astimezone(HELSINKI).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M")


def form_state(form: Mapping[str, Any], *, extra_row: bool = False) -> FormState:
    """The form as posted (to show it again with its decision or problems)."""
    values = {str(key): str(value) for key, value in form.items() if key != "csrf_token"}
    used = [index for index in range(MOST_STUDIES)
            if any(values.get(f"studies.{index}.{name}") for name, _ in STUDY_FIELDS if name != "register")]
    rows = max((max(used) + 1) if used else 0, 1) + (1 if extra_row or not used else 0)
    return FormState(values, min(max(rows, 2), MOST_STUDIES))


@dataclass(frozen=True)
class Differs:
    """A study row where what was typed is not what the archive has (shown, never overwritten)."""

    row: int
    field: str  # study_description or study_datetime
    typed: str
    archived: str


def with_archive_studies(state: FormState, found: Sequence[LookedUp]) -> tuple[FormState, list[Differs]]:
    """The form with each study row's empty name and time taken from the archive's one study under
    its accession number (`look_up_studies`), and the rows where a typed value differs from it."""
    by_number = {item.accession_number: item for item in found}
    values, differs = dict(state.values), []
    for row in range(state.study_rows):
        item = by_number.get(values.get(f"studies.{row}.accession_number", "").strip())
        if item is None or len(item.found) != 1:
            continue
        for name, archived, same in (
                ("study_description", item.description,
                 lambda a, b: normalise_description(a) == normalise_description(b)),
                ("study_datetime", item.datetime, lambda a, b: a[:16] == b[:16])):
            typed = values.get(f"studies.{row}.{name}", "").strip()
            if not typed:
                values[f"studies.{row}.{name}"] = archived
            elif archived and not same(typed, archived):
                differs.append(Differs(row, name, typed, archived))
    return FormState(values, state.study_rows), differs
