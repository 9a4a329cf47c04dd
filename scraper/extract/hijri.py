"""Hijri → Gregorian: the Umm al-Qura calendar (hijridate's tables, 1343-1500 AH), the tabular one outside it.

Why Umm al-Qura: it is the Saudi official calendar, and the dates Arabic sites print follow it or a
sighting that mostly agrees with it; the tabular (arithmetic) calendar agrees with it on only about a
third of days, and is a day late on most others (bench/RESULTS.extraction.md measures it), so Eid
al-Adha 1444 (10 Dhu al-Hijjah) came out 29 June 2023 instead of the 28th. The tabular calendar stays
for years outside the table: it needs no data and covers every year.
"""

from __future__ import annotations

from datetime import date, timedelta

from hijridate import Hijri
from hijridate.ummalqura import HIJRI_RANGE

# Rata Die (Python ordinal) of 1 Muharram 1 AH, Julian 16 July 622 (the "civil" epoch).
_EPOCH = 227015
_TABLE_YEARS = range(HIJRI_RANGE[0][0], HIJRI_RANGE[1][0] + 1)  # what hijridate's Umm al-Qura table covers


def hijri_to_gregorian(year: int, month: int, day: int) -> date:
    """Umm al-Qura within its table; a 30th of a month that has 29 days there (a sighting-based calendar
    ran a day longer) is the day after its 29th. Raises ValueError for out-of-range months/days so
    callers can treat the text as no date."""
    _check(year, month, day)
    if year not in _TABLE_YEARS:
        return tabular_hijri_to_gregorian(year, month, day)
    try:
        return Hijri(year, month, day).to_gregorian()
    except ValueError:  # only a 30th can be refused by now
        return Hijri(year, month, 29).to_gregorian() + timedelta(days=1)


def tabular_hijri_to_gregorian(year: int, month: int, day: int) -> date:
    """Tabular Islamic calendar (leap years 2, 5, 7, 10, 13, 16, 18, 21, 24, 26, 29 of 30)."""
    _check(year, month, day)
    ordinal = (
        _EPOCH - 1
        + (year - 1) * 354
        + (3 + 11 * year) // 30  # leap days before this year
        + 29 * (month - 1)
        + month // 2  # odd months have 30 days, even 29
        + day
    )
    return date.fromordinal(ordinal)


def _check(year: int, month: int, day: int) -> None:
    if not (1 <= month <= 12 and 1 <= day <= 30 and year >= 1):
        raise ValueError(f"not a Hijri date: {year}-{month}-{day}")
