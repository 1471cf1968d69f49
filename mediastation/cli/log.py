"""`log`: the disclosure log (luovutusloki, R13)."""

from __future__ import annotations

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.cli.request import actor
from mediastation.errors import EXIT_OK, EXIT_REFUSED


@click.group()
def log() -> None:
    """The disclosure log: who received whose images, when and why."""


@log.command("record")
@click.argument("request_id")
@click.option("--channel", type=click.Choice(["cd", "dvd", "usb", "electronic", "register_copy"]),
              help="How it was released (default: the decision's channel).")
@click.option("--medium-id", help="The medium's or transfer's identifier.")
@click.option("--shipment-id", help="The shipment it travels in.")
@click.option("--note", default="", help="Free text kept with the entry.")
@click.option("--again", is_flag=True, help="Record a second release of the same request.")
@click.option("--by", help="Who released it (default: MEDIASTATION_USER or the logged-in user).")
@json_option
@pass_station
def log_record(station: Station, request_id: str, channel: str | None, medium_id: str | None,
               shipment_id: str | None, note: str, again: bool, by: str | None) -> None:
    """Record a release done outside the station (a register copy in the PACS, a transfer)."""
    from mediastation.workflows.requests import entry_document, record_release

    entry = record_release(station.database(), request_id, actor=actor(by), station=station.settings.station.name,
                           channel=channel, medium_id=medium_id, shipment_id=shipment_id, note=note, again=again)
    station.emit(entry_document(entry), f"disclosure log entry {entry.seq} recorded ({entry.entry_hash[:16]}…)")


@log.command("correct")
@click.argument("seq", type=int)
@click.option("--note", required=True, help="What was wrong in the entry.")
@click.option("--by", help="Who corrects it.")
@json_option
@pass_station
def log_correct(station: Station, seq: int, note: str, by: str | None) -> None:
    """Add a correction of entry SEQ (entries are never edited or deleted)."""
    from mediastation.workflows.requests import correct_entry, entry_document

    entry = correct_entry(station.database(), seq, note=note, actor=actor(by), station=station.settings.station.name)
    station.emit(entry_document(entry), f"correction entry {entry.seq} of entry {seq} recorded")


@log.command("patient")
@click.argument("hetu")
@json_option
@pass_station
def log_patient(station: Station, hetu: str) -> None:
    """A patient's disclosures (their right under act 703/2023 § 11)."""
    from mediastation.workflows.requests import patient_disclosures

    entries = patient_disclosures(station.database(), hetu)
    lines = []
    for e in entries:
        studies = ", ".join(f"{s['accession_number']} {s.get('study_description') or ''}".strip() for s in e["released"])
        fix = f" (corrects entry {e['correction_of']}: {e['note']})" if e.get("correction_of") else ""
        lines.append(f"{e['seq']:>5} {e['recorded_at']} to {e['recipient'].get('name')} via {e['channel']} "
                     f"basis {e['basis'].get('kind')} by {e['actor']}: {studies}{fix}")
    station.emit({"hetu": hetu.strip(), "disclosures": entries},
                 "\n".join(lines) or f"no disclosures recorded for {hetu.strip()}")


@log.command("verify")
@json_option
@pass_station
def log_verify(station: Station) -> int:
    """Check the hash chain: exit 1 when any entry was edited, deleted or inserted."""
    from mediastation.workflows.requests import verify_log

    result = verify_log(station.database())
    text = (f"disclosure log intact: {result['entries']} entries, head {result['head_hash']}" if result["ok"]
            else "disclosure log TAMPERED:\n" + "\n".join(f"  {p}" for p in result["problems"]))
    station.emit(result, text)
    return EXIT_OK if result["ok"] else EXIT_REFUSED
