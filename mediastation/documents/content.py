"""What goes into the documents of a release: small values, valid on construction.

The export workflow fills these from the request, the decision and the composed media; the
writers (letter, label, README, INDEX.HTM) only lay them out. Keeping them apart from the export
code means a document can be rendered (and tested) without an archive, a database or a disc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

MEDIUM_KINDS = ("cd", "dvd", "dvd-dl", "usb")
# PS3.12 F.1.1 / export_anchors b9: at most 16 characters of the file-ID character set.
_FILESET_ID = re.compile(r"\A[A-Z0-9_]{0,16}\Z")


def _require(owner: str, **values: str) -> None:
    """Raise ValueError naming every empty required text (a document must never print a blank)."""
    empty = [name for name, value in values.items() if not isinstance(value, str) or not value.strip()]
    if empty:
        raise ValueError(f"{owner}: {', '.join(empty)} must not be empty")


@dataclass(frozen=True, slots=True)
class Sender:
    """The releasing unit as it appears in the letterhead, the signature and README.TXT."""

    unit: str
    street: str
    postal_code: str
    city: str
    phone: str
    email: str
    organisation: str = "HUS"
    person: str = ""  # who made the medium; signs the letter when given

    def __post_init__(self) -> None:
        _require("Sender", unit=self.unit, street=self.street, postal_code=self.postal_code,
                 city=self.city, phone=self.phone, email=self.email, organisation=self.organisation)

    @property
    def name(self) -> str:
        """Organisation and unit once: "HUS Diagnostiikkakeskus, ..." is not prefixed "HUS" again."""
        if self.unit.startswith(self.organisation):
            return self.unit
        return f"{self.organisation}, {self.unit}"


# The customer service named in the source instruction (seed: "Kuvantamisen ajanvaraus ja
# asiakaspalvelu, PL 224, 00029 HUS", "kuvapalvelut@hus.fi, p. 09 471 76658"). A station that
# releases from another unit passes its own Sender.
HUS_IMAGING_CUSTOMER_SERVICE = Sender(
    unit="HUS Diagnostiikkakeskus, Kuvantamisen erikoissairaanhoidon asiakaspalvelu",
    street="PL 224",
    postal_code="00029",
    city="HUS",
    phone="09 471 76658",
    email="kuvapalvelut@hus.fi",
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A postal address for the window envelope (Posti rows: name, supplement, street, code+city).

    `country` is an ISO 3166 code or a name; "FI" (domestic) prints no country line, as Posti asks.
    """

    name: str
    street: str
    postal_code: str
    city: str
    country: str = "FI"
    attention: str = ""  # unit, person or c/o: Posti's row 2, under the name

    def __post_init__(self) -> None:
        _require("Recipient", name=self.name, street=self.street, postal_code=self.postal_code,
                 city=self.city, country=self.country)


@dataclass(frozen=True, slots=True)
class StudyLine:
    """One released study as the letter lists it (the request's R10 items plus the report status).

    `report`: True = the radiologist's report is on the medium, False = none available,
    None = reports do not apply (e.g. an images-only release): the letter then has no report column.
    `disc`: which disc of a spanned set holds the study (shown when there is more than one disc).
    """

    accession_number: str
    study_description: str
    study_datetime: datetime
    modalities: tuple[str, ...] = ()
    report: bool | None = None
    disc: int | None = None

    def __post_init__(self) -> None:
        _require("StudyLine", accession_number=self.accession_number,
                 study_description=self.study_description)
        if not isinstance(self.study_datetime, datetime):
            raise ValueError(f"StudyLine {self.accession_number}: study_datetime must be a datetime")
        if isinstance(self.modalities, str):
            raise ValueError(f"StudyLine {self.accession_number}: modalities is a tuple, e.g. ('CT',)")


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Whose data left the house and why; `basis_label` is already in the letter's language."""

    patient_name: str  # DICOM PN "Family^Given" (or plain text)
    hetu: str
    basis_label: str
    request_id: str
    release_date: date

    def __post_init__(self) -> None:
        _require("Disclosure", patient_name=self.patient_name, hetu=self.hetu,
                 basis_label=self.basis_label, request_id=self.request_id)


@dataclass(frozen=True, slots=True)
class MediumInfo:
    """One medium of an export: disc `index` of `count` (spanning, b38), its kind and file-set id."""

    index: int
    count: int
    kind: str  # cd | dvd | dvd-dl | usb
    fileset_id: str = ""
    viewer_included: bool = True

    def __post_init__(self) -> None:
        if self.kind not in MEDIUM_KINDS:
            raise ValueError(f"MediumInfo: kind {self.kind!r} is not one of {', '.join(MEDIUM_KINDS)}")
        if not (isinstance(self.count, int) and isinstance(self.index, int) and 1 <= self.index <= self.count):
            raise ValueError(f"MediumInfo: disc {self.index}/{self.count} is not 1 <= index <= count")
        if not _FILESET_ID.match(self.fileset_id):
            raise ValueError(f"MediumInfo: file-set id {self.fileset_id!r} is not up to 16 of A-Z 0-9 _")

    @property
    def is_disc(self) -> bool:
        return self.kind != "usb"


# INDEX.HTM: a plain tree the viewer engineer can extend without touching the export code.
@dataclass(frozen=True, slots=True)
class IndexSeries:
    description: str
    modality: str
    count: int  # instances (images) in the series
    series_uid: str = ""  # written as data-series="..." (interfaces.md) when given


@dataclass(frozen=True, slots=True)
class IndexStudy:
    description: str
    study_datetime: datetime | None
    accession_number: str = ""
    series: tuple[IndexSeries, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexPatient:
    name: str  # DICOM PN
    patient_id: str = ""
    birth_date: date | None = None
    studies: tuple[IndexStudy, ...] = field(default_factory=tuple)


def person_name(pn: str) -> str:
    """DICOM PN "Family^Given^Middle^Prefix^Suffix" -> "Given Middle Family" for people to read.

    Only the alphabetic group (before any "=") is used; a name without "^" is returned as given,
    with runs of whitespace collapsed.
    """
    alphabetic = pn.split("=", 1)[0]
    parts = [p.strip() for p in alphabetic.split("^")]
    if len(parts) == 1:
        return " ".join(parts[0].split())
    family, given = parts[0], parts[1]
    middle = parts[2] if len(parts) > 2 else ""
    prefix = parts[3] if len(parts) > 3 else ""
    suffix = parts[4] if len(parts) > 4 else ""
    return " ".join(" ".join(x for x in (prefix, given, middle, family, suffix) if x).split())
