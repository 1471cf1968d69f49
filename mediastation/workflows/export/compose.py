"""Compose: conform every instance to the medium's profile, plan the discs and lay out each disc's
tree (DICOM file-set with DICOMDIR, reports, README.TXT, LETTER.PDF, the viewer), then stage the
cover letter and labels for the printer.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediastation.files import link_or_copy
from mediastation.workflows.export import documents, reports
from mediastation.workflows.retrieval import study_files
from mediastation.workflows.export.types import (
    DISC_RESERVE,
    Composed,
    Conversion,
    Disc,
    ExportJob,
    ExportRefused,
    capacities,
    fileset_code,
)

if TYPE_CHECKING:
    from mediastation.dicom.fileset import InstanceHeader
    from mediastation.media.web import ViewerWorkers


def compose(job: ExportJob) -> Composed:
    from mediastation.dicom.fileset import read_header
    from mediastation.media.web import ViewerWorkers

    files = {study.accession_number: study_files(Path(study.folder)) for study in job.retrieved.studies}
    sources = [path for paths in files.values() for path in paths]
    found_reports, report_instances, warnings = reports.gather(job, files)
    sources += report_instances
    total = sum(p.stat().st_size for p in sources)
    kind = medium_kind(job, total)
    profile = _profile(job, kind, sources)
    conformed, conversions = _conform_all(job, sources, profile)
    viewer_reports = []
    with ViewerWorkers(None, len(conformed)) as viewer:
        viewer.read_ahead(conformed)  # the viewer's header pass runs while the discs are laid out
        headers = [read_header(path) for path in conformed]
        _check_identity(job, headers)
        plan = _plan(job, headers, kind)
        code = fileset_code(job.row.request_id, job.params.attempt)
        shutil.rmtree(job.path("discs"), ignore_errors=True)
        discs = []
        for index, disc_headers in enumerate(plan, start=1):
            fileset_id = f"{code}_{index}"
            tree = job.path("discs", str(index))
            viewer_reports.append(_lay_out_disc(job, tree, disc_headers, fileset_id=fileset_id, profile=profile,
                                                disc=(index, len(plan)), kind=kind, viewer=viewer,
                                                found_reports=found_reports))
            discs.append(Disc(index=index, count=len(plan), fileset_id=fileset_id, tree=str(tree),
                              instances=len(disc_headers),
                              studies=sorted({h.study_instance_uid for h in disc_headers})))
    letter, labels = documents.write_print_documents(job, discs, headers, kind, found_reports)
    return Composed(medium=kind, profile=profile.name, discs=discs, conversions=conversions, viewer=viewer_reports,
                    reports=found_reports, cover_letter=letter, labels=labels, warnings=warnings)


def medium_kind(job: ExportJob, total_bytes: int) -> str:
    """--medium, else the decision's channel; `auto` takes a CD when the study fits on one (R6)."""
    asked = job.params.medium or job.row.channel or "cd"
    if asked != "auto":
        return asked
    sizes = capacities(job.env)
    for kind in ("cd", "dvd", "dvd-dl"):
        if total_bytes + DISC_RESERVE <= sizes[kind]:
            return kind
    return "dvd"


def _profile(job: ExportJob, kind: str, sources: Sequence[Path]) -> Any:
    """The medium's profile; with `auto`, from the transfer syntaxes of what goes on it (read from
    each file's meta information only)."""
    from mediastation.dicom.profiles import profile_for_medium
    from mediastation.dicom.transcode import transfer_syntax_of

    choice = job.env.settings.export.compressed_profile
    syntaxes = [transfer_syntax_of(path) for path in sources] if choice == "auto" and kind != "cd" else []
    return profile_for_medium(kind, choice, syntaxes)


def _conform_all(job: ExportJob, sources: Sequence[Path], profile: Any) -> tuple[list[Path], list[Conversion]]:
    """Each instance in a syntax the profile allows (PS3.11): linked when it already is, else transcoded."""
    from mediastation.dicom.transcode import NotPlaceable, conform

    target = job.path("conformed")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    conformed, conversions = [], []
    for number, source in enumerate(sources):
        destination = target / f"{number:07d}"
        try:
            conversion = conform(source, destination, profile)
        except NotPlaceable as exc:
            raise ExportRefused(f"{exc}; choose a medium whose profile can hold it (--medium dvd or usb)",
                                details={"file": str(source)}) from None
        if conversion is None:
            link_or_copy(source, destination)
        else:
            conversions.append(Conversion(sop_instance_uid=conversion.sop_instance_uid, from_ts=conversion.from_ts,
                                          to=conversion.to_ts))
        conformed.append(destination)
        job.progress(number + 1, len(sources), "conforming")
    return conformed, conversions


def _check_identity(job: ExportJob, headers: Sequence[InstanceHeader]) -> None:
    """Every fetched instance belongs to the requested patient and studies (R10, R13)."""
    from mediastation.domain.matching import normalise_patient_id

    wanted = {s.study_instance_uid for s in job.retrieved.studies}
    hetu = normalise_patient_id(job.request.patient.hetu)
    strangers = [h for h in headers if h.study_instance_uid not in wanted or normalise_patient_id(h.patient_id) != hetu]
    if strangers:
        first = strangers[0]
        raise ExportRefused(
            f"the archive returned {len(strangers)} instance(s) of another patient or study "
            f"(e.g. study {first.study_instance_uid}, patient {first.patient_id}); nothing was written",
            details={"instances": len(strangers)})


def _plan(job: ExportJob, headers: Sequence[InstanceHeader], kind: str) -> list[list[InstanceHeader]]:
    from mediastation.media.spanning import Item, plan_discs

    ordered = sorted(headers, key=_reading_order(job.env.settings.export.newest_study_first))
    by_key = {h.path.as_posix(): h for h in ordered}
    items = [Item(h.study_instance_uid, h.series_instance_uid, h.path.as_posix(), h.path.stat().st_size)
             for h in ordered]
    plan = plan_discs(items, capacity=capacities(job.env)[kind], reserve=DISC_RESERVE)
    return [[by_key[item.key] for item in disc] for disc in plan]


def _reading_order(newest_first: bool):  # type: ignore[no-untyped-def]
    """Newest study first, then series and instance numbers, then UIDs for determinism."""
    def key(h: Any) -> tuple[Any, ...]:
        moment = f"{h.study_date}{h.study_time}"
        inverted = "".join(chr(0x7A - ord(c) + 0x30) if c.isdigit() else c for c in moment) if newest_first else moment
        return (inverted, h.study_instance_uid, _number(h.series_number), h.series_instance_uid,
                _number(h.instance_number), h.sop_instance_uid)
    return key


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _lay_out_disc(job: ExportJob, tree: Path, headers: Sequence[InstanceHeader], *, fileset_id: str, profile: Any,
                  disc: tuple[int, int], kind: str, viewer: ViewerWorkers,
                  found_reports: reports.Reports) -> dict[str, Any]:
    """DICOM tree + DICOMDIR, then REPORTS/, README.TXT, LETTER.PDF, INDEX.HTM and the viewer."""
    from mediastation.dicom.fileset import assign_file_ids, write_dicomdir

    tree.mkdir(parents=True)
    entries = []
    for header, file_id in assign_file_ids(headers):
        full_id = ("DICOM", *file_id)
        link_or_copy(header.path, tree.joinpath(*full_id))
        entries.append((header, full_id))
    write_dicomdir(tree, entries, fileset_id=fileset_id, profile=profile)
    links = reports.place_on_disc(job, found_reports, tree, {h.study_instance_uid for h in headers})
    return documents.write_disc_documents(job, tree, entries, fileset_id=fileset_id, disc=disc, kind=kind,
                                          reports=found_reports, links=links, viewer=viewer)
