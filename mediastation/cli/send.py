"""`send`: an electronic release or a register copy, carried out (R5, R6, R15, R17)."""

from __future__ import annotations

from typing import Any

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.cli.progress import Progress
from mediastation.cli.request import actor


def transfer_environment(station: Station) -> Any:
    from mediastation.workflows.transfer import TransferEnvironment

    return TransferEnvironment(database=station.database(), settings=station.settings, home=station.home,
                               jobs_folder=station.path(station.settings.export.jobs), progress=Progress("send"))


def send_text(document: dict[str, Any]) -> str:
    destination = document["destination"]
    lines = [f"send {document['job_id']} of {document['request_id']}: {document['state']} ({document['channel']} to "
             f"{destination['name']}, {destination['ae_title']}@{destination['host']}:{destination['port']}, "
             f"{destination['method']}; verified by {document['verification']})"]
    for study in document["studies"]:
        lines.append(f"  {study['accession_number']}: sent {study['sent']}, already present {study['already_present']}, "
                     f"failed {len(study['failed'])}, {study['verification']}")
    if document.get("partial_release"):
        lines.append("  partial release accepted: the failed instances were not released")
    if document.get("disclosure_seq") is not None:
        lines.append(f"  disclosure log entry: {document['disclosure_seq']}")
    return "\n".join(lines)


@click.command()
@click.argument("request_id")
@click.option("--accept-partial", is_flag=True,
              help="Release what the destination took although it refused some instances (logged as partial).")
@click.option("--queue", "queue_only", is_flag=True, help="Only queue the transfer for a `mediastation worker`.")
@click.option("--by", help="Who releases (default: MEDIASTATION_USER or the logged-in user).")
@json_option
@pass_station
def send(station: Station, request_id: str, accept_partial: bool, queue_only: bool, by: str | None) -> None:
    """Send the studies of REQUEST_ID to its configured electronic destination (or copy them to its
    register), verify them there and record the release. Run again after a failure: nothing is sent twice."""
    from mediastation.workflows.transfer import SendOptions, run_send

    options = SendOptions(request_id=request_id, actor=actor(by), accept_partial=accept_partial)
    document = run_send(transfer_environment(station), options, queue_only=queue_only)
    if queue_only:
        station.emit(document, f"send {document['job_id']} of {document['request_id']}: {document['state']}")
        return
    station.emit(document, send_text(document))
