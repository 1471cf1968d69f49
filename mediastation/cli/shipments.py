"""`shipments`: media on their way by post: posted, delivered, returned, lost (R16)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.cli.request import actor


class DateType(click.ParamType):
    """YYYY-MM-DD."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date such as 2026-11-30", param, ctx)


DATE = DateType()


def date_option(help_text: str = "The day it happened (default: today).") -> Any:
    return click.option("--date", "on", type=DATE, default=None, help=help_text)


def _today() -> date:
    from mediastation.workflows.shipments import today

    return today()


SHIPMENT_COLUMNS = "{:<11}  {:<9}  {:<11}  {:<10}  {:<10}  {:<13}  {}".format
SHIPMENT_HEADER = SHIPMENT_COLUMNS("shipment", "state", "request", "posted", "due", "tracking", "recipient")


def shipment_line(document: dict[str, Any]) -> str:
    """One shipment in the columns of SHIPMENT_HEADER."""
    late = "  OVERDUE" if document.get("overdue") else ""
    recipient = document["recipient"]
    return SHIPMENT_COLUMNS(document["shipment_id"], document["state"], document["request_id"],
                            document["posted_on"] or "-", document["due_on"] or "-", document["tracking"] or "-",
                            f"{recipient['name']}, {recipient['city']}{late}")


@click.group()
def shipments() -> None:
    """Media sent by post (R16: delivery needs at least a week)."""


@shipments.command("list")
@click.option("--overdue", is_flag=True, help="Only shipments not delivered whose due date is before --on.")
@click.option("--on", "on", type=DATE, default=None, help="The day to judge overdue on (default: today).")
@click.option("--state", type=click.Choice(["prepared", "posted", "delivered", "returned", "lost", "cancelled"]))
@json_option
@pass_station
def shipments_list(station: Station, overdue: bool, on: date | None, state: str | None) -> None:
    """Shipments and their state, oldest first."""
    from mediastation.workflows.shipments import list_shipments

    day = on or _today()
    found = list_shipments(station.database(), overdue_on=day if overdue else None, state=state)
    documents = [s.to_json(on=day) for s in found]
    empty = "no overdue shipments" if overdue else "no shipments"
    station.emit({"shipments": documents, "on": day.isoformat()},
                 "\n".join([SHIPMENT_HEADER, *(shipment_line(d) for d in documents)]) if documents else empty)


def _emit_change(station: Station, change: Any, verb: str) -> None:
    document = change.to_json(on=_today())
    text = shipment_line(document)
    if not change.changed:
        text += f"\n(already {verb}: nothing changed)"
    station.emit(document, text)


@shipments.command("post")
@click.argument("shipment_id")
@click.option("--tracking", required=True, help="The carrier's tracking code (UPU S10 such as RR123456785FI, or JJFI...).")
@date_option("The posting day (default: today); due = posting + 7 days.")
@click.option("--by", help="Who posted it (default: MEDIASTATION_USER or the logged-in user).")
@json_option
@pass_station
def shipments_post(station: Station, shipment_id: str, tracking: str, on: date | None, by: str | None) -> None:
    """Mark a shipment posted with its tracking code."""
    from mediastation.workflows.shipments import post

    _emit_change(station, post(station.database(), shipment_id, on=on or _today(), tracking=tracking,
                               actor=actor(by)), "posted")


def _simple_command(name: str, verb: str, doc: str) -> None:
    @shipments.command(name, help=doc)
    @click.argument("shipment_id")
    @date_option()
    @click.option("--note", default="", help="Free text kept with the event.")
    @click.option("--by", help="Who records it (default: MEDIASTATION_USER or the logged-in user).")
    @json_option
    @pass_station
    def command(station: Station, shipment_id: str, on: date | None, note: str, by: str | None) -> None:
        from mediastation.workflows import shipments as flows

        database, day, who = station.database(), on or _today(), actor(by)
        if name == "returned":
            change = flows.returned(database, shipment_id, on=day, actor=who, note=note,
                                    station=station.settings.station.name)
        else:
            change = getattr(flows, {"delivered": "delivered", "lost": "lost", "cancel": "cancel"}[name])(
                database, shipment_id, on=day, actor=who, note=note)
        _emit_change(station, change, verb)


_simple_command("delivered", "delivered", "Mark a posted shipment delivered.")
_simple_command("returned", "returned",
                "Mark a posted shipment returned: the request opens again and the disclosure log notes the return.")
_simple_command("lost", "lost", "Mark a posted shipment lost.")
_simple_command("cancel", "cancelled", "Cancel a shipment that was not posted.")
