"""Parse the dates news pages print: ISO 8601, RFC 2822, Arabic month names of every regional family,
Eastern Arabic digits, relative phrases ("منذ ساعتين", "أمس"), Hijri dates and time-zone words.

Everything returned is timezone-aware UTC. Text without an explicit zone is read in ``default_tz``.
Pure: relative phrases are resolved against ``now``, never the clock, when ``now`` is given.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scraper.extract.date_words import (
    AM_WORDS,
    GREGORIAN_MONTHS,
    HIJRI_MONTHS,
    NUMBER_WORDS,
    PM_WORDS,
    RELATIVE_UNITS,
    ZONE_ABBREVIATIONS,
    ZONE_WORDS,
    char_replacer,
    fold,
)
from scraper.extract.hijri import hijri_to_gregorian

# ٠-٩ (Arabic-Indic) and ۰-۹ (Persian/Urdu) digits, bidi marks, NBSP, Arabic comma and date slash.
_CLEAN: dict[str, str | None] = {
    **{chr(0x660 + i): str(i) for i in range(10)},
    **{chr(0x6F0 + i): str(i) for i in range(10)},
    "\u200e": None, "\u200f": None, "\u061c": None, "\u202a": None, "\u202b": None,
    "\u202c": None, "\u202d": None, "\u202e": None, "\u00a0": " ", "\u060c": ",", "\u066b": ".",
    "\u066c": ",", "\u2044": "/",
}
_clean = char_replacer(_CLEAN)
_MAX_LEN = 400  # a date string longer than this is page text; its date (if any) is near the start


def _alternation(words: dict[str, int]) -> str:
    # Longest first so "كانون الثاني" wins over a shorter prefix; spaces inside names match any run.
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


_MONTH = f"(?:{_alternation(GREGORIAN_MONTHS)})"
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:من\s+)?(?:شهر\s+)?[/-]?\s*(?<!\w)({_MONTH})(?!\w)\.?"
    rf"(?:\s*[/-]\s*{_MONTH}(?!\w))?\s*,?\s*(?:من\s+)?(?:عام\s+|سنه\s+)?(\d{{4}})(?!\d)"
)
_MONTH_DAY_YEAR = re.compile(
    rf"(?<!\w)({_MONTH})(?!\w)\.?(?:\s*[/-]\s*{_MONTH}(?!\w))?\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s+(\d{{4}})(?!\d)"
)
_HIJRI = re.compile(
    rf"(?<!\d)(\d{{1,2}})\s*(?:من\s+)?(?<!\w)({_alternation(HIJRI_MONTHS)})(?!\w)\s*,?\s*(?:عام\s+|سنه\s+)?(\d{{3,4}})(?!\d)"
)
_ISO = re.compile(
    r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:T|\s+|\s*-\s*)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
)
_NUMERIC = re.compile(r"(?<!\d)(\d{1,4})([/.-])(\d{1,2})\2(\d{2,4})(?!\d)")
_TIME = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([^\s\d()\[\],|/-]+))?")
_OFFSET = re.compile(r"(?:(?<![\w-])(?:gmt|utc|ut|غرينتش|جرينتش|غرينيتش)\s*)?([+-])\s*(\d{1,2})(?::?(\d{2}))?(?!\d)")
_LOCAL_ZONE = re.compile(r"بتوقيت\s+(\S+(?:\s+\S+)?)")
_ABBREV = re.compile(r"(?<![A-Za-z])(" + "|".join(ZONE_ABBREVIATIONS) + r")(?![A-Za-z])")
_RELATIVE = re.compile(r"(?<!\w)(?:منذ|قبل)\s+(?:حوالي\s+|نحو\s+)?(\w+)(?:\s+(\w+))?|(\d+|an?|one)\s+(\w+)\s+ago")
_TIME_LEADS = ("الساعه", "في", "على", "عند", "at ")
_PLAIN_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_DAY_WORD = re.compile(r"(?<!\w)(اول\s+امس|امس|الامس|بالامس|البارحه|yesterday|اليوم|today)(?!\w)", re.I)


def parse_date(text: str, now: datetime | None = None, default_tz: tzinfo = UTC) -> datetime | None:
    """The first date found in ``text`` as an aware UTC datetime, or None."""
    if not text:
        return None
    if (quick := _parse_plain_iso(text, default_tz)) is not None:
        return quick
    s = fold(_clean(text))[:_MAX_LEN].strip()
    low = s.lower()
    for parse in (_parse_iso, _parse_rfc2822, _parse_named, _parse_numeric, _parse_hijri):
        found = parse(low, default_tz)
        if found is not None:
            return found.astimezone(UTC)
    found = _parse_relative(low, now or datetime.now(UTC), default_tz)
    return found.astimezone(UTC) if found is not None else None


def _parse_plain_iso(text: str, default_tz: tzinfo) -> datetime | None:
    """The machine-written shape of JSON-LD and <meta> dates ("2024-03-01T10:00:00+03:00"), read
    without the folding and the pattern cascade; anything else (or out of range) takes the full
    path, which gives the same answer for these strings."""
    m = _PLAIN_ISO.fullmatch(text.strip())
    if m is None:
        return None
    y, mo, d, h, mi, sec, zone = m.groups()
    if zone is None:
        tz: tzinfo = default_tz
    elif zone == "Z":
        tz = UTC
    else:
        minutes = int(zone[1:3]) * 60 + int(zone[-2:])
        if minutes > 14 * 60:
            return None
        tz = timezone(timedelta(minutes=minutes if zone[0] == "+" else -minutes))
    try:
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0), tzinfo=tz).astimezone(UTC)
    except ValueError:
        return None


def _build(y: int, mo: int, d: int, rest: str, default_tz: tzinfo, time: tuple[int, int, int] | None = None
           ) -> datetime | None:
    """A datetime from date parts; the time and zone are looked for in ``rest`` (the text after)."""
    if time is None:
        time, rest = _find_time(rest)
    try:
        naive = datetime(y, mo, d, *time)
    except ValueError:
        return None
    return _attach_zone(naive, rest, default_tz)


def _find_time(rest: str) -> tuple[tuple[int, int, int], str]:
    m = _TIME.search(rest[:80])  # a time further away belongs to something else
    if not m:
        return (0, 0, 0), rest
    hour, minute, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    marker = (m.group(4) or "").lower().rstrip(".,")
    if marker in PM_WORDS and hour < 12:
        hour += 12
    elif marker in AM_WORDS and hour == 12:
        hour = 0
    return (hour, minute, sec), rest[m.end(3) if m.group(3) else m.end(2):]


def _attach_zone(naive: datetime, rest: str, default_tz: tzinfo) -> datetime:
    zone = _find_zone(rest)
    return naive.replace(tzinfo=zone if zone is not None else default_tz)


def _find_zone(rest: str) -> tzinfo | None:
    head = rest[:60]
    m = _OFFSET.search(head)
    # A bare "+03:00" only counts right after the time; "GMT+3" / "UTC-5" anywhere near it.
    if m and (m.start() < 3 or m.group(0)[0] not in "+-"):
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        if minutes <= 14 * 60:
            return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))
    m = _LOCAL_ZONE.search(head)
    if m:
        for key in (m.group(1), m.group(1).split()[0]):
            if key in ZONE_WORDS:
                return _zone(*ZONE_WORDS[key])
    if head.lstrip().startswith("z"):
        return UTC
    m = _ABBREV.search(head.upper())
    if m:
        return timezone(timedelta(minutes=ZONE_ABBREVIATIONS[m.group(1)]))
    return None


def _zone(name: str | None, minutes: int) -> tzinfo:
    # The IANA zone gets DST right; the fixed offset is the fallback when tzdata is missing.
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return timezone(timedelta(minutes=minutes))


def _parse_iso(s: str, default_tz: tzinfo) -> datetime | None:
    m = _ISO.search(s)
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    time = (int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)) if m.group(4) else None
    return _build(y, mo, d, s[m.end():], default_tz, time)


def _parse_rfc2822(s: str, default_tz: tzinfo) -> datetime | None:
    if not s[:1].isascii() or "," not in s[:5]:
        return None  # only "Tue, 17 Mar 2020 ..." shapes; the named-month parser covers the rest
    try:
        dt = parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: "10:00:4444…4" (atheris)
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=default_tz)


def _parse_named(s: str, default_tz: tzinfo) -> datetime | None:
    best: tuple[int, datetime] | None = None
    for rx, order in ((_DAY_MONTH_YEAR, (1, 2, 3)), (_MONTH_DAY_YEAR, (2, 1, 3))):
        m = rx.search(s)
        if not m or (best is not None and best[0] <= m.start()):
            continue
        day, month = int(m.group(order[0])), GREGORIAN_MONTHS[re.sub(r"\s+", " ", m.group(order[1]))]
        dt = _build(int(m.group(order[2])), month, day, s[m.end():], default_tz)
        if dt is not None:
            best = (m.start(), dt)
    return best[1] if best else None


def _parse_numeric(s: str, default_tz: tzinfo) -> datetime | None:
    for m in _NUMERIC.finditer(s):
        a, b, c = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if len(m.group(1)) == 4:
            y, mo, d = a, b, c
        else:
            d, mo, y = a, b, c + (2000 if c < 100 else 0)
            if mo > 12 >= d:  # US order m/d/y
                d, mo = mo, d
        dt = _build(y, mo, d, s[m.end():], default_tz)
        if dt is not None:
            return dt
    return None


def _parse_hijri(s: str, default_tz: tzinfo) -> datetime | None:
    m = _HIJRI.search(s)
    if not m:
        return None
    try:
        g = hijri_to_gregorian(int(m.group(3)), HIJRI_MONTHS[re.sub(r"\s+", " ", m.group(2))], int(m.group(1)))
    except ValueError:
        return None
    return _build(g.year, g.month, g.day, s[m.end():], default_tz)


MAX_RELATIVE_SECONDS = 5 * 366 * 86400  # a news page saying "N ago" means days or months, not centuries


def _parse_relative(s: str, now: datetime, default_tz: tzinfo) -> datetime | None:
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    for m in _RELATIVE.finditer(s):
        first, second = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        if first in RELATIVE_UNITS:  # "منذ ساعتين": the unit's own form says how many
            seconds, implied = RELATIVE_UNITS[first]
            count = implied or None
        elif second in RELATIVE_UNITS:  # "منذ 3 ساعات", "منذ ثلاث ساعات", "3 hours ago"
            seconds, _ = RELATIVE_UNITS[second]
            count = _count(first)
        else:
            continue
        if count is not None:
            if not 0 <= seconds * count <= MAX_RELATIVE_SECONDS:
                return None  # "منذ 99999999 ساعة" is noise, not a date (and would overflow datetime)
            return now - timedelta(seconds=seconds * count)
    return _parse_day_word(s, now, default_tz)


def _parse_day_word(s: str, now: datetime, default_tz: tzinfo) -> datetime | None:
    """"أمس 10:30", "اليوم", "أول أمس": that day in the page's zone, at the time given or now's."""
    m = _DAY_WORD.search(s)
    if not m:
        return None
    word = m.group(1)
    follow = s[m.end():].lstrip(" ,-|:")
    if follow[:1].isalpha() and not follow.startswith(_TIME_LEADS):
        return None  # "اليوم السابع" is a newspaper, "today's news" is not a date
    days = 2 if word.startswith("اول") else 0 if word in ("اليوم", "today") else 1
    local = now.astimezone(default_tz) - timedelta(days=days)
    rest = s[m.end():]
    if _TIME.search(rest[:80]):
        (hour, minute, sec), _ = _find_time(rest)
        local = local.replace(hour=hour, minute=minute, second=sec)
    return local.replace(microsecond=0)


def _count(number: str | None) -> int | None:
    if number is None:
        return None
    if number.isdigit():
        return int(number)
    if number in ("a", "an", "one"):
        return 1
    return NUMBER_WORDS.get(number)
