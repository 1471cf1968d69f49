"""A file-set staged as an export stages one: each file copied under its assigned file ID, then the DICOMDIR."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from mediastation.dicom.fileset import InstanceHeader, assign_file_ids, read_header, write_dicomdir
from mediastation.dicom.profiles import Profile


def stage(files: Iterable[Path], root: Path, *, profile: Profile | None = None, fileset_id: str = "TESTDISC",
          prefix: tuple[str, ...] = ()) -> list[tuple[InstanceHeader, tuple[str, ...]]]:
    """Lay the files out under their assigned file IDs (below `prefix`, e.g. ("DICOM",) as on a disc)
    and write the DICOMDIR; the entries (header, file ID)."""
    entries = assign_file_ids((read_header(f) for f in files), prefix=prefix)
    for header, file_id in entries:
        target = root.joinpath(*file_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(header.path, target)
    write_dicomdir(root, entries, fileset_id=fileset_id, profile=profile)
    return entries
