"""Are the studies the archive holds the ones the release request asks for? (R10.6, R13)

The request names each study by accession number, study name and date and time (R10.6); the
export may only go ahead when the archive holds exactly one study under each accession number and
that study agrees with the request on every item. A study of another patient is the worst mistake
a release can make (R10.1, R13: the disclosure log would name the wrong person), so the archive's
Patient ID must be the request's HETU.

Comparison rules, chosen to refuse real differences and nothing else:
- study name: Unicode NFC, case-folded, runs of whitespace collapsed (`tt  vatsa` = `TT VATSA`);
- date: equal day (`YYYYMMDD`, the old `YYYY.MM.DD` spelling read too);
- time: equal to the minute; the request gives minutes, DICOM times may carry seconds and fractions
  (`093012.5` is 09:30). A DICOM time without minutes (`09`) cannot be shown to match;
- Patient ID: equal after trimming, upper case (a HETU's letters are upper case; the century sign
  is never normalised away: two people may differ only in it);
- patient name (R10.1): the request's name must be the archive's Patient's Name, so that the letter
  and the label (which print the request's) name the person whose images are on the disc. Compared
  without case and accents (`MAKELA^aino` = `Mäkelä^Aino`: archives and typists drop them) and
  with the given names in any order (`Aino Maria` = `Maria Aino`); the family name must be the
  family name when both give one (DICOM PN `Family^Given^Middle^Prefix^Suffix`); a plain-text name
  (`Aino Mäkelä`) is compared as its set of words. Prefixes and suffixes (titles) are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mediastation.domain.request import Study

MismatchField = Literal["study_count", "study_description", "study_date", "study_time", "patient_id",
                        "patient_name"]

_LABELS: dict[str, str] = {
    "study_count": "number of studies with this accession number",
    "study_description": "study name",
    "study_date": "study date",
    "study_time": "study time",
    "patient_id": "Patient ID (HETU)",
    "patient_name": "patient name",
}


@dataclass(frozen=True, slots=True)
class StudyFound:
    """One study as the archive reports it (C-FIND study level, or the folder archive's index)."""

    accession_number: str
    study_instance_uid: str
    study_description: str
    study_date: str  # DICOM DA, YYYYMMDD
    study_time: str  # DICOM TM, HHMMSS[.ffffff]
    patient_id: str
    patient_name: str
    modalities: tuple[str, ...]
    instances: int | None  # None when the archive does not say


@dataclass(frozen=True, slots=True)
class StudyMismatch:
    """One way a found study differs from the request; `requested`/`found` are display values."""

    accession_number: str
    field: MismatchField
    requested: str
    found: str
    study_instance_uid: str = ""  # which study, when an accession number has several

    def __str__(self) -> str:
        if self.field == "study_count":
            if self.found == "0":
                return f"{self.accession_number}: not found in the archive; check the accession number"
            return (f"{self.accession_number}: the archive has {self.found} studies with this accession "
                    "number; the archive's data must be corrected before release")
        which = f" (study {self.study_instance_uid})" if self.study_instance_uid else ""
        return (f"{self.accession_number}{which}: {_LABELS[self.field]} requested {self.requested!r}, "
                f"archive has {self.found!r}")


def compare(requested: Sequence[Study], found: Iterable[StudyFound], hetu: str,
            patient_name: str | None = None) -> list[StudyMismatch]:
    """Every mismatch between the requested studies and what the archive found (R10.1, R10.6, R13).

    `found` holds the archive's answers for the requested accession numbers (in any order; studies
    under other accession numbers are ignored). `patient_name` is the request's patient name; an
    export always gives it (None only where a caller has no name, e.g. a lookup by HETU alone).
    An empty list means every study is the one asked for.
    """
    by_accession: dict[str, list[StudyFound]] = {}
    for study in found:
        by_accession.setdefault(study.accession_number.strip(), []).append(study)
    mismatches: list[StudyMismatch] = []
    for study in requested:
        for mismatch in _compare_one(study, by_accession.get(study.accession_number.strip(), []), hetu,
                                     patient_name):
            if mismatch not in mismatches:  # a study requested twice is reported once
                mismatches.append(mismatch)
    return mismatches


def _compare_one(requested: Study, found: list[StudyFound], hetu: str, name: str | None) -> list[StudyMismatch]:
    accession = requested.accession_number.strip()
    if len(found) != 1:
        count = [StudyMismatch(accession, "study_count", "1", str(len(found)))]
        # With several candidates, still say how each differs: the operator sees which one is meant.
        return count + [m for study in found
                        for m in _compare_fields(requested, study, hetu, name, study.study_instance_uid)]
    return _compare_fields(requested, found[0], hetu, name, "")


def _compare_fields(requested: Study, found: StudyFound, hetu: str, name: str | None,
                    which: str) -> list[StudyMismatch]:
    accession = requested.accession_number.strip()
    out: list[StudyMismatch] = []

    def differs(field: MismatchField, wanted: str, got: str) -> None:
        out.append(StudyMismatch(accession, field, wanted, got, which))

    if normalise_description(requested.study_description) != normalise_description(found.study_description):
        differs("study_description", requested.study_description, found.study_description)
    when: datetime | None = requested.study_datetime
    wanted_date = when.strftime("%Y-%m-%d") if when else ""
    wanted_time = when.strftime("%H:%M") if when else ""
    got_date, got_time = dicom_date(found.study_date), dicom_time_to_minute(found.study_time)
    if not wanted_date or wanted_date != got_date:
        differs("study_date", wanted_date, got_date or found.study_date.strip())
    if not wanted_time or wanted_time != got_time:
        differs("study_time", wanted_time, got_time or found.study_time.strip())
    if normalise_patient_id(hetu) != normalise_patient_id(found.patient_id) or not hetu.strip():
        differs("patient_id", hetu.strip(), found.patient_id.strip())
    if name is not None and not same_person_name(name, found.patient_name):
        differs("patient_name", name.strip(), found.patient_name.strip())
    return out


def same_person_name(requested: str, archived: str) -> bool:
    """R10.1: is the request's patient name the archive's Patient's Name? (rules: module docstring)

    Blank on either side never matches: a name that cannot be compared cannot be shown to agree."""
    wanted, have = _name_parts(requested), _name_parts(archived)
    if not wanted[1] or not have[1]:
        return False
    if wanted[0] is not None and have[0] is not None:
        return wanted[0] == have[0] and wanted[1] == have[1]
    return sorted(wanted[1]) == sorted(have[1])


def _name_parts(name: str) -> tuple[str | None, tuple[str, ...]]:
    """(the family name or None for plain text, every name word sorted), each word without case
    or accents. Only the first PN component group counts (`=` starts the ideographic ones)."""
    text = name.split("=", 1)[0]
    if "^" in text:
        components = (text.split("^") + [""] * 5)[:5]
        family = _fold(components[0])
        return family, tuple(sorted((family + " " + _fold(" ".join(components[1:3]))).split()))
    return None, tuple(sorted(_fold(text).split()))


def _fold(text: str) -> str:
    """Case-folded, accents dropped (NFKD without combining marks), whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def normalise_description(text: str) -> str:
    """Study names compare case- and whitespace-insensitively (`Tt  vatsa ` = `TT VATSA`)."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def normalise_patient_id(text: str) -> str:
    return text.strip().upper()


_DA = re.compile(r"\A([0-9]{4})\.?([0-9]{2})\.?([0-9]{2})\Z")
_TM = re.compile(r"\A([0-9]{2}):?([0-9]{2})")


def dicom_date(value: str) -> str:
    """DICOM DA (`YYYYMMDD`, or ACR-NEMA `YYYY.MM.DD`) as `YYYY-MM-DD`; "" when it is not one."""
    match = _DA.match(value.strip())
    return "-".join(match.groups()) if match else ""


def dicom_time_to_minute(value: str) -> str:
    """DICOM TM (`HHMM`, `HHMMSS`, `HHMMSS.ffffff`, ACR-NEMA `HH:MM:SS`) as `HH:MM`; "" without minutes."""
    match = _TM.match(value.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return ""
    return f"{match.group(1)}:{match.group(2)}"


@dataclass(frozen=True, slots=True)
class LookedUp:
    """What the archive holds under one accession number, as the request form offers it before the
    request is saved: the same comparisons as the export's (`compare`), so a study the form took
    from here is one the export will find and accept."""

    accession_number: str
    found: tuple[StudyFound, ...]
    description: str  # the study's name; "" unless the archive has exactly one study
    datetime: str  # `YYYY-MM-DDTHH:MM` (the form's datetime-local); "" unless exactly one study with both
    other_patient: bool  # its Patient ID is not the HETU typed (R13: it would go to the wrong person)
    other_name: bool  # its Patient's Name is not the name typed (R10.1)


def looked_up(accession_number: str, found: Iterable[StudyFound], hetu: str, name: str) -> LookedUp:
    studies = tuple(study for study in found if study.accession_number.strip() == accession_number.strip())
    one = studies[0] if len(studies) == 1 else None
    day = dicom_date(one.study_date) if one else ""
    minute = dicom_time_to_minute(one.study_time) if one else ""
    return LookedUp(
        accession_number=accession_number.strip(), found=studies,
        description=one.study_description.strip() if one else "", datetime=f"{day}T{minute}" if day and minute else "",
        other_patient=any(normalise_patient_id(s.patient_id) != normalise_patient_id(hetu) for s in studies)
        if hetu.strip() else False,
        other_name=any(not same_person_name(name, s.patient_name) for s in studies) if name.strip() else False)
