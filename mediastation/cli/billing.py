"""`billing`: invoice lines for the billing office, credits, and the price list (R17-R19)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from mediastation.cli.context import Station, json_option, pass_station, stderr
from mediastation.cli.request import actor
from mediastation.cli.shipments import DATE
from mediastation.errors import InputError



def price_list_path(station: Station, file: str | None = None) -> Path:
    return Path(file).expanduser().resolve() if file else station.path(station.settings.pricing.price_list)


@click.group()
def billing() -> None:
    """Invoice lines (laskutusrivit) and the price list (hinnasto)."""


@billing.command("export")
@click.option("--from", "start", type=DATE, required=True, help="First service date (inclusive).")
@click.option("--to", "end", type=DATE, required=True, help="Last service date (inclusive).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "finvoice"]), required=True)
@click.option("--out", type=click.Path(path_type=Path),
              help="csv/json: the file to write (default: stdout); finvoice: the folder for one file per payer.")
@click.option("--unsent", is_flag=True, help="Leave out lines already marked sent.")
@click.option("--mark-sent", is_flag=True, help="Mark the exported lines sent once the output is written.")
@json_option
@pass_station
def billing_export(station: Station, start: date, end: date, fmt: str, out: Path | None, unsent: bool,
                   mark_sent: bool) -> None:
    """Invoice lines whose service date is in the period, as CSV, JSON or Finvoice 3.0 files."""
    from mediastation.domain.pricing import Seller
    from mediastation.workflows.billing import export_lines, export_summary, finvoice_parties, lines_document

    if fmt == "csv" and out is None and station.json:
        raise InputError("--json prints one JSON document: with --format csv give --out FILE (or use --format json)")
    seller, prices = finvoice_parties(price_list_path(station)) if fmt == "finvoice" else (Seller(), None)
    result = export_lines(station.database(), start=start, end=end, fmt=fmt, out=out.resolve() if out else None,  # type: ignore[arg-type]
                          unsent_only=unsent, mark_sent=mark_sent, seller=seller, price_list=prices)
    summary = export_summary(result, fmt=fmt, start=start, end=end, price_list=price_list_path(station))
    for warning in summary.get("warnings", []):  # type: ignore[union-attr]
        stderr(f"warning: {warning}")
    if result.text is not None and fmt == "csv":
        click.echo(result.text, nl=False)
        return
    if result.text is not None:
        station.json = True
        station.emit({**lines_document(result.lines), **summary})
        return
    text = (f"{summary['count']} lines, net {summary['totals']['net']} vat {summary['totals']['vat']} "  # type: ignore[index]
            f"gross {summary['totals']['gross']}\n" + "\n".join(f"wrote {p}" for p in summary["files"]))  # type: ignore[index, union-attr]
    if mark_sent:
        text += f"\nmarked {result.marked_sent} lines sent"
    station.emit(summary, text)


@billing.command("credit")
@click.argument("line_id")
@click.option("--reason", required=True, help="What was wrong with the line (kept on the credit line).")
@click.option("--date", "on", type=DATE, default=None, help="The credit's date (default: today).")
@click.option("--by", help="Who credits it (default: MEDIASTATION_USER or the logged-in user).")
@json_option
@pass_station
def billing_credit(station: Station, line_id: str, reason: str, on: date | None, by: str | None) -> None:
    """Add a credit line cancelling LINE_ID (lines are never edited)."""
    from mediastation.workflows.billing import credit_line

    line = credit_line(station.database(), line_id, reason, actor=actor(by), on=on)
    station.emit(line.to_json(), f"{line.line_id}: credit of {line.credit_of}, net {line.net} gross {line.gross}")


@billing.group("price-list")
def price_list() -> None:
    """The billing office's price list file."""


@price_list.command("check")
@click.argument("file", required=False)
@json_option
@pass_station
def price_list_check(station: Station, file: str | None) -> None:
    """Validate FILE (default: the configured price list); every problem is named with its line."""
    from mediastation.workflows.billing import EXAMPLE_WARNING, load_price_list

    path = price_list_path(station, file)
    price_list_ = load_price_list(path)
    document: dict[str, Any] = {
        "ok": True, "file": str(path), "status": price_list_.status, "example": price_list_.is_example,
        "title": price_list_.title, "currency": price_list_.currency,
        "events": {key: list(codes) for key, codes in price_list_.events.items()},
        "versions": [{"valid_from": v.valid_from.isoformat(),
                      "valid_to": v.valid_to.isoformat() if v.valid_to else None,
                      "items": [_item_document(item) for item in v.items.values()]} for v in price_list_.versions],
    }
    if price_list_.is_example:
        document["warning"] = EXAMPLE_WARNING
        stderr(f"warning: {EXAMPLE_WARNING}")
    lines = [f"{path}: valid ({price_list_.status})"]
    for version in document["versions"]:
        lines.append(f"  {version['valid_from']} .. {version['valid_to'] or 'until further notice'}: "
                     + ", ".join(item["code"] for item in version["items"]))
    station.emit(document, "\n".join(lines))


def _item_document(item: Any) -> dict[str, Any]:
    from mediastation.domain.pricing import decimal_text

    return {"code": item.code, "name_fi": item.name_fi, "name_sv": item.name_sv, "name_en": item.name_en,
            "unit": item.unit, "vat_code": item.vat_code, "vat_rate": decimal_text(item.vat_rate),
            "cost_centre": item.cost_centre, "exempt_payer_categories": sorted(item.exempt_payer_categories),
            "tiers": [{"from_quantity": t.from_quantity, "price": str(t.price), "per_unit": t.per_unit}
                      for t in item.tiers]}
