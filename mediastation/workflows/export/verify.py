"""Verify: read every medium back: same bytes as staged, DICOMDIR consistent, profile kept.

A large file-set's DICOMDIR is checked in a second process while the medium is read back (the check
is ~1.5 s of pydicom at 2,000 instances, the read-back mostly waits on the disk); a bad file-set is
reported before a bad medium, as when the checks ran one after the other.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mediastation.workflows.export.burner import job_burner, keeps_image_file
from mediastation.workflows.export.types import (
    Disc,
    ExportJob,
    MediumDocument,
    PackagedDisc,
    Verified,
    WrittenDisc,
)

ASIDE_CHECK_MIN = 500  # instances: a smaller file-set is checked in line (a worker takes ~0.1-0.4 s to start)


def verify(job: ExportJob) -> Verified:
    from mediastation.dicom.profiles import profile_named

    composed = job.composed
    profile = profile_named(composed.profile)  # the one compose chose (with `auto`, from the content)
    burner = job_burner(job)
    written = job.written
    media = []
    with file_set_checker(max((d.instances for d in composed.discs), default=0)) as check:
        for disc, image, medium in zip(composed.discs, job.packaged.images, written.discs, strict=True):
            tree = Path(disc.tree)
            problems = check(tree, profile)
            try:
                _read_back(burner, disc, image, medium, tree)
            except Exception:  # whatever the medium's failure, a bad file-set is the first thing to fix
                _refuse_invalid_file_set(disc, problems())
                raise
            _refuse_invalid_file_set(disc, problems())
            media.append(_medium_document(job, disc, image, medium, profile))
    return Verified(media=media)


@contextmanager
def file_set_checker(instances: int) -> Iterator[Callable[[Path, Any], Callable[[], list[str]]]]:
    """check(tree, profile) starts `verify_fileset` and gives a function that waits for its problems:
    in a worker process (from the fork server, never a fork of this threaded process) for a large
    file-set, else in line. A worker that dies is replaced by checking in line."""
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


def _refuse_invalid_file_set(disc: Disc, problems: list[str]) -> None:
    from mediastation.media.iso import IsoVerificationFailed

    if problems:
        raise IsoVerificationFailed(f"disc {disc.index}: the file-set is not valid: " + "; ".join(problems[:10]),
                                    details={"problems": problems})


def _read_back(burner: Any, disc: Disc, image: PackagedDisc, written: WrittenDisc, tree: Path) -> None:
    from burners.base import WrittenMedium
    from mediastation.media.iso import verify_image

    medium = WrittenMedium.from_json(written.medium)
    if image.image and keeps_image_file(burner):  # one pass: image digest and every file's bytes
        verify_image(Path(medium.location), tree, volume_id=disc.fileset_id, expected_sha256=image.sha256)
        return
    burner.verify(medium, expected_sha256=image.sha256, expected_tree=None if image.image else tree)
    if image.image and Path(medium.location).is_file():
        verify_image(Path(medium.location), tree, volume_id=disc.fileset_id)


def _medium_document(job: ExportJob, disc: Disc, image: PackagedDisc, written: WrittenDisc,
                     profile: Any) -> MediumDocument:
    labels = job.written.labels
    medium = written.medium
    location = str(medium["location"])
    return MediumDocument(index=disc.index, count=disc.count, kind=job.composed.medium, profile=profile.name,
                          fileset_id=disc.fileset_id, image=location if image.image else None,
                          tree=location if not image.image else None, bytes=medium["bytes"], sha256=medium["sha256"],
                          burner=medium["burner"], instances=disc.instances,
                          label=labels[disc.index - 1] if len(labels) >= disc.index else None)
