"""Business-day arithmetic for the counter (Asia/Tokyo).

A *business day* is a Tokyo calendar date that is

* not a Saturday or Sunday,
* not a Japanese public holiday according to :mod:`jpholiday` (this includes
  振替休日 substitute holidays and 国民の休日 such as 2026-09-22), and
* not in the 年末年始 closure, 29 December – 3 January inclusive.

All functions take **aware** datetimes in any zone and reason about the Tokyo calendar
date of that instant; naive datetimes raise ``ValueError`` (we never guess a zone).
Results are aware datetimes in :data:`TOKYO`.

Counting convention (used consistently by :func:`add_business_days` and
:func:`business_days_between`): a start on a non-business day is first *rolled
forward* to the next business day, and counting begins from there. So a request
received on Saturday with a 1-business-day SLA is due on Tuesday (Saturday → Monday,
+1 → Tuesday), exactly like one received on Monday. The time of day is ignored when
counting and preserved in the result.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import jpholiday

__all__ = [
    "CLOSE_HOUR",
    "OPEN_HOUR",
    "TOKYO",
    "add_business_days",
    "business_days_between",
    "is_business_day",
    "next_business_morning",
    "tokyo_isoformat",
]

TOKYO = ZoneInfo("Asia/Tokyo")
_JST = timezone(timedelta(hours=9))

#: Counter opening hours, Tokyo time: [OPEN_HOUR:00, CLOSE_HOUR:00).
OPEN_HOUR = 9
CLOSE_HOUR = 17


def _to_tokyo(dt: datetime, name: str = "datetime") -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {dt.isoformat()})")
    return dt.astimezone(TOKYO)


def tokyo_isoformat(dt: datetime) -> str:
    """An instant as the counter answers it: ISO 8601 with +09:00, whatever zone it came in.

    A fixed +09:00 rather than the zone's history: before 1888 Asia/Tokyo is local mean time
    (+09:18:59), an offset RFC 3339 cannot write.
    """
    _to_tokyo(dt)  # the same refusal of naive values
    return dt.astimezone(_JST).isoformat()


@lru_cache(maxsize=4096)
def _is_public_holiday(d: date) -> bool:
    return bool(jpholiday.is_holiday(d))


def _in_year_end_closure(d: date) -> bool:
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


def is_business_day(d: date) -> bool:
    """True if the counter is open on Tokyo calendar date ``d``.

    An aware ``datetime`` is accepted and judged by its Tokyo date; a naive one raises
    ``ValueError``.
    """
    if isinstance(d, datetime):
        d = _to_tokyo(d, "d").date()
    if d.weekday() >= 5:
        return False
    if _in_year_end_closure(d):
        return False
    return not _is_public_holiday(d)


def _roll_forward(d: date) -> date:
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def _next_business_day_after(d: date) -> date:
    return _roll_forward(d + timedelta(days=1))


def add_business_days(start: datetime, n: int) -> datetime:
    """The moment ``n`` business days after ``start``, in Tokyo time.

    ``start``'s Tokyo date is rolled forward to a business day if needed, then ``n``
    business days are added; the Tokyo time of day is kept. ``n == 0`` therefore just
    rolls a non-business start forward (same time of day). ``n`` must be >= 0.

    >>> add_business_days(datetime(2026, 12, 28, 10, tzinfo=TOKYO), 1).date()
    datetime.date(2027, 1, 4)
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    local = _to_tokyo(start, "start")
    d = _roll_forward(local.date())
    for _ in range(n):
        d = _next_business_day_after(d)
    return local.replace(year=d.year, month=d.month, day=d.day)


def business_days_between(a: datetime, b: datetime) -> int:
    """Business days elapsed from ``a`` to ``b`` (Tokyo calendar dates, for reports).

    Counts the business days ``d`` with ``roll_forward(date(a)) < d <= date(b)``, so
    ``business_days_between(s, add_business_days(s, n)) == n`` for every ``s``.
    Same day → 0; Friday → Monday → 1; Saturday → Monday → 0 (Saturday counts as
    Monday). If ``b`` is earlier than ``a`` the result is negative:
    ``business_days_between(a, b) == -business_days_between(b, a)``.
    """
    la, lb = _to_tokyo(a, "a"), _to_tokyo(b, "b")
    if lb < la:
        return -business_days_between(b, a)
    d = _roll_forward(la.date())
    end = lb.date()
    count = 0
    while d < end:
        d += timedelta(days=1)
        if is_business_day(d):
            count += 1
    return count


def next_business_morning(dt: datetime, hour: int = OPEN_HOUR) -> datetime:
    """When a reminder due at ``dt`` should actually be sent (Tokyo time).

    * business day, ``hour``:00 <= time < 17:00 → ``dt`` itself (in Tokyo time);
    * business day, before ``hour``:00 → ``hour``:00 the same day;
    * business day at/after 17:00, or a non-business day → ``hour``:00 on the next
      business day.
    """
    if not 0 <= hour < CLOSE_HOUR:
        raise ValueError(f"hour must be in 0..{CLOSE_HOUR - 1}, got {hour}")
    local = _to_tokyo(dt, "dt")
    d = local.date()
    if is_business_day(d):
        now = local.time()
        if now < time(hour):
            return datetime.combine(d, time(hour), tzinfo=TOKYO)
        if now < time(CLOSE_HOUR):
            return local
    return datetime.combine(_next_business_day_after(d), time(hour), tzinfo=TOKYO)
