"""Reports on the medium (issue 9): each study's radiology report as a PDF in REPORTS/, and a
report that came as a file also as a DICOM Encapsulated PDF of its study, so a PACS importing the
disc gets it too. The images are of little use to a doctor elsewhere without the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediastation.workflows.export import ExportRefused, link_or_copy

if TYPE_CHECKING:
    from mediastation.workflows.export import ExportRun

REPORT_TITLE = "Lausunto / Utlåtande / Report"


def gather(run: ExportRun, study_files: dict[str, list[Path]]) -> list[Path]:
    """Find and render every study's report; returns the encapsulated instances to add to the
    file-set. `study_files`: accession number -> the study's retrieved files."""
    if run.request.content == "images_only":
        run.detail["reports"] = None
        return []
    settings = run.env.settings
    folder = run.env.home_path(settings.reports.folder) if settings.reports.folder else None
    given = {acc: Path(path) for acc, path in run.detail.get("given_reports", {}).items()}
    found: dict[str, list[dict[str, Any]]] = {}
    extra: list[Path] = []
    for study in run.request.studies:
        entries, instances = _study_reports(run, study, study_files.get(study.accession_number, []), folder,
                                            given.get(study.accession_number))
        found[study.accession_number] = entries
        extra += instances
    missing = [acc for acc, entries in found.items() if not entries]
    if missing and settings.reports.missing == "block":
        raise ExportRefused(
            "no report is available for " + ", ".join(missing) + "; give one with --report ACCESSION=FILE, "
            "or set [reports] missing = \"warn\" to send the images without it",
            details={"missing_reports": missing})
    if missing:
        run.env.progress(0, None, f"warning: no report for {', '.join(missing)}")
    run.detail["reports"] = found
    return extra


def _study_reports(run: ExportRun, study: Any, files: list[Path], folder: Path | None,
                   given: Path | None) -> tuple[list[dict[str, Any]], list[Path]]:
    from mediastation.reports import encapsulate_pdf, find_reports, render_report

    out = run.path("reports", "".join(ch if ch.isalnum() else "_" for ch in study.accession_number))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    reports = find_reports(files, study.accession_number, folder=folder, given=given,
                           order=run.env.settings.reports.sources)
    entries, instances = [], []
    for number, report in enumerate(reports, start=1):
        pdf = render_report(report, out / f"{number}.pdf", patient_name=run.request.patient.name,
                            hetu=run.request.patient.hetu, study_description=study.study_description,
                            study_datetime=study.study_datetime, language=run.request.language)
        entry = {"kind": report.kind, "title": report.title, "pdf": str(pdf),
                 "sop_instance_uid": report.sop_instance_uid}
        if report.is_file and files:
            instance = encapsulate_pdf(pdf, files[0], out / f"{number}.dcm",
                                       uid_root=run.env.settings.station.uid_root, title=REPORT_TITLE,
                                       instance_number=number)
            instances.append(instance)
            entry["dicom"] = str(instance)
        entries.append(entry)
    return entries, instances


def place_on_disc(run: ExportRun, tree: Path, study_uids: set[str]) -> dict[str, list[Any]]:
    """Copy the reports of the studies on this disc to REPORTS/Rnnnnnnn.PDF (8.3 names); returns the
    viewer's links to them by Study Instance UID."""
    from mediastation.media.web_types import ReportLink

    reports = run.detail.get("reports") or {}
    uid_of = {s["accession_number"]: s["study_instance_uid"] for s in run.detail["studies"]}
    links: dict[str, list[Any]] = {}
    placed = 0
    for accession, entries in reports.items():
        uid = uid_of.get(accession)
        if uid not in study_uids:
            continue
        for entry in entries:
            placed += 1
            name = f"REPORTS/R{placed:07d}.PDF"
            link_or_copy(Path(entry["pdf"]), tree / name)
            links.setdefault(uid, []).append(ReportLink(title=entry.get("title", ""), medium_path=name))
    return links


def report_status(run: ExportRun, accession: str) -> bool | None:
    """For the letter: True report included, False none available, None reports not asked for."""
    reports = run.detail.get("reports")
    if reports is None:
        return None
    return bool(reports.get(accession))
