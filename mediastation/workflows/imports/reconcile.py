"""Reconcile: the operator's mapping of the medium's patient groups to local patients (R-C1..R-C3),
each mapped group's local identity (R-C2, R-D1), and the coercion every instance of it gets.

Everything here is checked before the job is opened: a mapping that cannot be imported is refused
with every problem named at once, and nothing is written.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mediastation.dicom.coerce import Coercion
from mediastation.dicom.inventory import Inventory
from mediastation.domain.reconcile import LocalPatient, Mapping, MappingInvalid, local_patient, parse_mapping
from mediastation.pacs.lookup import ArchiveQuery
from mediastation.errors import listing
from mediastation.workflows.imports.types import ImportEnvironment, ImportRefused, ImportRequest, refused


def mapping_of(request: ImportRequest, inventory: Inventory) -> Mapping:
    if not inventory.instances:
        raise _nothing_on(inventory)
    try:
        mapping = parse_mapping(request.maps, request.names, request.birth_dates,
                                known_keys={g.key for g in inventory.patients}, accession=request.accession)
    except MappingInvalid as exc:
        raise ImportRefused(listing("the mapping is not valid", exc.problems),
                            details={"problems": exc.problems, "patients": [g.to_json() for g in inventory.patients]}
                            ) from None
    problems = []
    sendable = [f for f in inventory.files if f.sendable and mapping.for_key(f.patient_key or "")]
    if not sendable:
        problems.append("nothing importable: the mapped groups hold no instance that can be sent")
    owners: dict[str, set[str]] = {}
    for item in inventory.files:
        group = mapping.for_key(item.patient_key or "")
        if item.header and group:
            owners.setdefault(item.header.study_instance_uid, set()).add(group.hetu)
    problems += [f"study {uid} holds instances of groups mapped to different patients ({', '.join(sorted(h))}); "
                 "a study belongs to one patient: map its groups to the same HETU" for uid, h in owners.items() if len(h) > 1]
    if problems:
        raise refused(problems)
    return mapping


def local_patients(mapping: Mapping, inventory: Inventory, query: ArchiveQuery
                   ) -> tuple[dict[str, LocalPatient], list[str]]:
    """R-C2/R-D1: each mapped group's local identity (and differences to note); every missing piece
    is named at once."""
    patients: dict[str, LocalPatient] = {}
    problems: list[str] = []
    warnings: list[str] = []
    for group in mapping.groups:
        outside = inventory.group(group.key)
        assert outside is not None
        resolution = local_patient(group, outside.identity, query.patient(group.hetu))
        problems += resolution.problems
        warnings += resolution.warnings
        if resolution.patient is not None:
            patients[group.key] = resolution.patient
    if problems:
        raise refused(problems)
    return patients, warnings


def coercions(patients: dict[str, LocalPatient], mapping: Mapping, env: ImportEnvironment) -> dict[str, Coercion]:
    """What each group's instances become (dicom/coerce.py), stamped with this pass's time."""
    when = datetime.now(UTC).astimezone()
    accession = mapping.accession if mapping.accession is not None else ("" if env.settings.accession == "blank" else None)
    return {key: Coercion(patient.name, patient.hetu, patient.issuer, patient.birth_date, patient.sex, accession,
                          modifying_system=env.calling_ae, station_name=env.calling_ae,
                          institution=env.settings.institution, when=when)
            for key, patient in patients.items()}


def _nothing_on(inventory: Inventory) -> ImportRefused:
    """An empty medium is said to be one, with what is on it instead (not a request for --map)."""
    counts = inventory.counts()
    found = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items())) or "no files at all"
    unreadable = [f"{f.path}: {f.reason}" for f in inventory.files if f.kind == "unreadable"][:5]
    why = list(inventory.medium_problems) + [f"DICOMDIR: {p}" for p in inventory.dicomdir_problems] + unreadable
    message = f"the medium holds no DICOM instances ({found})"
    if why:
        message += "; " + "; ".join(why)
    return ImportRefused(message + "; nothing was imported or billed",
                         details={"counts": counts, "medium_problems": list(inventory.medium_problems),
                                  "dicomdir": inventory.dicomdir, "dicomdir_problems": list(inventory.dicomdir_problems)})
