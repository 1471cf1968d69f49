"""Reports on the medium: each study's radiology report as a PDF in REPORTS/, and a report that came
as a file also as a DICOM Encapsulated PDF of its study, so a PACS importing the disc gets it too.
The images are of little use to a doctor elsewhere without the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mediastation.files import link_or_copy
from mediastation.workflows.export.types import ExportJob, ExportRefused, ReportEntry

REPORT_TITLE = "Lausunto / Utlåtande / Report"
Reports = dict[str, list[ReportEntry]] | None  # accession number -> its reports; None: images only


def gather(job: ExportJob, study_files: dict[str, list[Path]]) -> tuple[Reports, list[Path], list[str]]:
    """Find and render every study's report: (the reports by accession number, the encapsulated
    instances to add to the file-set, warnings for the result). `study_files`: accession number ->
    the study's files."""
    if job.request.content == "images_only":
        return None, [], []
    settings = job.env.settings
    folder = job.env.home_path(settings.reports.folder) if settings.reports.folder else None
    given = {acc: Path(path) for acc, path in job.params.reports.items()}
    found: dict[str, list[ReportEntry]] = {}
    extra: list[Path] = []
    for study in job.request.studies:
        entries, instances = _study_reports(job, study, study_files.get(study.accession_number, []), folder,
                                            given.get(study.accession_number))
        found[study.accession_number] = entries
        extra += instances
    missing = [acc for acc, entries in found.items() if not entries]
    if missing and settings.reports.missing == "block":
        raise ExportRefused(
            "no report is available for " + ", ".join(missing) + "; give one with --report ACCESSION=FILE, "
            "or set [reports] missing = \"warn\" to send the images without it",
            details={"missing_reports": missing})
    # A warning is part of the result (and printed by the caller), not a progress line that a
    # throttled printer may drop.
    warnings = [f"no report for {', '.join(missing)}: the letter says none is available "
                "([reports] missing = \"warn\")"] if missing else []
    return found, extra, warnings


def _study_reports(job: ExportJob, study: Any, files: list[Path], folder: Path | None,
                   given: Path | None) -> tuple[list[ReportEntry], list[Path]]:
    from mediastation.reports import encapsulate_pdf, find_reports, render_report

    out = job.path("reports", "".join(ch if ch.isalnum() else "_" for ch in study.accession_number))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    reports = find_reports(files, study.accession_number, folder=folder, given=given,
                           order=job.env.settings.reports.sources)
    entries, instances = [], []
    for number, report in enumerate(reports, start=1):
        pdf = render_report(report, out / f"{number}.pdf", patient_name=job.request.patient.name,
                            hetu=job.request.patient.hetu, study_description=study.study_description,
                            study_datetime=study.study_datetime, language=job.request.language)
        dicom = None
        if report.is_file and files:
            dicom = encapsulate_pdf(pdf, files[0], out / f"{number}.dcm",
                                    uid_root=job.env.settings.station.uid_root, title=REPORT_TITLE,
                                    instance_number=number)
            instances.append(dicom)
        entries.append(ReportEntry(kind=report.kind, title=report.title, pdf=str(pdf),
                                   sop_instance_uid=report.sop_instance_uid, dicom=str(dicom) if dicom else None))
    return entries, instances


def place_on_disc(job: ExportJob, reports: Reports, tree: Path, study_uids: set[str]) -> dict[str, list[Any]]:
    """Copy the reports of the studies on this disc to REPORTS/Rnnnnnnn.PDF (8.3 names); returns the
    viewer's links to them by Study Instance UID."""
    from mediastation.media.web_types import ReportLink

    uid_of = job.uid_of()
    links: dict[str, list[Any]] = {}
    placed = 0
    for accession, entries in (reports or {}).items():
        uid = uid_of.get(accession)
        if uid not in study_uids:
            continue
        for entry in entries:
            placed += 1
            name = f"REPORTS/R{placed:07d}.PDF"
            link_or_copy(Path(entry.pdf), tree / name)
            links.setdefault(uid, []).append(ReportLink(title=entry.title, medium_path=name))
    return links


def report_status(reports: Reports, accession: str) -> bool | None:
    """For the letter: True report included, False none available, None reports not asked for."""
    if reports is None:
        return None
    return bool(reports.get(accession))
