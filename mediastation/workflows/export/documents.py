"""What an export puts beside the DICOM files: README.TXT, LETTER.PDF, the viewer and INDEX.HTM on
every disc, and the cover letter and disc labels for the printer.

The documents package renders; this module only gathers the facts from the request, the
configuration and the staged instances.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediastation import __version__
from mediastation.documents.content import Disclosure, MediumInfo, Recipient, Sender, StudyLine
from mediastation.documents.label import write_disc_label
from mediastation.documents.letter import write_cover_letter
from mediastation.documents.readme import encode_readme, readme_text
from mediastation.documents.texts import basis_label
from mediastation.files import write_bytes_atomic
from mediastation.workflows.export.reports import Reports, report_status
from mediastation.workflows.export.types import DISC_RESERVE, Disc, ExportJob, capacities, today_helsinki

if TYPE_CHECKING:
    from mediastation.dicom.headers import InstanceHeader
    from mediastation.media.web import ViewerWorkers

VIEWER_NAME = "HUS mediastation web viewer"


def sender(job: ExportJob) -> Sender:
    s = job.env.settings.sender
    return Sender(unit=s.unit, street=s.street, postal_code=s.postal_code, city=s.city, phone=s.phone,
                  email=s.email)  # the unit signs: a login name is not a signature


def recipient(job: ExportJob) -> Recipient | None:
    """The window envelope's address; none when the request gives no postal address (handed over)."""
    destination = job.request.destination
    address = destination.address
    if address is None or not (address.street and address.postal_code and address.city):
        return None
    return Recipient(name=address.name or destination.name, street=address.street,
                     postal_code=address.postal_code, city=address.city, country=address.country or "FI")


def disclosure(job: ExportJob, language: str) -> Disclosure:
    basis = job.request.basis
    detail = basis.reference
    if basis.kind == "statutory":
        legal = _legal_basis(job, basis.reference)
        detail = legal.label(language) if legal else basis.reference
    return Disclosure(patient_name=job.request.patient.name, hetu=job.request.patient.hetu,
                      basis_label=basis_label(basis.kind or "consent", language, detail),
                      request_id=job.row.request_id, release_date=today_helsinki())


def _legal_basis(job: ExportJob, code: str) -> Any:
    from mediastation.config import release_policy

    return release_policy(job.env.settings, job.env.home).legal_basis(code)


def study_lines(job: ExportJob, reports: Reports, disc_of: dict[str, int] | None = None) -> list[StudyLine]:
    """The requested studies as the letter lists them (R10.6), with the disc holding each."""
    uids = job.uid_of()
    lines = []
    for study in job.request.studies:
        moment = study.study_datetime or datetime.combine(today_helsinki(), datetime.min.time())
        disc = (disc_of or {}).get(uids.get(study.accession_number, ""))
        lines.append(StudyLine(accession_number=study.accession_number, study_description=study.study_description,
                               study_datetime=moment, disc=disc, report=report_status(reports, study.accession_number)))
    return lines


def media_info(discs: Sequence[Disc], kind: str) -> list[MediumInfo]:
    return [MediumInfo(index=d.index, count=d.count, kind=kind, fileset_id=d.fileset_id) for d in discs]


def language(job: ExportJob) -> str:
    return job.request.language or job.env.settings.station.language


def write_disc_documents(job: ExportJob, tree: Path, entries: Sequence[tuple[InstanceHeader, tuple[str, ...]]], *,
                         fileset_id: str, disc: tuple[int, int], kind: str, reports: Reports,
                         links: dict[str, list[Any]], viewer: ViewerWorkers | None = None) -> dict[str, Any]:
    """README.TXT, LETTER.PDF, the viewer with INDEX.HTM, into one disc's tree (`viewer`: the
    export's ViewerWorkers, None to start them here); returns the viewer's report for the result."""
    lang = language(job)
    this = MediumInfo(index=disc[0], count=disc[1], kind=kind, fileset_id=fileset_id)
    all_media = [MediumInfo(index=n, count=disc[1], kind=kind, fileset_id=f"{fileset_id.rsplit('_', 1)[0]}_{n}")
                 for n in range(1, disc[1] + 1)]
    readme = readme_text(station_name=job.env.settings.station.name, application_version=__version__,
                         sender=sender(job), created=today_helsinki(), medium=this, viewer_name=VIEWER_NAME)
    write_bytes_atomic(tree / "README.TXT", encode_readme(readme))
    write_cover_letter(tree / "LETTER.PDF", language=lang, sender=sender(job), recipient=recipient(job),
                       disclosure=disclosure(job, lang), studies=study_lines(job, reports), media=all_media,
                       created=today_helsinki())
    return _viewer(job, tree, entries, lang, kind, links, viewer)


def _viewer(job: ExportJob, tree: Path, entries: Sequence[tuple[InstanceHeader, tuple[str, ...]]],
            lang: str, kind: str, links: dict[str, list[Any]], viewer: ViewerWorkers | None) -> dict[str, Any]:
    """The viewer gets what space the disc has left after the DICOM files and documents."""
    from mediastation.media.web import WebInstance, write_web_content

    instances = [WebInstance(medium_path="/".join(file_id), source=header.path) for header, file_id in entries]
    report = write_web_content(tree, instances, language=lang, budget_bytes=_viewer_budget(job, tree, kind),
                               progress=job.progress, reports=links, prepared=viewer)
    return {"disc": tree.name, **report.to_json()}


def _viewer_budget(job: ExportJob, tree: Path, kind: str) -> int | None:
    configured = job.env.settings.export.viewer_budget_mb
    used = sum(-(-p.stat().st_size // 2048) * 2048 for p in tree.rglob("*") if p.is_file())
    free = capacities(job.env)[kind] - used - DISC_RESERVE // 2
    return min(max(0, free), int(configured * 1_000_000))


def write_print_documents(job: ExportJob, discs: Sequence[Disc], headers: Sequence[Any], kind: str,
                          reports: Reports) -> tuple[str, list[str]]:
    """The cover letter for the envelope and one label per disc, staged in the job's print folder:
    (the letter, the labels)."""
    lang = language(job)
    folder = job.path("print")
    folder.mkdir(parents=True, exist_ok=True)
    disc_of = {uid: d.index for d in discs for uid in d.studies}
    media = media_info(discs, kind)
    code = discs[0].fileset_id.rsplit("_", 1)[0]
    letter = write_cover_letter(folder / f"{code}_letter.pdf", language=lang, sender=sender(job),
                                recipient=recipient(job), disclosure=disclosure(job, lang),
                                studies=study_lines(job, reports, disc_of), media=media, created=today_helsinki())
    labels = []
    for disc, medium in zip(discs, media, strict=True):
        dates = sorted({_date(h.study_date) for h in headers if h.study_instance_uid in disc.studies} - {None})
        labels.append(str(write_disc_label(
            folder / f"{disc.fileset_id}_label.pdf", patient_name=job.request.patient.name,
            birth_date=_birth_date(job), study_dates=dates, medium=medium, created=today_helsinki(),
            language=lang, request_id=job.row.request_id)))
    return str(letter), labels


def _date(value: str) -> date | None:
    try:
        return datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _birth_date(job: ExportJob) -> date | None:
    from mediastation.domain.hetu import Hetu, InvalidHetu

    try:
        return Hetu(job.request.patient.hetu).birth_date
    except InvalidHetu:
        return None
