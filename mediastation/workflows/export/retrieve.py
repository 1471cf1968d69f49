"""Retrieve: find every requested study, refuse on any mismatch, then fetch each into the job folder
(workflows/retrieval.py: the same check as an electronic transfer's)."""

from __future__ import annotations

from mediastation.workflows.audit_events import observe_queries
from mediastation.workflows.export.types import ExportJob, ExportRefused, Retrieved, RetrievedStudy
from mediastation.workflows.retrieval import fetch_once, find_requested, open_configured_archive, safe_name


def retrieve(job: ExportJob) -> Retrieved:
    archive = observe_queries(open_configured_archive(job.env.settings, job.env.home), job.env.database,
                              hetu=job.request.patient.hetu, actor=job.params.actor)
    found = find_requested(archive, job.request, ExportRefused, "nothing was written")
    studies = []
    for study in found:
        folder = job.path("retrieved", safe_name(study.accession_number))
        count = fetch_once(archive, study.study_instance_uid, folder, job.progress)
        studies.append(RetrievedStudy(accession_number=study.accession_number,
                                      study_instance_uid=study.study_instance_uid, folder=str(folder), instances=count))
    return Retrieved(studies=studies)
