"""Invoice lines from billable events, credits, and exports for the billing office (R17-R19).

`bill_event` is what the export and import jobs call once they have done the billable thing; it
is idempotent by the event's key, so a job resumed after a crash bills nothing twice. Lines are
never edited: `credit_line` adds a line with negated amounts naming the original. An export reads
the lines of a period in a stable order, so exporting a period twice gives the same lines; marking
them sent lets the next export leave them out.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Literal

from mediastation.domain.pricing import (
    LINE_COLUMNS,
    BillableEvent,
    InvalidEvent,
    InvoiceLine,
    NoPriceInForce,
    PriceList,
    PriceListInvalid,
    Seller,
    Totals,
    business_id,
    credit,
    parse_price_list,
    price,
    totals,
)
from mediastation.errors import InputError, MediaStationError, NotFoundError, disk_error
from mediastation.files import part_path, publish
from mediastation.store.billing import InvoiceLineRepository
from mediastation.store.db import Database
from mediastation.workflows.shipments import today

ExportFormat = Literal["csv", "json", "finvoice"]
FORMATS = ("csv", "json", "finvoice")


class PriceListError(InputError):
    """The price list file is missing or refused: every problem with its line."""

    code = "price_list_invalid"


class BillingRefused(MediaStationError):
    """A billing action the rules do not allow (a second credit, a credit of a credit)."""

    code = "billing_refused"


def load_price_list(path: Path) -> PriceList:
    """Read and validate the billing office's price list file."""
    if not path.is_file():
        raise PriceListError(f"price list {path} does not exist: `mediastation init` installs the example list, "
                             "or set [pricing] price_list in station.toml", details={"file": str(path)})
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceListError(f"price list {path} cannot be read: {exc}", details={"file": str(path)}) from None
    try:
        return parse_price_list(text, source=str(path))
    except PriceListInvalid as exc:
        raise PriceListError(str(exc), details={"file": str(path),
                                                "problems": [p.to_json() for p in exc.problems]}) from None


EXAMPLE_WARNING = ("the price list holds EXAMPLE values: replace it with the current HUS Diagnostiikkakeskus "
                   "price list and set status = \"in_force\"")


def price_list_warnings(path: Path) -> list[str]:
    """What to tell whoever sets up or bills with the price list at `path` without refusing: that
    its prices are only examples (the list `init` installs), naming the file."""
    try:
        price_list = load_price_list(path)
    except PriceListError:
        return []  # a broken list is refused where it is used; here only warnings are collected
    return [f"{path}: {EXAMPLE_WARNING}"] if price_list.is_example else []


def finvoice_parties(path: Path) -> tuple[Seller, PriceList | None]:
    """Who a Finvoice export names: the seller and the payers' business IDs of the price list at
    `path` when there is one, else the built-in seller (`billing export` and the desk alike)."""
    if not path.is_file():
        return Seller(), None
    prices = load_price_list(path)
    return prices.seller, prices


def export_summary(result: "ExportResult", *, fmt: str, start: date, end: date, price_list: Path) -> dict[str, object]:
    """The `billing export --json` summary: format, period, count, files, totals and every warning
    (an example price list, payers without a business ID)."""
    summary: dict[str, object] = {"format": fmt, "from": start.isoformat(), "to": end.isoformat(), **result.summary()}
    warnings = price_list_warnings(price_list) + result.warnings
    if warnings:
        summary["warnings"] = warnings
    return summary


def bill_event(database: Database, event: BillableEvent, price_list: PriceList, *, actor: str = "station") -> list[str]:
    """The ids of the event's invoice lines, creating them on the first call (R17-R19).

    Later calls with the same `event.key` return the first call's lines whatever the price list
    says by then. An event that bills nothing (R17, an exempt payer, an unmapped item) gives [].
    """
    repository = InvoiceLineRepository(database)
    existing = repository.by_event(event.key)
    if existing:
        return [line.line_id for line in existing]
    try:
        drafts = price(event, price_list)
    except NoPriceInForce as exc:
        raise PriceListError(str(exc)) from None
    except InvalidEvent as exc:
        raise InputError(str(exc)) from None
    if not drafts:
        return []
    lines, _created = repository.add(drafts, actor=actor)
    return [line.line_id for line in lines]


def get_line(database: Database, line_id: str) -> InvoiceLine:
    line = InvoiceLineRepository(database).get(line_id)
    if line is None:
        raise NotFoundError(f"no invoice line {line_id!r}; `mediastation billing export` lists them")
    return line


def credit_line(database: Database, line_id: str, reason: str, *, actor: str = "station",
                on: date | None = None) -> InvoiceLine:
    """A credit line cancelling `line_id` (negated quantity and amounts), dated `on` (today)."""
    repository = InvoiceLineRepository(database)
    original = get_line(database, line_id)
    if not reason.strip():
        raise InputError("a credit needs --reason saying what was wrong")
    if original.credit_of is not None:
        raise BillingRefused(f"{original.line_id} is itself a credit of {original.credit_of}; it cannot be credited",
                             details={"line_id": original.line_id})
    existing = repository.credit_of(original.line_id)
    if existing is not None:
        raise BillingRefused(f"{original.line_id} was already credited by {existing.line_id}",
                             details={"line_id": original.line_id, "credit_line_id": existing.line_id})
    lines, created = repository.add([credit(original, on=on or today(), reason=reason)], actor=actor)
    if not created:  # another station credited it at the same moment
        raise BillingRefused(f"{original.line_id} was already credited by {lines[0].line_id}",
                             details={"line_id": original.line_id, "credit_line_id": lines[0].line_id})
    return lines[0]


@dataclass
class ExportResult:
    lines: list[InvoiceLine]
    totals: Totals
    files: list[Path] = field(default_factory=list)
    text: str | None = None  # the CSV or JSON text when no --out was given
    marked_sent: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        summary: dict[str, object] = {
            "count": len(self.lines), "files": [str(p) for p in self.files], "marked_sent": self.marked_sent,
            "totals": {"net": str(self.totals.net), "vat": str(self.totals.vat), "gross": str(self.totals.gross)}}
        if self.warnings:
            summary["warnings"] = list(self.warnings)
        return summary


def export_lines(database: Database, *, start: date, end: date, fmt: ExportFormat, out: Path | None = None,
                 unsent_only: bool = False, mark_sent: bool = False, seller: Seller | None = None,
                 price_list: PriceList | None = None) -> ExportResult:
    """The lines whose service date is in [start, end] as CSV, JSON or Finvoice files.

    Files are written whole or not at all (staged, then renamed); `mark_sent` marks the exported
    lines sent only after the output exists.
    """
    if end < start:
        raise InputError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    if fmt not in FORMATS:
        raise InputError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    _check_out(fmt, out)
    repository = InvoiceLineRepository(database)
    lines = repository.in_period(start, end, unsent_only=unsent_only)
    result = ExportResult(lines, totals(lines))
    if fmt == "finvoice":
        if out is None:
            raise InputError("--format finvoice writes one file per payer: give --out DIR")
        result.files, result.warnings = _write_finvoice(out, lines, start, end, seller or Seller(), price_list)
    else:
        text = lines_csv(lines) if fmt == "csv" else json.dumps(lines_document(lines), ensure_ascii=False, indent=2) + "\n"
        if out is None:
            result.text = text
        else:
            _write_files({out: text.encode("utf-8")})
            result.files = [out.resolve()]
    if mark_sent:
        result.marked_sent = repository.mark_sent([line.line_id for line in lines], datetime.now(timezone.utc))
    return result


def _check_out(fmt: str, out: Path | None) -> None:
    """--out must be what the format writes: one file (csv, json) or a folder (finvoice, one file
    per payer); said in a sentence instead of the error of the rename that would fail."""
    if out is None:
        return
    if fmt == "finvoice" and out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; the Finvoice export writes one file per payer into a folder: "
                         "give a folder (it is created when missing)", details={"out": str(out)})
    if fmt != "finvoice" and out.is_dir():
        raise InputError(f"--out {out} is a folder; the {fmt} export is one file: give its name, e.g. "
                         f"{out / f'invoice_lines.{fmt}'}", details={"out": str(out)})


def lines_document(lines: list[InvoiceLine]) -> dict[str, object]:
    """interfaces.md: {"lines": [...]} with amounts as decimal strings."""
    return {"lines": [line.to_json() for line in lines]}


def lines_csv(lines: list[InvoiceLine]) -> str:
    """The JSON document's columns, comma-separated with a header row (UTF-8 when written)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(LINE_COLUMNS))
    writer.writeheader()
    for line in lines:
        writer.writerow({key: "" if value is None else value for key, value in line.to_json().items()})
    return buffer.getvalue()


def _write_finvoice(folder: Path, lines: list[InvoiceLine], start: date, end: date, seller: Seller,
                    price_list: PriceList | None) -> tuple[list[Path], list[str]]:
    """One Finvoice file per payer; (the files, a warning naming every payer without a business ID)."""
    from mediastation.documents.finvoice import finvoice_invoice

    by_payer: dict[str, list[InvoiceLine]] = {}
    for line in lines:
        by_payer.setdefault(line.payer, []).append(line)
    staged: dict[Path, bytes] = {}
    unidentified = []
    for payer in sorted(by_payer):
        buyer_id = price_list.buyer_id(payer) if price_list is not None else business_id(payer)
        if buyer_id is None:
            unidentified.append(payer)
        invoice = finvoice_invoice(seller=seller, payer=payer, lines=by_payer[payer], start=start, end=end,
                                   buyer_id=buyer_id)
        name = f"finvoice_{start:%Y%m%d}-{end:%Y%m%d}_{_slug(payer)}_{invoice.invoice_number[-8:]}.xml"
        staged[folder / name] = invoice.xml
    _write_files(staged)
    warnings = [f"no business ID (Y-tunnus) for {', '.join(unidentified)}: their invoices name no "
                "BuyerPartyIdentifier; add each as [[payers]] name and business_id in the price list"] if unidentified else []
    return [path.resolve() for path in staged], warnings


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:40] or "payer"


def _write_files(files: dict[Path, bytes]) -> None:
    """Stage every file beside its target, then rename them into place: a file that cannot be
    staged leaves every target as it was."""
    staged: list[tuple[Path, Path]] = []
    current: Path | None = None
    try:
        for path, data in files.items():
            current = path
            path.parent.mkdir(parents=True, exist_ok=True)
            part = part_path(path)
            staged.append((part, path))
            part.write_bytes(data)
        for part, path in staged:
            current = path
            publish(part, path)
    except OSError as exc:
        for part, _path in staged:
            with contextlib.suppress(OSError):  # a read-only disk refuses even this
                part.unlink(missing_ok=True)
        exc.filename = str(current) if current else exc.filename  # the file asked for, not its part file
        raise disk_error(exc, then="then run the billing export again") from None


EXAMPLE_PRICE_LIST = "data/price_list.example.toml"


def install_example_price_list(path: Path) -> bool:
    """`init`: put the example price list (clearly marked as such) where the station looks for
    the price list, unless a file is already there; True when it was installed."""
    from importlib.resources import files

    if path.exists():
        return False
    data = files("mediastation").joinpath(EXAMPLE_PRICE_LIST).read_bytes()
    _write_files({path: data})
    return True
