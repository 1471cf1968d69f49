"""Web content of an export: the offline viewer and the data it shows.

`write_web_content` puts on the medium, next to the DICOM originals:

    INDEX.HTM              the viewer page (series listed statically too, `data-series` = Series UID)
    VIEWER/                VIEWER.JS, VIEWER.CSS, DAIKON.JS, LICENSES.TXT from viewer_bundle/
    IHE_PDI/INDEX.HTM      script-free list of the previews (XHTML, lower-case links)
    IHE_PDI/MANIFEST.JS    patients, studies, series and images (escaped JSON in a script)
    IHE_PDI/SEnnnn/IMnnnnn.JPG   preview of each frame
    IHE_PDI/SEnnnn/DAnnnnn.JS    embedded copy of each frame (while the space budget allows)

Each study's radiology reports (PDFs the export has already put on the medium, e.g.
REPORTS/R0000001.PDF) are linked from all three pages, next to the study.

A page opened from a disc (file://) may not read files with fetch/XHR, so pixels reach the viewer
as script files. Series are embedded whole, in study order, while the budget lasts; the rest are
shown by the viewer from the original DICOM files once the user picks the folder (or drops the
files). Copies are raw samples when the budget surely holds every raw copy and preview (always
without a budget), else DICOM RLE wherever that is smaller; the viewer decodes both. All names are
ISO 9660 level 1 (8.3, upper case).

Speed (about 1 GB of CT must not take much longer than copying it): each file is read once for
the layout and once for its pixels, the preview and the copy coming from the same decoded frame.
For a large export DEFAULT_WORKERS processes read the files and write previews and copies straight
into the stage, a frame at a time each; this process replays the budget decisions in order, so the
medium gets the same bytes as from the serial pass.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import shutil
import struct
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydicom import dcmread
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset

from mediastation.dicom.multiframe import FUNCTIONAL_GROUPS, RATE_KEYWORDS, FrameSlot, frame_rate, frame_slots
from mediastation.dicom.rawheader import RawHeader, RawHeaderError, read_raw_header
from mediastation.errors import MediaStationError
from mediastation.media import web_pages, web_pixels
from mediastation.media.web_types import ISO_NAME, ImageEntry, PatientEntry, ReportLink, SeriesEntry, StudyEntry

BUNDLE = Path(__file__).resolve().parents[2] / "viewer_bundle"
BUNDLE_ENV = "MEDIASTATION_VIEWER_BUNDLE"
VIEWER_FILES = ("VIEWER.JS", "VIEWER.CSS", "DAIKON.JS", "LICENSES.TXT")
SECTOR = 2048  # ISO 9660 logical block: every file takes whole blocks
PREVIEW_RESERVE = 48 * 1024  # room kept per preview not yet written when deciding on embedding
PAGE_RESERVE = 16 * 1024  # manifest and pages: fixed part ...
PAGE_RESERVE_PER_IMAGE = 700  # ... and per image
DEFAULT_WORKERS = 2  # processes for the pixels (the stations have 2 cores)
PARALLEL_MIN_INSTANCES = 100  # fewer: in this process (starting the workers costs about what they save)
CHUNK_INSTANCES = 4  # instances per worker task
PROJECTION_SAMPLE = 16  # copies of a series seen before its size is projected from them
TASKS_PER_WORKER = 2  # tasks queued per worker ahead of the replay: both busy, memory flat
HEADER_CHUNK = 64  # instances per task of the header pass
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
                      reports: Mapping[str, Sequence[ReportLink]] | None = None,
                      workers: int | None = None, prepared: ViewerWorkers | None = None) -> WebReport:
    """Write INDEX.HTM, VIEWER/ and IHE_PDI/ into `medium_root` for `instances`; replaces earlier ones.

    `budget_bytes` is the space the web content may take (None: no limit); for a CD the caller passes
    what is left after the DICOM files and documents, so the originals are never pushed out. Copies
    are written as raw samples when the budget surely holds them all (always when None), else
    RLE-compressed where that is smaller. `reports`: StudyInstanceUID -> the study's report files,
    already in `medium_root`; a link whose file is not there is left out (no broken link).
    `workers`: processes for the pixels (None: DEFAULT_WORKERS, or none for a small export; 1: in
    this process); the files written are the same whatever the number. `prepared`: workers the
    caller started earlier (`ViewerWorkers`), with the headers read ahead; `workers` is then unused.
    Work is staged beside `medium_root` and moved in at the end: nothing half-written on failure.
    """
    bundle = bundle_dir()
    medium_root = Path(medium_root)
    stage = Path(tempfile.mkdtemp(prefix=".web-", dir=medium_root.parent))
    try:
        with nullcontext(prepared) if prepared is not None else ViewerWorkers(workers, len(instances)) as pool:
            report = _Writer(stage, bundle, budget_bytes, progress, pool).run(
                instances, language, medium_root, reports or {})
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
    slots: tuple[FrameSlot, ...] | None = None
    rate: float | None = None


def _copy_bound(values: _Values, frames: int) -> int:
    get = values.get
    size = int(get("Rows")) * int(get("Columns")) * int(get("SamplesPerPixel") or 1)
    bits = int(get("BitsAllocated"))
    per_sample = 1 if bits <= 8 and get("PhotometricInterpretation") != "PALETTE COLOR" else 4 if bits > 16 else 2
    return frames * blocks(math.ceil(size * per_sample * 4 / 3) + 1024)


def _raw_need(values: _Values, frames: int) -> int:
    """Bytes the instance's previews and raw copies can take, with room to spare: what the budget must
    hold before copies are written raw (see `_Writer.compress`). Counts samples as the copy stores
    them (colour as 8-bit RGB, modality-LUT, big-endian and >16-bit data as float32) and a preview
    as large as its pixels, at least PREVIEW_RESERVE."""
    get = values.get
    rows, columns = int(get("Rows")), int(get("Columns"))
    colour = int(get("SamplesPerPixel") or 1) > 1 or get("PhotometricInterpretation") == "PALETTE COLOR"
    bits = int(get("BitsAllocated"))
    per_sample = 1 if colour or bits <= 8 else 4 if bits > 16 or values.big_endian or values.modality_lut else 2
    samples = 3 if colour else 1
    copy = blocks(math.ceil(rows * columns * samples * per_sample * 4 / 3) + 1024)
    preview_pixels = min(rows, web_pixels.PREVIEW_SIZE) * min(columns, web_pixels.PREVIEW_SIZE) * samples
    return frames * (copy + max(blocks(preview_pixels + 2 * SECTOR), PREVIEW_RESERVE))


# -- pixels, in worker processes or in line ---------------------------------------------------

@dataclass(frozen=True)
class _Job:
    """One instance to render: its previews, and its embedded copies when `embed`, written straight
    into the stage as IHE_PDI/SEnnnn/IMnnnnn.JPG and DAnnnnn.JS numbered from `first`."""

    source: Path
    folder: str  # IHE_PDI/SEnnnn
    first: int
    frames: int
    embed: bool
    compress: bool  # RLE when smaller (the budget may need it) or raw samples


@dataclass(frozen=True)
class _Shown:
    preview_bytes: int
    preview_size: tuple[int, int]
    data_bytes: int | None  # its embedded copy, when one was written


@dataclass(frozen=True)
class _Rendered:
    shown: tuple[_Shown, ...]  # the frames decoded, in order (fewer than the instance has if undecodable)
    undecodable: bool


def _render_jobs(stage: Path, jobs: Sequence[_Job]) -> list[_Rendered]:
    """A worker's task: a few consecutive instances, one frame in memory at a time."""
    return [_render(stage, job) for job in jobs]


def _render(stage: Path, job: _Job) -> _Rendered:
    folder = stage / job.folder
    shown: list[_Shown] = []
    try:
        for frame in web_pixels.frames(job.source):  # the file is read and decoded once
            if len(shown) == job.frames:
                break
            number = job.first + len(shown)
            jpeg, width, height = web_pixels.preview_jpeg(frame)
            folder.mkdir(exist_ok=True)
            (folder / f"IM{number:05d}.JPG").write_bytes(jpeg)
            shown.append(_Shown(len(jpeg), (width, height), None))
            if job.embed:
                meta, payload = web_pixels.embedded_copy(frame, compress=job.compress)
                head, tail = web_pages.data_script_frame(f"{job.folder}/DA{number:05d}.JS", meta)
                with (folder / f"DA{number:05d}.JS").open("wb") as script:
                    script.writelines((head, payload, tail))
                shown[-1] = _Shown(len(jpeg), (width, height), len(head) + len(payload) + len(tail))
    except (ValueError, RuntimeError, NotImplementedError):
        return _Rendered(tuple(shown), True)  # pydicom cannot decode it here: the viewer reads the original
    return _Rendered(tuple(shown), False)


class _Inline:
    """Runs each task as it is submitted: the serial path, through the same code as the workers."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args))
        return future

    def map(self, fn: Callable[..., Any], iterable: Iterable[Any]) -> Iterator[Any]:
        return map(fn, iterable)


Executor = ProcessPoolExecutor | _Inline


def _worker_count(workers: int | None, instances: int) -> int:
    if workers is not None:
        return max(1, workers)
    if instances < PARALLEL_MIN_INSTANCES:
        return 1
    return max(1, min(DEFAULT_WORKERS, len(os.sched_getaffinity(0))))


class ViewerWorkers:
    """The pixel workers of one export (DEFAULT_WORKERS processes from a fork server, never a fork
    of this process, which may run threads; or this process alone for a small export). Started as
    soon as the files are known, they read the headers the layout needs (`read_ahead`) while the
    export still lays out its discs, so `write_web_content` finds them ready. On leaving, queued
    tasks are cancelled and running ones awaited, so nothing writes into a stage after it is removed."""

    def __init__(self, workers: int | None, instances: int) -> None:
        self.count = _worker_count(workers, instances)
        self.executor: Executor = _Inline()
        self._ahead: dict[Path, tuple[Future[list[_Header | None]], int]] = {}
        self._submitter: threading.Thread | None = None

    def __enter__(self) -> ViewerWorkers:
        if self.count > 1:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self.executor = ProcessPoolExecutor(max_workers=self.count, mp_context=context)
        return self

    def __exit__(self, *_exc: object) -> None:
        if isinstance(self.executor, ProcessPoolExecutor):
            self.executor.shutdown(wait=True, cancel_futures=True)
        if self._submitter is not None:
            self._submitter.join()

    def read_ahead(self, sources: Sequence[Path]) -> None:
        """Start the header pass of these files in the workers (in this process: nothing to gain).
        A thread hands out the tasks: the first one waits ~0.5 s for the fork server to load."""
        if isinstance(self.executor, _Inline):
            return
        if self._submitter is not None:
            self._submitter.join()  # one hand-out at a time: `headers` waits for the last one only
        self._submitter = threading.Thread(target=self._submit_ahead, args=(list(sources),), name="viewer-ahead")
        self._submitter.start()

    def _submit_ahead(self, sources: list[Path]) -> None:
        for n in range(0, len(sources), HEADER_CHUNK):
            chunk = [WebInstance("", source) for source in sources[n:n + HEADER_CHUNK]]
            try:
                future = self.executor.submit(_read_headers, chunk)
            except RuntimeError:  # shut down meanwhile (the export failed): nothing more to read
                return
            self._ahead.update((web.source, (future, index)) for index, web in enumerate(chunk))

    def headers(self, instances: Sequence[WebInstance]) -> Iterator[_Header | None]:
        """Each instance's header, in order: read ahead, else read now (by the workers)."""
        if self._submitter is not None:
            self._submitter.join()
        missing = [web for web in instances if web.source not in self._ahead]
        fresh = _headers(missing, self.executor)
        for web in instances:
            ahead = self._ahead.get(web.source)
            yield next(fresh) if ahead is None else ahead[0].result()[ahead[1]]


@dataclass
class _Planned:
    """A series in embedding order, with its instances and what must stay free after it."""

    series: SeriesEntry
    members: list[_Instance]
    reserve: int
    bound: int  # its copies at most, uncompressed


@dataclass(frozen=True)
class _Item:
    planned: _Planned
    instance: _Instance
    first: int  # IM/DA number of its first frame in the series
    opens_series: bool


class _Writer:
    """One pass over headers to lay out patients/studies/series, one over pixels to write files.

    The pixel pass runs in worker processes when there are enough images; the workers write the
    previews and copies and report their sizes, and this process replays the budget decisions in
    order, exactly as the serial pass makes them. A worker may be asked for a copy before the
    decision is known (it is then removed if not wanted); it is never told to skip one the serial
    pass would write, so the output is the same either way."""

    def __init__(self, stage: Path, bundle: Path, budget: int | None, progress: ProgressFn | None,
                 pool: ViewerWorkers) -> None:
        self.stage = stage
        self.bundle = bundle
        self.budget = budget
        self.progress = progress or (lambda done, total, what="": None)
        self.pool = pool
        self.used = 0
        self.data_bytes = 0
        self.previews: list[tuple[SeriesEntry, ImageEntry, int]] = []  # (series, image, blocks)
        self.overflowed = False  # a series did not fit: later ones are tried only if sure to fit
        self.undecodable = 0
        self.embedding = False
        self.compress = True
        self.current: _Planned | None = None  # the series being replayed
        self.floor = 0  # bytes used when it started: later series start with at least as much
        self.done = self.total = 0
        self.copies: dict[str, list[tuple[str, int]]] = {}  # series key -> its embedded copies
        self._patients: list[PatientEntry] = []
        self._language = "fi"

    def run(self, instances: Sequence[WebInstance], language: str, medium_root: Path,
            reports: Mapping[str, Sequence[ReportLink]]) -> WebReport:
        patients, members, skipped, raw_need = _layout(instances, self.pool.headers(instances))
        self._patients, self._language = patients, language
        linked = _attach_reports(patients, medium_root, reports)
        total_images = sum(i.frames for group in members.values() for i in group)
        self._copy_viewer()
        reserve_pages = PAGE_RESERVE + PAGE_RESERVE_PER_IMAGE * total_images
        self._check_fits(self.used, "the viewer files")
        # Raw copies, no RLE work, when the budget surely holds every raw copy and preview (each check
        # below then passes, so every series is embedded, as with RLE); else RLE wherever smaller.
        self.compress = not self._fits(raw_need, reserve_pages)
        series_list = [se for p in patients for st in p.studies for se in st.series]
        remaining = self.total = total_images
        plan: list[_Planned] = []
        for series in series_list:
            group = members[series.key]
            remaining -= sum(i.frames for i in group)
            plan.append(_Planned(series, group, reserve_pages + remaining * PREVIEW_RESERVE,
                                 sum(i.copy_bound for i in group)))
        (self.stage / "IHE_PDI").mkdir(exist_ok=True)
        self._render_all(plan)
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
        return self._count(len(data))

    def _count(self, size: int) -> int:
        """A file of `size` bytes was written to the stage: the blocks it takes."""
        taken = blocks(size)
        self.used += taken
        return taken

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

    def _fits(self, size: int, reserve: int, used: int | None = None) -> bool:
        return self.budget is None or (self.used if used is None else used) + size + reserve <= self.budget

    # -- pixels -----------------------------------------------------------------------------

    def _render_all(self, plan: list[_Planned]) -> None:
        """Previews of every frame; embedded copies while the whole series fits the budget.

        Tasks of CHUNK_INSTANCES instances go out in order, at most TASKS_PER_WORKER per worker ahead
        of the replay (memory stays flat); results come back and are replayed in the same order."""
        items = list(self._items(plan))
        inline = isinstance(self.pool.executor, _Inline)
        chunk = 1 if inline else CHUNK_INSTANCES
        ahead = 1 if inline else self.pool.count * TASKS_PER_WORKER
        pending: deque[tuple[list[tuple[_Item, _Job]], Future[list[_Rendered]]]] = deque()
        position = 0
        while position < len(items) or pending:
            while position < len(items) and len(pending) < ahead:
                batch = [(item, self._job(item, exact=not pending and n == 0))
                         for n, item in enumerate(items[position:position + chunk])]
                position += len(batch)
                pending.append((batch, self.pool.executor.submit(_render_jobs, self.stage, [job for _, job in batch])))
            batch, future = pending.popleft()
            for (item, job), rendered in zip(batch, future.result(), strict=True):
                self._replay(item, job, rendered)

    @staticmethod
    def _items(plan: list[_Planned]) -> Iterator[_Item]:
        for planned in plan:
            first = 1
            for index, instance in enumerate(planned.members):
                yield _Item(planned, instance, first, index == 0)
                first += instance.frames

    def _job(self, item: _Item, *, exact: bool) -> _Job:
        folder = f"IHE_PDI/{item.planned.series.key}"
        return _Job(item.instance.web.source, folder, item.first, item.instance.frames,
                    self._embed_ahead(item.planned, exact=exact), self.compress)

    def _embed_ahead(self, planned: _Planned, *, exact: bool) -> bool:
        """Whether a worker writes copies for a series the replay may not have reached: False only
        when the replay is sure to decide so too (within a series embedding only stops)."""
        if planned is self.current:
            return self.embedding
        if exact:
            return self._may_embed(planned)
        if self.budget is None or not self.overflowed:
            return True
        return self._fits(planned.bound, planned.reserve, used=self.floor)

    def _may_embed(self, planned: _Planned) -> bool:
        """Embed when sure to fit (uncompressed size); else try, RLE may make it fit, until a series failed."""
        if self._fits(planned.bound, planned.reserve):
            return True
        return not self.overflowed

    def _replay(self, item: _Item, job: _Job, rendered: _Rendered) -> None:
        series = item.planned.series
        if item.opens_series:
            self.current, self.floor = item.planned, self.used
            self.embedding = self._may_embed(item.planned)
        if self.embedding and not job.embed:
            raise AssertionError(f"copies of {job.source} were skipped but are wanted")  # a bug
        for index, shown in enumerate(rendered.shown):
            image = self._add_image(series, item.instance, index)
            image.preview = f"{job.folder}/IM{len(series.images):05d}.JPG"
            image.preview_size = shown.preview_size
            self.previews.append((series, image, self._count(shown.preview_bytes)))
            if shown.data_bytes is not None:
                self._take_data(series, image, f"{job.folder}/DA{len(series.images):05d}.JS", shown.data_bytes,
                                item.planned.reserve)
        if rendered.undecodable:
            self.undecodable += 1
        for frame_index in range(len(rendered.shown), item.instance.frames):
            self._add_image(series, item.instance, frame_index)

    def _add_image(self, series: SeriesEntry, instance: _Instance, frame_index: int) -> ImageEntry:
        image = ImageEntry(dicom=instance.web.medium_path, sop=instance.sop, frame=frame_index, number=instance.number,
                           rate=instance.rate)
        if instance.slots is not None and frame_index < len(instance.slots):
            slot = instance.slots[frame_index]
            image.stack, image.place = (str(slot.stack) if slot.stack else ""), slot.position
        series.images.append(image)
        self.done += 1
        self.progress(self.done, self.total, "viewer")
        return image

    def _take_data(self, series: SeriesEntry, image: ImageEntry, path: str, size: int, reserve: int) -> None:
        """Keep one embedded copy a worker wrote; on overflow, or once the copies so far project an
        overflow, remove the series' copies and stop embedding (no more compression work for it)."""
        if not self.embedding or not self._fits(blocks(size), reserve) or self._projects_overflow(series, size, reserve):
            (self.stage / path).unlink()
            if self.embedding:
                self._drop_copies(series)
                self.overflowed = True
                self.embedding = False
            return
        taken = self._count(size)
        self.data_bytes += taken
        self.copies.setdefault(series.key, []).append((path, taken))
        image.data = path

    def _projects_overflow(self, series: SeriesEntry, size: int, reserve: int) -> bool:
        """Whether the series' copies so far, PROJECTION_SAMPLE of them at least, extrapolated to its
        frames still to come, would overflow the budget. Only tried copies (RLE) vary in size; the
        projection only ever stops what would very likely fail later, after the same work."""
        if self.budget is None or not self.compress or self.current is None:
            return False
        kept = self.copies.get(series.key, [])
        if len(kept) + 1 < PROJECTION_SAMPLE:
            return False
        frames = sum(i.frames for i in self.current.members)
        average = (sum(taken for _path, taken in kept) + blocks(size)) / (len(kept) + 1)
        return not self._fits(int(average * (frames - len(kept))), reserve)

    def _drop_copies(self, series: SeriesEntry) -> None:
        for relative, size in self.copies.pop(series.key, []):
            self._remove(relative, size)
            self.data_bytes -= size
        for entry in series.images:
            entry.data = None

    # -- pages ------------------------------------------------------------------------------

    def _write_pages(self, patients: list[PatientEntry], language: str) -> None:
        patients = stacked(patients)
        self._write("IHE_PDI/MANIFEST.JS", web_pages.manifest_script(patients, language))
        self._write("IHE_PDI/INDEX.HTM", web_pages.plain_index(patients, language))
        self._write("INDEX.HTM", web_pages.root_index(self.bundle / "templates" / "INDEX.HTM", patients, language))

    def _trim_previews(self, series_list: list[SeriesEntry]) -> None:
        """Over budget after all (previews larger than reserved): keep only each series' thumbnail, then
        drop embedded copies from the last series back."""
        if self.budget is None or self.used <= self.budget:
            return
        # the thumbnails the lists show: one per stack (time point, cine loop), not just per series
        thumbs = {s.thumb for p in stacked(self._patients) for st in p.studies for s in st.series}
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


def stacked(patients: list[PatientEntry]) -> list[PatientEntry]:
    """The patients as the pages show them: each series' images in viewing order, and a series of
    several stacks (time points of a dynamic enhanced series; several cine loops) as one entry per
    stack. The entries share the ImageEntry objects, so later changes to them show on a rewrite."""
    return [replace(patient, studies=[replace(study, series=[stack for series in study.series
                                                               for stack in _stacks(series)])
                                      for study in patient.studies]) for patient in patients]


def _stacks(series: SeriesEntry) -> list[SeriesEntry]:
    """Frames of one instance by their place along the stack (PS3.3 C.7.6.16.2.3), instances in
    their series order; one entry per stack when there are several: by Temporal Position Index,
    and each cine instance (one with a frame rate) its own loop when the series has more than one."""
    rank: dict[str, int] = {}
    for image in series.images:
        rank.setdefault(image.dicom, len(rank))
    cines = {image.dicom for image in series.images if image.rate is not None}
    groups: dict[str, list[ImageEntry]] = {}
    for image in series.images:
        groups.setdefault(image.dicom if len(cines) > 1 and image.dicom in cines else image.stack, []).append(image)
    entries = []
    for number, key in enumerate(sorted(groups, key=lambda k: rank[groups[k][0].dicom] if k in cines
                                        else (int(k) if k.isdigit() else 0)), start=1):
        images = sorted(groups[key], key=lambda i: (rank[i.dicom], i.place if i.place is not None else i.frame))
        rates = {image.rate for image in images}
        rate = rates.pop() if len(rates) == 1 else None
        if len(groups) == 1:
            entries.append(replace(series, images=images, frame_rate=rate))
        else:
            entries.append(replace(series, key=series.key if number == 1 else f"{series.key}_{number}",
                                   images=images, frame_rate=rate, stack=f"{number}/{len(groups)}"))
    return entries or [series]


def _attach_reports(patients: list[PatientEntry], medium_root: Path,
                    reports: Mapping[str, Sequence[ReportLink]]) -> int:
    """Each study gets the links to its report files that are on the medium; a missing file shows
    nothing rather than a broken link. Returns how many were linked."""
    linked = 0
    for study in (study for patient in patients for study in patient.studies):
        study.reports = [link for link in reports.get(study.uid, ()) if (medium_root / link.medium_path).is_file()]
        linked += len(study.reports)
    return linked


@dataclass(frozen=True)
class _Values:
    """What `_header` reads of one instance: values by keyword as pydicom gives them (None: absent)."""

    get: Callable[[str], Any]
    big_endian: bool
    modality_lut: bool
    dataset: Dataset | None = None  # the whole header, for an object with functional groups

    @classmethod
    def of(cls, ds: Dataset) -> _Values:
        syntax = getattr(ds.get("file_meta"), "TransferSyntaxUID", None)
        return cls(ds.get, syntax is not None and syntax.is_little_endian is False, "ModalityLUTSequence" in ds, ds)


def _text(values: _Values, keyword: str) -> str:
    value = values.get(keyword)
    return "" if value is None else str(value).strip()


def _int(values: _Values, keyword: str) -> int | None:
    try:
        value = values.get(keyword)
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class _Header:
    """What the layout needs of one instance (read where its pixels are: small, crosses processes)."""

    patient: tuple[str, str, str, str]  # PatientID, PatientName, PatientBirthDate, PatientSex
    study: tuple[str, str, str, str, str]  # StudyInstanceUID, StudyDate, StudyTime, StudyDescription, AccessionNumber
    series: tuple[str, int | None, str, str]  # SeriesInstanceUID, SeriesNumber, Modality, SeriesDescription
    sop: str
    number: int | None
    frames: int
    copy_bound: int
    raw_need: int
    slots: tuple[FrameSlot, ...] | None = None  # an enhanced object's frames: stack and place
    rate: float | None = None  # a cine's frames per second


# what the layout reads of each instance (see _header) by the quick reader, with the VR each has in
# PS3.6; a modality LUT sequence (which it skips) sends the instance to dcmread
_HEADER_KEYWORDS = (
    "SpecificCharacterSet", "SOPInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "Modality",
    "StudyDescription", "SeriesDescription", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    "StudyInstanceUID", "SeriesInstanceUID", "SeriesNumber", "InstanceNumber", "SamplesPerPixel",
    "PhotometricInterpretation", "NumberOfFrames", "Rows", "Columns", "BitsAllocated", *RATE_KEYWORDS)
_HEADER_TAG_OF = {keyword: int(tag_for_keyword(keyword)) for keyword in _HEADER_KEYWORDS}
_HEADER_VRS = {tag: dictionary_VR(tag).encode() for tag in _HEADER_TAG_OF.values()}
_HEADER_TAGS = frozenset(_HEADER_VRS)
_PLAIN_ASCII = re.compile(rb"[\x20-\x5b\x5d-\x7e]*")  # printable ASCII but the value separator (backslash)
_PLAIN_INTEGER = re.compile(r" *[+-]?[0-9]+ *")
_SLOW = object()  # a value left to pydicom


def _read_headers(webs: Sequence[WebInstance]) -> list[_Header | None]:
    """A task of the header pass; None for an instance without pixels (a report, a presentation state)."""
    return [_header(_header_values(web.source)) for web in webs]


def _header_values(source: Path) -> _Values:
    """The attributes `_header` reads: from the quick reader's bytes (decoded as dcmread would), or
    dcmread itself for what the quick reader leaves alone."""
    try:
        with open(source, "rb") as fp:
            raw = read_raw_header(fp, _HEADER_TAGS)
    except (OSError, RawHeaderError, struct.error, ValueError):
        raw = None
    if raw is None or not raw.meta or not raw.little \
            or any(tag == web_pixels.MODALITY_LUT_SEQUENCE or tag in FUNCTIONAL_GROUPS for tag, _s, _e in raw.elements):
        return _Values.of(dcmread(source, stop_before_pixels=True))  # also for the functional groups' frame order
    return _quick_values(raw)


def _quick_values(raw: RawHeader) -> _Values:
    """Single plain-ASCII values and 16-bit integers decoded here (what pydicom gives them as, about
    twenty times faster); the rest (other characters, several values, an unexpected VR) by pydicom's
    conversion of the same bytes, with the file's character set."""
    decoded: dict[int, Any] = {}
    slow = []
    for tag, data in raw.values.items():
        value = _quick_value(_HEADER_VRS[tag], raw.vrs.get(tag, _HEADER_VRS[tag]), data)
        if value is _SLOW:
            slow.append(tag)
        else:
            decoded[tag] = value
    if slow:
        converted = web_pixels.raw_dataset(raw)
        decoded.update((tag, converted[tag].value) for tag in slow)
    return _Values(lambda keyword: decoded.get(_HEADER_TAG_OF[keyword]), False, False)


def _quick_value(expected: bytes, vr: bytes, data: bytes) -> Any:
    if vr != expected:
        return _SLOW
    if vr == b"US":
        return int.from_bytes(data, "little") if len(data) == 2 else _SLOW
    text = data.rstrip(b"\x00 ")  # as pydicom strips every text value
    if not _PLAIN_ASCII.fullmatch(text):
        return _SLOW
    value = text.decode("ascii")
    if vr != b"IS" or not value:
        return value
    return int(value) if _PLAIN_INTEGER.fullmatch(value) else _SLOW


def _header(values: _Values) -> _Header | None:
    get = values.get
    if get("Rows") is None or get("Columns") is None or get("BitsAllocated") is None:
        return None
    frames = _int(values, "NumberOfFrames") or 1
    return _Header(
        patient=(_text(values, "PatientID"), _text(values, "PatientName"), _text(values, "PatientBirthDate"),
                 _text(values, "PatientSex")),
        study=(_text(values, "StudyInstanceUID"), _text(values, "StudyDate"), _text(values, "StudyTime"),
               _text(values, "StudyDescription"), _text(values, "AccessionNumber")),
        series=(_text(values, "SeriesInstanceUID"), _int(values, "SeriesNumber"), _text(values, "Modality"),
                _text(values, "SeriesDescription")),
        sop=_text(values, "SOPInstanceUID"), number=_int(values, "InstanceNumber"), frames=frames,
        copy_bound=_copy_bound(values, frames), raw_need=_raw_need(values, frames),
        slots=frame_slots(values.dataset, frames) if values.dataset is not None else None,
        rate=frame_rate(values.get, frames))


def _headers(instances: Sequence[WebInstance], executor: Executor) -> Iterator[_Header | None]:
    chunks = [instances[n:n + HEADER_CHUNK] for n in range(0, len(instances), HEADER_CHUNK)]
    for chunk in executor.map(_read_headers, chunks):
        yield from chunk


def _layout(instances: Sequence[WebInstance],
            headers: Iterable[_Header | None]) -> tuple[list[PatientEntry], dict[str, list[_Instance]], int, int]:
    """Patients > studies > series > instances in a stable order, from the headers alone; also how
    many instances have no pixels (skipped) and the bytes their raw copies and previews may need."""
    patients: dict[tuple[str, str], PatientEntry] = {}
    studies: dict[str, StudyEntry] = {}
    series: dict[str, SeriesEntry] = {}
    members: dict[str, list[_Instance]] = {}
    skipped = raw_need = 0
    for web, header in zip(instances, headers, strict=True):
        if header is None:
            skipped += 1
            continue
        patient_id, patient_name, birth_date, sex = header.patient
        patient_key = (patient_id, patient_name)
        if patient_key not in patients:
            patients[patient_key] = PatientEntry(name=patient_name, id=patient_id, birth_date=birth_date, sex=sex)
        study_uid, date, time, description, accession = header.study
        if study_uid not in studies:
            studies[study_uid] = StudyEntry(uid=study_uid, date=date, time=time, description=description,
                                            accession=accession)
            patients[patient_key].studies.append(studies[study_uid])
        series_uid, number, modality, series_description = header.series
        if series_uid not in series:
            series[series_uid] = SeriesEntry(uid=series_uid, key="", number=number, modality=modality,
                                             description=series_description)
            studies[study_uid].series.append(series[series_uid])
            members[series_uid] = []
        members[series_uid].append(_Instance(web, header.sop, header.number, header.frames, header.copy_bound,
                                             header.slots, header.rate))
        raw_need += header.raw_need
    return _ordered(list(patients.values()), members) + (skipped, raw_need)


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
