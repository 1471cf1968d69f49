"""The import pipeline: an outside medium into the archive, every file accounted for (R18).

    inventory -> reconcile (+ reports) | precheck -> store (+ verify beside it) -> verify -> commit -> record

The left part runs on every run, before the job is claimed: the job is the medium's content with the
operator's mapping (store/imports.py `job_id_for`), so which job this is is known only once the
medium has been read and the mapping checked. A second run of the same medium and mapping is the
same job: refused while another process holds it, resumed when it stopped, answered from the
database when it is done.

The right part is one pass of the job over its files still to do, run by the job runner
(jobs/runner.py `run_stages`): each stage saves its small typed outcome (types.py), the per-file
outcomes are `import_files`. Every claimed run is a new pass that begins at precheck, whatever stage
the previous one reached: the import's point of resumption is the file table, not the stage, and a
precheck is what finds in the archive the instances an interrupted store sent but did not record
(so nothing is sent twice). Only instances the archive lists after the store (and commits, where it
supports Storage Commitment) count as imported; the invoice line is made once the job has no failed
file left, once per job (billing is idempotent by the job's key).
"""

from __future__ import annotations

import dataclasses

from mediastation.errors import EXIT_OK
from mediastation.jobs.model import JobRunningElsewhere, JobState, JobView
from mediastation.jobs.queue import JobQueue
from mediastation.jobs.runner import Finished, Lease, Pipeline, Stage, execute, run_stages
from mediastation.pacs.lookup import ArchiveQuery
from mediastation.store.imports import ImportRepository
from mediastation.workflows.audit_events import observe_patient_lookups
from mediastation.workflows.imports import reports
from mediastation.workflows.imports.commit import commit
from mediastation.workflows.imports.inventory import apply_preferences, new_files, new_job, scan_medium
from mediastation.workflows.imports.precheck import precheck
from mediastation.workflows.imports.reconcile import coercions, local_patients, mapping_of
from mediastation.workflows.imports.record import record, result
from mediastation.workflows.imports.store import store
from mediastation.workflows.imports.types import (
    SENT_STAGES,
    Clock,
    Committed,
    ImportEnvironment,
    ImportOutcome,
    ImportRefused,
    ImportRequest,
    ImportRun,
    Prechecked,
    ProgressFn,
    Recorded,
    Stored,
    Verified,
)
from mediastation.workflows.imports.verify import verify

PIPELINE = Pipeline("import", (
    Stage("precheck", Prechecked, precheck),
    Stage("store", Stored, store),
    Stage("verify", Verified, verify),
    Stage("commit", Committed, commit),
    Stage("record", Recorded, record),
))


def run_import(request: ImportRequest, env: ImportEnvironment, *, progress: ProgressFn | None = None,
               store_progress: ProgressFn | None = None, claimed: tuple[JobView, Lease] | None = None,
               queue_only: bool = False) -> ImportOutcome:
    """Import SOURCE as mapped. The job is a row of the job queue: run here under a lease (`claimed`:
    the job and lease a worker holds already), so a second run of the same medium and mapping while
    this one works is refused, and a run whose station died is taken over and resumed. With
    `queue_only` the mapping is checked and the job queued for a `worker` of this station."""
    run = _prepare(request, env, progress, store_progress)
    repository = run.repository
    job, created = repository.open_job(new_job(request, run.inventory, run.mapping, env, run.reports),
                                       new_files(run.inventory, run.mapping, run.reports))
    run.job_id = job.job_id
    if queue_only:
        return ImportOutcome({"job_id": job.job_id, "state": job.state, "created": created,
                              "source": request.source, "medium": run.inventory.description,
                              "instances": sum(1 for f in run.inventory.files if f.sendable)}, EXIT_OK)
    if claimed is not None and claimed[0].job_id != job.job_id:
        raise ImportRefused(f"{request.source} no longer holds the medium of job {claimed[0].job_id} (its files or "
                            "the mapping differ); put that medium back, or cancel the job",
                            details={"job_id": claimed[0].job_id, "found": job.job_id})
    if job.state == "done" and claimed is None:
        return result(run, note="already_imported")

    def work(held: JobView, lease: Lease) -> Finished:
        outcome = run_pass(run, held, lease)
        document = outcome.document
        pending = document["counts"].get("failed", 0) + document["counts"].get("pending", 0)
        return Finished(JobState.FAILED if pending else JobState.DONE, document)

    if claimed is not None:
        work(*claimed)
    else:
        queue = JobQueue(env.database)
        held = queue.claim_id(job.job_id, env.owner, lease_seconds=env.lease_seconds)
        if held is None:
            current = queue.require(job.job_id)
            raise JobRunningElsewhere(
                f"import {job.job_id} of this medium is running on {current.owner} (stage {current.stage}); "
                f"`mediastation jobs show {job.job_id} --follow` follows it",
                details={"job_id": job.job_id, "owner": current.owner})
        execute(queue, held, env.lease_seconds, work)
    assert run.outcome is not None
    return run.outcome


def _prepare(request: ImportRequest, env: ImportEnvironment, progress: ProgressFn | None,
             store_progress: ProgressFn | None) -> ImportRun:
    """Inventory and reconcile: what is on the medium and whom it becomes; everything that can refuse
    is checked here, before the job is opened."""
    clock = Clock()
    inventory = apply_preferences(scan_medium(request.source, progress=progress), request.prefer)
    clock.lap("inventory")
    mapping = mapping_of(request, inventory)
    plans = reports.plan_reports(request.reports, inventory, mapping, env.uid_root)
    with ArchiveQuery(env.node, env.calling_ae, env.timeout) as query:
        observe_patient_lookups(query, env.database, actor=request.operator)
        patients, identity_warnings = local_patients(mapping, inventory, query)
    return ImportRun(env=env, request=request, repository=ImportRepository(env.database), job_id="",
                     inventory=inventory, mapping=mapping, patients=patients, reports=plans,
                     identity_warnings=identity_warnings, clock=clock, store_progress=store_progress)


def run_pass(run: ImportRun, job: JobView, lease: Lease) -> ImportOutcome:
    """One pass over the files still to do of a job this process holds (see the module's docstring)."""
    run.sent_before = job.stage in SENT_STAGES
    run.coercions = coercions(run.patients, run.mapping, run.env)
    run.rows = {row.seq: row for row in run.repository.files(run.job_id)}
    run.todo = [seq for seq, row in run.rows.items() if row.outcome in ("pending", "failed")]
    try:
        reports.encapsulate_marked(run)
        run.clock.lap("reconcile")
        run_stages(PIPELINE, dataclasses.replace(job, stages={}), run, JobQueue(run.env.database), lease)
    finally:
        reports.discard(run)
    assert run.outcome is not None
    return run.outcome
