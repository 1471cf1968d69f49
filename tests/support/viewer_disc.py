"""Discs for the viewer tests: synthetic studies laid out as on a medium, a real ISO 9660 image made
with pycdlib, and that image extracted again with upper-case and with lower-case names (what
Windows/macOS and some Linux mounts show). Studies may carry report PDFs in REPORTS/, as the export
places them.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pycdlib
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from mediastation.media.web import WebInstance, WebReport, write_web_content
from mediastation.media.web_types import ReportLink
from support.synthetic import StudyInfo

README = "Synthetic test medium of the HUS media station.\r\n"


@dataclass(frozen=True)
class Disc:
    root: Path
    instances: tuple[WebInstance, ...]
    report: WebReport
    reports: Mapping[str, tuple[ReportLink, ...]]  # StudyInstanceUID -> links passed to the viewer


def small_pdf(text: str) -> bytes:
    """A one-page PDF (reportlab canvas), as a report on the medium."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.drawString(72, 760, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def lay_out(studies: Sequence[StudyInfo], root: Path, *, language: str = "fi", budget_bytes: int | None = None,
            reports: Mapping[str, Sequence[tuple[str, bytes | None]]] | None = None) -> Disc:
    """DICOM/PTnnnnnn/STnnnnnn/SEnnnnnn/IMnnnnnn per file (as the export does), then the web content.

    `reports`: StudyInstanceUID -> (title, PDF) per report, written to REPORTS/R0000001.PDF, ... in
    that order; a PDF of None is linked but not written (a report missing from the medium)."""
    root.mkdir(parents=True, exist_ok=True)
    instances: list[WebInstance] = []
    patients: dict[str, int] = {}
    for study_number, study in enumerate(studies):
        patient = patients.setdefault(study.patient_id, len(patients))
        series_numbers: dict[str, int] = {}
        for image_number, source in enumerate(study.files):
            series = series_numbers.setdefault(source.parent.name, len(series_numbers))
            medium_path = (f"DICOM/PT{patient:06d}/ST{study_number:06d}/SE{series:06d}/IM{image_number:06d}")
            target = root / medium_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            instances.append(WebInstance(medium_path=medium_path, source=target))
    (root / "README.TXT").write_text(README, encoding="ascii")
    links = _place_reports(root, reports or {})
    report = write_web_content(root, instances, language=language, budget_bytes=budget_bytes, reports=links)
    return Disc(root, tuple(instances), report, links)


def _place_reports(root: Path,
                   reports: Mapping[str, Sequence[tuple[str, bytes | None]]]) -> dict[str, tuple[ReportLink, ...]]:
    links: dict[str, tuple[ReportLink, ...]] = {}
    number = 0
    for study_uid, entries in reports.items():
        placed = []
        for title, pdf in entries:
            number += 1
            link = ReportLink(title=title, medium_path=f"REPORTS/R{number:07d}.PDF")
            if pdf is not None:
                (root / "REPORTS").mkdir(exist_ok=True)
                (root / link.medium_path).write_bytes(pdf)
            placed.append(link)
        links[study_uid] = tuple(placed)
    return links


def make_iso(tree: Path, iso_path: Path, volume_id: str = "MEDIASTATION") -> None:
    """An ISO 9660 level 1 + Joliet image of `tree` (Joliet names equal the ISO 9660 names)."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, joliet=3, vol_ident=volume_id)
    for path in sorted(tree.rglob("*")):
        relative = path.relative_to(tree).as_posix()
        iso_name = "/" + relative.upper()
        joliet = "/" + relative
        if path.is_dir():
            iso.add_directory(iso_name, joliet_path=joliet)
        else:
            iso.add_file(str(path), iso_path=iso_name + ("" if "." in path.name else ".") + ";1",
                         joliet_path=joliet)
    iso.write(str(iso_path))
    iso.close()


def extract_iso(iso_path: Path, dest: Path, *, lower: bool) -> Path:
    """Every file of the ISO 9660 directory tree, named as recorded (upper-case) or lower-cased."""
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    try:
        for directory, _, files in iso.walk(iso_path="/"):
            for name in files:
                iso_name = f"{directory.rstrip('/')}/{name}"
                local = iso_name.split(";")[0].rstrip(".").lstrip("/")
                target = dest / (local.lower() if lower else local)
                target.parent.mkdir(parents=True, exist_ok=True)
                iso.get_file_from_iso(str(target), iso_path=iso_name)
    finally:
        iso.close()
    return dest


def iter_names(tree: Path) -> Iterable[str]:
    return (p.relative_to(tree).as_posix() for p in tree.rglob("*"))
