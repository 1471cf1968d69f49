"""Tracking codes (UPU S10), shipment states and postal due dates (R16)."""

from __future__ import annotations

from datetime import date

import pytest

from mediastation.domain.calendar import is_holiday, is_working_day
from mediastation.domain.delivery import (
    STATES,
    TRANSITIONS,
    IllegalTransition,
    InvalidShipment,
    InvalidTrackingCode,
    Recipient,
    ShipmentContents,
    check_event_date,
    due_date,
    is_overdue,
    parse_tracking_code,
    s10_check_digit,
    transition,
)


@pytest.mark.parametrize(("serial", "check"), [
    ("12345678", 5),  # sum 204, 204 mod 11 = 6, r = 5 (domain.md's example RR123456785FI)
    ("00000000", 5),  # sum 0: r = 11 -> 5
    ("00000900", 0),  # sum 45 = 1 mod 11: r = 10 -> 0
    ("47312482", 9),  # sum 200 = 2 mod 11: r = 9
    ("31415926", 8),  # sum 168 = 3 mod 11: r = 8
])
def test_s10_check_digit(serial: str, check: int) -> None:
    assert s10_check_digit(serial) == check


def test_the_documented_example_is_valid_and_normalised() -> None:
    code = parse_tracking_code(" rr 1234 5678 5 fi ")
    assert (code.value, code.kind) == ("RR123456785FI", "s10")


@pytest.mark.parametrize("valid", ["RR000009000FI", "JJ473124829FI", "CP314159268SE", "RR123456785FI"])
def test_every_single_digit_error_is_caught(valid: str) -> None:
    """Weights 8,6,4,2,3,5,9,7 mod 11 catch any one mistyped digit whenever the check digit is
    not 5; the check digit itself is always checked."""
    assert parse_tracking_code(valid).kind == "s10"
    if valid[10] != "5":
        positions = range(2, 11)
    else:
        positions = range(10, 11)
    for position in positions:
        for digit in "0123456789":
            if digit == valid[position]:
                continue
            wrong = valid[:position] + digit + valid[position + 1:]
            with pytest.raises(InvalidTrackingCode, match="check digit"):
                parse_tracking_code(wrong)


def test_check_digit_5_is_shared_by_sums_0_and_6_as_s10_defines() -> None:
    """r = 11 maps to 5 like r = 5, so 1 -> 3 in the first digit of RR123456785FI (sum 204 -> 220)
    keeps check digit 5: the standard's own blind spot, not a bug of ours."""
    assert parse_tracking_code("RR323456785FI").value == "RR323456785FI"


@pytest.mark.parametrize("domestic", ["JJFI65432100000012345", "jjfi 6543 2100 0001 2345"])
def test_domestic_posti_codes_are_accepted_loosely(domestic: str) -> None:
    assert parse_tracking_code(domestic).kind == "domestic"


@pytest.mark.parametrize("bad", ["", "RR12345678FI", "R1123456785FI", "RR123456785F1", "123456785", "JJFI12"])
def test_malformed_codes_are_refused_with_the_expected_form(bad: str) -> None:
    with pytest.raises(InvalidTrackingCode, match="empty|S10|check digit"):
        parse_tracking_code(bad)


ALLOWED = {("prepared", "posted"), ("prepared", "cancelled"), ("posted", "delivered"),
           ("posted", "returned"), ("posted", "lost")}


@pytest.mark.parametrize("current", STATES)
@pytest.mark.parametrize("target", STATES)
def test_only_the_postal_transitions_are_allowed(current: str, target: str) -> None:
    if (current, target) in ALLOWED:
        assert transition(current, target) == target
    else:
        with pytest.raises(IllegalTransition, match=f"a {current} shipment cannot become {target}"):
            transition(current, target)


def test_transition_table_matches_the_allowed_set() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


def test_refusals_say_what_to_do() -> None:
    with pytest.raises(IllegalTransition, match="mark it posted"):
        transition("prepared", "delivered")
    with pytest.raises(IllegalTransition, match="cannot be cancelled"):
        transition("posted", "cancelled")
    with pytest.raises(IllegalTransition, match="final"):
        transition("delivered", "returned")


@pytest.mark.parametrize(("posted", "due"), [
    (date(2026, 11, 26), date(2026, 12, 3)),    # Thursday -> Thursday
    (date(2026, 11, 28), date(2026, 12, 5)),    # posted on a Saturday: still 7 calendar days
    (date(2026, 12, 18), date(2026, 12, 25)),   # due on Christmas Day: not moved
    (date(2026, 12, 31), date(2027, 1, 7)),     # over New Year and Epiphany
    (date(2026, 3, 31), date(2026, 4, 7)),      # over Easter 2026 (Good Friday 3.4 - Easter Monday 6.4)
])
def test_due_date_is_seven_calendar_days_whatever_the_holidays(posted: date, due: date) -> None:
    assert due_date(posted) == due
    assert (due - posted).days == 7


def test_holidays_in_the_window_are_real_holidays() -> None:
    """The cases above do cross holidays (so the test means something)."""
    assert is_holiday(date(2026, 12, 25)) and is_holiday(date(2027, 1, 6)) and is_holiday(date(2026, 4, 3))
    assert not is_working_day(date(2026, 12, 5))


def test_overdue_only_after_the_due_date_and_only_while_on_its_way() -> None:
    due = due_date(date(2026, 12, 18))  # Christmas Day
    assert not is_overdue("posted", due, date(2026, 12, 24))
    assert not is_overdue("posted", due, date(2026, 12, 25))  # on the due day it is not late yet
    assert is_overdue("posted", due, date(2026, 12, 26))
    for state in ("prepared", "delivered", "returned", "lost", "cancelled"):
        assert not is_overdue(state, due, date(2027, 2, 1))
    assert not is_overdue("posted", None, date(2027, 2, 1))


def test_arrival_cannot_precede_posting() -> None:
    with pytest.raises(InvalidShipment, match="before the posting"):
        check_event_date("delivered", date(2026, 12, 1), date(2026, 11, 30))
    check_event_date("delivered", date(2026, 12, 1), date(2026, 12, 1))


@pytest.mark.parametrize("prepared, posted, allowed", [
    (date(2026, 12, 1), date(2026, 11, 30), False),   # posted before the export made the media
    (date(2026, 12, 1), date(2026, 12, 1), True),     # posted the day it was made
    (date(2026, 12, 1), date(2026, 12, 4), True),
    (None, date(2026, 11, 30), True),                  # history unknown: nothing to judge by
])
def test_posting_cannot_precede_the_shipment(prepared: date | None, posted: date, allowed: bool) -> None:
    """R16: a posting dated before its shipment existed would make it due (even overdue) too early."""
    if allowed:
        check_event_date("posted", None, posted, prepared)
    else:
        with pytest.raises(InvalidShipment, match="before the shipment was prepared"):
            check_event_date("posted", None, posted, prepared)


def test_recipient_and_contents_are_valid_on_construction() -> None:
    with pytest.raises(InvalidShipment, match="street, postal_code"):
        Recipient.from_mapping({"name": "Terveystalo", "city": "Helsinki"})
    with pytest.raises(InvalidShipment, match="at least one medium"):
        ShipmentContents(())
    with pytest.raises(InvalidShipment, match="twice"):
        ShipmentContents(("M1", "M1"))
    assert ShipmentContents(("M2", "M1")).key() == ShipmentContents(("M1", "M2")).key()
