"""Reconciling an outside medium's patients with local ones: pure rules, no files, no network.

Rules (docs/import-requirements.md, domain.md R18):
- R-C1: group per patient, then per study; every group is reconciled on its own and only by the
  operator's explicit mapping (`--map KEY=HETU`); nothing is ever mapped automatically (R-C6).
- R-C3: a group is the whole identity (ID, issuer, name, birth date); the same Patient ID under
  another name is another group, flagged, never merged.
- Proposing a mapping: an outside Patient ID that is itself a valid HETU whose birth date matches
  the files' birth date is offered as `suggested_hetu`; the operator still has to confirm it.
- R-D1: the local identity the instances are coerced to: name, ID, issuer (the HETU OID
  1.2.246.21), birth date and sex; from the archive when it knows the patient, else from the operator.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date

from mediastation.domain.hetu import OID as HETU_ISSUER
from mediastation.domain.hetu import Hetu, InvalidHetu

DATE = re.compile(r"\A[0-9]{8}\Z")
NAME = re.compile(r"\A[^\\=\x00-\x1f]{1,64}\Z")


@dataclass(frozen=True, order=True)
class PatientIdentity:
    """An outside patient as the files name them; two instances belong together only if all match."""

    patient_id: str
    issuer: str
    name: str
    birth_date: str

    @classmethod
    def of(cls, patient_id: str, issuer: str, name: str, birth_date: str) -> PatientIdentity:
        return cls(patient_id.strip(), issuer.strip(), normalise_name(name), birth_date.strip())


def normalise_name(name: str) -> str:
    """`Doe^John^^^` and `Doe^John ` are the same name; case and letters are kept (R-C3)."""
    components = [part.strip() for part in name.strip().split("^")]
    while components and not components[-1]:
        components.pop()
    return "^".join(components)


def group_keys(identities: set[PatientIdentity]) -> dict[PatientIdentity, str]:
    """Keys P1, P2, ... in a stable order, so scan and run of the same medium agree (R-C1)."""
    return {identity: f"P{n}" for n, identity in enumerate(sorted(identities), start=1)}


def shared_id_warnings(keys: dict[PatientIdentity, str]) -> dict[str, list[str]]:
    """R-C3: groups that share a Patient ID but differ otherwise get a warning naming each other."""
    by_id: dict[str, list[PatientIdentity]] = {}
    for identity in keys:
        if identity.patient_id:
            by_id.setdefault(identity.patient_id, []).append(identity)
    warnings: dict[str, list[str]] = {key: [] for key in keys.values()}
    for patient_id, identities in by_id.items():
        if len(identities) < 2:
            continue
        for identity in identities:
            others = ", ".join(f"{keys[o]} ({o.name or 'no name'}, {o.birth_date or 'no birth date'})"
                               for o in identities if o != identity)
            warnings[keys[identity]].append(
                f"Patient ID {patient_id} also appears as {others}: different people or a typo; "
                "check each group before mapping")
    for identity, key in keys.items():
        if not identity.patient_id:
            warnings[key].append("no Patient ID in the files: map this group only after checking the images (R-C5)")
    return warnings


def suggest_hetu(identity: PatientIdentity) -> str | None:
    """The outside Patient ID when it is a valid HETU matching the birth date in the files.

    Only a suggestion: the operator confirms it with `--map` (R-C6). An issuer other than the
    HETU's OID (or none) means the ID is somebody else's number that merely looks like a HETU.
    """
    if identity.issuer not in ("", HETU_ISSUER):
        return None
    try:
        hetu = Hetu(identity.patient_id.upper())
    except InvalidHetu:
        return None
    if identity.birth_date != hetu.birth_date.strftime("%Y%m%d"):
        return None
    return hetu.code


# -- mapping ---------------------------------------------------------------------------------------
class MappingInvalid(ValueError):
    """The operator's mapping is wrong: every problem, each naming the option to fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class GroupMapping:
    """One confirmed mapping: outside group KEY is the local patient with this HETU."""

    key: str
    hetu: str
    name: str | None = None
    birth_date: str | None = None


@dataclass(frozen=True)
class Mapping:
    groups: tuple[GroupMapping, ...]
    accession: str | None = None

    def for_key(self, key: str) -> GroupMapping | None:
        return next((g for g in self.groups if g.key == key), None)

    def fingerprint(self) -> str:
        """Identifies the mapping for resuming a job: same medium + same mapping = same job."""
        text = json.dumps({"groups": [g.__dict__ for g in sorted(self.groups, key=lambda g: g.key)],
                           "accession": self.accession}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_pairs(option: str, values: tuple[str, ...] | list[str]) -> tuple[dict[str, str], list[str]]:
    """`KEY=VALUE` options into a dict; malformed or repeated keys are problems."""
    pairs: dict[str, str] = {}
    problems = []
    for value in values:
        key, sep, rest = value.partition("=")
        key, rest = key.strip().upper(), rest.strip()
        if not sep or not key or not rest:
            problems.append(f"{option} {value!r}: expected KEY=VALUE, e.g. {option} P1=...")
        elif key in pairs and pairs[key] != rest:
            problems.append(f"{option}: group {key} given twice ({pairs[key]} and {rest})")
        else:
            pairs[key] = rest
    return pairs, problems


def parse_mapping(maps: list[str] | tuple[str, ...], names: list[str] | tuple[str, ...] = (),
                  birth_dates: list[str] | tuple[str, ...] = (), *, known_keys: set[str],
                  accession: str | None = None) -> Mapping:
    """Validate the operator's options against the medium's groups; raises MappingInvalid (R-C1)."""
    hetus, problems = parse_pairs("--map", maps)
    name_of, more = parse_pairs("--name", names)
    problems += more
    born, more = parse_pairs("--birth-date", birth_dates)
    problems += more
    for option, keys in (("--map", hetus), ("--name", name_of), ("--birth-date", born)):
        for key in keys:
            if key not in known_keys:
                problems.append(f"{option} {key}: no such group on this medium (groups: {', '.join(sorted(known_keys)) or 'none'})")
    for key in set(name_of) | set(born):
        if key not in hetus:
            problems.append(f"--name/--birth-date {key}: the group is not mapped; add --map {key}=HETU")
    groups = []
    for key, code in sorted(hetus.items()):
        try:
            hetu = Hetu(code.upper())
        except InvalidHetu as exc:
            problems.append(f"--map {key}: {exc}")
            continue
        name = name_of.get(key)
        if name is not None and not NAME.match(name):
            problems.append(f"--name {key}: {name!r} is not a DICOM person name (FAMILY^GIVEN, at most 64 characters)")
        birth = born.get(key)
        if birth is not None and not valid_date(birth):
            problems.append(f"--birth-date {key}: {birth!r} is not a date YYYYMMDD")
        elif birth is not None and birth != hetu.birth_date.strftime("%Y%m%d"):
            problems.append(f"--birth-date {key}: {birth} differs from the birth date of HETU {hetu.code}")
        groups.append(GroupMapping(key, hetu.code, name, birth))
    if accession is not None and not (0 < len(accession) <= 16 and "\\" not in accession):
        problems.append(f"--accession {accession!r}: 1-16 characters, no backslash (DICOM SH)")
    if not hetus and not problems:
        problems.append("nothing is mapped: give --map KEY=HETU for each patient group to import "
                        "(`mediastation import scan SOURCE` lists the groups)")
    if problems:
        raise MappingInvalid(problems)
    return Mapping(tuple(groups), accession)


def valid_date(text: str) -> bool:
    if not DATE.match(text):
        return False
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


# -- local identity --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalPatient:
    """Who the instances become (R-D1); sex None keeps the outside value (nobody local said)."""

    hetu: str
    name: str
    birth_date: str
    sex: str | None
    source: str  # "pacs" | "operator"
    issuer: str = HETU_ISSUER


@dataclass(frozen=True)
class ArchivePatient:
    """The archive's demographics for a HETU (C-FIND at PATIENT level)."""

    name: str
    birth_date: str
    sex: str


@dataclass
class Resolution:
    patient: LocalPatient | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def local_patient(mapping: GroupMapping, outside: PatientIdentity, archive: ArchivePatient | None) -> Resolution:
    """The local identity of a mapped group: the archive's, else what the operator confirmed.

    A HETU carries its birth date, so only the name has to come from the operator when the archive
    does not know the patient. Differences from the outside files are warnings for the receipt (R-C2).
    """
    hetu = Hetu(mapping.hetu)
    hetu_birth = hetu.birth_date.strftime("%Y%m%d")
    result = Resolution(None)
    if archive is not None:
        if mapping.name and normalise_name(mapping.name).upper() != normalise_name(archive.name).upper():
            result.warnings.append(f"{mapping.key}: the archive names {hetu.code} {archive.name!r}, not "
                                   f"{mapping.name!r}; the archive's name is used")
        result.patient = LocalPatient(hetu.code, archive.name, archive.birth_date or hetu_birth,
                                      archive.sex or None, "pacs")
    elif not mapping.name:
        result.problems.append(f"--name {mapping.key}=FAMILY^GIVEN: the archive does not know {hetu.code}; "
                               "give the patient's name as confirmed from an identity document")
        return result
    else:
        result.patient = LocalPatient(hetu.code, normalise_name(mapping.name), mapping.birth_date or hetu_birth,
                                      None, "operator")
    if outside.birth_date and outside.birth_date != hetu_birth:
        result.warnings.append(f"{mapping.key}: the files give birth date {outside.birth_date}, HETU {hetu.code} "
                               f"means {hetu_birth}")
    return result
