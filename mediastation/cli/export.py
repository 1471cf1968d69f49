"""`export`: an approved release request onto verified media (the station's main job)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.cli.progress import Progress
from mediastation.cli.request import actor


def export_environment(station: Station) -> Any:
    from mediastation.workflows.export import ExportEnvironment

    return ExportEnvironment(database=station.database(), settings=station.settings, home=station.home,
                             jobs_folder=station.path(station.settings.export.jobs), progress=Progress("export"))


def export_text(document: dict[str, Any]) -> str:
    lines = [f"export {document['job_id']} of {document['request_id']}: {document['state']}"]
    for medium in document["media"]:
        where = medium.get("image") or medium.get("tree")
        lines.append(f"  {medium['kind']} {medium['index']}/{medium['count']} {medium['fileset_id']} "
                     f"({medium['profile']}, {medium['instances']} instances, {medium['bytes']} bytes): {where}")
    if document.get("cover_letter"):
        lines.append(f"  cover letter: {document['cover_letter']}")
    for key, label in (("shipment_id", "shipment"), ("disclosure_seq", "disclosure log entry")):
        if document.get(key) is not None:
            lines.append(f"  {label}: {document[key]}")
    if document.get("invoice_lines"):
        lines.append(f"  invoice lines: {', '.join(document['invoice_lines'])}")
    if document.get("conversions"):
        lines.append(f"  transcoded to fit the profile: {len(document['conversions'])} instance(s)")
    return "\n".join(lines)


@click.command()
@click.argument("request_id")
@click.option("--medium", type=click.Choice(["cd", "dvd", "dvd-dl", "usb", "auto"]),
              help="The medium (default: the decision's channel; auto = CD when it fits).")
@click.option("--burner", help="A burner named in [burners] of station.toml.")
@click.option("--to", "to_dir", type=click.Path(file_okay=False),
              help="Write the image(s) or USB tree into DIR, which must exist (see --mkdir).")
@click.option("--mkdir", is_flag=True, help="Create the --to folder (and its parents) when it does not exist.")
@click.option("--again", is_flag=True, help="Export a request again that was already exported (a new copy).")
@click.option("--by", help="Who makes the medium (default: MEDIASTATION_USER or the logged-in user).")
@click.option("--report", "reports", multiple=True, metavar="ACCESSION=FILE",
              help="The report of a study as a PDF or UTF-8 text file (repeat per study).")
@click.option("--queue", "queue_only", is_flag=True,
              help="Only put the export in the job queue and print its job id; a `mediastation worker` runs it.")
@json_option
@pass_station
def export(station: Station, request_id: str, medium: str | None, burner: str | None, to_dir: str | None,
           mkdir: bool, again: bool, by: str | None, reports: tuple[str, ...], queue_only: bool) -> None:
    """Retrieve, compose, package, write, verify and record the release REQUEST_ID.

    A job that stopped half-way (killed, archive down, disc full) resumes when run again. An export
    of the same request already running elsewhere is followed to its end, not made twice."""
    from mediastation.workflows.export import ExportOptions, run_export

    if mkdir and not to_dir:
        raise click.UsageError("--mkdir creates the --to folder: give --to DIR")
    options = ExportOptions(request_id=request_id, medium=medium, burner=burner,
                            to_dir=Path(to_dir).resolve() if to_dir else None, actor=actor(by), again=again,
                            reports=_report_files(reports), mkdir=mkdir)
    result = run_export(export_environment(station), options, queue_only=queue_only)
    if queue_only:
        document = result.document
        verb = "queued" if document["created"] else f"already {document['state']}"
        station.emit(document, f"export {document['job_id']} of {document['request_id']}: {verb}; "
                               f"`mediastation jobs show {document['job_id']}` follows it")
        return
    tell_warnings(result.document)
    station.emit(result.document, export_text(result.document))


def tell_warnings(document: dict[str, Any]) -> None:
    """Every warning of the result on stderr, always (the JSON document carries them too)."""
    from mediastation.cli.context import stderr

    for warning in document.get("warnings") or []:
        stderr(f"warning: {warning}")


def _report_files(values: tuple[str, ...]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for value in values:
        accession, sep, path = value.partition("=")
        if not sep or not accession.strip() or not path.strip():
            raise click.BadParameter(f"{value!r}: use ACCESSION=FILE", param_hint="--report")
        file = Path(path).expanduser().resolve()
        if not file.is_file():
            raise click.BadParameter(f"{file} does not exist", param_hint="--report")
        files[accession.strip()] = file
    return files
