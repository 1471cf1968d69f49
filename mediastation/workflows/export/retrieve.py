"""Retrieve: find every requested study, refuse on any mismatch, then fetch each into the job folder.

Nothing reaches a medium before every requested study was found in the archive exactly once and
matched the request (R10, R13: the right patient's right studies).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from mediastation.files import write_json_atomic
from mediastation.workflows.audit_events import observe_queries
from mediastation.workflows.export.types import COMPLETE, ExportJob, ExportRefused, Retrieved, RetrievedStudy, safe_name


def retrieve(job: ExportJob) -> Retrieved:
    from mediastation.domain.matching import compare
    from mediastation.pacs.factory import open_archive

    settings = job.env.settings
    archive = observe_queries(open_archive(settings.archive, settings.station, job.env.home), job.env.database)
    found = [study for wanted in job.request.studies for study in archive.find_studies(wanted.accession_number)]
    mismatches = compare(job.request.studies, found, job.request.patient.hetu, job.request.patient.name)
    if mismatches:
        raise ExportRefused(
            "the archive's studies do not match the request; nothing was written:\n  "
            + "\n  ".join(str(m) for m in mismatches),
            details={"mismatches": [str(m) for m in mismatches]})
    studies = []
    for study in found:
        folder = job.path("retrieved", safe_name(study.accession_number))
        count = _retrieve_once(job, archive, study.study_instance_uid, folder)
        studies.append(RetrievedStudy(accession_number=study.accession_number,
                                      study_instance_uid=study.study_instance_uid, folder=str(folder), instances=count))
    return Retrieved(studies=studies)


def _retrieve_once(job: ExportJob, archive: Any, study_uid: str, folder: Path) -> int:
    """A study fetched completely before is not fetched again; a half-fetched one starts over."""
    marker = folder / COMPLETE
    if marker.exists():
        return int(json.loads(marker.read_text(encoding="utf-8"))["instances"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    result = archive.retrieve(study_uid, folder, job.progress)
    write_json_atomic(marker, {"study_instance_uid": study_uid, "instances": result.instances}, fsync=False)
    return result.instances
