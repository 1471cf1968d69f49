"""Web content of an export: the offline viewer and the data it shows (issue 5).

`write_web_content` puts on the medium, next to the DICOM originals:

    INDEX.HTM              the viewer page (series listed statically too, `data-series` = Series UID)
    VIEWER/                VIEWER.JS, VIEWER.CSS, DAIKON.JS, LICENSES.TXT from viewer_bundle/
    IHE_PDI/INDEX.HTM      script-free list of the previews (XHTML, lower-case links)
    IHE_PDI/MANIFEST.JS    patients, studies, series and images (escaped JSON in a script)
    IHE_PDI/SEnnnn/IMnnnnn.JPG   preview of each frame
    IHE_PDI/SEnnnn/DAnnnnn.JS    embedded copy of each frame (while the space budget allows)

Each study's radiology reports (PDFs the export has already put on the medium, e.g.
REPORTS/R0000001.PDF) are linked from all three pages, next to the study (issue 9).

A page opened from a disc (file://) may not read files with fetch/XHR, so pixels reach the viewer
as script files. Series are embedded whole, in study order, while the budget lasts; the rest are
shown by the viewer from the original DICOM files once the user picks the folder (or drops the
files). Instances are read one at a time. All names are ISO 9660 level 1 (8.3, upper case).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydicom import dcmread
from pydicom.dataset import Dataset

from mediastation.errors import MediaStationError
from mediastation.media import web_pages, web_pixels
from mediastation.media.web_pages import ImageEntry, PatientEntry, SeriesEntry, StudyEntry

BUNDLE = Path(__file__).resolve().parents[2] / "viewer_bundle"
BUNDLE_ENV = "MEDIASTATION_VIEWER_BUNDLE"
VIEWER_FILES = ("VIEWER.JS", "VIEWER.CSS", "DAIKON.JS", "LICENSES.TXT")
SECTOR = 2048  # ISO 9660 logical block: every file takes whole blocks
PREVIEW_RESERVE = 48 * 1024  # room kept per preview not yet written when deciding on embedding
PAGE_RESERVE = 16 * 1024  # manifest and pages: fixed part ...
PAGE_RESERVE_PER_IMAGE = 700  # ... and per image
ISO_NAME = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{1,3})?$")
Decision = Literal["embedded", "partial", "picker"]
ProgressFn = Callable[[int, int | None, str], None]


class ViewerSpaceError(MediaStationError):
    """The viewer, its pages and one preview per series do not fit in the space left on the medium."""

    code = "viewer_does_not_fit"


class ViewerBundleError(MediaStationError):
    """The station's viewer files (viewer_bundle/VIEWER) are missing: the installation is incomplete."""

    code = "viewer_bundle_missing"


@dataclass(frozen=True)
class WebInstance:
    """One DICOM file of the export: where it is on the medium and where to read it now."""

    medium_path: str  # relative to the medium root, e.g. "DICOM/PT000000/ST000000/SE000000/IM000000"
    source: Path  # the staged file (same content)


@dataclass(frozen=True)
class ReportLink:
    """A study's report already on the medium, linked from the viewer and the pages next to its study."""

    title: str  # shown beside the "Lausunto / Utlåtande / Report" label; may be empty
    medium_path: str  # relative to the medium root, 8.3 upper case, e.g. "REPORTS/R0000001.PDF"

    def __post_init__(self) -> None:
        parts = self.medium_path.split("/")
        if not all(ISO_NAME.match(part) for part in parts) or any("." in part for part in parts[:-1]) \
                or "." not in parts[-1]:
            raise ValueError(f"report path is not an ISO 9660 level 1 file of the medium: {self.medium_path!r}")


@dataclass(frozen=True)
class WebReport:
    """What the job report says about the viewer: budget, space used and embedded vs picker."""

    budget_bytes: int | None
    bytes_used: int  # whole 2 KiB blocks, as on an ISO 9660 medium
    data_bytes: int  # of which embedded copies
    decision: Decision  # embedded: every series; partial: some; picker: none (originals via folder picker)
    series_embedded: int
    series_picker: int
    images: int
    previews: int
    skipped_instances: int  # without pixel data (reports, presentation states): not in the viewer
    undecodable_instances: int = 0  # pydicom could not decode them: no preview or copy, picker only
    reports_linked: int = 0  # report PDFs linked next to their study
    reports_unlinked: int = 0  # given but not linked: file not on the medium, or study without images

    def to_json(self) -> dict[str, Any]:
        return {
            "budget_bytes": self.budget_bytes, "bytes_used": self.bytes_used, "data_bytes": self.data_bytes,
            "decision": self.decision, "series_embedded": self.series_embedded,
            "series_picker": self.series_picker, "images": self.images, "previews": self.previews,
            "skipped_instances": self.skipped_instances, "undecodable_instances": self.undecodable_instances,
            "reports_linked": self.reports_linked, "reports_unlinked": self.reports_unlinked,
        }


def bundle_dir() -> Path:
    """viewer_bundle/ of this installation (MEDIASTATION_VIEWER_BUNDLE overrides)."""
    path = Path(os.environ.get(BUNDLE_ENV) or BUNDLE)
    missing = [name for name in VIEWER_FILES if not (path / "VIEWER" / name).is_file()]
    if missing or not (path / "templates" / "INDEX.HTM").is_file():
        raise ViewerBundleError(
            f"the viewer files are missing from {path} ({', '.join(missing) or 'templates/INDEX.HTM'}); "
            f"reinstall the station or set {BUNDLE_ENV} to its viewer_bundle folder")
    return path


def blocks(size: int) -> int:
    """Bytes a file of `size` bytes takes on an ISO 9660 medium."""
    return math.ceil(size / SECTOR) * SECTOR


def write_web_content(medium_root: Path, instances: Sequence[WebInstance], *, language: str = "fi",
                      budget_bytes: int | None = None, progress: ProgressFn | None = None,
                      reports: Mapping[str, Sequence[ReportLink]] | None = None) -> WebReport:
    """Write INDEX.HTM, VIEWER/ and IHE_PDI/ into `medium_root` for `instances`; replaces earlier ones.

    `budget_bytes` is the space the web content may take (None: no limit); for a CD the caller passes
    what is left after the DICOM files and documents, so the originals are never pushed out.
    `reports`: StudyInstanceUID -> the study's report files, already in `medium_root`; a link whose
    file is not there is left out (no broken link). Work is staged beside `medium_root` and moved in
    at the end: nothing half-written on failure.
    """
    bundle = bundle_dir()
    medium_root = Path(medium_root)
    stage = Path(tempfile.mkdtemp(prefix=".web-", dir=medium_root.parent))
    try:
        writer = _Writer(stage, bundle, budget_bytes, progress)
        report = writer.run(instances, language, medium_root, reports or {})
        _check_names(stage)
        _move_into(stage, medium_root)
        return report
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _move_into(stage: Path, medium_root: Path) -> None:
    for name in ("INDEX.HTM", "VIEWER", "IHE_PDI"):
        target = medium_root / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for name in ("VIEWER", "IHE_PDI", "INDEX.HTM"):  # the page last: it is what a reader opens
        os.replace(stage / name, medium_root / name)


def _check_names(stage: Path) -> None:
    """ISO 9660 level 1: 8.3 upper-case names, folders without extension (a bug if violated)."""
    for path in stage.rglob("*"):
        name = path.name
        if not ISO_NAME.match(name) or (path.is_dir() and "." in name):
            raise AssertionError(f"web content name is not ISO 9660 level 1: {path.relative_to(stage)}")


@dataclass
class _Instance:
    web: WebInstance
    sop: str
    number: int | None
    frames: int
    copy_bound: int  # bytes its embedded copies take at most (uncompressed, base64, whole blocks)


def _copy_bound(ds: Dataset, frames: int) -> int:
    size = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1) or 1)
    bits = int(ds.BitsAllocated)
    per_sample = 1 if bits <= 8 and ds.get("PhotometricInterpretation") != "PALETTE COLOR" else 4 if bits > 16 else 2
    return frames * blocks(math.ceil(size * per_sample * 4 / 3) + 1024)


class _Writer:
    """One pass over headers to lay out patients/studies/series, one over pixels to write files."""

    def __init__(self, stage: Path, bundle: Path, budget: int | None, progress: ProgressFn | None) -> None:
        self.stage = stage
        self.bundle = bundle
        self.budget = budget
        self.progress = progress or (lambda done, total, what="": None)
        self.used = 0
        self.data_bytes = 0
        self.previews: list[tuple[SeriesEntry, ImageEntry, int]] = []  # (series, image, blocks)
        self.overflowed = False  # a series did not fit: later ones are tried only if sure to fit
        self.undecodable = 0
        self.embedding = False
        self.done = self.total = 0
        self.copies: dict[str, list[tuple[str, int]]] = {}  # series key -> its embedded copies
        self._patients: list[PatientEntry] = []
        self._language = "fi"

    def run(self, instances: Sequence[WebInstance], language: str, medium_root: Path,
            reports: Mapping[str, Sequence[ReportLink]]) -> WebReport:
        patients, members, skipped = _layout(instances)
        self._patients, self._language = patients, language
        linked = _attach_reports(patients, medium_root, reports)
        total_images = sum(i.frames for group in members.values() for i in group)
        self._copy_viewer()
        reserve_pages = PAGE_RESERVE + PAGE_RESERVE_PER_IMAGE * total_images
        self._check_fits(self.used, "the viewer files")
        series_list = [se for p in patients for st in p.studies for se in st.series]
        remaining = self.total = total_images
        for series in series_list:
            remaining -= sum(i.frames for i in members[series.key])
            self._write_series(series, members[series.key], reserve_pages + remaining * PREVIEW_RESERVE)
        self._write_pages(patients, language)
        self._trim_previews(series_list)
        embedded = sum(1 for s in series_list if s.embedded)
        decision: Decision = ("embedded" if embedded == len(series_list) else "picker" if embedded == 0 else "partial")
        return WebReport(
            budget_bytes=self.budget, bytes_used=self.used, data_bytes=self.data_bytes, decision=decision,
            series_embedded=embedded, series_picker=len(series_list) - embedded, images=total_images,
            previews=sum(1 for s in series_list for i in s.images if i.preview), skipped_instances=skipped,
            undecodable_instances=self.undecodable, reports_linked=linked,
            reports_unlinked=sum(len(links) for links in reports.values()) - linked,
        )

    # -- files ------------------------------------------------------------------------------

    def _write(self, relative: str, content: bytes | str) -> int:
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = self.stage / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        size = blocks(len(data))
        self.used += size
        return size

    def _remove(self, relative: str, size: int) -> None:
        (self.stage / relative).unlink()
        self.used -= size

    def _copy_viewer(self) -> None:
        for name in VIEWER_FILES:
            self._write(f"VIEWER/{name}", (self.bundle / "VIEWER" / name).read_bytes())

    def _check_fits(self, needed: int, what: str) -> None:
        if self.budget is not None and needed > self.budget:
            raise ViewerSpaceError(
                f"{what} need {needed} bytes but only {self.budget} are left on the medium; "
                "choose a bigger medium (DVD or USB) or fewer studies",
                details={"needed_bytes": needed, "budget_bytes": self.budget})

    def _fits(self, size: int, reserve: int) -> bool:
        return self.budget is None or self.used + size + reserve <= self.budget

    # -- pixels -----------------------------------------------------------------------------

    def _write_series(self, series: SeriesEntry, members: list[_Instance], reserve: int) -> None:
        """Previews of every frame; embedded copies while the whole series fits the budget."""
        self.embedding = self._may_embed(members, reserve)
        for instance in members:
            shown = 0
            try:
                for frame in web_pixels.frames(instance.web.source):  # one frame in memory at a time
                    image = self._add_image(series, instance, shown)
                    shown += 1
                    self._write_preview(series, image, frame)
                    if self.embedding:
                        self.embedding = self._write_data(series, image, frame, reserve)
            except (ValueError, RuntimeError, NotImplementedError):
                self.undecodable += 1  # pydicom cannot decode it here: the viewer reads the original (daikon)
            for frame_index in range(shown, instance.frames):
                self._add_image(series, instance, frame_index)

    def _add_image(self, series: SeriesEntry, instance: _Instance, frame_index: int) -> ImageEntry:
        image = ImageEntry(dicom=instance.web.medium_path, sop=instance.sop, frame=frame_index, number=instance.number)
        series.images.append(image)
        self.done += 1
        self.progress(self.done, self.total, "viewer")
        return image

    def _may_embed(self, members: list[_Instance], reserve: int) -> bool:
        """Embed when sure to fit (uncompressed size); else try, RLE may make it fit, until a series failed."""
        if self._fits(sum(i.copy_bound for i in members), reserve):
            return True
        return not self.overflowed

    def _write_preview(self, series: SeriesEntry, image: ImageEntry, frame: web_pixels.Frame) -> None:
        jpeg, width, height = web_pixels.preview_jpeg(frame)
        image.preview = f"IHE_PDI/{series.key}/IM{len(series.images):05d}.JPG"
        image.preview_size = (width, height)
        self.previews.append((series, image, self._write(image.preview, jpeg)))

    def _write_data(self, series: SeriesEntry, image: ImageEntry, frame: web_pixels.Frame, reserve: int) -> bool:
        """Write one embedded copy; on overflow remove the series' copies and say so (False)."""
        path = f"IHE_PDI/{series.key}/DA{len(series.images):05d}.JS"
        meta, text = web_pixels.embedded_copy(frame)
        script = web_pages.data_script(path, meta, text).encode("ascii")
        if not self._fits(blocks(len(script)), reserve):
            self._drop_copies(series)
            self.overflowed = True
            return False
        size = self._write(path, script)
        self.data_bytes += size
        self.copies.setdefault(series.key, []).append((path, size))
        image.data = path
        return True

    def _drop_copies(self, series: SeriesEntry) -> None:
        for relative, size in self.copies.pop(series.key, []):
            self._remove(relative, size)
            self.data_bytes -= size
        for entry in series.images:
            entry.data = None

    # -- pages ------------------------------------------------------------------------------

    def _write_pages(self, patients: list[PatientEntry], language: str) -> None:
        self._write("IHE_PDI/MANIFEST.JS", web_pages.manifest_script(patients, language))
        self._write("IHE_PDI/INDEX.HTM", web_pages.plain_index(patients, language))
        self._write("INDEX.HTM", web_pages.root_index(self.bundle / "templates" / "INDEX.HTM", patients, language))

    def _trim_previews(self, series_list: list[SeriesEntry]) -> None:
        """Over budget after all (previews larger than reserved): keep only each series' thumbnail, then
        drop embedded copies from the last series back."""
        if self.budget is None or self.used <= self.budget:
            return
        thumbs = {s.thumb for s in series_list}
        for series, image, size in reversed(self.previews):
            if self.used <= self.budget:
                break
            if image.preview in thumbs:
                continue
            self._remove(image.preview, size)
            image.preview = None
            image.preview_size = None
        for series in reversed(series_list):  # still over: the viewer reads these from the originals
            if self.used <= self.budget:
                break
            self._drop_copies(series)
        for relative in ("IHE_PDI/MANIFEST.JS", "IHE_PDI/INDEX.HTM", "INDEX.HTM"):
            self.used -= blocks((self.stage / relative).stat().st_size)  # rewritten: fewer previews
        self._write_pages(self._patients, self._language)
        self._check_fits(self.used, "the viewer with one preview per series")


def _attach_reports(patients: list[PatientEntry], medium_root: Path,
                    reports: Mapping[str, Sequence[ReportLink]]) -> int:
    """Each study gets the links to its report files that are on the medium; a missing file shows
    nothing rather than a broken link (issue 9). Returns how many were linked."""
    linked = 0
    for study in (study for patient in patients for study in patient.studies):
        study.reports = [link for link in reports.get(study.uid, ()) if (medium_root / link.medium_path).is_file()]
        linked += len(study.reports)
    return linked


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _layout(instances: Sequence[WebInstance]) -> tuple[list[PatientEntry], dict[str, list[_Instance]], int]:
    """Patients > studies > series > instances in a stable order, from the headers alone."""
    patients: dict[tuple[str, str], PatientEntry] = {}
    studies: dict[str, StudyEntry] = {}
    series: dict[str, SeriesEntry] = {}
    members: dict[str, list[_Instance]] = {}
    skipped = 0
    for web in instances:
        ds = dcmread(web.source, stop_before_pixels=True)
        if not all(k in ds for k in ("Rows", "Columns", "BitsAllocated")):
            skipped += 1
            continue
        patient_key = (_text(ds, "PatientID"), _text(ds, "PatientName"))
        if patient_key not in patients:
            patients[patient_key] = PatientEntry(
                name=patient_key[1], id=patient_key[0], birth_date=_text(ds, "PatientBirthDate"),
                sex=_text(ds, "PatientSex"))
        study_uid = _text(ds, "StudyInstanceUID")
        if study_uid not in studies:
            studies[study_uid] = StudyEntry(
                uid=study_uid, date=_text(ds, "StudyDate"), time=_text(ds, "StudyTime"),
                description=_text(ds, "StudyDescription"), accession=_text(ds, "AccessionNumber"))
            patients[patient_key].studies.append(studies[study_uid])
        series_uid = _text(ds, "SeriesInstanceUID")
        if series_uid not in series:
            series[series_uid] = SeriesEntry(
                uid=series_uid, key="", number=_int(ds, "SeriesNumber"), modality=_text(ds, "Modality"),
                description=_text(ds, "SeriesDescription"))
            studies[study_uid].series.append(series[series_uid])
            members[series_uid] = []
        frames = _int(ds, "NumberOfFrames") or 1
        members[series_uid].append(_Instance(web, _text(ds, "SOPInstanceUID"), _int(ds, "InstanceNumber"),
                                             frames, _copy_bound(ds, frames)))
    return _ordered(list(patients.values()), members) + (skipped,)


def _ordered(patients: list[PatientEntry],
             members: dict[str, list[_Instance]]) -> tuple[list[PatientEntry], dict[str, list[_Instance]]]:
    """Studies by date, series by number, images by instance number; series keys SE0001... in that order."""
    patients.sort(key=lambda p: (p.name, p.id))
    by_key: dict[str, list[_Instance]] = {}
    count = 0
    for patient in patients:
        patient.studies.sort(key=lambda s: (s.date, s.time, s.uid))
        for study in patient.studies:
            study.series.sort(key=lambda s: (s.number if s.number is not None else 1 << 30, s.uid))
            for entry in study.series:
                count += 1
                if count > 9999:
                    raise ViewerSpaceError("more than 9999 series on one medium: split the export")
                group = sorted(members[entry.uid], key=lambda i: (
                    i.number if i.number is not None else 1 << 30, i.web.medium_path))
                if sum(i.frames for i in group) > 99999:
                    raise ViewerSpaceError(f"series {entry.uid} has more than 99999 images: split the export")
                entry.key = f"SE{count:04d}"
                by_key[entry.key] = group
    return patients, by_key
