"""Before an export is queued: everything that could refuse it later is checked now, so a refusal
never comes after the archive was read, a disc was written or a release was recorded.

Checked (the stage that would otherwise refuse, in brackets): the price list loads and prices this
export and its postage on today's date when the release is billable [record]; the burner named (or
the default) exists in [burners] or is a kind the station has, and writes the medium [write]; a
`--to` folder exists [write]; the documents can be made: the sender's details, the patient, basis
and studies the letter and label print, and a font with ä/ö/å [compose]; the disc image's name is
free in the folder it goes to [write]. What only the media can tell (a drive's blank, a stick's
size) is still checked by the burner before it writes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mediastation.domain.request import ReleaseRequest
from mediastation.errors import ConfigError
from mediastation.store.models import ReleaseRequestRow
from mediastation.workflows.export.types import ExportEnvironment, ExportParams, ExportRefused, fileset_code


def preflight(env: ExportEnvironment, row: ReleaseRequestRow, params: ExportParams, *, new: bool,
              create_target: bool = False) -> None:
    """Raise the first refusal the export would meet (its own error class and message). `new`: the
    job is about to be made (an unfinished one may have put its image in the folder already);
    `create_target`: `--mkdir`, the caller creates a missing `--to` folder once this passed."""
    request = ReleaseRequest.model_validate(row.request_json)
    medium = params.medium if params.medium not in (None, "auto") else None
    medium = medium or (row.channel if row.channel not in (None, "auto") else None)
    if not create_target:
        _target_folder(params)
    _burner(env, params, medium)
    _documents(env, row, request)
    if row.decision_json.get("billable", False):
        _prices(env, row, request, params, medium or "cd")
    if new:
        _image_name_free(env, row, params)


def _target_folder(params: ExportParams) -> None:
    """`--to DIR` must exist: an unmounted stick's mount point must not become a local folder."""
    if params.to_dir and not Path(params.to_dir).is_dir():
        raise ExportRefused(f"--to {params.to_dir}: no such folder (is the stick or share mounted?); mount it, "
                            "or give --mkdir to create the folder", details={"to": params.to_dir})


def _burner(env: ExportEnvironment, params: ExportParams, medium: str | None) -> None:
    """The burner exists here and writes the medium (a drive CD/DVD, a stick USB, a folder anything);
    a robot set to one disc type takes only that one."""
    from burners.factory import burner_entry
    from mediastation.jobs.model import WRITES

    if params.to_dir:
        return  # the folder burner writes any medium's image or tree
    section = env.settings.burners
    entry, kind = burner_entry(params.burner, section)
    name = params.burner or section.default
    if medium is not None and medium not in WRITES.get(kind, frozenset()):
        raise ExportRefused(f"burner {name!r} ({kind}) cannot write a {medium} medium; choose another with "
                            "--burner, or --medium", details={"burner": name, "medium": medium})
    fixed = getattr(entry, "media", "auto") if entry is not None else "auto"
    if medium is not None and fixed != "auto" and medium != fixed:
        raise ExportRefused(f"burner {name!r} is set to write {fixed} only ([[burners.devices]] media), not "
                            f"{medium}", details={"burner": name, "medium": medium})


def _documents(env: ExportEnvironment, row: ReleaseRequestRow, request: ReleaseRequest) -> None:
    """What the cover letter, the label and README.TXT print must be there, and a font to print it."""
    from mediastation.documents.content import Disclosure, Sender, StudyLine
    from mediastation.documents.fonts import register_fonts
    from mediastation.documents.texts import basis_label

    s = env.settings.sender
    try:
        Sender(unit=s.unit, street=s.street, postal_code=s.postal_code, city=s.city, phone=s.phone, email=s.email)
    except ValueError as exc:
        raise ConfigError(f"[sender] in station.toml: {exc}; the cover letter and README.TXT print the releasing "
                          "unit's details", details={"section": "sender"}) from None
    language = request.language or env.settings.station.language
    try:
        Disclosure(patient_name=request.patient.name, hetu=request.patient.hetu,
                   basis_label=basis_label(request.basis.kind or "consent", language, request.basis.reference),
                   request_id=row.request_id, release_date=datetime.now().date())
        for study in request.studies:
            StudyLine(accession_number=study.accession_number, study_description=study.study_description,
                      study_datetime=study.study_datetime or datetime.now())
    except ValueError as exc:
        raise ExportRefused(f"the cover letter cannot be made for request {row.request_id}: {exc}",
                            details={"request_id": row.request_id}) from None
    register_fonts()


def _prices(env: ExportEnvironment, row: ReleaseRequestRow, request: ReleaseRequest, params: ExportParams,
            medium: str) -> None:
    """The price list in force today prices this export and its postage (R19), as the record stage will."""
    from mediastation.domain.pricing import InvalidEvent, NoPriceInForce, price
    from mediastation.workflows.billing import PriceListError, load_price_list
    from mediastation.workflows.export.record import export_events

    price_list = load_price_list(env.home_path(env.settings.pricing.price_list))
    try:
        for event in export_events(request, row.request_id, copy_number=params.copy_number, medium_kind=medium,
                                   media=1, shipment_id="preflight"):
            price(event, price_list)
    except (NoPriceInForce, InvalidEvent) as exc:
        raise PriceListError(f"{exc}; nothing was exported",
                             details={"file": str(env.home_path(env.settings.pricing.price_list))}) from None


def _image_name_free(env: ExportEnvironment, row: ReleaseRequestRow, params: ExportParams) -> None:
    """A new job's first image is not already in the folder it goes to (the folder burner would
    refuse it after the whole disc was composed)."""
    if not params.to_dir and (params.burner or env.settings.burners.default) != "folder":
        return
    if env.settings.burners.allow_overwrite:
        return
    folder = Path(params.to_dir) if params.to_dir else env.home_path(env.settings.burners.folder)
    first = folder / f"{fileset_code(row.request_id, params.attempt)}_1.iso"
    if first.exists():
        raise ExportRefused(f"{first} already exists; move it away, or choose another folder with --to",
                            details={"path": str(first)})
