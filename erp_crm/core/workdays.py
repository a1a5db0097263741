"""Working (banking) days by the Russian production calendar.

The calendar is python-holidays' `country_holidays("RU")`: public holidays, the days off moved by
the government's decrees and the Saturdays or Sundays made working days (`weekend_workdays`).
`TRANSFERRED_WORKING_DAYS` adds the official working weekend days on top of the library, so a
decree published after the installed library version is covered by one line here (the ones
listed are also in holidays 0.109; keeping them guards against an older library).
`EXTRA_DAYS_OFF` does the same for days off.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

# Weekend days declared working days by the government's decrees on transfers of days off.
TRANSFERRED_WORKING_DAYS: frozenset[dt.date] = frozenset(
    {
        dt.date(2024, 4, 27),
        dt.date(2024, 11, 2),
        dt.date(2024, 12, 28),
        dt.date(2025, 11, 1),
        # 2026: no working weekend days
        dt.date(2027, 2, 20),
    }
)
# Weekday days off from decrees the installed library may not know yet.
EXTRA_DAYS_OFF: frozenset[dt.date] = frozenset()


@lru_cache(maxsize=64)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


def is_working_day(day: dt.date) -> bool:
    """A working day of the Russian production calendar (banks work on the same days)."""
    if day in TRANSFERRED_WORKING_DAYS:
        return True
    if day in EXTRA_DAYS_OFF:
        return False
    return _calendar(day.year).is_working_day(day)


def next_working_day(day: dt.date) -> dt.date:
    """The day itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th working day after `day` (the day itself not counted): «N банковских дней»."""
    if count < 0:
        raise ValueError("count must not be negative")
    if count == 0:
        return next_working_day(day)
    left = count
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_day_after(day: dt.date, days: int) -> dt.date:
    """`days` calendar days later, moved forward past weekends and Russian public holidays."""
    return next_working_day(day + dt.timedelta(days=days))
