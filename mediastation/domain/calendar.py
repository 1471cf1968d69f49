"""Finnish working days, HUS customer-service office hours and postal due dates (R9, R14, R16).

Holidays come from the `holidays` package (Finland, public category) plus the two de facto
holidays of domain.md §6, Midsummer Eve and Christmas Eve, added here whether or not the library
lists them, so an upgrade that drops them cannot silently open customer service on those days.
Times are judged in Europe/Helsinki, whatever zone the moment arrives in: the office is in Helsinki.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

HELSINKI = ZoneInfo("Europe/Helsinki")
OFFICE_OPENS = time(7, 30)
OFFICE_CLOSES = time(15, 0)  # 15:00 itself already belongs to the on-call side (R9)
POSTAL_DELIVERY_DAYS = 7  # R16: "at least one week"


def is_holiday(d: date) -> bool:
    """A Finnish public or de facto holiday (domain.md §6); Sundays count only when listed."""
    return _plain_date(d) in _holidays(d.year)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a holiday: the days customer service is open (R9)."""
    d = _plain_date(d)
    return d.weekday() < 5 and not is_holiday(d)


def next_working_day(d: date) -> date:
    """The first working day strictly after `d`: when customer service next opens (R9, R14)."""
    day = _plain_date(d) + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def is_office_hours(moment: datetime) -> bool:
    """R9: 07:30 <= Helsinki time < 15:00 on a working day; otherwise a request goes to on-call.

    The moment must be timezone-aware (a naive time is ambiguous across DST and between a UTC
    server clock and a Helsinki wall clock); it is converted to Helsinki time first.
    """
    local = _in_helsinki(moment)
    return is_working_day(local.date()) and OFFICE_OPENS <= local.time() < OFFICE_CLOSES


def helsinki_date(moment: datetime) -> date:
    """The calendar date in Helsinki: 23:30Z in summer is already the next day there."""
    return _in_helsinki(moment).date()


def postal_earliest_delivery(posted_on: date) -> date:
    """R16: a posted shipment is promised no earlier than 7 calendar days after posting."""
    return _plain_date(posted_on) + timedelta(days=POSTAL_DELIVERY_DAYS)


def midsummer_eve(year: int) -> date:
    """The Friday between 19 and 25 June (de facto holiday, domain.md §6)."""
    first = date(year, 6, 19)
    return first + timedelta(days=(4 - first.weekday()) % 7)


@lru_cache(maxsize=None)
def _holidays(year: int) -> frozenset[date]:
    """One year's holidays, built once: the library's public ones plus the de facto eves."""
    listed = holidays.Finland(years=year)
    return frozenset(listed) | {midsummer_eve(year), date(year, 12, 24)}


def _in_helsinki(moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: give an aware datetime (e.g. UTC)")
    return moment.astimezone(HELSINKI)


def _plain_date(d: date) -> date:
    """Refuse a datetime: its own date may not be the Helsinki date; use helsinki_date() first."""
    if isinstance(d, datetime):
        raise TypeError("expected a date, not a datetime: convert with helsinki_date() first")
    if not isinstance(d, date):
        raise TypeError(f"expected a date, not {type(d).__name__}")
    return d
