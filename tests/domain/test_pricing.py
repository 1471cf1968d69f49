"""The price list (R19) and invoice lines priced from it (R17, R18): tiers, VAT, validity, refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib.resources import files

import pytest

from mediastation.domain.pricing import (
    BillableEvent,
    InvalidEvent,
    InvoiceLine,
    NoPriceInForce,
    PriceListInvalid,
    credit,
    parse_price_list,
    price,
    totals,
)

HEADER = """\
status = "in_force"
currency = "EUR"

[events]
import = ["IMPORT"]
postage = ["POSTAGE"]

[events.media_export]
cd = ["COPY"]
dvd = ["COPY"]
usb = ["USB", "HANDLING"]
"""


def item(code: str, tiers: str, *, unit: str = "study", vat: str = 'vat_code = "E"\nvat_rate = 0',
         exempt: str = "[]") -> str:
    return f"""
  [[versions.items]]
  code = "{code}"
  name_fi = "{code} fi"
  name_sv = "{code} sv"
  name_en = "{code} en"
  unit = "{unit}"
  tiers = {tiers}
  {vat}
  cost_centre = "KP-1"
  exempt_payer_categories = {exempt}
"""


VARHA_USB = "[{ from_quantity = 1, price = 25.00 }, { from_quantity = 2, price = 50.00 }]"
VARHA_TRANSFER = "[{ from_quantity = 1, price = 20.00 }, { from_quantity = 2, price = 4.00, per_unit = true }]"


def version(valid_from: str, valid_to: str | None, *items: str) -> str:
    end = f"valid_to = {valid_to}\n" if valid_to else ""
    return f"\n[[versions]]\nvalid_from = {valid_from}\n{end}" + "".join(items)


def standard_items(copy_price: str = "10.00") -> tuple[str, ...]:
    return (
        item("USB", VARHA_USB, exempt='["patient_own"]'),
        item("HANDLING", f"[{{ from_quantity = 1, price = 2.40, per_unit = true }}]", unit="medium",
             vat='vat_code = "S"\nvat_rate = 25.5'),
        item("COPY", f"[{{ from_quantity = 1, price = {copy_price}, per_unit = true }}]"),
        item("IMPORT", VARHA_TRANSFER),
        item("POSTAGE", "[{ from_quantity = 1, price = 3.50 }]", unit="shipment"),
    )


def a_list(*versions: str) -> str:
    return HEADER + "".join(versions or (version("2026-01-01", None, *standard_items()),))


def event(kind: str = "media_export", *, studies: int = 1, media: int = 1, medium: str | None = "usb",
          day: date = date(2026, 3, 2), category: str = "organisation", key: str = "E1") -> BillableEvent:
    return BillableEvent(key=key, kind=kind, service_date=day, payer="1234567-8", payer_category=category,
                         reference="R-ABCD-EFGH", studies=studies, media=media,
                         medium_kind=medium if kind == "media_export" else None)


@pytest.mark.parametrize(("studies", "net"), [(1, "25.00"), (2, "50.00"), (3, "50.00"), (12, "50.00")])
def test_varha_usb_copy_is_25_for_one_study_and_50_for_more(studies: int, net: str) -> None:
    lines = price(event(studies=studies), parse_price_list(a_list()))
    usb = next(line for line in lines if line.item_code == "USB")
    assert usb.net == Decimal(net) and usb.quantity == studies and usb.unit == "study"
    assert usb.vat == Decimal("0.00") and usb.gross == usb.net and usb.vat_code == "E"


@pytest.mark.parametrize(("studies", "net"), [(1, "20.00"), (2, "24.00"), (3, "28.00"), (10, "56.00")])
def test_first_study_plus_each_further_study(studies: int, net: str) -> None:
    (line,) = price(event("import", studies=studies), parse_price_list(a_list()))
    assert (line.item_code, line.net) == ("IMPORT", Decimal(net))


def test_an_average_unit_price_carries_the_tiers_in_its_note() -> None:
    (line,) = price(event("import", studies=3), parse_price_list(a_list()))
    assert line.unit_price == Decimal("9.33")  # 28.00 / 3 rounded half-up
    assert "1 = 20.00 total" in line.note and "2+ = 4.00 each" in line.note
    (single,) = price(event("import", studies=1), parse_price_list(a_list()))
    assert single.unit_price == single.net and single.note == ""


def test_vat_is_per_line_and_rounded_half_up_to_cents() -> None:
    lines = price(event(studies=1, media=3), parse_price_list(a_list()))
    handling = next(line for line in lines if line.item_code == "HANDLING")
    assert handling.net == Decimal("7.20")
    assert handling.vat == Decimal("1.84")  # 7.20 * 25.5 % = 1.836 -> 1.84
    assert handling.gross == Decimal("9.04") and handling.vat_rate == Decimal("25.5")
    one = price(event(studies=1, media=1), parse_price_list(a_list()))
    assert next(l for l in one if l.item_code == "HANDLING").vat == Decimal("0.61")  # 0.612 -> 0.61


def test_half_a_cent_rounds_up() -> None:
    text = a_list(version("2026-01-01", None, *standard_items()[:1],
                          item("HANDLING", "[{ from_quantity = 1, price = 0.10, per_unit = true }]", unit="medium",
                               vat='vat_code = "S"\nvat_rate = 25'), *standard_items()[2:]))
    lines = price(event(media=1), parse_price_list(text))
    assert next(l for l in lines if l.item_code == "HANDLING").vat == Decimal("0.03")  # 0.025 -> 0.03


def test_the_price_in_force_on_the_service_date_is_used() -> None:
    text = a_list(version("2026-01-01", "2026-06-30", *standard_items("10.00")),
                  version("2026-07-01", None, *standard_items("12.50")))
    price_list = parse_price_list(text)
    before = price(event(medium="cd", studies=2, day=date(2026, 6, 30)), price_list)
    after = price(event(medium="cd", studies=2, day=date(2026, 7, 1)), price_list)
    assert [(l.net, l.price_version) for l in before] == [(Decimal("20.00"), date(2026, 1, 1))]
    assert [(l.net, l.price_version) for l in after] == [(Decimal("25.00"), date(2026, 7, 1))]
    with pytest.raises(NoPriceInForce, match="2025-12-31"):
        price(event(day=date(2025, 12, 31)), price_list)


@pytest.mark.parametrize("kind", ["electronic", "register_copy"])
def test_register_copies_and_electronic_transfers_are_never_billed(kind: str) -> None:
    """R17, whatever the list says and whoever pays."""
    price_list = parse_price_list(a_list())
    for category in ("organisation", "insurer", "patient"):
        assert price(BillableEvent("E", kind, date(2026, 3, 2), "1234567-8", category, "R-1", studies=5, media=0),
                     price_list) == []


def test_a_list_cannot_bill_what_r17_forbids() -> None:
    text = a_list().replace('import = ["IMPORT"]', 'import = ["IMPORT"]\nelectronic = ["COPY"]')
    with pytest.raises(PriceListInvalid, match=r"line 4: events.electronic: .*never billed \(R17\)"):
        parse_price_list(text)


def test_the_patients_own_copy_gives_no_line_for_an_exempt_item() -> None:
    lines = price(event(category="patient_own"), parse_price_list(a_list()))
    assert [l.item_code for l in lines] == ["HANDLING"]  # USB is exempt for patient_own, HANDLING is not


def test_postage_and_import_bill_their_own_items() -> None:
    price_list = parse_price_list(a_list())
    (postage,) = price(event("postage", studies=0, media=0), price_list)
    assert (postage.item_code, postage.quantity, postage.unit, postage.net) == ("POSTAGE", 1, "shipment", Decimal("3.50"))


def test_an_event_mapped_to_no_items_bills_nothing() -> None:
    text = a_list().replace('postage = ["POSTAGE"]', "postage = []")
    assert price(event("postage", studies=0, media=0), parse_price_list(text)) == []


def test_overlapping_versions_are_refused_with_their_lines() -> None:
    text = a_list(version("2026-01-01", None, *standard_items()), version("2026-07-01", None, *standard_items()))
    with pytest.raises(PriceListInvalid) as caught:
        parse_price_list(text)
    (problem,) = caught.value.problems
    second_version_line = text.splitlines().index("[[versions]]", text.splitlines().index("[[versions]]") + 1) + 1
    assert problem.line == second_version_line
    assert "overlaps version 1" in problem.message and "valid_to = 2026-06-30" in problem.message


def test_a_missing_item_is_refused_with_its_version_and_event() -> None:
    items = [i for i in standard_items() if 'code = "POSTAGE"' not in i]
    text = a_list(version("2026-01-01", None, *items))
    with pytest.raises(PriceListInvalid, match=r"line 13: version 1 \(from 2026-01-01\): item POSTAGE referenced by "
                                               r"events.postage \(line 4\) is missing"):
        parse_price_list(text)


def test_every_problem_of_an_item_is_named_with_the_item_and_its_line() -> None:
    bad = item("BROKEN", "[{ from_quantity = 2, price = 1.005 }]", unit="disc",
               vat='vat_code = "S"\nvat_rate = 0', exempt='["pensioner"]')
    text = a_list(version("2026-01-01", None, *standard_items(), bad))
    with pytest.raises(PriceListInvalid) as caught:
        parse_price_list(text)
    broken_line = [i for i, l in enumerate(text.splitlines(), start=1) if l.strip() == "[[versions.items]]"][-1]
    messages = [(p.line, p.where, p.message) for p in caught.value.problems]
    assert all(line_no == broken_line and where.endswith("item BROKEN") for line_no, where, _m in messages)
    joined = " | ".join(m for _l, _w, m in messages)
    for fragment in ("unit 'disc'", "from_quantity must be 1", "more than 2 decimals", "vat_code S",
                     "unknown pensioner"):
        assert fragment in joined


def test_toml_syntax_errors_name_the_line() -> None:
    with pytest.raises(PriceListInvalid) as caught:
        parse_price_list(a_list() + "\n[[versions.items]\n")
    assert caught.value.problems[0].line == len(a_list().splitlines()) + 2
    assert "not valid TOML" in str(caught.value)


def test_unknown_keys_and_missing_mapping_are_refused() -> None:
    text = a_list().replace('status = "in_force"', 'status = "in_force"\ncolour = "blue"').replace(
        'postage = ["POSTAGE"]\n', "")
    with pytest.raises(PriceListInvalid) as caught:
        parse_price_list(text)
    where = {p.where for p in caught.value.problems}
    assert {"colour", "events.postage"} <= where


def test_a_unit_the_event_cannot_count_is_refused() -> None:
    text = a_list().replace('postage = ["POSTAGE"]', 'postage = ["COPY"]')
    with pytest.raises(PriceListInvalid, match="unit 'study' cannot be counted for postage"):
        parse_price_list(text)


def test_the_shipped_example_list_parses_and_says_it_is_an_example() -> None:
    text = files("mediastation").joinpath("data/price_list.example.toml").read_text(encoding="utf-8")
    price_list = parse_price_list(text)
    assert price_list.status == "example" and price_list.is_example
    assert "EXAMPLE" in text.splitlines()[1] and "HUS Diagnostiikkakeskus" in text
    nets = [price(event(studies=n), price_list)[0].net for n in (1, 2, 3)]
    assert nets == [Decimal("25.00"), Decimal("50.00"), Decimal("50.00")]  # R19's Varha USB figures
    assert price(event(category="patient_own"), price_list) == []  # own copy free
    assert price(event("import", studies=2), price_list)[0].net == Decimal("24.00")


def test_events_are_valid_on_construction() -> None:
    with pytest.raises(InvalidEvent, match="medium_kind"):
        event(medium="floppy")
    with pytest.raises(InvalidEvent, match="payer_category"):
        event(category="friend")
    with pytest.raises(InvalidEvent, match="at least one study"):
        event("import", studies=0)


def _stored(draft, line_id: str) -> InvoiceLine:  # type: ignore[no-untyped-def]
    return InvoiceLine(line_id=line_id, **{name: getattr(draft, name) for name in draft.__dataclass_fields__})


def test_a_credit_negates_every_amount_and_names_the_original() -> None:
    (line,) = [l for l in price(event(media=3), parse_price_list(a_list())) if l.item_code == "HANDLING"]
    stored = _stored(line, "L-AAAA-BBBB")
    back = credit(stored, on=date(2026, 4, 1), reason="wrong payer")
    assert (back.quantity, back.net, back.vat, back.gross) == (-3, Decimal("-7.20"), Decimal("-1.84"), Decimal("-9.04"))
    assert back.credit_of == "L-AAAA-BBBB" and back.event_key == "credit:L-AAAA-BBBB" and "wrong payer" in back.note
    assert totals([stored, _stored(back, "L-CCCC-DDDD")]).gross == Decimal("0.00")
    with pytest.raises(InvalidEvent, match="not credited"):
        credit(_stored(back, "L-CCCC-DDDD"), on=date(2026, 4, 1), reason="again")


def test_totals_group_vat_by_code_and_rate() -> None:
    lines = price(event(studies=2, media=2), parse_price_list(a_list()))
    result = totals(lines)
    assert result.net == Decimal("54.80") and result.vat == Decimal("1.22") and result.gross == Decimal("56.02")
    assert [(b.vat_code, b.net, b.vat) for b in result.breakdown] == [("E", Decimal("50.00"), Decimal("0.00")),
                                                                      ("S", Decimal("4.80"), Decimal("1.22"))]


# -- the payer's business ID (Y-tunnus) for Finvoice's BuyerPartyIdentifier ---------------------------

@pytest.mark.parametrize("text, expected", [
    ("1567535-0", "1567535-0"),     # remainder 0: check digit 0
    ("1234567-1", "1234567-1"),
    ("7654321-2", "7654321-2"),
    (" 0112038-9 ", "0112038-9"),
    ("123456-2", "0123456-2"),      # an old six-digit ID gets its leading zero
    ("1234567-8", None),            # wrong check digit
    ("1234567", None),              # no check digit
    ("1234567-", None),
    ("12345678-1", None),
    ("Terveystalo Kamppi", None),
    ("010594Y9032", None),          # a HETU is no business ID
    ("0000006-0", None),            # remainder 1: never issued
])
def test_business_id_check_digit(text: str, expected: str | None) -> None:
    from mediastation.domain.pricing import business_id

    assert business_id(text) == expected


def test_payers_in_the_price_list_give_the_buyer_id_and_bad_ones_are_named() -> None:
    from mediastation.domain.pricing import PriceListInvalid

    text = a_list() + '\n[[payers]]\nname = "Terveystalo Kamppi"\nbusiness_id = "0112038-9"\n'
    prices = parse_price_list(text)
    assert prices.buyer_id("terveystalo kamppi ") == "0112038-9"
    assert prices.buyer_id("1234567-1") == "1234567-1"   # a payer named by its business ID
    assert prices.buyer_id("Mäkelä^Aino") is None
    with pytest.raises(PriceListInvalid) as bad:
        parse_price_list(a_list() + '\n[[payers]]\nname = "X Oy"\nbusiness_id = "0112038-1"\n')
    assert "payers[0].business_id" in str(bad.value)
