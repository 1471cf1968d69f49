"""The archive the station exports from: one small interface, a DICOM peer or a local folder behind it.

    archive = open_archive(settings.archive, settings.station, home)   # mediastation.pacs.factory
    found = archive.find_studies("HUS123456")            # -> [StudyFound], [] when unknown
    got = archive.retrieve(uid, job / "retrieved" / acc, progress)   # -> RetrievedStudy
    archive.retrieve(uid, folder, on_instance=queue.put)  # each file as soon as it is whole

`retrieve` writes one file per instance into `dest`, named after its SOP Instance UID, each in its
original transfer syntax with a complete file meta header. A file appears under its final name only
when whole (written as `.name.part`, then renamed: `mediastation.files.part_path` and `publish`), so
a job killed half-way leaves no torn file; a second run overwrites what the first one fetched. Files
may be hard links to the archive's own files (folder archive): later stages must write new files,
never modify a retrieved file in place.

The archives themselves (dicom_archive, folder_archive) build on this module; `factory.open_archive`
picks one, so nothing here imports them back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mediastation.domain.matching import StudyFound

ProgressCallback = Callable[[int, "int | None", str], None]
"""`progress(done, total, what)`, as mediastation.cli.progress.Progress takes it."""

InstanceCallback = Callable[[Path], None]
"""`on_instance(path)`: one retrieved file, whole, under its final name."""

_UID = re.compile(r"\A[0-9]+(\.[0-9]+)*\Z")


@dataclass(frozen=True)
class RetrievedStudy:
    """What a retrieve wrote into its destination folder."""

    files: list[Path]
    instances: int
    bytes: int


class Archive(Protocol):
    """Where the requested studies come from."""

    @property
    def label(self) -> str:
        """The archive in messages: `HUSPACS@10.1.2.3:104` or `folder /var/lib/...`."""
        ...

    def find_studies(self, accession_number: str) -> list[StudyFound]:
        """Every study filed under this accession number (exact match); [] when there is none."""
        ...

    def retrieve(self, study_instance_uid: str, dest: Path, progress: ProgressCallback | None = None,
                 on_instance: InstanceCallback | None = None) -> RetrievedStudy:
        """Fetch every instance of the study into `dest`; PacsError unless all of them arrived.
        `on_instance(path)` once per file as soon as it is complete under its final name, in the
        thread that received it (a relay sends it on while the rest arrive); an exception it raises
        stops the retrieve, which then raises that exception."""
        ...


def instance_file_name(sop_instance_uid: str) -> str:
    """A safe file name for an instance: its UID when it is a well-formed UID, else a hash of it."""
    uid = sop_instance_uid.strip().rstrip("\0")
    if _UID.match(uid) and len(uid) <= 64:
        return f"{uid}.dcm"
    return f"X{hashlib.sha256(uid.encode('utf-8', 'replace')).hexdigest()[:40]}.dcm"
