"""`audit`: the DICOM audit messages waiting for the hospital's audit repository."""

from __future__ import annotations

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.errors import EXIT_OK, EXIT_OUTSIDE, ConfigError


@click.group()
def audit() -> None:
    """Audit messages (DICOM PS3.15 A.5) to the audit repository ([audit] in station.toml)."""


def _target(station: Station) -> str:
    section = station.settings.audit
    return f"{section.transport}://{section.host}:{section.port}" if section.host else "off"


@audit.command("status")
@json_option
@pass_station
def audit_status(station: Station) -> None:
    """The backlog: how many messages wait, since when, the last error and the next attempt."""
    from mediastation.audit.outbox import Outbox

    status = Outbox(station.database()).status()
    document = {"repository": _target(station), **status.to_json()}
    lines = [f"repository: {document['repository']}", f"waiting: {status.waiting}"
             + (f" (oldest {status.oldest:%Y-%m-%d %H:%M:%S} UTC)" if status.oldest else ""), f"sent: {status.sent}"]
    if status.last_error:
        lines.append(f"last error: {status.last_error} ({status.failures} failed attempt(s) in a row)")
    if status.next_attempt_at and status.waiting:
        lines.append(f"next attempt: {status.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC (or now: `mediastation audit flush`)")
    if status.sending:
        lines.append(f"being sent by {status.sending}")
    station.emit(document, "\n".join(lines))


@audit.command("flush")
@json_option
@pass_station
def audit_flush(station: Station) -> int:
    """Send every waiting message now, oldest first; exit 3 when the repository cannot be reached."""
    if not station.settings.audit.host:
        raise ConfigError("audit is off: set [audit] host (and port, transport, ca) in station.toml")
    station.database()
    result = station.send_audit(force=True)
    document = {"repository": _target(station), **result.to_json()}
    if result.error:
        text = f"audit: {result.sent} sent, {result.waiting} still waiting: {result.error}"
    elif result.skipped:
        text = f"audit: {result.waiting} waiting; {result.skipped}"
    else:
        text = f"audit: {result.sent} sent, {result.waiting} waiting"
    station.emit(document, text)
    return EXIT_OUTSIDE if result.error else EXIT_OK
