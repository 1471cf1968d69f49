"""What an export puts beside the DICOM files: README.TXT, LETTER.PDF, the viewer and INDEX.HTM
on every disc (b4-b10), and the cover letter and disc labels for the printer (issue 4 item 5).

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
from mediastation.documents.files import write_bytes_atomically
from mediastation.documents.label import write_disc_label
from mediastation.documents.letter import write_cover_letter
from mediastation.documents.readme import encode_readme, readme_text
from mediastation.documents.texts import basis_label
from mediastation.workflows.export_reports import report_status

if TYPE_CHECKING:
    from mediastation.dicom.headers import InstanceHeader
    from mediastation.media.web import ViewerWorkers
    from mediastation.workflows.export import ExportRun

VIEWER_NAME = "HUS mediastation web viewer"


def sender(run: ExportRun) -> Sender:
    s = run.env.settings.sender
    return Sender(unit=s.unit, street=s.street, postal_code=s.postal_code, city=s.city, phone=s.phone,
                  email=s.email)  # the unit signs: a login name is not a signature


def recipient(run: ExportRun) -> Recipient | None:
    """The window envelope's address; none when the request gives no postal address (handed over)."""
    destination = run.request.destination
    address = destination.address
    if address is None or not (address.street and address.postal_code and address.city):
        return None
    return Recipient(name=address.name or destination.name, street=address.street,
                     postal_code=address.postal_code, city=address.city, country=address.country or "FI")


def disclosure(run: ExportRun, language: str) -> Disclosure:
    basis = run.request.basis
    detail = basis.reference
    if basis.kind == "statutory":
        legal = _legal_basis(run, basis.reference)
        detail = legal.label(language) if legal else basis.reference
    return Disclosure(patient_name=run.request.patient.name, hetu=run.request.patient.hetu,
                      basis_label=basis_label(basis.kind or "consent", language, detail),
                      request_id=run.row.request_id, release_date=_created(run))


def _legal_basis(run: ExportRun, code: str) -> Any:
    from mediastation.config import release_policy

    return release_policy(run.env.settings, run.env.home).legal_basis(code)


def study_lines(run: ExportRun, disc_of: dict[str, int] | None = None) -> list[StudyLine]:
    """The requested studies as the letter lists them (R10.6), with the disc holding each."""
    uids = {s["accession_number"]: s["study_instance_uid"] for s in run.detail["studies"]}
    lines = []
    for study in run.request.studies:
        moment = study.study_datetime or datetime.combine(_created(run), datetime.min.time())
        disc = (disc_of or {}).get(uids.get(study.accession_number, ""))
        lines.append(StudyLine(accession_number=study.accession_number, study_description=study.study_description,
                               study_datetime=moment, disc=disc,
                               report=report_status(run, study.accession_number)))
    return lines


def media_info(run: ExportRun, discs: Sequence[dict[str, Any]], kind: str) -> list[MediumInfo]:
    return [MediumInfo(index=d["index"], count=d["count"], kind=kind, fileset_id=d["fileset_id"]) for d in discs]


def _created(run: ExportRun) -> date:
    from mediastation.workflows.export import today_helsinki

    return today_helsinki()


def _language(run: ExportRun) -> str:
    return run.request.language or run.env.settings.station.language


def write_disc_documents(run: ExportRun, tree: Path, entries: Sequence[tuple[InstanceHeader, tuple[str, ...]]], *,
                         fileset_id: str, disc: tuple[int, int], kind: str,
                         reports: dict[str, list[Any]] | None = None, viewer: ViewerWorkers | None = None) -> None:
    """README.TXT, LETTER.PDF, the viewer with INDEX.HTM, into one disc's tree (`viewer`: the
    export's ViewerWorkers, None to start them here)."""
    language = _language(run)
    this = MediumInfo(index=disc[0], count=disc[1], kind=kind, fileset_id=fileset_id)
    all_media = [MediumInfo(index=n, count=disc[1], kind=kind, fileset_id=f"{fileset_id.rsplit('_', 1)[0]}_{n}")
                 for n in range(1, disc[1] + 1)]
    readme = readme_text(station_name=run.env.settings.station.name, application_version=__version__,
                         sender=sender(run), created=_created(run), medium=this, viewer_name=VIEWER_NAME)
    write_bytes_atomically(tree / "README.TXT", encode_readme(readme))
    write_cover_letter(tree / "LETTER.PDF", language=language, sender=sender(run), recipient=recipient(run),
                       disclosure=disclosure(run, language), studies=study_lines(run), media=all_media,
                       created=_created(run))
    _viewer(run, tree, entries, language, kind, reports or {}, viewer)


def _viewer(run: ExportRun, tree: Path, entries: Sequence[tuple[InstanceHeader, tuple[str, ...]]],
            language: str, kind: str, reports: dict[str, list[Any]], viewer: ViewerWorkers | None) -> None:
    """The viewer gets what space the disc has left after the DICOM files and documents (issue 5 §3)."""
    from mediastation.media.web import WebInstance, write_web_content

    instances = [WebInstance(medium_path="/".join(file_id), source=header.path) for header, file_id in entries]
    report = write_web_content(tree, instances, language=language, budget_bytes=_viewer_budget(run, tree, kind),
                               progress=run.env.progress, reports=reports, prepared=viewer)
    run.detail.setdefault("viewer", []).append({"disc": tree.name, **report.to_json()})


def _viewer_budget(run: ExportRun, tree: Path, kind: str) -> int | None:
    from mediastation.workflows.export_stages import DISC_RESERVE, _capacities

    configured = run.env.settings.export.viewer_budget_mb
    used = sum(-(-p.stat().st_size // 2048) * 2048 for p in tree.rglob("*") if p.is_file())
    free = _capacities(run)[kind] - used - DISC_RESERVE // 2
    budget = max(0, free)
    return min(budget, int(configured * 1_000_000))


def write_print_documents(run: ExportRun, discs: Sequence[dict[str, Any]], headers: Sequence[Any]) -> None:
    """The cover letter for the envelope and one label per disc, staged in the job's print folder."""
    language = _language(run)
    kind = run.detail["medium"]
    folder = run.path("print")
    folder.mkdir(parents=True, exist_ok=True)
    disc_of = {uid: d["index"] for d in discs for uid in d["studies"]}
    media = media_info(run, discs, kind)
    code = discs[0]["fileset_id"].rsplit("_", 1)[0]
    letter = write_cover_letter(folder / f"{code}_letter.pdf", language=language, sender=sender(run),
                                recipient=recipient(run), disclosure=disclosure(run, language),
                                studies=study_lines(run, disc_of), media=media, created=_created(run))
    labels = []
    for disc, medium in zip(discs, media, strict=True):
        dates = sorted({_date(h.study_date) for h in headers if h.study_instance_uid in disc["studies"]} - {None})
        labels.append(str(write_disc_label(
            folder / f"{disc['fileset_id']}_label.pdf", patient_name=run.request.patient.name,
            birth_date=_birth_date(run), study_dates=dates, medium=medium, created=_created(run),
            language=language)))
    run.detail["cover_letter_staged"] = str(letter)
    run.detail["labels_staged"] = labels


def _date(value: str) -> date | None:
    try:
        return datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _birth_date(run: ExportRun) -> date | None:
    from mediastation.domain.hetu import Hetu, InvalidHetu

    try:
        return Hetu(run.request.patient.hetu).birth_date
    except InvalidHetu:
        return None
