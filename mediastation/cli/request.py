"""`request`: release requests checked against the rules, stored with their decision."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from typing import Any

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.config import release_policy
from mediastation.domain.policy import ReleasePolicy
from mediastation.domain.release import Decision
from mediastation.errors import EXIT_OK, EXIT_REFUSED

ACTOR_ENV = "MEDIASTATION_USER"


def actor(by: str | None, *, login: str | None = None, full_name: Callable[[str], str] | None = None) -> str:
    """Who does it: --by, else MEDIASTATION_USER, else the logged-in user (R13 records who) by the
    person's name when the account has one: "Liisa Virtanen (lvirtanen)", not just "lvirtanen"."""
    if by or os.environ.get(ACTOR_ENV):
        return by or os.environ[ACTOR_ENV]
    login = login or getpass.getuser()
    name = (full_name or account_name)(login)
    return f"{name} ({login})" if name and name != login else login


def account_name(login: str) -> str:
    """The person's name of a login account (the passwd GECOS field's first part), "" when none."""
    import pwd

    try:
        return pwd.getpwnam(login).pw_gecos.split(",")[0].strip()
    except KeyError:
        return ""


def policy(station: Station) -> ReleasePolicy:
    return release_policy(station.settings, station.home)


def decision_text(decision: Decision, request_id: str | None = None) -> str:
    head = f"{request_id}: " if request_id else ""
    lines = [f"{head}{decision.decision}" + (f" via {decision.channel}" if decision.channel else "")]
    if decision.decision == "release":
        lines.append(f"billable: {'yes' if decision.billable else 'no'}; on call: {'yes' if decision.on_call else 'no'}; "
                     f"earliest delivery: {decision.earliest_delivery or '-'}")
    for reason in decision.reasons:
        where = f" -> {reason.where}" if reason.where else ""
        lines.append(f"  [{reason.rule}] {reason.code}: {reason.message}{where}")
    return "\n".join(lines)


def decision_status(decision: Decision) -> int:
    """`refused` is exit 1 (interfaces.md); every other decision is an answer, exit 0."""
    return EXIT_REFUSED if decision.decision == "refused" else EXIT_OK


@click.group()
def request() -> None:
    """Release requests (luovutuspyynnöt)."""


@request.command("check")
@click.argument("file")
@json_option
@pass_station
def request_check(station: Station, file: str) -> int:
    """Validate FILE (JSON, `-` = stdin) and print the decision; stores nothing."""
    from mediastation.workflows.requests import check_request, read_request_file

    checked = check_request(read_request_file(file), policy(station))
    station.emit({"request_id": None, **checked.decision.to_json()}, decision_text(checked.decision))
    return decision_status(checked.decision)


@request.command("add")
@click.argument("file")
@click.option("--by", help="Who adds it (default: MEDIASTATION_USER or the logged-in user).")
@json_option
@pass_station
def request_add(station: Station, file: str, by: str | None) -> int:
    """Validate, decide and store FILE; the same request twice is stored once."""
    from mediastation.workflows.requests import add_request, read_request_file

    added = add_request(station.database(), read_request_file(file), policy(station),
                        actor=actor(by), station=station.settings.station.name)
    note = "stored" if added.created else "already stored: same request content, nothing added"
    document = {"request_id": added.request_id, **added.checked.decision.to_json(),
                "created": added.created, "note": note}
    station.emit(document, decision_text(added.checked.decision, added.request_id) + f"\n({note})")
    return decision_status(added.checked.decision)


def row_document(row: Any, *, full: bool) -> dict[str, Any]:
    """The stored request's document (the desk's API answers the same: workflows/requests.py)."""
    from mediastation.workflows.requests import request_document

    return request_document(row, full=full)


@request.command("show")
@click.argument("request_id")
@json_option
@pass_station
def request_show(station: Station, request_id: str) -> None:
    """Show a stored request with its decision."""
    from mediastation.workflows.requests import get_request

    row = get_request(station.database(), request_id)
    text = (f"{row.request_id}  received {row.received_at}  state {row.state}\n"
            f"patient {row.patient_name} {row.patient_hetu} -> {row.destination}\n"
            + decision_text(Decision.from_json(row.decision_json)))
    station.emit(row_document(row, full=True), text)


@request.command("list")
@click.option("--decision", type=click.Choice(["release", "no_release_needed", "route", "needs_consent", "refused"]))
@click.option("--state", help="open, released, ...")
@click.option("--limit", type=click.IntRange(1, 100000), default=200, show_default=True)
@json_option
@pass_station
def request_list(station: Station, decision: str | None, state: str | None, limit: int) -> None:
    """List stored requests, newest first."""
    from mediastation.store.requests import RequestRepository

    rows = RequestRepository(station.database()).list(decision=decision, state=state, limit=limit)
    line = "{:<11}  {:<16}  {:<17} {:<13} {:<9} {}".format
    lines = [line(r.request_id, received_text(r.received_at), r.decision, r.channel or "-", r.state,
                  f"{r.patient_name} -> {r.destination}") for r in rows]
    header = line("request", "received", "decision", "channel", "state", "patient -> destination")
    station.emit({"requests": [row_document(r, full=False) for r in rows]},
                 "\n".join([header, *lines]) if lines else "no requests")


def received_text(value: str) -> str:
    """A stored receipt time (ISO 8601, any offset) as Helsinki wall-clock time, to the minute."""
    from datetime import datetime

    from mediastation.domain.request import HELSINKI

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value[:16]
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(HELSINKI).strftime("%Y-%m-%d %H:%M")
