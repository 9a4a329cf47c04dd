"""Hijri → Gregorian with the tabular (arithmetic) Islamic calendar.

Why tabular and not Umm al-Qura: it needs no table, covers every year and runs in constant time.
Sites print the Saudi Umm al-Qura or a sighting-based date, which can differ from the tabular one by
a day or two (bench/RESULTS.extraction.md measures how often against `hijridate`). A publication
date is only used when a page has no Gregorian date, so ±1 day is acceptable there.
"""

from __future__ import annotations

from datetime import date

# Rata Die (Python ordinal) of 1 Muharram 1 AH, Julian 16 July 622 (the "civil" epoch).
_EPOCH = 227015


def hijri_to_gregorian(year: int, month: int, day: int) -> date:
    """Tabular Islamic calendar (leap years 2, 5, 7, 10, 13, 16, 18, 21, 24, 26, 29 of 30).

    Raises ValueError for out-of-range months/days so callers can treat the text as no date."""
    if not (1 <= month <= 12 and 1 <= day <= 30 and year >= 1):
        raise ValueError(f"not a Hijri date: {year}-{month}-{day}")
    ordinal = (
        _EPOCH - 1
        + (year - 1) * 354
        + (3 + 11 * year) // 30  # leap days before this year
        + 29 * (month - 1)
        + month // 2  # odd months have 30 days, even 29
        + day
    )
    return date.fromordinal(ordinal)
