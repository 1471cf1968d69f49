"""Postal delivery of media: tracking codes, shipment states and due dates (R16).

Pure: no I/O. A shipment is one medium (or one envelope of media) sent by post for a release
request. Posting records the date and the carrier's tracking code; the promise to the recipient is
delivery no earlier than 7 calendar days after posting (R16), so a shipment still on its way after
that day is overdue and customer service follows it up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Mapping

from mediastation.domain.calendar import postal_earliest_delivery

ShipmentState = Literal["prepared", "posted", "delivered", "returned", "lost", "cancelled"]
STATES: tuple[ShipmentState, ...] = ("prepared", "posted", "delivered", "returned", "lost", "cancelled")
FINAL_STATES: frozenset[str] = frozenset({"delivered", "returned", "lost", "cancelled"})

# prepared -> posted -> delivered | returned | lost; cancelled only before posting.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "prepared": frozenset({"posted", "cancelled"}),
    "posted": frozenset({"delivered", "returned", "lost"}),
    "delivered": frozenset(),
    "returned": frozenset(),
    "lost": frozenset(),
    "cancelled": frozenset(),
}

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
S10_PATTERN = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
DOMESTIC_PATTERN = re.compile(r"^JJFI[0-9A-Z]{6,30}$")


class InvalidTrackingCode(ValueError):
    """The text is not a tracking code the post room can have been given."""


class IllegalTransition(ValueError):
    """A shipment cannot go from its state to the one asked for."""


class InvalidShipment(ValueError):
    """A shipment's recipient, contents or dates are wrong."""


# Tracking codes ----------------------------------------------------------------------------------

def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of the 8-digit serial (domain.md §6): weights 8,6,4,2,3,5,9,7;
    r = 11 - (sum mod 11); r = 10 gives 0 and r = 11 gives 5."""
    if len(serial) != 8 or not serial.isdigit():
        raise InvalidTrackingCode(f"an S10 serial number has 8 digits, not {serial!r}")
    r = 11 - sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS)) % 11
    return {10: 0, 11: 5}.get(r, r)


@dataclass(frozen=True, slots=True)
class TrackingCode:
    """A carrier's tracking code, valid on construction: UPU S10 with its check digit
    (`RR123456785FI`), or a domestic Posti code (`JJFI...`, no published check: accepted loosely)."""

    value: str
    kind: Literal["s10", "domestic"]

    def __str__(self) -> str:
        return self.value


def parse_tracking_code(text: str) -> TrackingCode:
    """Normalise (spaces dropped, upper case) and validate a tracking code."""
    value = re.sub(r"[\s-]+", "", str(text)).upper()
    if not value:
        raise InvalidTrackingCode("the tracking code is empty: copy it from the posting receipt")
    if DOMESTIC_PATTERN.match(value):
        return TrackingCode(value, "domestic")
    match = S10_PATTERN.match(value)
    if match is None:
        raise InvalidTrackingCode(
            f"{text!r} is not a tracking code: expected 2 letters, 8 digits, a check digit and a 2-letter "
            "country (UPU S10, e.g. RR123456785FI) or a domestic Posti code starting JJFI")
    service, serial, check, _country = match.groups()
    expected = s10_check_digit(serial)
    if int(check) != expected:
        raise InvalidTrackingCode(
            f"{value}: the check digit is {check} but the serial {serial} gives {expected}; "
            "a digit was probably mistyped: compare with the posting receipt")
    return TrackingCode(value, "s10")


# Shipments ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Recipient:
    """Where the envelope goes (the request's destination address)."""

    name: str
    street: str
    postal_code: str
    city: str
    country: str = "FI"

    def __post_init__(self) -> None:
        missing = [key for key in ("name", "street", "postal_code", "city") if not str(getattr(self, key)).strip()]
        if missing:
            raise InvalidShipment("the recipient address lacks " + ", ".join(missing))
        if not re.fullmatch(r"[A-Z]{2}", self.country):
            raise InvalidShipment(f"recipient country must be a 2-letter code such as FI, not {self.country!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Recipient:
        known = {key: str(data.get(key) or "").strip() for key in ("name", "street", "postal_code", "city")}
        return cls(**known, country=str(data.get("country") or "FI").strip().upper())

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "street": self.street, "postal_code": self.postal_code,
                "city": self.city, "country": self.country}


@dataclass(frozen=True, slots=True)
class ShipmentContents:
    """What is in the envelope: medium ids (one per disc or stick) and the studies on them."""

    media: tuple[str, ...]
    studies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "media", tuple(str(m) for m in self.media))
        object.__setattr__(self, "studies", tuple(str(s) for s in self.studies))
        if not self.media or any(not m.strip() for m in self.media):
            raise InvalidShipment("a shipment contains at least one medium, each with an id")
        if len(set(self.media)) != len(self.media):
            raise InvalidShipment("a medium id appears twice in the shipment")

    def key(self) -> str:
        """Order-free identity of the contents (a retried export gives the same media)."""
        return ",".join(sorted(self.media))

    def to_json(self) -> dict[str, list[str]]:
        return {"media": list(self.media), "studies": list(self.studies)}


def transition(current: str, target: str) -> str:
    """The state after moving `current` to `target`; refuses what the post cannot do."""
    if current not in TRANSITIONS:
        raise IllegalTransition(f"unknown shipment state {current!r}")
    if target not in TRANSITIONS:
        raise IllegalTransition(f"unknown shipment state {target!r}; states: {', '.join(STATES)}")
    if target in TRANSITIONS[current]:
        return target
    if current == "prepared":
        hint = "it has not been posted yet: mark it posted (with its tracking code) first"
    elif current == "posted":
        hint = "a posted shipment can only be delivered, returned or lost; it cannot be cancelled"
    else:
        hint = f"'{current}' is final"
    raise IllegalTransition(f"a {current} shipment cannot become {target}: {hint}")


def due_date(posted_on: date) -> date:
    """R16: delivery is promised no earlier than 7 calendar days after posting. Weekends and
    holidays do not move it: the week already allows for them (Posti's 5-working-day target)."""
    return postal_earliest_delivery(posted_on)


def is_overdue(state: str, due_on: date | None, on: date) -> bool:
    """On its way past the due date: posted (not delivered, returned, lost or cancelled) and the
    due date lies before `on`. On the due date itself it is not yet late."""
    return state == "posted" and due_on is not None and due_on < on


def check_event_date(target: str, posted_on: date | None, on: date, prepared_on: date | None = None) -> None:
    """R16: an arrival, return or loss cannot be dated before the posting it follows, nor a posting
    before the shipment was prepared (the day its export made the media): a posting dated earlier
    would make the shipment due, even overdue, before the envelope existed."""
    if target in ("delivered", "returned", "lost") and posted_on is not None and on < posted_on:
        raise InvalidShipment(f"{target} on {on.isoformat()} is before the posting on {posted_on.isoformat()}")
    if target == "posted" and prepared_on is not None and on < prepared_on:
        raise InvalidShipment(f"posted on {on.isoformat()} is before the shipment was prepared on "
                              f"{prepared_on.isoformat()} (when its media were made): check --date")


@dataclass(frozen=True, slots=True)
class ShipmentEvent:
    """One change of a shipment's state: when it was recorded, the day it happened, who did it."""

    at: str
    on: date
    actor: str
    from_state: str | None
    to_state: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "date": self.on.isoformat(), "actor": self.actor,
                "from": self.from_state, "to": self.to_state, "note": self.note}


@dataclass(frozen=True, slots=True)
class Shipment:
    """A shipment as stored, with its history (oldest event first)."""

    shipment_id: str
    request_id: str
    state: str
    recipient: Recipient
    contents: ShipmentContents
    posted_on: date | None
    due_on: date | None
    tracking: str | None
    events: tuple[ShipmentEvent, ...] = ()

    def overdue(self, on: date) -> bool:
        return is_overdue(self.state, self.due_on, on)

    @property
    def prepared_on(self) -> date | None:
        """The day the shipment was prepared (its first event), when its history is known."""
        return next((event.on for event in self.events if event.to_state == "prepared"), None)

    def to_json(self, on: date | None = None) -> dict[str, Any]:
        """interfaces.md "Shipments and billing output"; `overdue` judged on `on` when given."""
        document: dict[str, Any] = {
            "shipment_id": self.shipment_id, "state": self.state, "request_id": self.request_id,
            "recipient": self.recipient.to_json(),
            "posted_on": self.posted_on.isoformat() if self.posted_on else None,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "tracking": self.tracking, "contents": self.contents.to_json(),
            "events": [event.to_json() for event in self.events],
        }
        if on is not None:
            document["overdue"] = self.overdue(on)
        return document
