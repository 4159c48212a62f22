import doctest
from datetime import UTC, date, datetime, timedelta

import pytest

import caseapp.rules.calendar as calendar_module
from caseapp.rules.calendar import (
    TOKYO,
    add_business_days,
    business_days_between,
    is_business_day,
    next_business_morning,
)

pytestmark = pytest.mark.calendar


def tokyo(y, m, d, hh=10, mm=0, ss=0, us=0):
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=TOKYO)


# ---------------------------------------------------------------------------
# is_business_day
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 11, 20), True),  # Fri
        (date(2026, 11, 21), False),  # Sat
        (date(2026, 11, 22), False),  # Sun
        (date(2026, 11, 23), False),  # Mon, 勤労感謝の日
        (date(2026, 11, 24), True),  # Tue
        (date(2026, 9, 18), True),  # Fri before シルバーウィーク
        (date(2026, 9, 21), False),  # 敬老の日
        (date(2026, 9, 22), False),  # 国民の休日 (sandwiched between two holidays)
        (date(2026, 9, 23), False),  # 秋分の日
        (date(2026, 9, 24), True),
        (date(2026, 5, 6), False),  # 振替休日 for 憲法記念日 (Sun 5/3)
        (date(2026, 5, 7), True),
        (date(2026, 12, 28), True),  # last working day of the year
        (date(2026, 12, 29), False),  # 年末年始 (Tue)
        (date(2026, 12, 30), False),
        (date(2026, 12, 31), False),
        (date(2027, 1, 1), False),  # 元日 and closure
        (date(2027, 1, 2), False),
        (date(2027, 1, 3), False),
        (date(2027, 1, 4), True),  # first working day of the year (Mon)
        (date(2025, 12, 29), False),  # closure on a Monday
        (date(2026, 1, 2), False),  # closure on a Friday
        (date(2026, 1, 5), True),
        (date(2026, 1, 12), False),  # 成人の日
    ],
)
def test_is_business_day(d, expected):
    assert is_business_day(d) is expected


def test_is_business_day_judges_aware_datetimes_by_tokyo_date():
    # 15:30 UTC on Sunday 22nd is 00:30 on Monday 23rd in Tokyo: a holiday.
    assert is_business_day(datetime(2026, 11, 22, 15, 30, tzinfo=UTC)) is False
    # 15:00 UTC on the 23rd is already Tuesday 24th in Tokyo.
    assert is_business_day(datetime(2026, 11, 23, 15, 0, tzinfo=UTC)) is True
    # 14:59 UTC on the 23rd is still the holiday in Tokyo.
    assert is_business_day(datetime(2026, 11, 23, 14, 59, tzinfo=UTC)) is False


def test_is_business_day_rejects_naive_datetime():
    with pytest.raises(ValueError, match="aware"):
        is_business_day(datetime(2026, 11, 24, 10, 0))


# ---------------------------------------------------------------------------
# add_business_days
# ---------------------------------------------------------------------------


def test_sla_over_a_weekend():
    assert add_business_days(tokyo(2026, 10, 16, 14, 30), 1) == tokyo(2026, 10, 19, 14, 30)
    assert add_business_days(tokyo(2026, 10, 16, 14, 30), 3) == tokyo(2026, 10, 21, 14, 30)


def test_sla_over_weekend_and_public_holiday():
    # Fri 20 Nov → Sat, Sun, Mon 23 (勤労感謝の日) skipped → Tue 24 Nov.
    assert add_business_days(tokyo(2026, 11, 20, 16, 45), 1) == tokyo(2026, 11, 24, 16, 45)
    assert add_business_days(tokyo(2026, 11, 20, 16, 45), 2) == tokyo(2026, 11, 25, 16, 45)


def test_sla_over_silver_week():
    # Fri 18 Sep → Sat 19, Sun 20, 敬老の日 21, 国民の休日 22, 秋分の日 23 → Thu 24.
    assert add_business_days(tokyo(2026, 9, 18, 11), 1) == tokyo(2026, 9, 24, 11)
    assert add_business_days(tokyo(2026, 9, 17, 11), 2) == tokyo(2026, 9, 24, 11)


def test_sla_over_year_end_closure():
    assert add_business_days(tokyo(2026, 12, 28, 10), 1) == tokyo(2027, 1, 4, 10)
    assert add_business_days(tokyo(2026, 12, 25, 10), 1) == tokyo(2026, 12, 28, 10)
    assert add_business_days(tokyo(2026, 12, 25, 10), 2) == tokyo(2027, 1, 4, 10)
    assert add_business_days(tokyo(2026, 12, 28, 10), 5) == tokyo(2027, 1, 8, 10)


def test_sla_over_substitute_holiday():
    # Golden Week 2026: Fri 1 May → 2 Sat, 3 Sun, 4, 5, 6 (振替休日) → Thu 7 May.
    assert add_business_days(tokyo(2026, 5, 1, 9, 15), 1) == tokyo(2026, 5, 7, 9, 15)


def test_start_on_non_business_day_rolls_forward_before_counting():
    # Saturday counts as Monday; +1 → Tuesday (same time of day).
    assert add_business_days(tokyo(2026, 10, 17, 13, 45), 1) == tokyo(2026, 10, 20, 13, 45)
    # Received during the closure: counting starts on 4 Jan.
    assert add_business_days(tokyo(2026, 12, 30, 10), 1) == tokyo(2027, 1, 5, 10)


def test_zero_days():
    assert add_business_days(tokyo(2026, 10, 16, 14), 0) == tokyo(2026, 10, 16, 14)
    assert add_business_days(tokyo(2026, 10, 17, 13, 45), 0) == tokyo(2026, 10, 19, 13, 45)
    assert add_business_days(tokyo(2026, 12, 31, 8), 0) == tokyo(2027, 1, 4, 8)


def test_time_of_day_is_preserved_to_the_microsecond():
    start = tokyo(2026, 10, 16, 23, 59, 59, 999999)
    assert add_business_days(start, 1) == tokyo(2026, 10, 19, 23, 59, 59, 999999)


def test_other_timezones_use_the_tokyo_calendar_and_return_tokyo_time():
    # 16:00 UTC Fri 20 Nov = 01:00 Sat 21 Nov in Tokyo → rolls to Tue 24 → +1 = Wed 25.
    result = add_business_days(datetime(2026, 11, 20, 16, 0, tzinfo=UTC), 1)
    assert result == tokyo(2026, 11, 25, 1, 0)
    assert result.tzinfo is TOKYO
    assert result.utcoffset() == timedelta(hours=9)
    # 00:30 UTC Fri 20 Nov = 09:30 Fri in Tokyo → +1 = Tue 24 09:30.
    assert add_business_days(datetime(2026, 11, 20, 0, 30, tzinfo=UTC), 1) == tokyo(
        2026, 11, 24, 9, 30
    )


def test_large_n():
    start = tokyo(2026, 1, 5, 9)
    end = add_business_days(start, 240)
    assert business_days_between(start, end) == 240
    assert is_business_day(end.date())


def test_add_business_days_rejects_naive_and_negative():
    with pytest.raises(ValueError, match="aware"):
        add_business_days(datetime(2026, 11, 20, 10, 0), 1)
    with pytest.raises(ValueError):
        add_business_days(tokyo(2026, 11, 20), -1)
    with pytest.raises(TypeError):
        add_business_days(date(2026, 11, 20), 1)


# ---------------------------------------------------------------------------
# business_days_between
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (tokyo(2026, 10, 16, 10), tokyo(2026, 10, 16, 17), 0),  # same day
        (tokyo(2026, 10, 16, 10), tokyo(2026, 10, 19, 9), 1),  # Fri → Mon
        (tokyo(2026, 10, 19, 16), tokyo(2026, 10, 20, 9), 1),  # time of day ignored
        (tokyo(2026, 10, 17, 10), tokyo(2026, 10, 19, 10), 0),  # Sat counts as Mon
        (tokyo(2026, 10, 17, 10), tokyo(2026, 10, 18, 10), 0),  # Sat → Sun
        (tokyo(2026, 11, 20, 10), tokyo(2026, 11, 24, 10), 1),  # over 勤労感謝の日
        (tokyo(2026, 9, 18, 10), tokyo(2026, 9, 24, 10), 1),  # over シルバーウィーク
        (tokyo(2026, 12, 28, 10), tokyo(2027, 1, 4, 10), 1),  # over 年末年始
        (tokyo(2026, 12, 28, 10), tokyo(2027, 1, 3, 23), 0),
        (tokyo(2026, 10, 1), tokyo(2026, 10, 31), 20),  # Oct 2026: 22 weekdays - 12 Oct
    ],
)
def test_business_days_between(a, b, expected):
    assert business_days_between(a, b) == expected


def test_business_days_between_reversed_is_negative():
    a, b = tokyo(2026, 10, 16, 10), tokyo(2026, 10, 21, 10)
    assert business_days_between(a, b) == 3
    assert business_days_between(b, a) == -3


def test_business_days_between_mixed_timezones():
    a = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)  # Fri 09:30 Tokyo
    b = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Tue 10:00 Tokyo
    assert business_days_between(a, b) == 1


def test_between_is_the_inverse_of_add_for_every_start_in_2026():
    d = date(2026, 1, 1)
    while d <= date(2027, 1, 10):
        start = tokyo(d.year, d.month, d.day, 15, 20)
        for n in range(0, 6):
            assert business_days_between(start, add_business_days(start, n)) == n, (d, n)
        d += timedelta(days=1)


def test_business_days_between_rejects_naive():
    with pytest.raises(ValueError):
        business_days_between(datetime(2026, 11, 20), tokyo(2026, 11, 24))
    with pytest.raises(ValueError):
        business_days_between(tokyo(2026, 11, 20), datetime(2026, 11, 24))


# ---------------------------------------------------------------------------
# next_business_morning
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "send_at"),
    [
        (tokyo(2026, 11, 24, 8, 30), tokyo(2026, 11, 24, 9)),  # early → same morning
        (tokyo(2026, 11, 24, 0, 0), tokyo(2026, 11, 24, 9)),
        (tokyo(2026, 11, 24, 9, 0), tokyo(2026, 11, 24, 9)),  # opening: send now
        (tokyo(2026, 11, 24, 10, 15), tokyo(2026, 11, 24, 10, 15)),  # in hours: now
        (tokyo(2026, 11, 24, 16, 59, 59), tokyo(2026, 11, 24, 16, 59, 59)),
        (tokyo(2026, 11, 24, 17, 0), tokyo(2026, 11, 25, 9)),  # closing time: tomorrow
        (tokyo(2026, 11, 24, 23, 0), tokyo(2026, 11, 25, 9)),
        (tokyo(2026, 11, 20, 18, 0), tokyo(2026, 11, 24, 9)),  # Fri evening + holiday Mon
        (tokyo(2026, 11, 21, 11, 0), tokyo(2026, 11, 24, 9)),  # Saturday
        (tokyo(2026, 11, 23, 8, 0), tokyo(2026, 11, 24, 9)),  # holiday morning
        (tokyo(2026, 9, 18, 17, 30), tokyo(2026, 9, 24, 9)),  # before シルバーウィーク
        (tokyo(2026, 12, 28, 17, 30), tokyo(2027, 1, 4, 9)),  # before 年末年始
        (tokyo(2027, 1, 1, 10, 0), tokyo(2027, 1, 4, 9)),  # 元日
        (tokyo(2026, 5, 6, 12, 0), tokyo(2026, 5, 7, 9)),  # 振替休日
    ],
)
def test_next_business_morning(due, send_at):
    result = next_business_morning(due)
    assert result == send_at
    assert result.tzinfo is TOKYO


def test_next_business_morning_custom_hour():
    assert next_business_morning(tokyo(2026, 11, 24, 7, 0), hour=8) == tokyo(2026, 11, 24, 8)
    assert next_business_morning(tokyo(2026, 11, 24, 8, 30), hour=8) == tokyo(2026, 11, 24, 8, 30)
    assert next_business_morning(tokyo(2026, 11, 24, 18, 0), hour=8) == tokyo(2026, 11, 25, 8)


def test_next_business_morning_converts_other_timezones():
    # 23:30 UTC Mon 23 Nov = 08:30 Tue 24 Nov Tokyo → 09:00 Tue.
    assert next_business_morning(datetime(2026, 11, 23, 23, 30, tzinfo=UTC)) == tokyo(
        2026, 11, 24, 9
    )
    # 02:00 UTC Tue 24 Nov = 11:00 Tokyo, in hours → returned unchanged (as Tokyo time).
    result = next_business_morning(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))
    assert result == tokyo(2026, 11, 24, 11)
    assert result.tzinfo is TOKYO


def test_next_business_morning_rejects_naive_and_bad_hour():
    with pytest.raises(ValueError, match="aware"):
        next_business_morning(datetime(2026, 11, 24, 8, 0))
    with pytest.raises(ValueError):
        next_business_morning(tokyo(2026, 11, 24), hour=17)
    with pytest.raises(ValueError):
        next_business_morning(tokyo(2026, 11, 24), hour=-1)


def test_doctests():
    assert doctest.testmod(calendar_module).failed == 0
