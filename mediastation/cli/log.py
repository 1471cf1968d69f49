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
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False), help="Also write the report as a letter (PDF).")
@click.option("--language", type=click.Choice(["fi", "sv", "en"]), help="The letter's language (default: [station] language).")
@json_option
@pass_station
def log_patient(station: Station, hetu: str, pdf: str | None, language: str | None) -> None:
    """A patient's disclosures (their right under act 703/2023 § 11), in Helsinki time; an entry
    that fails the log's verification is marked NOT VERIFIED."""
    from pathlib import Path

    from mediastation.workflows.disclosures import helsinki_time, patient_entries, patient_report

    database = station.database()
    entries = patient_entries(database, hetu)
    lines = []
    for e in entries:
        studies = ", ".join(f"{s['accession_number']} {s.get('study_description') or ''}".strip() for s in e["released"])
        fix = f" (corrects entry {e['correction_of']}: {e['note']})" if e.get("correction_of") else ""
        mark = "" if e["verified"] else "  [NOT VERIFIED: fails the log's verification]"
        when = helsinki_time(e["recorded_at"]).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{e['seq']:>5} {when} to {e['recipient'].get('name')} via {e['channel']} "
                     f"basis {e['basis'].get('kind')} by {e['actor']}: {studies}{fix}{mark}")
    document: dict = {"hetu": hetu.strip(), "disclosures": entries}
    if pdf:
        document["pdf"] = str(patient_report(Path(pdf).resolve(), entries, hetu=hetu.strip(), settings=station.settings,
                                             home=station.home, language=language))
        lines.append(f"report written to {document['pdf']}")
    station.emit(document, "\n".join(lines) or f"no disclosures recorded for {hetu.strip()}")


@log.command("verify")
@click.option("--against", type=click.Path(exists=True, dir_okay=False),
              help="Also check the log against the chain values in the audit repository's messages (a file).")
@click.option("--by", help="Who checks (named in the security alert of a failure).")
@json_option
@pass_station
def log_verify(station: Station, against: str | None, by: str | None) -> int:
    """Check the disclosure log: every entry's chain value under the key, the order, the triggers
    that protect it; exit 1 naming the first bad entry when anything does not fit."""
    from pathlib import Path

    from mediastation.workflows.disclosures import verify_log

    result = verify_log(station.database(), key_file=station.path(station.settings.log.key_file),
                        against=Path(against) if against else None, actor=actor(by))
    anchors = f", {result.anchors['checked']} anchors of the audit repository match" if result.anchors else ""
    text = (f"disclosure log intact: {result.entries} entries, head {result.head_hash}{anchors}" if result.ok
            else "disclosure log TAMPERED"
            + (f" (first bad entry: {result.first_bad_entry})" if result.first_bad_entry is not None else "")
            + ":\n" + "\n".join(f"  {p}" for p in result.problems))
    station.emit(result.to_json(), text)
    return EXIT_OK if result.ok else EXIT_REFUSED
