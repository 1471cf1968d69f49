"""Store: put every instance at the destination once.

Before sending a study, the destination is asked (C-FIND) which of its instances it holds already:
those are not sent again, so a transfer killed half-way and run again sends each instance once.
Relay: the study is fetched from the archive into the job folder (workflows/retrieval.py
`fetch_once`) in one thread while this one C-STOREs each file as soon as it is whole
(pacs/transfer.py), transcoded losslessly where the destination does not take its syntax: with a
core free, a relay takes about as long as the slower of the two instead of their sum
(benchmarks/send_vs_storescu.py: 2,000 instances were fetched in ~10.7 s, then sent in ~6.9 s, one
after the other; README, Speed of an electronic release, for what overlapping gave). Between the two
only file names pass, through a bounded queue: the files stay on disk, memory stays flat. A
destination that stops answering stops the fetch as well; a study whose folder is complete
(COMPLETE.json, a resumed job) is sent from the folder. C-move: the source archive moves the study
(a study the destination holds whole is not moved again). An instance the destination refuses is
named; unless the technician accepts a partial release, the job stops here and nothing is recorded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediastation.errors import PacsError
from mediastation.pacs.lookup import ArchiveQuery
from mediastation.pacs.transfer import SendOutcome, move_study, relay_files
from mediastation.workflows.retrieval import COMPLETE, fetch_once, open_configured_archive, study_files
from mediastation.workflows.transfer.types import (
    FailedInstance,
    LocatedStudy,
    Sent,
    StudySent,
    TransferIncomplete,
    TransferJob,
)


def store(job: TransferJob) -> Sent:
    located = job.located
    partial = job.stages.partial
    results = {s.study_instance_uid: s for s in (partial.studies if isinstance(partial, Sent) else [])}
    archive = None
    for study in located.studies:
        previous = results.get(study.study_instance_uid)
        if previous is not None and not previous.failed:
            continue  # sent whole by an earlier run
        if located.target.method == "relay":
            archive = archive or open_configured_archive(job.env.settings, job.env.home)
            outcome = _relay(job, study, archive)
        else:
            outcome = _move(job, study)
        if previous is not None:  # what the earlier run sent counts as sent by this job
            outcome = outcome.model_copy(update={
                "sent": sorted(set(outcome.sent) | set(previous.sent)),
                "already_present": sorted(set(outcome.already_present) - set(previous.sent))})
        results[study.study_instance_uid] = outcome
        job.stages.checkpoint(Sent(studies=list(results.values())))
    studies = [results[s.study_instance_uid] for s in located.studies]
    failed = [f for s in studies for f in s.failed]
    if failed and not job.params.accept_partial:
        raise TransferIncomplete(
            f"the destination did not take {len(failed)} instance(s): "
            + "; ".join(f"{f.sop_instance_uid}: {f.reason}" for f in failed[:10])
            + ". Nothing is recorded as released. Fix the cause and run `mediastation send` again (what arrived is "
            "not sent twice), or release what arrived with `--accept-partial`",
            details={"failed": [f.model_dump() for f in failed]})
    return Sent(studies=studies)


def _present(job: TransferJob, study_uid: str) -> set[str]:
    destination = job.located.target.destination.dicom()
    try:
        with ArchiveQuery(destination, job.calling_ae, job.timeout) as query:
            return set(query.study_instances(study_uid))
    except PacsError as exc:
        raise PacsError(f"the destination {destination.ae_title}@{destination.host}:{destination.port} does not "
                        f"answer ({exc.message}); nothing more was sent. Run the same command again when it is back",
                        details=exc.details) from None


def _relay(job: TransferJob, study: LocatedStudy, archive: Any) -> StudySent:
    from mediastation.dicom.headers import InvalidInstanceError, NotDicomError, read_header

    present = _present(job, study.study_instance_uid)
    references: list[tuple[str, str]] = []
    already: list[str] = []
    sent: list[str] = []
    failed: list[FailedInstance] = []
    converted = 0
    todo = max(0, (study.instances or 0) - len(present)) or None
    staging = job.folder / "staging"
    staging.mkdir(parents=True, exist_ok=True)

    def wanted(paths: Iterator[Path]) -> Iterator[Path]:
        for path in paths:
            try:
                header = read_header(path)
            except (NotDicomError, InvalidInstanceError, OSError, ValueError):
                yield path  # relay_files names it unreadable
                continue
            references.append((header.sop_class_uid, header.sop_instance_uid))
            if header.sop_instance_uid in present:
                already.append(header.sop_instance_uid)
            else:
                yield path

    def on_outcome(outcome: SendOutcome) -> None:
        nonlocal converted
        if outcome.result == "sent":
            sent.append(outcome.sop_instance_uid)
            converted += outcome.converted_from is not None
        else:
            failed.append(FailedInstance(sop_instance_uid=outcome.sop_instance_uid, path=outcome.path,
                                         reason=outcome.reason))
        job.progress(len(sent) + len(failed), todo, "sent")

    target = job.located.target
    with _Arrivals(archive, study.study_instance_uid, Path(study.folder or "")) as arriving:
        relay_files(wanted(iter(arriving)), target.destination.dicom(), calling_ae=job.calling_ae,
                    timeout=job.timeout, staging=staging, accepts=target.transfer_syntaxes,
                    sop_classes=_source_classes(job, study.study_instance_uid), on_outcome=on_outcome)
    return StudySent(study_instance_uid=study.study_instance_uid, sent=sent, already_present=sorted(already),
                     failed=failed, converted=converted, references=references)


class _Stopped(Exception):
    """Raised into the fetch when the sending ended first (the destination went away)."""


class _Arrivals:
    """The study's files as they become whole: fetched by `fetch_once` in a thread of its own, or
    listed from the folder when an earlier run fetched it completely. Leaving the `with` block
    stops the fetch (the archive aborts its association) and waits for its thread."""

    QUEUED = 256  # file names, not data: the fetch waits when the sending is this far behind
    _END = object()

    def __init__(self, archive: Any, study_uid: str, folder: Path) -> None:
        self.archive = archive
        self.study_uid = study_uid
        self.folder = folder
        self.queue: queue.Queue[object] = queue.Queue(maxsize=self.QUEUED)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _Arrivals:
        if not (self.folder / COMPLETE).exists():
            self.thread = threading.Thread(target=self._fetch, name=f"fetch {self.study_uid}", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()

    def __iter__(self) -> Iterator[Path]:
        if self.thread is None:
            yield from study_files(self.folder)
            return
        while True:
            item = self.queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def _fetch(self) -> None:
        try:
            fetch_once(_Telling(self.archive, self._put), self.study_uid, self.folder, None)
            end: object = self._END
        except BaseException as exc:  # handed to the sending thread, which raises it
            end = exc
        try:
            self._put(end)
        except _Stopped:
            pass

    def _put(self, item: object) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped()


@dataclass(frozen=True)
class _Telling:
    """The archive as `fetch_once` calls it, telling every file it writes to `on_instance`."""

    archive: Any
    on_instance: Callable[[Path], None]

    def retrieve(self, study_uid: str, folder: Path, progress: Any) -> Any:
        return self.archive.retrieve(study_uid, folder, progress, on_instance=self.on_instance)


def _source_classes(job: TransferJob, study_uid: str) -> tuple[str, ...]:
    """The study's SOP classes as the HUS archive reports them, for planning the destination's
    contexts before the first file; () for a folder archive or an archive that does not say (the
    first file's class is planned for anyway, pacs/transfer.py)."""
    if job.env.settings.archive.kind != "dicom":
        return ()
    try:
        with ArchiveQuery(_archive_node(job), job.calling_ae, job.timeout) as query:
            return query.sop_classes_in_study(study_uid)
    except PacsError:
        return ()  # the fetch will say what is wrong with the archive


def _move(job: TransferJob, study: LocatedStudy) -> StudySent:
    target = job.located.target
    source = target.source.dicom() if target.source is not None else _archive_node(job)
    with ArchiveQuery(source, job.calling_ae, job.timeout) as query:
        at_source = query.study_instances(study.study_instance_uid)
    references = [(i.sop_class_uid, uid) for uid, i in sorted(at_source.items())]
    present = _present(job, study.study_instance_uid)
    if at_source and set(at_source) <= present:
        return StudySent(study_instance_uid=study.study_instance_uid, already_present=sorted(at_source),
                         references=references)
    outcome = move_study(source, calling_ae=job.calling_ae, timeout=job.timeout, study_uid=study.study_instance_uid,
                         destination_ae=target.destination.ae_title)
    after = _present(job, study.study_instance_uid)
    missing = sorted(set(at_source) - after)
    failed = [FailedInstance(sop_instance_uid=uid, reason=f"not moved (C-MOVE status {outcome.status:04X}, "
                             f"{outcome.failed} sub-operation(s) failed)") for uid in missing]
    return StudySent(study_instance_uid=study.study_instance_uid, sent=sorted((set(at_source) & after) - present),
                     already_present=sorted(set(at_source) & present), failed=failed, references=references)


def _archive_node(job: TransferJob):  # type: ignore[no-untyped-def]
    from mediastation.pacs.network import DicomNode

    archive = job.env.settings.archive
    if archive.kind != "dicom":
        raise PacsError("a c-move transfer needs a DICOM archive ([archive] kind = \"dicom\") or a register node "
                        "to move from; use method = \"relay\" with a folder archive")
    return DicomNode(archive.ae_title, archive.host, archive.port)
