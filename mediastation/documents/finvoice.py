"""Finvoice 3.0 XML for the billing office: one invoice per payer and period (domain.md §6).

The file is what the invoicing system imports: seller, buyer, invoice details with totals and the
VAT specification, and one `InvoiceRow` per invoice line. Amounts use a decimal comma
(`-?[0-9]+,[0-9]{2}`), elements follow the schema's order, and the totals are the sums of the
rows (each row is already rounded to cents, so nothing is rounded again). Payment details
(EpiDetails: bank account, reference number) are the invoicing system's to add when it issues
the invoice, and the transmission envelope its operator's.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Sequence

from mediastation.domain.pricing import InvoiceLine, Seller, decimal_text, totals

XSI = "http://www.w3.org/2001/XMLSchema-instance"
UNIT_CODES = {"study": "tutkimus", "medium": "tallenne", "job": "kerta", "shipment": "lähetys"}
ET.register_namespace("xsi", XSI)


@dataclass(frozen=True)
class FinvoiceFile:
    invoice_number: str
    payer: str
    xml: bytes
    net: Decimal
    vat: Decimal
    gross: Decimal


def amount(value: Decimal) -> str:
    """Finvoice amount: decimal comma, two decimals, no '-0,00'."""
    text = f"{value:.2f}".replace(".", ",")
    return "0,00" if text == "-0,00" else text


def percent(value: Decimal) -> str:
    return decimal_text(value).replace(".", ",")


def invoice_number(payer: str, lines: Sequence[InvoiceLine], end: date) -> str:
    """Deterministic (the same lines give the same number) and at most 20 characters."""
    digest = hashlib.sha256("|".join([payer, *(line.line_id for line in lines)]).encode()).hexdigest()
    return f"MS-{end:%Y%m%d}-{digest[:8].upper()}"


def finvoice_invoice(*, seller: Seller, payer: str, lines: Sequence[InvoiceLine], start: date, end: date,
                     buyer_id: str | None = None) -> FinvoiceFile:
    """The Finvoice 3.0 document of one payer's lines in [start, end]. `buyer_id`: the payer's
    business ID (Y-tunnus), BuyerPartyIdentifier; left out when unknown (never the name: the
    invoicing system matches customers by it)."""
    if not lines:
        raise ValueError("an invoice needs at least one line")
    if any(line.payer != payer for line in lines):
        raise ValueError("every line of an invoice has the same payer")
    currency = lines[0].currency
    sums = totals(lines)
    number = invoice_number(payer, lines, end)
    root = ET.Element("Finvoice", {"Version": "3.0", f"{{{XSI}}}noNamespaceSchemaLocation": "Finvoice3.0.xsd"})
    _seller(root, seller)
    buyer = ET.SubElement(root, "BuyerPartyDetails")
    if buyer_id:
        _text(buyer, "BuyerPartyIdentifier", buyer_id)
    _text(buyer, "BuyerOrganisationName", payer)
    details = ET.SubElement(root, "InvoiceDetails")
    credit_note = sums.gross < 0
    _text(details, "InvoiceTypeCode", "INV02" if credit_note else "INV01")
    _text(details, "InvoiceTypeText", "HYVITYSLASKU" if credit_note else "LASKU")
    _text(details, "OriginCode", "Original")
    _text(details, "InvoiceNumber", number)
    _date(details, "InvoiceDate", end)
    _date(details, "InvoicingPeriodStartDate", start)
    _date(details, "InvoicingPeriodEndDate", end)
    _money(details, "InvoiceTotalVatExcludedAmount", sums.net, currency)
    _money(details, "InvoiceTotalVatAmount", sums.vat, currency)
    _money(details, "InvoiceTotalVatIncludedAmount", sums.gross, currency)
    for group in sums.breakdown:
        spec = ET.SubElement(details, "VatSpecificationDetails")
        _money(spec, "VatBaseAmount", group.net, currency)
        _text(spec, "VatRatePercent", percent(group.vat_rate))
        _text(spec, "VatCode", group.vat_code)
        _money(spec, "VatRateAmount", group.vat, currency)
    _text(details, "InvoiceFreeText", f"Kuvantamistallenteet / imaging media {start.isoformat()} - {end.isoformat()}")
    for line in lines:
        _row(root, line)
    ET.indent(root)
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")
    return FinvoiceFile(number, payer, xml, sums.net, sums.vat, sums.gross)


def _seller(root: ET.Element, seller: Seller) -> None:
    party = ET.SubElement(root, "SellerPartyDetails")
    if seller.business_id:
        _text(party, "SellerPartyIdentifier", seller.business_id)
    _text(party, "SellerOrganisationName", seller.name)
    if seller.street and seller.city and seller.postal_code:
        address = ET.SubElement(party, "SellerPostalAddressDetails")
        _text(address, "SellerStreetName", seller.street)
        _text(address, "SellerTownName", seller.city)
        _text(address, "SellerPostCodeIdentifier", seller.postal_code)
        _text(address, "CountryCode", seller.country or "FI")


def _row(root: ET.Element, line: InvoiceLine) -> None:
    row = ET.SubElement(root, "InvoiceRow")
    _text(row, "ArticleIdentifier", line.item_code)
    _text(row, "ArticleName", line.item_name[:100])
    quantity = _text(row, "InvoicedQuantity", str(line.quantity))
    quantity.set("QuantityUnitCode", UNIT_CODES.get(line.unit, line.unit))
    _money(row, "UnitPriceAmount", line.unit_price, line.currency)
    _text(row, "RowIdentifier", line.line_id)
    _date(row, "RowDeliveryDate", line.service_date)
    _text(row, "RowAccountDimensionText", line.cost_centre)
    free = f"{line.reference}" + (f"; {line.note}" if line.note else "")
    _text(row, "RowFreeText", free[:512])
    _text(row, "RowVatRatePercent", percent(line.vat_rate))
    _text(row, "RowVatCode", line.vat_code)
    _money(row, "RowVatAmount", line.vat, line.currency)
    _money(row, "RowVatExcludedAmount", line.net, line.currency)
    _money(row, "RowAmount", line.gross, line.currency)


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = value
    return element


def _money(parent: ET.Element, tag: str, value: Decimal, currency: str) -> None:
    _text(parent, tag, amount(value)).set("AmountCurrencyIdentifier", currency)


def _date(parent: ET.Element, tag: str, value: date) -> None:
    _text(parent, tag, value.strftime("%Y%m%d")).set("Format", "CCYYMMDD")
