"""Billing of an import (R18, R-G4): one event per job, billed by the price list in force once the
job has no failed file and brought a new study into the archive."""

from __future__ import annotations

from datetime import date
from typing import Any

from mediastation.errors import MediaStationError
from mediastation.store.imports import ImportFileRow, ImportJob
from mediastation.workflows.imports.types import REPORT_REASON, ImportRun


def bill(run: ImportRun, job: ImportJob, rows: list[ImportFileRow], studies: list[dict[str, Any]]
         ) -> tuple[list[str], str]:
    """(invoice line ids, a note for the warnings). Billing is idempotent by the job's key, so a pass
    after an interruption gets the same lines back."""
    if job.invoice_lines:
        return list(job.invoice_lines), ""
    # a report added later to a study imported before is no new study to bill; nor is a study an
    # earlier import of this same medium brought in (a second run with --prefer or --report)
    new = {r.study_instance_uid for r in rows if r.outcome == "imported" and not r.reason.startswith(REPORT_REASON)}
    new -= run.repository.studies_imported_from(job.medium_fingerprint, except_job=job.job_id)
    imported_studies = [s for s in studies if s["imported"] and s["study_instance_uid"] in new]
    if any(r.outcome in ("failed", "pending") for r in rows) or not imported_studies:
        return [], ""
    try:
        from mediastation.domain.pricing import BillableEvent
        from mediastation.workflows.billing import bill_event, load_price_list
    except ImportError:  # billing not installed: the hook stays open, the import stands
        return [], "billing is not available in this installation; the import was not billed"
    env, request = run.env, run.request
    if env.price_list is None:
        return [], "no price list configured; the import was not billed"
    payer = request.payer or job.payer or imported_studies[0]["hetu"]
    category = "organisation" if (request.payer or job.payer) else "patient"
    try:
        event = BillableEvent(key=f"import:{job.job_id}", kind="import", service_date=date.today(), payer=payer,
                              payer_category=category, reference=job.job_id, studies=len(imported_studies), media=1)
        return bill_event(env.database, event, load_price_list(env.price_list), actor=job.operator), ""
    except MediaStationError as exc:
        return [], f"billing failed ({exc.message}); run the same import again to bill it"
