"""Working days, office hours (R9) and postal due dates (R16), judged in Helsinki."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediastation.domain.calendar import (
    helsinki_date,
    is_holiday,
    is_office_hours,
    is_working_day,
    midsummer_eve,
    next_working_day,
    postal_earliest_delivery,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
UTC = timezone.utc


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 4, 2), True),  # Maundy Thursday is a working day
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 4, 7), True),
        (date(2026, 5, 14), False),  # Ascension (Easter + 39)
        (date(2026, 6, 18), True),
        (date(2026, 6, 19), False),  # Midsummer Eve, de facto
        (date(2026, 12, 23), True),
        (date(2026, 12, 24), False),  # Christmas Eve, de facto (a Thursday in 2026)
        (date(2026, 12, 31), True),  # New Year's Eve is not a holiday
        (date(2027, 12, 6), False),  # Independence Day on a Monday
        (date(2026, 10, 31), False),  # All Saints' Day, a Saturday
        (date(2026, 11, 2), True),  # ... not moved to the Monday
        (date(2026, 1, 17), False),  # an ordinary Saturday
        (date(2026, 1, 18), False),  # an ordinary Sunday
        (date(2026, 1, 14), True),  # an ordinary Wednesday
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    "day",
    [date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 14), date(2026, 6, 19), date(2026, 6, 20),
     date(2026, 10, 31), date(2026, 12, 6), date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)],
)
def test_holidays_of_2026(day: date) -> None:
    assert is_holiday(day)


def test_an_ordinary_saturday_is_no_holiday_but_no_working_day() -> None:
    assert not is_holiday(date(2026, 1, 17))
    assert not is_working_day(date(2026, 1, 17))


@pytest.mark.parametrize(("year", "eve"), [(2026, date(2026, 6, 19)), (2027, date(2027, 6, 25)),
                                            (2025, date(2025, 6, 20))])
def test_midsummer_eve(year: int, eve: date) -> None:
    assert midsummer_eve(year) == eve


@given(st.integers(min_value=1955, max_value=2200))
def test_midsummer_eve_is_the_friday_between_19_and_25_june(year: int) -> None:
    eve = midsummer_eve(year)
    assert eve.weekday() == 4 and eve.month == 6 and 19 <= eve.day <= 25
    assert is_holiday(eve) and is_holiday(date(year, 12, 24))


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HELSINKI)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (_local(2026, 1, 14, 7, 29), False),
        (_local(2026, 1, 14, 7, 29, 59, 999999), False),
        (_local(2026, 1, 14, 7, 30), True),
        (_local(2026, 1, 14, 14, 59), True),
        (_local(2026, 1, 14, 14, 59, 59, 999999), True),
        (_local(2026, 1, 14, 15, 0), False),
        (_local(2026, 6, 10, 7, 30), True),
        (_local(2026, 6, 10, 15, 0), False),
        # winter UTC+2: 13:00Z is 15:00 local
        (datetime(2026, 1, 14, 12, 59, tzinfo=UTC), True),
        (datetime(2026, 1, 14, 13, 0, tzinfo=UTC), False),
        (datetime(2026, 1, 14, 5, 30, tzinfo=UTC), True),
        (datetime(2026, 1, 14, 5, 29, tzinfo=UTC), False),
        # summer UTC+3: 12:00Z is 15:00 local
        (datetime(2026, 6, 10, 11, 59, tzinfo=UTC), True),
        (datetime(2026, 6, 10, 12, 0, tzinfo=UTC), False),
        (datetime(2026, 6, 10, 4, 30, tzinfo=UTC), True),
        (datetime(2026, 6, 10, 4, 29, tzinfo=UTC), False),
        # not a working day
        (_local(2026, 1, 17, 10, 0), False),  # Saturday
        (_local(2026, 4, 3, 10, 0), False),  # Good Friday
        (_local(2026, 12, 24, 10, 0), False),  # Christmas Eve
        # 22:30Z on Sunday is already Monday 00:30 in Helsinki: a working day, but not office hours
        (datetime(2026, 1, 18, 22, 30, tzinfo=UTC), False),
        # 05:30Z Saturday winter is 07:30 local Saturday
        (datetime(2026, 1, 17, 5, 30, tzinfo=UTC), False),
    ],
)
def test_office_hours(moment: datetime, open_: bool) -> None:
    assert is_office_hours(moment) is open_


def test_utc_day_differs_from_helsinki_day() -> None:
    # Friday 2026-01-16 23:30 UTC is Saturday 01:30 in Helsinki; Sunday 22:00Z is Monday 00:00 there.
    assert helsinki_date(datetime(2026, 1, 16, 23, 30, tzinfo=UTC)) == date(2026, 1, 17)
    assert helsinki_date(datetime(2026, 1, 18, 22, 0, tzinfo=UTC)) == date(2026, 1, 19)
    assert helsinki_date(datetime(2026, 1, 18, 21, 59, tzinfo=UTC)) == date(2026, 1, 18)
    assert helsinki_date(datetime(2026, 6, 10, 21, 0, tzinfo=UTC)) == date(2026, 6, 11)


@pytest.mark.parametrize("function", [is_office_hours, helsinki_date])
def test_naive_datetime_is_refused(function) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="no time zone"):
        function(datetime(2026, 1, 14, 10, 0))


@pytest.mark.parametrize("function", [is_office_hours, helsinki_date])
def test_a_date_is_not_a_moment(function) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError):
        function(date(2026, 1, 14))


@pytest.mark.parametrize("function", [is_working_day, is_holiday, next_working_day, postal_earliest_delivery])
def test_a_datetime_is_not_a_day(function) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="helsinki_date"):
        function(datetime(2026, 1, 14, 10, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("day", "next_"),
    [
        (date(2026, 1, 14), date(2026, 1, 15)),
        (date(2026, 1, 16), date(2026, 1, 19)),  # Friday -> Monday
        (date(2026, 1, 17), date(2026, 1, 19)),
        (date(2026, 4, 2), date(2026, 4, 7)),  # over Easter
        (date(2026, 6, 18), date(2026, 6, 22)),  # over Midsummer
        (date(2026, 12, 23), date(2026, 12, 28)),  # over Christmas
        (date(2026, 12, 31), date(2027, 1, 4)),  # New Year's Day Fri, weekend
    ],
)
def test_next_working_day(day: date, next_: date) -> None:
    assert next_working_day(day) == next_


@given(st.dates(min_value=date(1960, 1, 1), max_value=date(2150, 12, 31)))
def test_next_working_day_is_the_first_after(day: date) -> None:
    found = next_working_day(day)
    assert found > day and is_working_day(found)
    between = day + timedelta(days=1)
    while between < found:
        assert not is_working_day(between)
        between += timedelta(days=1)


@pytest.mark.parametrize(
    ("posted", "due"),
    [
        (date(2026, 1, 14), date(2026, 1, 21)),
        (date(2026, 2, 25), date(2026, 3, 4)),
        (date(2028, 2, 25), date(2028, 3, 3)),  # leap year
        (date(2026, 12, 28), date(2027, 1, 4)),  # calendar days, holidays do not move it
    ],
)
def test_postal_earliest_delivery_is_a_week_later(posted: date, due: date) -> None:
    assert postal_earliest_delivery(posted) == due


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()))
def test_office_hours_do_not_depend_on_the_zone_a_moment_arrives_in(moment: datetime) -> None:
    assert is_office_hours(moment) is is_office_hours(moment.astimezone(UTC))
    assert is_office_hours(moment) is is_office_hours(moment.astimezone(HELSINKI))
    assert helsinki_date(moment) == helsinki_date(moment.astimezone(UTC))
