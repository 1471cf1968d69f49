"""The price list and the invoice lines priced from it (R17-R19).

Pure: no I/O. The billing office keeps the price list as a TOML file (format in README, "Price
list"); `parse_price_list` turns its text into a `PriceList`, refusing it with every problem and
the line it sits on. `price(event, price_list)` gives the invoice lines of one billable event with
the version in force on the service date (R19): money is `Decimal`, rounded half-up to cents per
line, VAT per line. Register copies and electronic transfers are never billed (R17); importing
outside media is (R18), through whatever items the list maps the import to.

Tiers: a quantity takes the highest tier whose `from_quantity` it reaches. A flat tier's price is
the line's whole net amount; a per-unit tier adds its price for each unit from its `from_quantity`
on top of the amount just below it. So "1 study 25, 2 or more 50" is two flat tiers, and "20 for
the first + 4 for each further" is a flat tier from 1 and a per-unit tier from 2.

A payer category listed as exempt on an item (the patient's own copy, say) gives no line at all
for that item: the disclosure log already records the release, and the billing office receives
only what is to be invoiced.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
UNITS = ("study", "medium", "job", "shipment")
PLURALS = {"study": "studies", "medium": "media", "job": "jobs", "shipment": "shipments"}
VAT_CODES = ("S", "Z", "E", "AE")  # UNTDID 5305: standard, zero-rated, exempt, reverse charge
STATUSES = ("example", "in_force")
CURRENCIES = ("EUR",)
PAYER_CATEGORIES = ("patient", "patient_own", "organisation", "public_hospital", "insurer", "authority", "internal")
MEDIUM_KINDS = ("cd", "dvd", "usb")
BILLED_KINDS = ("media_export", "import", "postage")
UNBILLED_KINDS = ("electronic", "register_copy")  # R17
EVENT_KINDS = BILLED_KINDS + UNBILLED_KINDS
# The mapping keys a price list must give (an empty list says "not billed" explicitly).
EVENT_KEYS = ("media_export.cd", "media_export.dvd", "media_export.usb", "import", "postage")
EVENT_UNITS = {"media_export": frozenset(UNITS), "import": frozenset({"study", "medium", "job"}),
               "postage": frozenset({"shipment", "job"})}
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
LINE_COLUMNS = ("line_id", "service_date", "item_code", "item_name", "quantity", "unit", "unit_price",
                "vat_code", "vat_rate", "net", "vat", "gross", "currency", "payer", "cost_centre",
                "reference", "credit_of", "payer_category", "event_key", "note")


class InvalidEvent(ValueError):
    """A billable event that cannot be priced as given (a caller's mistake)."""


class NoPriceInForce(ValueError):
    """No version of the price list is valid on the service date."""


def money(value: Decimal) -> Decimal:
    """Round half-up to cents (R19: per line, never on totals)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def decimal_text(value: Decimal) -> str:
    """A rate without trailing zeros and never in exponent form: 25.5, 0, 24."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0.0") else text


# The price list ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Tier:
    from_quantity: int
    price: Decimal
    per_unit: bool = False


@dataclass(frozen=True, slots=True)
class PriceItem:
    """One priced item of a price list version, valid on construction."""

    code: str
    name_fi: str
    name_sv: str
    name_en: str
    unit: str
    tiers: tuple[Tier, ...]
    vat_code: str
    vat_rate: Decimal
    cost_centre: str
    exempt_payer_categories: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", tuple(self.tiers))
        object.__setattr__(self, "exempt_payer_categories", frozenset(self.exempt_payer_categories))
        problems = item_problems(self)
        if problems:
            raise ValueError(f"item {self.code}: " + "; ".join(problems))

    def name(self, language: str = "fi") -> str:
        return {"fi": self.name_fi, "sv": self.name_sv, "en": self.name_en}.get(language, self.name_fi)

    def net(self, quantity: int) -> Decimal:
        """The net amount for `quantity` units by the tiers (see the module docstring)."""
        if quantity < 1:
            raise InvalidEvent(f"item {self.code}: quantity {quantity} cannot be priced")
        tier_index = max(i for i, t in enumerate(self.tiers) if t.from_quantity <= quantity)
        tier = self.tiers[tier_index]
        if not tier.per_unit:
            return money(tier.price)
        below = self.net(tier.from_quantity - 1) if tier.from_quantity > 1 else Decimal(0)
        return money(below + tier.price * (quantity - tier.from_quantity + 1))

    def describe_tiers(self) -> str:
        """The tiers in words for the line's note: 'tiered price by studies: 1 = 25.00 total; 2+ = 50.00 total'."""
        parts = []
        for i, tier in enumerate(self.tiers):
            end = self.tiers[i + 1].from_quantity - 1 if i + 1 < len(self.tiers) else None
            span = (f"{tier.from_quantity}" if end == tier.from_quantity
                    else f"{tier.from_quantity}-{end}" if end else f"{tier.from_quantity}+")
            parts.append(f"{span} = {money(tier.price)} {'each' if tier.per_unit else 'total'}")
        return f"tiered price by {PLURALS[self.unit]}: " + "; ".join(parts)


def item_problems(item: PriceItem) -> list[str]:
    """Everything wrong with an item; the parser reports these with the item's line."""
    problems: list[str] = []
    if not isinstance(item.code, str) or not CODE_PATTERN.match(item.code):
        problems.append(f"code {item.code!r} must be 1-40 letters, digits, '.', '_' or '-'")
    for key in ("name_fi", "name_sv", "name_en"):
        if not isinstance(getattr(item, key), str) or not getattr(item, key).strip():
            problems.append(f"{key} is required (HUS serves Finnish, Swedish and English)")
    if item.unit not in UNITS:
        problems.append(f"unit {item.unit!r} must be one of {', '.join(UNITS)}")
    problems.extend(tier_problems(item.tiers))
    if item.vat_code not in VAT_CODES:
        problems.append(f"vat_code {item.vat_code!r} must be one of {', '.join(VAT_CODES)}")
    elif not isinstance(item.vat_rate, Decimal) or not item.vat_rate.is_finite() or not 0 <= item.vat_rate < HUNDRED:
        problems.append(f"vat_rate {item.vat_rate!r} must be a percentage from 0 to under 100")
    elif item.vat_code == "S" and item.vat_rate == 0:
        problems.append("vat_code S (standard rate) needs a vat_rate above 0, e.g. 25.5")
    elif item.vat_code != "S" and item.vat_rate != 0:
        problems.append(f"vat_code {item.vat_code} (zero-rated, exempt or reverse charge) needs vat_rate 0")
    if not isinstance(item.cost_centre, str) or not item.cost_centre.strip() or len(item.cost_centre) > 35:
        problems.append("cost_centre is required, at most 35 characters (Finvoice RowAccountDimensionText)")
    unknown = sorted(set(item.exempt_payer_categories) - set(PAYER_CATEGORIES))
    if unknown:
        problems.append(f"exempt_payer_categories has unknown {', '.join(unknown)}; known: {', '.join(PAYER_CATEGORIES)}")
    return problems


def tier_problems(tiers: tuple[Tier, ...]) -> list[str]:
    if not tiers:
        return ["tiers: at least one tier, the first from_quantity = 1"]
    problems = []
    previous = 0
    for i, tier in enumerate(tiers, start=1):
        if not isinstance(tier.from_quantity, int) or isinstance(tier.from_quantity, bool) or tier.from_quantity < 1:
            problems.append(f"tier {i}: from_quantity must be a whole number from 1")
            continue
        if i == 1 and tier.from_quantity != 1:
            problems.append("tier 1: from_quantity must be 1 so that every quantity has a price")
        if tier.from_quantity <= previous:
            problems.append(f"tier {i}: from_quantity {tier.from_quantity} must be above the previous tier's {previous}")
        previous = tier.from_quantity
        if not isinstance(tier.price, Decimal) or not tier.price.is_finite() or tier.price < 0:
            problems.append(f"tier {i}: price must be an amount of 0 or more")
        elif tier.price.as_tuple().exponent < -2:  # type: ignore[operator]
            problems.append(f"tier {i}: price {tier.price} has more than 2 decimals (cents)")
        if not isinstance(tier.per_unit, bool):
            problems.append(f"tier {i}: per_unit must be true or false")
    return problems


@dataclass(frozen=True, slots=True)
class PriceListVersion:
    """The items valid from `valid_from` to `valid_to` inclusive (open-ended when None)."""

    valid_from: date
    valid_to: date | None
    items: Mapping[str, PriceItem]

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def label(self) -> str:
        return f"{self.valid_from.isoformat()}..{self.valid_to.isoformat() if self.valid_to else ''}"


@dataclass(frozen=True, slots=True)
class Seller:
    """Who invoices (Finvoice SellerPartyDetails)."""

    name: str = "HUS-yhtymä, HUS Diagnostiikkakeskus"
    business_id: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "FI"


BUSINESS_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)


def business_id(text: str) -> str | None:
    """A Finnish business ID (Y-tunnus) `NNNNNNN-C` with its check digit verified, normalised; None
    for anything else. The check (Finnish Patent and Registration Office): weights 7, 9, 10, 5, 8,
    4, 2 over the seven digits, r = sum mod 11; r = 0 gives 0, r = 1 is never issued, else 11 - r.
    An old six-digit ID is written with a leading zero. Finvoice's buyer is identified by it (R19:
    the invoice goes to the paying organisation)."""
    match = re.fullmatch(r"\s*(\d{6,7})-(\d)\s*", str(text))
    if match is None:
        return None
    digits = match.group(1).rjust(7, "0")
    remainder = sum(int(d) * w for d, w in zip(digits, BUSINESS_ID_WEIGHTS)) % 11
    if remainder == 1:
        return None
    check = 0 if remainder == 0 else 11 - remainder
    return f"{digits}-{check}" if int(match.group(2)) == check else None


@dataclass(frozen=True, slots=True)
class Payer:
    """A paying organisation as the billing office knows it (`[[payers]]` of the price list): the
    name invoice lines carry as their payer, and its business ID."""

    name: str
    business_id: str


@dataclass(frozen=True, slots=True)
class PriceList:
    """Versions that never overlap, and which items each billable event uses."""

    status: str
    currency: str
    versions: tuple[PriceListVersion, ...]
    events: Mapping[str, tuple[str, ...]]
    seller: Seller = field(default_factory=Seller)
    title: str = ""
    payers: tuple[Payer, ...] = ()

    def buyer_id(self, payer: str) -> str | None:
        """The payer's business ID: the payer itself when it is one, else its `[[payers]]` entry's
        (names compared without case or surrounding spaces); None when unknown."""
        own = business_id(payer)
        if own is not None:
            return own
        wanted = payer.strip().casefold()
        return next((p.business_id for p in self.payers if p.name.strip().casefold() == wanted), None)

    def version_on(self, day: date) -> PriceListVersion:
        """R19: the version in force on the service date."""
        for version in self.versions:
            if version.covers(day):
                return version
        spans = ", ".join(v.label() for v in self.versions)
        raise NoPriceInForce(f"no price list version is in force on {day.isoformat()} (versions: {spans}); "
                             "the billing office must add one")

    def item_codes(self, event: BillableEvent) -> tuple[str, ...]:
        if event.kind in UNBILLED_KINDS:
            return ()
        key = f"media_export.{event.medium_kind}" if event.kind == "media_export" else event.kind
        return self.events.get(key, ())

    @property
    def is_example(self) -> bool:
        return self.status == "example"


# Events and lines --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BillableEvent:
    """Something the station did that the price list may bill, once per `key` whatever retries
    happen. `kind`: media_export (with medium_kind cd|dvd|usb, studies, media), import of outside
    media (R18: studies imported, media read), postage (one shipment); electronic and
    register_copy are accepted and never billed (R17)."""

    key: str
    kind: str
    service_date: date
    payer: str
    payer_category: str
    reference: str
    studies: int = 0
    media: int = 0
    medium_kind: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not str(self.key).strip() or len(self.key) > 200:
            problems.append("key must be 1-200 characters (it makes retries bill once)")
        if self.kind not in EVENT_KINDS:
            problems.append(f"kind {self.kind!r} must be one of {', '.join(EVENT_KINDS)}")
        if not isinstance(self.service_date, date) or isinstance(self.service_date, datetime):
            problems.append("service_date must be a date")
        if not str(self.payer).strip():
            problems.append("payer is required (organisation id or the patient)")
        if self.payer_category not in PAYER_CATEGORIES:
            problems.append(f"payer_category {self.payer_category!r} must be one of {', '.join(PAYER_CATEGORIES)}")
        if not str(self.reference).strip():
            problems.append("reference is required (request id or import job id)")
        if self.kind == "media_export" and self.medium_kind not in MEDIUM_KINDS:
            problems.append(f"medium_kind {self.medium_kind!r} must be one of {', '.join(MEDIUM_KINDS)}")
        if self.kind in ("media_export", "import") and (self.studies < 1 or self.media < 1):
            problems.append(f"a {self.kind} has at least one study and one medium")
        if self.studies < 0 or self.media < 0:
            problems.append("studies and media cannot be negative")
        if problems:
            raise InvalidEvent("billable event: " + "; ".join(problems))

    def quantity(self, unit: str) -> int:
        return {"study": self.studies, "medium": self.media}.get(unit, 1)


@dataclass(frozen=True, slots=True)
class InvoiceLineDraft:
    """An invoice line before it is stored (no id yet)."""

    event_key: str
    service_date: date
    item_code: str
    item_name: str
    quantity: int
    unit: str
    unit_price: Decimal
    vat_code: str
    vat_rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal
    currency: str
    payer: str
    payer_category: str
    cost_centre: str
    reference: str
    note: str = ""
    price_version: date | None = None
    credit_of: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceLine(InvoiceLineDraft):
    """A stored invoice line: immutable; a correction is a credit line naming it in `credit_of`."""

    line_id: str

    def to_json(self) -> dict[str, Any]:
        """The export document's line (interfaces.md): amounts as decimal strings."""
        values = {"line_id": self.line_id, "service_date": self.service_date.isoformat(),
                  "item_code": self.item_code, "item_name": self.item_name, "quantity": self.quantity,
                  "unit": self.unit, "unit_price": str(self.unit_price), "vat_code": self.vat_code,
                  "vat_rate": decimal_text(self.vat_rate), "net": str(self.net), "vat": str(self.vat),
                  "gross": str(self.gross), "currency": self.currency, "payer": self.payer,
                  "cost_centre": self.cost_centre, "reference": self.reference, "credit_of": self.credit_of,
                  "payer_category": self.payer_category, "event_key": self.event_key, "note": self.note}
        return {key: values[key] for key in LINE_COLUMNS}


def price(event: BillableEvent, price_list: PriceList, *, language: str = "fi") -> list[InvoiceLineDraft]:
    """The invoice lines of one event by the version in force on its service date (R17-R19).

    No lines for register copies and electronic transfers (R17), for an event the list maps to no
    item, or for an item whose exempt payer categories include the event's.
    """
    codes = price_list.item_codes(event)
    if not codes:
        return []
    version = price_list.version_on(event.service_date)
    lines = []
    for code in codes:
        item = version.items[code]  # the parser guarantees every mapped item exists in every version
        if event.payer_category in item.exempt_payer_categories:
            continue
        quantity = event.quantity(item.unit)
        if quantity < 1:
            raise InvalidEvent(f"{event.kind} {event.key}: item {code} is priced per {item.unit} but the event has none")
        net = item.net(quantity)
        vat = money(net * item.vat_rate / HUNDRED)
        flat = len(item.tiers) > 1 or not item.tiers[0].per_unit
        lines.append(InvoiceLineDraft(
            event_key=event.key, service_date=event.service_date, item_code=item.code,
            item_name=item.name(language), quantity=quantity, unit=item.unit,
            unit_price=money(net / quantity), vat_code=item.vat_code, vat_rate=item.vat_rate,
            net=net, vat=vat, gross=net + vat, currency=price_list.currency, payer=event.payer,
            payer_category=event.payer_category, cost_centre=item.cost_centre, reference=event.reference,
            note=item.describe_tiers() if flat and quantity > 1 else "", price_version=version.valid_from,
        ))
    return lines


def credit(line: InvoiceLine, *, on: date, reason: str) -> InvoiceLineDraft:
    """The credit line cancelling `line`: the same item with every quantity and amount negated."""
    if line.credit_of is not None:
        raise InvalidEvent(f"{line.line_id} is itself a credit of {line.credit_of}; credit lines are not credited")
    if not reason.strip():
        raise InvalidEvent("a credit needs a reason")
    return InvoiceLineDraft(
        event_key=f"credit:{line.line_id}", service_date=on, item_code=line.item_code, item_name=line.item_name,
        quantity=-line.quantity, unit=line.unit, unit_price=line.unit_price, vat_code=line.vat_code,
        vat_rate=line.vat_rate, net=-line.net, vat=-line.vat, gross=-line.gross, currency=line.currency,
        payer=line.payer, payer_category=line.payer_category, cost_centre=line.cost_centre,
        reference=line.reference, note=f"credit of {line.line_id} ({line.service_date.isoformat()}): {reason.strip()}",
        price_version=line.price_version, credit_of=line.line_id,
    )


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    vat_code: str
    vat_rate: Decimal
    net: Decimal
    vat: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    net: Decimal
    vat: Decimal
    gross: Decimal
    breakdown: tuple[VatBreakdown, ...]


def totals(lines: Iterable[InvoiceLineDraft]) -> Totals:
    """Sums of the rows (never re-rounded: each line is already in cents), per VAT code and rate."""
    groups: dict[tuple[str, Decimal], list[Decimal]] = {}
    net = vat = Decimal("0.00")
    for line in lines:
        net, vat = net + line.net, vat + line.vat
        group = groups.setdefault((line.vat_code, line.vat_rate.normalize()), [Decimal("0.00"), Decimal("0.00")])
        group[0] += line.net
        group[1] += line.vat
    breakdown = tuple(VatBreakdown(code, rate, sums[0], sums[1]) for (code, rate), sums in sorted(groups.items()))
    return Totals(net, vat, net + vat, breakdown)


def payer_category_for(basis_kind: str, destination_kind: str) -> str:
    """A default payer category from a release request: the patient's own copy (R8 d) is its own
    category so the list can make it free; otherwise by the destination's kind."""
    if basis_kind == "patient_own":
        return "patient_own"
    return {"patient": "patient", "authorised_person": "patient", "insurer": "insurer",
            "authority": "authority", "register": "internal"}.get(destination_kind, "organisation")


# Parsing the TOML file ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PriceListProblem:
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        at = f"line {self.line}: " if self.line else ""
        return f"{at}{self.where}: {self.message}" if self.where else f"{at}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "where": self.where, "message": self.message}


class PriceListInvalid(ValueError):
    """The price list file is refused: every problem with its line."""

    def __init__(self, source: str, problems: list[PriceListProblem]) -> None:
        self.source = source
        self.problems = problems
        # one problem per line: a list is read at a terminal, not one long line
        super().__init__(f"{source}: {problems[0]}" if len(problems) == 1
                         else f"{source}:" + "".join(f"\n  {p}" for p in problems))


TOP_KEYS = {"status", "title", "currency", "seller", "events", "versions", "payers"}
VERSION_KEYS = {"valid_from", "valid_to", "items"}
ITEM_KEYS = {"code", "name_fi", "name_sv", "name_en", "unit", "tiers", "vat_code", "vat_rate", "cost_centre",
             "exempt_payer_categories"}
TIER_KEYS = {"from_quantity", "price", "per_unit"}
SELLER_KEYS = set(Seller.__dataclass_fields__)
PAYER_KEYS = {"name", "business_id"}


class _Lines:
    """Line numbers of the `[[versions]]` and `[[versions.items]]` tables, for messages."""

    def __init__(self, text: str) -> None:
        self.versions: list[int] = []
        self.items: list[list[int]] = []
        self.events: int | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if re.match(r"^\[\[\s*versions\s*\]\]", stripped):
                self.versions.append(number)
                self.items.append([])
            elif re.match(r"^\[\[\s*versions\s*\.\s*items\s*\]\]", stripped) and self.items:
                self.items[-1].append(number)
            elif self.events is None and re.match(r"^(\[\s*events\b|events\s*[.=])", stripped):
                self.events = number

    def version(self, index: int) -> int | None:
        return self.versions[index] if index < len(self.versions) else None

    def item(self, version: int, index: int) -> int | None:
        if version < len(self.items) and index < len(self.items[version]):
            return self.items[version][index]
        return self.version(version)


def parse_price_list(text: str, *, source: str = "price list") -> PriceList:
    """Read the TOML text of a price list; refuse it with every problem and its line."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise PriceListInvalid(source, [PriceListProblem(int(match.group(1)) if match else None, "",
                                                         f"not valid TOML: {exc}")]) from None
    return _Parser(text).parse(data, source)


class _Parser:
    """Collects every problem of a price list with its line, then builds it or refuses it."""

    def __init__(self, text: str) -> None:
        self.lines = _Lines(text)
        self.problems: list[PriceListProblem] = []
        self.broken: set[tuple[int, str]] = set()  # (version index, code) of items reported already

    def problem(self, line: int | None, where: str, message: str) -> None:
        self.problems.append(PriceListProblem(line, where, message))

    def parse(self, data: dict[str, Any], source: str) -> PriceList:
        for key in sorted(set(data) - TOP_KEYS):
            self.problem(None, key, f"unknown key; allowed at the top: {', '.join(sorted(TOP_KEYS))}")
        status = data.get("status")
        if status not in STATUSES:
            self.problem(None, "status", f"must be one of {', '.join(STATUSES)} (got {status!r})")
        currency = data.get("currency", "EUR")
        if currency not in CURRENCIES:
            self.problem(None, "currency", f"only {', '.join(CURRENCIES)} is supported (got {currency!r})")
        seller = self.seller(data.get("seller", {}))
        payers = self.payers(data.get("payers", []))
        events = self.events(data.get("events"))
        versions = self.versions(data.get("versions"))
        self.check_overlaps(versions)
        self.check_events_against_items(events, versions)
        if self.problems:
            raise PriceListInvalid(source, self.problems)
        ordered = tuple(v for _i, v in sorted(versions, key=lambda pair: pair[1].valid_from))
        return PriceList(str(status), str(currency), ordered, events, seller, str(data.get("title", "")), payers)

    def seller(self, raw: Any) -> Seller:
        if not isinstance(raw, dict):
            self.problem(None, "seller", "must be a table")
            return Seller()
        for key in sorted(set(raw) - SELLER_KEYS):
            self.problem(None, f"seller.{key}", f"unknown key; allowed: {', '.join(sorted(SELLER_KEYS))}")
        if raw.get("business_id") and business_id(str(raw["business_id"])) is None:
            self.problem(None, "seller.business_id", f"{raw['business_id']!r} is not a business ID (Y-tunnus) "
                         "NNNNNNN-C with a valid check digit")
        return Seller(**{k: str(v) for k, v in raw.items() if k in SELLER_KEYS})

    def payers(self, raw: Any) -> tuple[Payer, ...]:
        """`[[payers]]`: name = the payer as invoice lines name it, business_id = its Y-tunnus."""
        if not isinstance(raw, list):
            self.problem(None, "payers", "must be an array of tables [[payers]] with name and business_id")
            return ()
        payers = []
        for index, entry in enumerate(raw):
            where = f"payers[{index}]"
            if not isinstance(entry, dict):
                self.problem(None, where, "must be a table with name and business_id")
                continue
            for key in sorted(set(entry) - PAYER_KEYS):
                self.problem(None, f"{where}.{key}", f"unknown key; allowed: {', '.join(sorted(PAYER_KEYS))}")
            name, given = str(entry.get("name", "")).strip(), str(entry.get("business_id", ""))
            checked = business_id(given)
            if not name:
                self.problem(None, f"{where}.name", "the payer's name is required (as invoice lines name it)")
            if checked is None:
                self.problem(None, f"{where}.business_id", f"{given!r} is not a business ID (Y-tunnus) NNNNNNN-C "
                             "with a valid check digit")
            if name and checked:
                payers.append(Payer(name, checked))
        return tuple(payers)

    def events(self, raw: Any) -> dict[str, tuple[str, ...]]:
        line = self.lines.events
        if not isinstance(raw, dict):
            self.problem(line, "events", "the [events] table is required: which items media_export.cd/.dvd/.usb, "
                         "import and postage use (an empty list = not billed)")
            return {}
        flat: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "media_export" and isinstance(value, dict):
                flat.update({f"media_export.{kind}": codes for kind, codes in value.items()})
            else:
                flat[key] = value
        events: dict[str, tuple[str, ...]] = {}
        for key, value in flat.items():
            if key in UNBILLED_KINDS:
                self.problem(line, f"events.{key}", "register copies and electronic transfers are never billed (R17)")
                continue
            if key not in EVENT_KEYS:
                self.problem(line, f"events.{key}", f"unknown event; known: {', '.join(EVENT_KEYS)}")
                continue
            codes = [value] if isinstance(value, str) else value
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                self.problem(line, f"events.{key}", "must be a list of item codes")
                continue
            events[key] = tuple(codes)
        for key in EVENT_KEYS:
            if key not in flat:
                self.problem(line, f"events.{key}", "missing: list the item codes it bills, or [] for none")
        return events

    def versions(self, raw: Any) -> list[tuple[int, PriceListVersion]]:
        """Every version with a valid_from, its well-formed items only (the others are reported),
        so overlaps and missing items are checked even in a version with a broken item."""
        if not isinstance(raw, list) or not raw:
            self.problem(None, "versions", "at least one [[versions]] table with valid_from and items is required")
            return []
        versions = []
        for index, entry in enumerate(raw):
            version = self.version(index, entry)
            if version is not None:
                versions.append((index, version))
        return versions

    def version(self, index: int, entry: Any) -> PriceListVersion | None:
        where, line = f"version {index + 1}", self.lines.version(index)
        if not isinstance(entry, dict):
            self.problem(line, where, "must be a table")
            return None
        for key in sorted(set(entry) - VERSION_KEYS):
            self.problem(line, f"{where}.{key}", f"unknown key; allowed: {', '.join(sorted(VERSION_KEYS))}")
        valid_from = self.date(entry.get("valid_from"), line, f"{where}.valid_from", required=True)
        valid_to = self.date(entry.get("valid_to"), line, f"{where}.valid_to", required=False)
        if valid_from and valid_to and valid_to < valid_from:
            self.problem(line, where, f"valid_to {valid_to} is before valid_from {valid_from}")
        items = self.items(entry.get("items"), index, self.version_label(index, valid_from))
        if valid_from is None:
            return None
        return PriceListVersion(valid_from, valid_to, items)

    @staticmethod
    def version_label(index: int, valid_from: date | None) -> str:
        return f"version {index + 1} (from {valid_from})" if valid_from else f"version {index + 1}"

    def date(self, value: Any, line: int | None, where: str, *, required: bool) -> date | None:
        if value is None:
            if required:
                self.problem(line, where, "required (a date such as 2026-01-01)")
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(line, where, f"{value!r} is not a date such as 2026-01-01")
        return None

    def items(self, raw: Any, version: int, where: str) -> dict[str, PriceItem]:
        """The version's well-formed items; the codes of broken ones go to `self.broken`."""
        if not isinstance(raw, list) or not raw:
            self.problem(self.lines.version(version), where, "needs at least one [[versions.items]] table")
            return {}
        items: dict[str, PriceItem] = {}
        for index, entry in enumerate(raw):
            line = self.lines.item(version, index)
            code = entry.get("code") if isinstance(entry, dict) else None
            label = f"{where}, item {code or index + 1}"
            item = self.item(entry, line, label)
            if item is None:
                self.broken.add((version, str(code)))
            elif item.code in items:
                self.problem(line, label, "the same code appears twice in this version")
            else:
                items[item.code] = item
        return items

    def item(self, entry: Any, line: int | None, label: str) -> PriceItem | None:
        if not isinstance(entry, dict):
            self.problem(line, label, "must be a table")
            return None
        messages = [f"unknown key {key!r}; allowed: {', '.join(sorted(ITEM_KEYS))}"
                    for key in sorted(set(entry) - ITEM_KEYS)]
        tiers = _tiers(entry.get("tiers"), messages)
        exempt = entry.get("exempt_payer_categories", [])
        if not isinstance(exempt, list):
            messages.append("exempt_payer_categories must be a list")
            exempt = []
        candidate = dict(
            code=entry.get("code"), name_fi=entry.get("name_fi"), name_sv=entry.get("name_sv"),
            name_en=entry.get("name_en"), unit=entry.get("unit"), tiers=tiers, vat_code=entry.get("vat_code"),
            vat_rate=_decimal(entry.get("vat_rate"), "vat_rate", messages), cost_centre=entry.get("cost_centre"),
            exempt_payer_categories=frozenset(str(c) for c in exempt),
        )
        found = item_problems(_Raw(candidate))  # type: ignore[arg-type]
        if candidate["vat_rate"] is None:  # already reported as missing or not a number
            found = [m for m in found if not m.startswith("vat_rate")]
        messages.extend(found)
        for message in dict.fromkeys(messages):
            self.problem(line, label, message)
        return None if messages else PriceItem(**candidate)  # type: ignore[arg-type]

    def check_overlaps(self, versions: list[tuple[int, PriceListVersion]]) -> None:
        ordered = sorted(versions, key=lambda pair: pair[1].valid_from)
        for (i, earlier), (j, later) in zip(ordered, ordered[1:]):
            if earlier.valid_to is None or later.valid_from <= earlier.valid_to:
                end = earlier.valid_to.isoformat() if earlier.valid_to else "open-ended"
                day_before = date.fromordinal(later.valid_from.toordinal() - 1)
                self.problem(self.lines.version(j), self.version_label(j, later.valid_from),
                             f"overlaps version {i + 1} ({earlier.valid_from}..{end}, line "
                             f"{self.lines.version(i)}): end version {i + 1} with valid_to = {day_before}")

    def check_events_against_items(self, events: Mapping[str, tuple[str, ...]],
                                   versions: list[tuple[int, PriceListVersion]]) -> None:
        for index, version in versions:
            where = self.version_label(index, version.valid_from)
            for key, codes in events.items():
                allowed = EVENT_UNITS[key.split(".")[0]]
                for code in codes:
                    item = version.items.get(code)
                    if item is None and (index, code) in self.broken:
                        continue  # the item is there but broken: reported with its own line
                    if item is None:
                        self.problem(self.lines.version(index), where,
                                     f"item {code} referenced by events.{key} (line {self.lines.events}) is missing")
                    elif item.unit not in allowed:
                        self.problem(self.lines.item(index, list(version.items).index(code)), f"{where}, item {code}",
                                     f"unit '{item.unit}' cannot be counted for {key}; use {' or '.join(sorted(allowed))}")


class _Raw:
    """Raw item values seen through item_problems before construction (which stops at the first)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _tiers(raw: Any, messages: list[str]) -> tuple[Tier, ...]:
    if not isinstance(raw, list):
        messages.append("tiers is required: a list such as [{ from_quantity = 1, price = 25.00 }]")
        return ()
    tiers = []
    for i, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            messages.append(f"tier {i}: must be a table {{ from_quantity = ..., price = ... }}")
            continue
        for key in sorted(set(entry) - TIER_KEYS):
            messages.append(f"tier {i}: unknown key {key!r}; allowed: {', '.join(sorted(TIER_KEYS))}")
        price_value = _decimal(entry.get("price"), f"tier {i}: price", messages)
        if price_value is None:
            continue
        quantity = entry.get("from_quantity")
        tiers.append(Tier(quantity if isinstance(quantity, int) else -1, price_value, entry.get("per_unit", False)))
    return tuple(tiers)


def _decimal(value: Any, where: str, messages: list[str]) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        messages.append(f"{where} is required: a number such as 25.00")
        return None
    try:
        number = Decimal(value) if isinstance(value, (int, str, Decimal)) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        messages.append(f"{where}: {value!r} is not a number")
        return None
    return number
