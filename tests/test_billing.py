"""Invoice lines on SQLite and PostgreSQL: billed once, immutable, credited, exported (R17-R19)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError as SADatabaseError

from mediastation.domain.pricing import BillableEvent, PriceList, Seller, parse_price_list
from mediastation.store import Database
from mediastation.store.billing import InvoiceLineRepository
from mediastation.workflows import billing
from mediastation.workflows.billing import bill_event, credit_line, export_lines

CONTRACT_COLUMNS = ["line_id", "service_date", "item_code", "item_name", "quantity", "unit", "unit_price", "vat_code",
                    "vat_rate", "net", "vat", "gross", "currency", "payer", "cost_centre", "reference", "credit_of"]

PRICE_LIST = """
status = "in_force"
currency = "EUR"

[seller]
name = "HUS-yhtymä, HUS Diagnostiikkakeskus"
business_id = "1567535-0"

[events]
import = ["IMPORT"]
postage = ["POSTAGE"]
[events.media_export]
cd = ["COPY", "HANDLING"]
dvd = ["COPY"]
usb = ["COPY"]

[[versions]]
valid_from = 2026-01-01
{items}
"""
ITEMS = """
  [[versions.items]]
  code = "{code}"
  name_fi = "{code} nimi"
  name_sv = "{code} namn"
  name_en = "{code} name"
  unit = "{unit}"
  tiers = {tiers}
  vat_code = "{vat_code}"
  vat_rate = {vat_rate}
  cost_centre = "KP-4711"
  exempt_payer_categories = ["patient_own"]
"""


def price_list() -> PriceList:
    items = "".join(ITEMS.format(code=c, unit=u, tiers=t, vat_code=vc, vat_rate=vr) for c, u, t, vc, vr in [
        ("COPY", "study", "[{ from_quantity = 1, price = 25.00 }, { from_quantity = 2, price = 50.00 }]", "E", 0),
        ("HANDLING", "medium", "[{ from_quantity = 1, price = 3.33, per_unit = true }]", "S", "25.5"),
        ("IMPORT", "study", "[{ from_quantity = 1, price = 20.00 }, { from_quantity = 2, price = 4.00, per_unit = true }]",
         "E", 0),
        ("POSTAGE", "shipment", "[{ from_quantity = 1, price = 3.50 }]", "S", "25.5"),
    ])
    return parse_price_list(PRICE_LIST.format(items=items))


def export_event(key: str = "export:J-1", *, payer: str = "1234567-1", day: date = date(2026, 11, 3),
                 studies: int = 2, media: int = 2, kind: str = "media_export", category: str = "organisation") -> BillableEvent:
    return BillableEvent(key=key, kind=kind, service_date=day, payer=payer, payer_category=category,
                         reference="R-ABCD-EFGH", studies=studies, media=media,
                         medium_kind="cd" if kind == "media_export" else None)


def test_a_retried_event_is_billed_once(database: Database) -> None:
    first = bill_event(database, export_event(), price_list(), actor="export")
    assert len(first) == 2
    assert bill_event(database, export_event(), price_list(), actor="export") == first
    lines = InvoiceLineRepository(database).by_event("export:J-1")
    assert {(l.item_code, l.net, l.vat, l.gross) for l in lines} == {
        ("COPY", Decimal("50.00"), Decimal("0.00"), Decimal("50.00")),
        ("HANDLING", Decimal("6.66"), Decimal("1.70"), Decimal("8.36")),  # 6.66 * 25.5 % = 1.6983 -> 1.70
    }
    assert all(isinstance(l.net, Decimal) for l in lines)


def test_money_is_stored_as_exact_text(database: Database) -> None:
    bill_event(database, export_event(), price_list())
    with database.engine.connect() as conn:
        stored = set(conn.execute(text("SELECT vat FROM invoice_lines")).scalars())
    assert stored == {"0.00", "1.70"}


def test_unbilled_releases_and_exempt_payers_make_no_lines(database: Database) -> None:
    for n, kind in enumerate(("electronic", "register_copy")):
        assert bill_event(database, export_event(f"e{n}", kind=kind, media=0), price_list()) == []
    assert bill_event(database, export_event("own", category="patient_own"), price_list()) == []
    assert export_lines(database, start=date(2026, 1, 1), end=date(2026, 12, 31), fmt="json").lines == []


def test_an_event_with_no_price_in_force_is_refused(database: Database) -> None:
    with pytest.raises(billing.PriceListError, match="no price list version is in force on 2025-12-31"):
        bill_event(database, export_event(day=date(2025, 12, 31)), price_list())


def test_lines_are_immutable_in_the_database(database: Database) -> None:
    (line_id, _) = bill_event(database, export_event(), price_list())
    for statement in (f"UPDATE invoice_lines SET net = '1.00' WHERE line_id = '{line_id}'",
                      f"DELETE FROM invoice_lines WHERE line_id = '{line_id}'"):
        with pytest.raises(SADatabaseError, match="immutable"):
            with database.engine.begin() as conn:
                conn.execute(text(statement))
    assert InvoiceLineRepository(database).mark_sent([line_id], billing.datetime.now(billing.timezone.utc)) == 1
    with pytest.raises(SADatabaseError, match="immutable"):
        with database.engine.begin() as conn:
            conn.execute(text(f"UPDATE invoice_lines SET sent_at = NULL WHERE line_id = '{line_id}'"))


def test_a_credit_line_cancels_the_original_once(database: Database) -> None:
    ids = bill_event(database, export_event(), price_list())
    handling = next(l for l in map(billing.get_line, [database] * 2, ids) if l.item_code == "HANDLING")
    back = credit_line(database, handling.line_id, "billed to the wrong unit", actor="billing", on=date(2026, 11, 20))
    assert back.credit_of == handling.line_id and back.quantity == -2
    assert (back.net, back.vat, back.gross) == (Decimal("-6.66"), Decimal("-1.70"), Decimal("-8.36"))
    assert back.service_date == date(2026, 11, 20) and "wrong unit" in back.note
    with pytest.raises(billing.BillingRefused, match=f"already credited by {back.line_id}"):
        credit_line(database, handling.line_id, "again")
    with pytest.raises(billing.BillingRefused, match="itself a credit"):
        credit_line(database, back.line_id, "credit the credit")
    assert billing.get_line(database, handling.line_id).net == Decimal("6.66")  # the original is unchanged
    month = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="json")
    assert month.totals.gross == Decimal("50.00")


def test_exporting_a_period_twice_gives_the_same_lines(database: Database) -> None:
    bill_event(database, export_event("a", day=date(2026, 11, 2)), price_list())
    bill_event(database, export_event("b", day=date(2026, 11, 30), payer="7654321-2"), price_list())
    bill_event(database, export_event("outside", day=date(2026, 12, 1)), price_list())
    first = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="json")
    second = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="json")
    assert first.text == second.text and len(first.lines) == 4
    assert {l["service_date"] for l in json.loads(first.text or "")["lines"]} == {"2026-11-02", "2026-11-30"}


def test_marked_lines_are_left_out_of_an_unsent_export(database: Database, tmp_path: Path) -> None:
    bill_event(database, export_event("a"), price_list())
    out = tmp_path / "lines.csv"
    sent = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="csv", out=out,
                        unsent_only=True, mark_sent=True)
    assert sent.marked_sent == 2 and sent.files == [out.resolve()]
    bill_event(database, export_event("b"), price_list())
    later = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="json", unsent_only=True)
    assert {l.event_key for l in later.lines} == {"b"}
    everything = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="json")
    assert len(everything.lines) == 4


def test_csv_has_the_contract_columns_and_decimal_strings(database: Database) -> None:
    bill_event(database, export_event(), price_list())
    result = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="csv")
    rows = list(csv.reader(io.StringIO(result.text or "")))
    assert rows[0][:len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    records = list(csv.DictReader(io.StringIO(result.text or "")))
    copy = next(r for r in records if r["item_code"] == "COPY")
    assert (copy["net"], copy["unit_price"], copy["vat_rate"], copy["quantity"]) == ("50.00", "25.00", "0", "2")
    assert copy["item_name"] == "COPY nimi" and copy["cost_centre"] == "KP-4711" and copy["credit_of"] == ""


def _amount(element: ET.Element | None) -> Decimal:
    assert element is not None and element.get("AmountCurrencyIdentifier") == "EUR"
    assert element.text and "." not in element.text
    return Decimal(element.text.replace(",", "."))


def test_finvoice_files_per_payer_with_totals_equal_to_the_rows(database: Database, tmp_path: Path) -> None:
    bill_event(database, export_event("a", studies=1, media=1), price_list())
    bill_event(database, export_event("b", studies=3, media=3), price_list())
    bill_event(database, export_event("c", kind="postage", studies=0, media=0), price_list())
    bill_event(database, export_event("d", payer="7654321-2", kind="import", studies=3, media=1), price_list())
    to_credit = InvoiceLineRepository(database).by_event("a")[0]
    credit_line(database, to_credit.line_id, "duplicate", on=date(2026, 11, 10))
    out = tmp_path / "finvoice"
    seller = price_list().seller
    result = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="finvoice", out=out,
                          seller=seller)
    assert len(result.files) == 2 and all(p.parent == out.resolve() for p in result.files)
    payers = {}
    for path in result.files:
        root = ET.parse(path).getroot()
        assert root.tag == "Finvoice" and root.get("Version") == "3.0"
        assert root.findtext("SellerPartyDetails/SellerPartyIdentifier") == "1567535-0"
        rows = root.findall("InvoiceRow")
        details = root.find("InvoiceDetails")
        assert details is not None
        net = sum((_amount(r.find("RowVatExcludedAmount")) for r in rows), Decimal(0))
        vat = sum((_amount(r.find("RowVatAmount")) for r in rows), Decimal(0))
        gross = sum((_amount(r.find("RowAmount")) for r in rows), Decimal(0))
        assert _amount(details.find("InvoiceTotalVatExcludedAmount")) == net
        assert _amount(details.find("InvoiceTotalVatAmount")) == vat
        assert _amount(details.find("InvoiceTotalVatIncludedAmount")) == gross == net + vat
        specs = details.findall("VatSpecificationDetails")
        assert sum((_amount(s.find("VatBaseAmount")) for s in specs), Decimal(0)) == net
        assert sum((_amount(s.find("VatRateAmount")) for s in specs), Decimal(0)) == vat
        for row in rows:
            assert row.findtext("RowAccountDimensionText") == "KP-4711"
            assert row.find("InvoicedQuantity").get("QuantityUnitCode")  # type: ignore[union-attr]
            assert row.findtext("RowVatCode") in {"S", "E"}
            assert [child.tag for child in row][-5:] == ["RowVatRatePercent", "RowVatCode", "RowVatAmount",
                                                         "RowVatExcludedAmount", "RowAmount"]
        payers[root.findtext("BuyerPartyDetails/BuyerPartyIdentifier")] = (len(rows), gross, root)
    rows, gross, root = payers["1234567-1"]
    # a: COPY 25 + HANDLING 3.33+0.85; b: COPY 50 + HANDLING 9.99+2.55; c: POSTAGE 3.50+0.89; credit of a's COPY -25
    assert rows == 6 and gross == Decimal("71.11")
    assert {r.findtext("RowVatRatePercent") for r in root.findall("InvoiceRow")} == {"0", "25,5"}
    assert payers["7654321-2"][:2] == (1, Decimal("28.00"))
    again = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="finvoice", out=out,
                         seller=seller)
    assert [p.read_bytes() for p in again.files] == [p.read_bytes() for p in result.files]


def test_a_credit_only_invoice_is_a_credit_note(database: Database, tmp_path: Path) -> None:
    (line_id, _) = bill_event(database, export_event("a", day=date(2026, 10, 30)), price_list())
    credit_line(database, line_id, "refund", on=date(2026, 11, 2))
    result = export_lines(database, start=date(2026, 11, 1), end=date(2026, 11, 30), fmt="finvoice",
                          out=tmp_path, seller=Seller())
    root = ET.parse(result.files[0]).getroot()
    assert root.findtext("InvoiceDetails/InvoiceTypeCode") == "INV02"
    assert root.findtext("InvoiceDetails/InvoiceTotalVatIncludedAmount") == "-50,00"
    assert root.findtext("InvoiceRow/InvoicedQuantity") == "-2"
