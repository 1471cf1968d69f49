"""`import`: outside CDs, DVDs and USB sticks into the archive (purkaminen, R18)."""

from __future__ import annotations

from typing import Any

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.cli.progress import Progress
from mediastation.cli.request import actor


@click.group("import")
def import_() -> None:
    """Import outside media into the archive: `scan` shows what is on it, `run` imports it."""


@import_.command("scan")
@click.argument("source")
@json_option
@pass_station
def import_scan(station: Station, source: str) -> None:
    """Inventory of SOURCE (a folder, an ISO image, a device such as /dev/sr0, a zip/tar file)."""
    from mediastation.workflows.imports import scan_medium

    inventory = scan_medium(source, progress=Progress("scan"))
    station.emit(inventory.to_json(), _scan_text(inventory.to_json()))


@import_.command("run")
@click.argument("source")
@click.option("--map", "maps", multiple=True, metavar="KEY=HETU",
              help="Import patient group KEY (from `import scan`) as the local patient HETU. Repeat per group.")
@click.option("--name", "names", multiple=True, metavar="KEY=FAMILY^GIVEN",
              help="The patient's name when the archive does not know the HETU yet.")
@click.option("--birth-date", "birth_dates", multiple=True, metavar="KEY=YYYYMMDD",
              help="Birth date when the archive does not know the HETU (default: the HETU's).")
@click.option("--report", "reports", multiple=True, metavar="PATH=STUDY_UID",
              help="The PDF at PATH on the medium (as `import scan` lists it) is the report of study STUDY_UID: "
                   "it is stored as an Encapsulated PDF instance of that study. Repeat per report.")
@click.option("--prefer", "prefer", multiple=True, metavar="PATH",
              help="Of copies of one instance that really differ (listed as duplicate_conflict), import the one at "
                   "PATH (as `import scan` lists it); the others are skipped. Repeat per instance.")
@click.option("--accession", help="Accession number of the import order (AC-numero).")
@click.option("--payer", help="Who pays (organisation code); default: the patient.")
@click.option("--operator", help="Who imports (default: MEDIASTATION_USER or the logged-in user).")
@click.option("--language", type=click.Choice(["fi", "sv", "en"]), help="Receipt language (default: [station] language).")
@click.option("--queue", "queue_only", is_flag=True,
              help="Check the mapping, then only queue the import for a `mediastation worker` of this station.")
@json_option
@pass_station
def import_run(station: Station, source: str, maps: tuple[str, ...], names: tuple[str, ...],
               birth_dates: tuple[str, ...], reports: tuple[str, ...], prefer: tuple[str, ...], accession: str | None,
               payer: str | None, operator: str | None, language: str | None, queue_only: bool) -> int:
    """Reconcile the mapped groups of SOURCE, coerce, store to the archive, verify and record."""
    from mediastation.workflows.imports import ImportRequest, run_import

    request = ImportRequest(source=source, maps=maps, names=names, birth_dates=birth_dates, accession=accession,
                            payer=payer, operator=actor(operator),
                            language=language or station.settings.station.language, reports=reports, prefer=prefer)
    outcome = run_import(request, environment(station), progress=Progress("inventory"),
                         store_progress=Progress("store"), queue_only=queue_only)
    if queue_only:
        document = outcome.document
        verb = "queued" if document["created"] else f"already {document['state']}"
        station.emit(document, f"import {document['job_id']} of {source}: {verb}; "
                               f"`mediastation jobs show {document['job_id']}` follows it")
        return outcome.exit_status
    station.emit(outcome.document, _run_text(outcome.document))
    return outcome.exit_status


@import_.command("show")
@click.argument("job_id")
@json_option
@pass_station
def import_show(station: Station, job_id: str) -> None:
    """The recorded result of an import job."""
    from mediastation.errors import NotFoundError
    from mediastation.store.imports import ImportRepository

    row = ImportRepository(station.database()).get(job_id)
    if row is None:
        raise NotFoundError(f"no import job {job_id!r}; `mediastation import list` lists them")
    station.emit(row.result_json or {"job_id": row.job_id, "state": row.state}, _run_text(row.result_json or {}))


def run_import_job(station: Station, job: Any, lease: Any) -> Any:
    """A worker's run of a queued import job (one whose station stopped): the same medium, mapped
    the same way, resumed where it stopped."""
    from mediastation.jobs.model import JobState
    from mediastation.jobs.runner import Finished
    from mediastation.workflows.imports import ImportRequest, run_import

    request = ImportRequest.of_params(job.params, station.settings.station.language)
    outcome = run_import(request, environment(station), claimed=(job, lease))
    counts = outcome.document.get("counts", {})
    pending = counts.get("failed", 0) + counts.get("pending", 0)
    return Finished(JobState.FAILED if pending else JobState.DONE, outcome.document)


@import_.command("list")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@json_option
@pass_station
def import_list(station: Station, limit: int) -> None:
    """Import jobs, newest first."""
    from mediastation.store.imports import ImportRepository

    rows = ImportRepository(station.database()).list(limit=limit)
    jobs = [{"job_id": r.job_id, "state": r.state, "source": r.source, "operator": r.operator, "runs": r.runs,
             "created_at": r.created_at.isoformat() if r.created_at else None,
             "counts": (r.result_json or {}).get("counts", {})} for r in rows]
    lines = [f"{j['job_id']}  {j['state']:<8} {j['created_at'] or '':<26} {j['source']}" for j in jobs]
    station.emit({"jobs": jobs}, "\n".join(lines) or "no import jobs")


def environment(station: Station) -> Any:
    """Where the import goes: the configured archive, the database, the receipts folder."""
    from mediastation.workflows.imports.station import import_environment

    return import_environment(station.settings, station.home, station.database())


def _scan_text(doc: dict[str, Any]) -> str:
    lines = [f"{doc['medium']}  (DICOMDIR: {doc['dicomdir']})",
             "files: " + (", ".join(f"{k} {v}" for k, v in sorted(doc["counts"].items())) or "none")]
    lines += [f"  medium: {problem}" for problem in doc.get("medium_problems", [])]
    for problem in doc["dicomdir_problems"]:
        lines.append(f"  DICOMDIR: {problem}")
    if not doc["counts"].get("instance"):
        lines.append("the medium holds no DICOM instances")
    for item in doc["files"]:
        if item["kind"] == "unreadable" or item["reason"] == "duplicate_conflict" or item.get("repairs"):
            what = item["reason"] or "repaired: " + ", ".join(item.get("repairs", []))
            lines.append(f"  {item['path']}: {what}" + (f" ({'; '.join(item['notes'])})" if item.get("notes") else ""))
    for group in doc["patients"]:
        hint = f"  (suggested: --map {group['key']}={group['suggested_hetu']})" if group["suggested_hetu"] else ""
        lines.append(f"{group['key']}: {group['name'] or '(no name)'}  ID {group['patient_id'] or '-'} "
                     f"{group['issuer']}  born {group['birth_date'] or '-'}{hint}")
        for study in group["studies"]:
            lines.append(f"    {study['date'] or '--------'}  {'/'.join(study['modalities']) or '-':<6} "
                         f"{study['instances']:>5} instances  {study['description']}")
        lines += [f"    ! {w}" for w in group["warnings"]]
    return "\n".join(lines)


def _run_text(doc: dict[str, Any]) -> str:
    if not doc:
        return "no result recorded"
    counts = ", ".join(f"{k} {v}" for k, v in sorted(doc.get("counts", {}).items()))
    lines = [f"{doc.get('job_id')}: {doc.get('state')}  ({counts})"]
    for study in doc.get("studies", []):
        lines.append(f"  {study.get('date', '')} {study.get('description', '')} -> {study.get('hetu') or 'not mapped'}: "
                     f"imported {study['imported']}, already present {study['already_present']}, "
                     f"failed {study['failed']}, rejected {study['rejected']}")
    lines += [f"  ! {w}" for w in doc.get("warnings", [])]
    if doc.get("invoice_lines"):
        lines.append("invoice lines: " + ", ".join(doc["invoice_lines"]))
    if doc.get("report"):
        lines.append(f"receipt: {doc['report']}")
    return "\n".join(lines)
