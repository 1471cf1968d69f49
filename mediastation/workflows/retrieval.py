"""Finding a release's studies in the archive and fetching them: shared by the export (to a medium)
and the transfer (to another archive), so both release exactly what the request names.

Nothing is released before every requested study was found in the archive exactly once and matched
the request: study name, date, time, Patient ID = the HETU and the patient's name (R10, R13: the
right patient's right studies). A study fetched completely before is not fetched again; a half-fetched one starts over.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from mediastation.domain.matching import StudyFound, compare
from mediastation.domain.request import ReleaseRequest
from mediastation.errors import MediaStationError
from mediastation.files import write_json_atomic

COMPLETE = "COMPLETE.json"


def open_configured_archive(settings: Any, home: Path) -> Any:
    from mediastation.pacs.factory import open_archive

    return open_archive(settings.archive, settings.station, home)


def find_requested(archive: Any, request: ReleaseRequest, refused: type[MediaStationError],
                   consequence: str) -> list[StudyFound]:
    """Every requested study as the archive has it; `refused` raised naming every mismatch."""
    found = [study for wanted in request.studies for study in archive.find_studies(wanted.accession_number)]
    mismatches = compare(request.studies, found, request.patient.hetu, request.patient.name)
    if mismatches:
        raise refused(f"the archive's studies do not match the request; {consequence}:\n  "
                      + "\n  ".join(str(m) for m in mismatches),
                      details={"mismatches": [str(m) for m in mismatches]})
    return found


def fetch_once(archive: Any, study_uid: str, folder: Path, progress: Any) -> int:
    """The study's files in `folder` (its instance count); fetched only if not complete there."""
    marker = folder / COMPLETE
    if marker.exists():
        return int(json.loads(marker.read_text(encoding="utf-8"))["instances"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    result = archive.retrieve(study_uid, folder, progress)
    write_json_atomic(marker, {"study_instance_uid": study_uid, "instances": result.instances}, fsync=False)
    return result.instances


def study_files(folder: Path) -> list[Path]:
    """The fetched instances of a study folder, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != COMPLETE)


def safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text) or "_"
