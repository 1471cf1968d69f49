"""The release request (luovutuspyyntö) as read from its JSON file (interfaces.md, R10).

Two kinds of wrong are kept apart on purpose:
- a *structural* problem (not JSON, a wrong type, an unknown key, a bad enum value or datetime)
  makes `parse_request` raise `RequestInvalid` listing every problem with its path;
- a *missing* R10 item (name, HETU, the no-prohibition statement, requester, basis, destination,
  the studies and their accession number, name and date/time) is accepted here, empty, so that
  `release.decide` can refuse with one `missing_field` reason per item (R10: "names every missing
  item"). `null`, `""` and whitespace all count as absent.
The HETU is kept as text: an invalid one is the decision's `invalid_hetu`, not a parse error.

`received_at` with an offset is kept as given; a naive one is read as Europe/Helsinki wall-clock
time (customer service is in Helsinki, R9). `study_datetime` is the study's local time as the
archive shows it (DICOM dates carry no zone), so it stays naive; it must include the time (R10).
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

HELSINKI = ZoneInfo("Europe/Helsinki")

BasisKind = Literal["care", "consent", "statutory", "patient_own"]
DestinationKind = Literal["patient", "authorised_person", "authority", "insurer", "service_provider", "register"]
Channel = Literal["auto", "cd", "dvd", "usb", "electronic", "register_copy"]
Content = Literal["images_and_reports", "images_only", "reports_only"]
Language = Literal["fi", "sv", "en"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One structural problem of a request file: where (`studies[0].study_datetime`, `$`) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RequestInvalid(ValueError):
    """The request file cannot be read as a request; `problems` lists every reason, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def _iso_datetime(value: Any) -> Any:
    """ISO 8601 text with a time part -> datetime; anything else is left for strict type checking."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date and time, e.g. 2026-11-26T09:12:00+02:00") from None
    if not _HAS_TIME.search(text):
        raise ValueError(f"{value!r} has no time of day: give date and time, e.g. 2026-11-20T10:31:00")
    return parsed


_HAS_TIME = re.compile(r"[Tt ][0-9]")
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_datetime)]


class _Model(BaseModel):
    """Frozen, strict (no "true" for true, no "104" for 104), unknown keys refused, absent = empty."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _absent_is_default(cls, data: Any) -> Any:
        """Drop known keys that are null or blank so the field's empty default applies (R10 items)."""
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (k in cls.model_fields and _blank(v))}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Patient(_Model):
    name: str = ""  # DICOM PN style "Family^Given" or plain text
    hetu: str = ""


class NoProhibition(_Model):
    """R7, R11: the requester states the patient has not prohibited release, and who checked."""

    confirmed: bool | None = None
    confirmed_by: str = ""


class Requester(_Model):
    unit: str = ""
    person: str = ""
    email: str = ""


class Basis(_Model):
    """What the release rests on (R8, R10.4): `reference` = consent document, law code or power of attorney."""

    kind: BasisKind | None = None
    reference: str = ""


class Address(_Model):
    name: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "FI"


class DicomNode(_Model):
    """An electronic image link to the destination (R6); complete when given."""

    ae_title: str = Field(min_length=1, max_length=16)
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)


class Destination(_Model):
    kind: DestinationKind | None = None
    name: str = ""
    county: str = ""  # public providers: wellbeing services county or city (R2)
    participates_in_care: bool = False
    on_hus_commission: bool = False  # R8 b
    address: Address | None = None
    dicom_node: DicomNode | None = None


with warnings.catch_warnings():
    # `register` is the contract's key (interfaces.md); it only hides ABCMeta.register, which no one
    # calls on a request model.
    warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)

    class Study(_Model):
        """One study to release (R10.6): accession number, study name, date and time; its register (R1)."""

        accession_number: str = ""
        study_description: str = ""
        study_datetime: IsoDatetime | None = None
        register: str = "HUS-yhtyma"  # R1

        @field_validator("study_datetime")
        @classmethod
        def _local_time(cls, value: datetime | None) -> datetime | None:
            """Keep the study's wall-clock time; an offset, if given, is dropped after converting to Helsinki."""
            if value is not None and value.tzinfo is not None:
                return value.astimezone(HELSINKI).replace(tzinfo=None)
            return value


class ReleaseRequest(_Model):
    """A release request as interfaces.md defines it; R10 items may be empty (see module docstring)."""

    received_at: IsoDatetime | None = None
    patient: Patient = Patient()
    no_prohibition: NoProhibition = NoProhibition()
    requester: Requester = Requester()
    basis: Basis = Basis()
    destination: Destination = Destination()
    channel: Channel = "auto"
    content: Content = "images_and_reports"
    urgent: bool = False
    language: Language = "fi"
    studies: tuple[Study, ...] = Field(default=(), strict=False)  # strict tuples refuse JSON arrays

    @field_validator("received_at")
    @classmethod
    def _helsinki_if_naive(cls, value: datetime | None) -> datetime | None:
        """A naive receipt time is Helsinki wall-clock time (R9: office hours are Helsinki's)."""
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            return value.replace(tzinfo=HELSINKI)
        return value

    def canonical_json(self) -> str:
        """One spelling per meaning: sorted keys, receipt time in UTC, no whitespace."""
        data = self.model_dump(mode="json")
        if self.received_at is not None:
            data["received_at"] = self.received_at.astimezone(timezone.utc).isoformat()
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: the same request, however formatted, hashes the same."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def parse_request(text: str | bytes) -> ReleaseRequest:
    """Read a request file's text; raise RequestInvalid listing every structural problem (R10)."""
    decoded = _decode(text)
    problems = _json_problems(decoded)
    if problems and problems[0].message.startswith("not JSON"):
        raise RequestInvalid(problems)
    try:
        # Validate the text itself: JSON mode lets strict fields take arrays and ISO strings.
        request = ReleaseRequest.model_validate_json(decoded)
    except ValidationError as error:
        raise RequestInvalid(problems + [_problem(e) for e in error.errors()]) from None
    if problems:
        raise RequestInvalid(problems)
    return request


def content_hash(request_text: str | bytes) -> str:
    """The fingerprint of a request file's content (for idempotent `request add`)."""
    return parse_request(request_text).fingerprint()


def _decode(text: str | bytes) -> str:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise RequestInvalid([Problem("$", f"not UTF-8 text (byte {error.start}): save the file as UTF-8")])
    return text.removeprefix("\ufeff")  # a byte-order mark some editors write


def _json_problems(text: str) -> list[Problem]:
    """Syntax errors and duplicate keys (json would let the last one silently win)."""
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        duplicates.extend(k for k in dict.fromkeys(keys) if keys.count(k) > 1)
        return dict(items)

    try:
        json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as error:
        return [Problem("$", f"not JSON: {error.msg} at line {error.lineno} column {error.colno}")]
    return [Problem("$", f"key {k!r} appears more than once") for k in dict.fromkeys(duplicates)]


def _problem(error: Any) -> Problem:
    """A pydantic error -> Problem with a JSON-ish path and a message that says what is allowed."""
    loc = tuple(error["loc"])
    path = _path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        return Problem(path, "unknown key" + (f"; allowed keys: {', '.join(allowed)}" if allowed else ""))
    message = error["msg"].removeprefix("Value error, ")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "should be a JSON object {...}"
    return Problem(path, message)


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "$"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the object at `loc` may have, found by walking the model's fields."""
    model: type[BaseModel] | None = ReleaseRequest
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return []
        model = _model_in(model.model_fields[part].annotation)
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside an annotation such as `Address | None` or `tuple[Study, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, tuple, list, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
