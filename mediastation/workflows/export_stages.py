"""The stages of an export job, one function each (see workflows/export.py for the pipeline).

Each stage reads what earlier stages saved in `run.detail`, does its one thing, and leaves its
outcome in `run.detail` (saved by the pipeline once the stage has finished).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediastation.workflows.export import ExportRefused, fileset_code, link_or_copy, write_json

if TYPE_CHECKING:
    from mediastation.dicom.fileset import InstanceHeader
    from mediastation.media.web import ViewerWorkers
    from mediastation.workflows.export import ExportRun

MB = 1_000_000
# Space each disc keeps for what is not DICOM: README, INDEX.HTM, LETTER.PDF, the viewer's code,
# the DICOMDIR's fixed part and the ISO 9660 / Joliet structures.
DISC_RESERVE = 8 * MB
COMPLETE = "COMPLETE.json"


# -- retrieve ---------------------------------------------------------------------------------

def retrieve(run: ExportRun) -> None:
    """Find every requested study, refuse on any mismatch, then fetch each into the job folder."""
    from mediastation.domain.matching import compare
    from mediastation.pacs.factory import open_archive

    settings = run.env.settings
    archive = open_archive(settings.archive, settings.station, run.env.home)
    found = [study for wanted in run.request.studies for study in archive.find_studies(wanted.accession_number)]
    mismatches = compare(run.request.studies, found, run.request.patient.hetu)
    if mismatches:
        raise ExportRefused(
            "the archive's studies do not match the request; nothing was written:\n  "
            + "\n  ".join(str(m) for m in mismatches),
            details={"mismatches": [str(m) for m in mismatches]})
    studies = []
    for study in found:
        folder = run.path("retrieved", _safe(study.accession_number))
        count = _retrieve_once(run, archive, study.study_instance_uid, folder)
        studies.append({"accession_number": study.accession_number, "study_instance_uid": study.study_instance_uid,
                        "folder": str(folder), "instances": count})
    run.detail["studies"] = studies


def _retrieve_once(run: ExportRun, archive: Any, study_uid: str, folder: Path) -> int:
    """A study fetched completely before is not fetched again; a half-fetched one starts over."""
    marker = folder / COMPLETE
    if marker.exists():
        import json

        return int(json.loads(marker.read_text(encoding="utf-8"))["instances"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    result = archive.retrieve(study_uid, folder, run.env.progress)
    write_json(marker, {"study_instance_uid": study_uid, "instances": result.instances})
    return result.instances


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text) or "_"


# -- compose ----------------------------------------------------------------------------------

def compose(run: ExportRun) -> None:
    """Conform every instance to the medium's profile, plan the discs and lay out each disc's tree."""
    from mediastation.dicom.fileset import read_header
    from mediastation.media.web import ViewerWorkers

    from mediastation.workflows import export_reports

    files = {study["accession_number"]: _dicom_files(Path(study["folder"])) for study in run.detail["studies"]}
    sources = [path for paths in files.values() for path in paths]
    sources += export_reports.gather(run, files)
    total = sum(p.stat().st_size for p in sources)
    kind = _medium_kind(run, total)
    profile = _profile(run, kind)
    conformed, conversions = _conform_all(run, sources, profile)
    with ViewerWorkers(None, len(conformed)) as viewer:
        viewer.read_ahead(conformed)  # the viewer's header pass runs while the discs are laid out
        headers = [read_header(path) for path in conformed]
        _check_identity(run, headers)
        plan = _plan(run, headers, kind)
        code = fileset_code(run.row.request_id, int(run.detail.get("attempt", 1)))
        shutil.rmtree(run.path("discs"), ignore_errors=True)
        discs = []
        for index, disc_headers in enumerate(plan, start=1):
            fileset_id = f"{code}_{index}"
            tree = run.path("discs", str(index))
            _lay_out_disc(run, tree, disc_headers, fileset_id=fileset_id, profile=profile,
                          disc=(index, len(plan)), kind=kind, viewer=viewer)
            discs.append({"index": index, "count": len(plan), "fileset_id": fileset_id, "tree": str(tree),
                          "instances": len(disc_headers),
                          "studies": sorted({h.study_instance_uid for h in disc_headers})})
    run.detail.update(medium=kind, profile=profile.name, discs=discs, conversions=conversions)
    _write_print_documents(run, discs, headers)


def _dicom_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != COMPLETE)


def _medium_kind(run: ExportRun, total_bytes: int) -> str:
    """--medium, else the decision's channel; `auto` takes a CD when the study fits on one (R6, b39)."""
    asked = run.options.medium or run.row.channel or "cd"
    if asked != "auto":
        return asked
    capacities = _capacities(run)
    for kind in ("cd", "dvd", "dvd-dl"):
        if total_bytes + DISC_RESERVE <= capacities[kind]:
            return kind
    return "dvd"


def _capacities(run: ExportRun) -> dict[str, int]:
    """Nominal sizes from [burners]; a drive's own blank is checked again before burning."""
    from burners.factory import capacities

    section = run.env.settings.burners
    return {**capacities(section), "usb": int(section.usb_capacity_mb * MB)}


def _profile(run: ExportRun, kind: str) -> Any:
    from mediastation.dicom.profiles import profile_for_medium

    return profile_for_medium(kind, run.env.settings.export.compressed_profile)


def _conform_all(run: ExportRun, sources: Sequence[Path], profile: Any) -> tuple[list[Path], list[dict[str, str]]]:
    """Each instance in a syntax the profile allows (b13): linked when it already is, else transcoded."""
    from mediastation.dicom.transcode import NotPlaceable, conform

    target = run.path("conformed")
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
            conversions.append({"sop_instance_uid": conversion.sop_instance_uid,
                                "from": conversion.from_ts, "to": conversion.to_ts})
        conformed.append(destination)
        run.env.progress(number + 1, len(sources), "conforming")
    return conformed, conversions


def _check_identity(run: ExportRun, headers: Sequence[InstanceHeader]) -> None:
    """Every fetched instance belongs to the requested patient and studies (R10, R13)."""
    from mediastation.domain.matching import normalise_patient_id

    wanted = {s["study_instance_uid"] for s in run.detail["studies"]}
    hetu = normalise_patient_id(run.request.patient.hetu)
    strangers = [h for h in headers if h.study_instance_uid not in wanted or normalise_patient_id(h.patient_id) != hetu]
    if strangers:
        first = strangers[0]
        raise ExportRefused(
            f"the archive returned {len(strangers)} instance(s) of another patient or study "
            f"(e.g. study {first.study_instance_uid}, patient {first.patient_id}); nothing was written",
            details={"instances": len(strangers)})


def _plan(run: ExportRun, headers: Sequence[InstanceHeader], kind: str) -> list[list[InstanceHeader]]:
    from mediastation.media.spanning import Item, plan_discs

    ordered = sorted(headers, key=_reading_order(run.env.settings.export.newest_study_first))
    by_key = {h.path.as_posix(): h for h in ordered}
    items = [Item(h.study_instance_uid, h.series_instance_uid, h.path.as_posix(), h.path.stat().st_size)
             for h in ordered]
    capacity = _capacities(run)[kind]
    plan = plan_discs(items, capacity=capacity, reserve=DISC_RESERVE)
    return [[by_key[item.key] for item in disc] for disc in plan]


def _reading_order(newest_first: bool):  # type: ignore[no-untyped-def]
    """Newest study first (b38), then series and instance numbers, then UIDs for determinism."""
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


def _lay_out_disc(run: ExportRun, tree: Path, headers: Sequence[InstanceHeader], *, fileset_id: str,
                  profile: Any, disc: tuple[int, int], kind: str, viewer: ViewerWorkers) -> None:
    """DICOM tree + DICOMDIR, then README.TXT, LETTER.PDF, INDEX.HTM and the viewer (b4-b10)."""
    from mediastation.dicom.fileset import assign_file_ids, write_dicomdir

    tree.mkdir(parents=True)
    entries = []
    for header, file_id in assign_file_ids(headers):
        full_id = ("DICOM", *file_id)
        link_or_copy(header.path, tree.joinpath(*full_id))
        entries.append((header, full_id))
    write_dicomdir(tree, entries, fileset_id=fileset_id, profile=profile)
    from mediastation.workflows import export_documents as documents
    from mediastation.workflows import export_reports

    links = export_reports.place_on_disc(run, tree, {h.study_instance_uid for h in headers})

    documents.write_disc_documents(run, tree, entries, fileset_id=fileset_id, disc=disc, kind=kind, reports=links,
                                   viewer=viewer)


def _write_print_documents(run: ExportRun, discs: list[dict[str, Any]], headers: Sequence[Any]) -> None:
    from mediastation.workflows import export_documents as documents

    documents.write_print_documents(run, discs, headers)


# -- package ----------------------------------------------------------------------------------

def package(run: ExportRun) -> None:
    """One ISO 9660 + Joliet image per disc; a USB stick takes the tree itself (b15-b17)."""
    from mediastation.media.iso import build_iso

    images = []
    for disc in run.detail["discs"]:
        if run.medium_kind == "usb":
            images.append({"index": disc["index"], "tree": disc["tree"]})
            continue
        target = run.path("images", f"{disc['fileset_id']}.iso")
        target.parent.mkdir(parents=True, exist_ok=True)
        image = build_iso(Path(disc["tree"]), target, volume_id=disc["fileset_id"],
                          disc=(disc["index"], disc["count"]), progress=run.env.progress)
        images.append({"index": disc["index"], "image": str(image.path), "bytes": image.bytes, "sha256": image.sha256})
    run.detail["images"] = images


# -- write ------------------------------------------------------------------------------------

def write(run: ExportRun) -> None:
    """Hand each image (or tree) to the burner; the folder burner puts them into --to DIR."""
    burner = _burner(run)
    written = []
    for disc, image in zip(run.detail["discs"], run.detail["images"], strict=True):
        if "image" in image and _keeps_image_file(burner):  # it takes the file itself
            medium = burner.move_image(Path(image["image"]), label=disc["fileset_id"], sha256=image["sha256"],
                                       size=image["bytes"], progress=run.env.progress)
        elif "image" in image:
            medium = burner.write_image(Path(image["image"]), label=disc["fileset_id"], progress=run.env.progress)
        else:
            medium = burner.write_tree(Path(image["tree"]), label=disc["fileset_id"], progress=run.env.progress)
        written.append({"index": disc["index"], "medium": medium.to_json()})
    run.detail["written"] = written
    _deliver_print_documents(run)


def _burner(run: ExportRun) -> Any:
    """--to DIR, else --burner, else [burners] default; the choice is kept for a resumed job."""
    from burners.factory import open_burner

    if run.options.to_dir is not None:
        run.detail["to_dir"] = str(run.options.to_dir)
    if run.options.burner:
        run.detail["burner"] = run.options.burner
    target = run.detail.get("to_dir")
    settings = run.env.settings
    return open_burner(run.detail.get("burner"), settings.burners, expand=run.env.home_path_text,
                       directory=Path(target) if target else None)


def _print_folder(run: ExportRun) -> Path:
    """Where letters and labels go: --to DIR, else the outbox folder of [burners]."""
    folder = Path(run.detail.get("to_dir") or run.env.home_path(run.env.settings.burners.folder))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _deliver_print_documents(run: ExportRun) -> None:
    """The cover letter and labels go beside the images (to the printer queue folder)."""
    target = _print_folder(run)
    for key in ("cover_letter_staged",):
        if run.detail.get(key):
            source = Path(run.detail[key])
            shutil.copy2(source, target / source.name)
            run.detail["cover_letter"] = str(target / source.name)
    labels = []
    for label in run.detail.get("labels_staged", []):
        source = Path(label)
        shutil.copy2(source, target / source.name)
        labels.append(str(target / source.name))
    run.detail["labels"] = labels


# -- verify -----------------------------------------------------------------------------------

def verify(run: ExportRun) -> None:
    """Read every medium back: same bytes as staged, DICOMDIR consistent, profile kept (b45).

    A large file-set's DICOMDIR is checked in a second process while the medium is read back (the
    check is ~1.5 s of pydicom at 2,000 instances, the read-back mostly waits on the disk); a bad
    file-set is reported before a bad medium, as when the checks ran one after the other."""
    from mediastation.dicom.profiles import profile_for_medium

    profile = profile_for_medium(run.medium_kind, run.env.settings.export.compressed_profile)
    burner = _burner(run)
    media = []
    discs = run.detail["discs"]
    with _file_set_checker(max((d["instances"] for d in discs), default=0)) as check:
        for disc, image, written in zip(discs, run.detail["images"], run.detail["written"], strict=True):
            tree = Path(disc["tree"])
            problems = check(tree, profile)
            try:
                _read_back(burner, disc, image, written, tree)
            except Exception:  # whatever the medium's failure, a bad file-set is the first thing to fix
                _refuse_invalid_file_set(disc, problems())
                raise
            _refuse_invalid_file_set(disc, problems())
            media.append(_medium_document(run, disc, image, written, profile))
    run.detail["media"] = media


ASIDE_CHECK_MIN = 500  # instances: a smaller file-set is checked in line (a worker takes ~0.1-0.4 s to start)


@contextmanager
def _file_set_checker(instances: int) -> Iterator[Callable[[Path, Any], Callable[[], list[str]]]]:
    """check(tree, profile) starts `verify_fileset` and gives a function that waits for its problems:
    in a worker process (from the fork server, never a fork of this threaded process) for a large
    file-set, else in line. A worker that dies is replaced by checking in line."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from mediastation.dicom.fileset import verify_fileset

    if instances < ASIDE_CHECK_MIN:
        def in_line(tree: Path, profile: Any) -> Callable[[], list[str]]:
            problems = verify_fileset(tree, profile)
            return lambda: problems
        yield in_line
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))

    def check(tree: Path, profile: Any) -> Callable[[], list[str]]:
        future = pool.submit(verify_fileset, tree, profile)

        def problems() -> list[str]:
            try:
                return future.result()
            except BrokenProcessPool:
                return verify_fileset(tree, profile)
        return problems

    try:
        yield check
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _refuse_invalid_file_set(disc: dict[str, Any], problems: list[str]) -> None:
    from mediastation.media.iso import IsoVerificationFailed

    if problems:
        raise IsoVerificationFailed(f"disc {disc['index']}: the file-set is not valid: " + "; ".join(problems[:10]),
                                    details={"problems": problems})


def _read_back(burner: Any, disc: dict[str, Any], image: dict[str, Any], written: dict[str, Any], tree: Path) -> None:
    from mediastation.media.iso import verify_image

    medium = _written_medium(written)
    if "image" in image and _keeps_image_file(burner):  # one pass: image digest and every file's bytes
        verify_image(Path(medium.location), tree, volume_id=disc["fileset_id"], expected_sha256=image["sha256"])
        return
    burner.verify(medium, expected_sha256=image.get("sha256"), expected_tree=None if "image" in image else tree)
    if "image" in image and Path(medium.location).is_file():
        verify_image(Path(medium.location), tree, volume_id=disc["fileset_id"])


def _keeps_image_file(burner: Any) -> bool:
    """The folder burner: its medium is the image file itself, moved into place and read back whole."""
    return burner.kind == "folder"


def _written_medium(written: dict[str, Any]) -> Any:
    from burners.base import WrittenMedium

    return WrittenMedium.from_json(written["medium"])


def _medium_document(run: ExportRun, disc: dict[str, Any], image: dict[str, Any], written: dict[str, Any],
                     profile: Any) -> dict[str, Any]:
    labels = run.detail.get("labels", [])
    medium = written["medium"]
    location = str(medium["location"])
    return {"index": disc["index"], "count": disc["count"], "kind": run.medium_kind, "profile": profile.name,
            "fileset_id": disc["fileset_id"], "image": location if "image" in image else None,
            "tree": location if "image" not in image else None, "bytes": medium["bytes"],
            "sha256": medium["sha256"], "burner": medium["burner"], "instances": disc["instances"],
            "label": labels[disc["index"] - 1] if len(labels) >= disc["index"] else None}


# -- record -----------------------------------------------------------------------------------

def record(run: ExportRun) -> None:
    """The shipment, the disclosure log entry (R13) and the invoice lines (R19): each once."""
    from mediastation.workflows import export_record

    export_record.record(run)
