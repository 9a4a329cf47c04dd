"""parse_date table tests: every month-name family, digits, relative phrases, Hijri, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.extract import date_words, dates
from scraper.extract.dates import parse_date
from scraper.extract.hijri import hijri_to_gregorian, tabular_hijri_to_gregorian

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


ABSOLUTE = [
    # ISO 8601 and RFC 2822
    ("2020-06-03T03:01+0400", utc(2020, 6, 2, 23, 1)),
    ("2020-03-17T17:27:41Z", utc(2020, 3, 17, 17, 27, 41)),
    ("2020-11-09T18:34:47+00:00", utc(2020, 11, 9, 18, 34, 47)),
    ("2020-12-01 02:00:00", utc(2020, 12, 1, 2)),
    ("2020-11-09", utc(2020, 11, 9)),
    ("Tue, 17 Mar 2020 17:27:41 +0300", utc(2020, 3, 17, 14, 27, 41)),
    # Egypt / Gulf names, with hamza variants
    ("الأربعاء، 07 أكتوبر 2020 - 12:09 م", utc(2020, 10, 7, 12, 9)),
    ("7 اكتوبر 2020", utc(2020, 10, 7)),
    ("15 أغسطس 2019", utc(2019, 8, 15)),
    ("15 اغسطس 2019", utc(2019, 8, 15)),
    ("1 يناير 2021", utc(2021, 1, 1)),
    ("3 فبراير 2021", utc(2021, 2, 3)),
    ("4 إبريل 2021", utc(2021, 4, 4)),
    ("5 مايو 2021", utc(2021, 5, 5)),
    ("6 يونيو 2021", utc(2021, 6, 6)),
    ("7 يوليو 2021", utc(2021, 7, 7)),
    ("8 نوفمبر 2021", utc(2021, 11, 8)),
    ("ديسمبر 25, 2020", utc(2020, 12, 25)),
    # Levant / Iraq names
    ("1 كانون الثاني 2020", utc(2020, 1, 1)),
    ("2 شباط 2020", utc(2020, 2, 2)),
    ("3 آذار 2020", utc(2020, 3, 3)),
    ("تم نشره الجمعة 24 نيسان / أبريل 2020 09:22 مساءً", utc(2020, 4, 24, 21, 22)),
    ("2 أيار 2021 12:30 ص", utc(2021, 5, 2, 0, 30)),
    ("6 حزيران 2020", utc(2020, 6, 6)),
    ("7 تموز 2020", utc(2020, 7, 7)),
    ("الأربعاء، 28 آب/اغسطس 2013، آخر تحديث 14:00 (GMT+0400)", utc(2013, 8, 28, 10)),
    ("9 أيلول 2020", utc(2020, 9, 9)),
    ("3 تشرين الأول 2019", utc(2019, 10, 3)),
    ("4 تشرين الثاني 2019", utc(2019, 11, 4)),
    ("5 كانون الأول 2019", utc(2019, 12, 5)),
    # Maghreb (Algeria/Tunisia) and Morocco
    ("5 جانفي 2021", utc(2021, 1, 5)),
    ("6 فيفري 2021", utc(2021, 2, 6)),
    ("7 أفريل 2021", utc(2021, 4, 7)),
    ("8 ماي 2021", utc(2021, 5, 8)),
    ("9 جوان 2021", utc(2021, 6, 9)),
    ("12 جويلية 2019 على الساعة 10:00", utc(2019, 7, 12, 10)),
    ("3 أوت 2020", utc(2020, 8, 3)),
    ("15 يوليوز 2020", utc(2020, 7, 15)),
    ("5 غشت 2019", utc(2019, 8, 5)),
    ("6 شتنبر 2019", utc(2019, 9, 6)),
    ("7 نونبر 2019", utc(2019, 11, 7)),
    ("8 دجنبر 2019", utc(2019, 12, 8)),
    # Eastern Arabic and Persian digits, numeric forms, 12-hour markers
    ("٢٠٢٠-٠٣-١٧", utc(2020, 3, 17)),
    ("۲۰۲۰/۰۳/۱۷", utc(2020, 3, 17)),
    ("١٥ مارس ٢٠٢٠ ١٠:٣٠", utc(2020, 3, 15, 10, 30)),
    ("2020/12/25 - 1:59 صباحًا", utc(2020, 12, 25, 1, 59)),
    ("25/12/2020", utc(2020, 12, 25)),
    ("March 5, 2020 10:00 PM EST", utc(2020, 3, 6, 3)),
    # Time zones
    ("10 مارس 2020 الساعة 15:00 بتوقيت مكة", utc(2020, 3, 10, 12)),
    ("10 مارس 2020 10:00 بتوقيت غرينتش", utc(2020, 3, 10, 10)),
    ("10/03/2020 10:00 GMT+3", utc(2020, 3, 10, 7)),
    ("2020-03-10 10:00 GST", utc(2020, 3, 10, 6)),
    ("10 يناير 2020 09:00 بتوقيت القاهرة", utc(2020, 1, 10, 7)),
    # Hijri alone is converted; a Gregorian date beside it wins
    ("١٥ رمضان ١٤٤١ هـ", utc(2020, 5, 8)),
    ("الخميس 12 ذو الحجة 1441", utc(2020, 8, 2)),
    ("الأحد 15 رمضان 1441 هـ - 10 مايو 2020 م", utc(2020, 5, 10)),
]


@pytest.mark.parametrize(("text", "expected"), ABSOLUTE)
def test_absolute(text: str, expected: datetime) -> None:
    got = parse_date(text, now=NOW)
    assert got == expected
    assert got is not None and got.tzinfo == UTC


RELATIVE = [
    ("منذ 3 ساعات", NOW - timedelta(hours=3)),
    ("منذ ٣ ساعات", NOW - timedelta(hours=3)),
    ("منذ ساعتين", NOW - timedelta(hours=2)),
    ("منذ ساعة", NOW - timedelta(hours=1)),
    ("منذ دقيقة", NOW - timedelta(minutes=1)),
    ("منذ 5 دقائق", NOW - timedelta(minutes=5)),
    ("منذ ثلاث ساعات", NOW - timedelta(hours=3)),
    ("قبل يومين", NOW - timedelta(days=2)),
    ("منذ أسبوع", NOW - timedelta(weeks=1)),
    ("3 hours ago", NOW - timedelta(hours=3)),
    ("أمس", NOW - timedelta(days=1)),
    ("أول أمس", NOW - timedelta(days=2)),
    ("اليوم 10:30", utc(2024, 5, 10, 10, 30)),
    ("اليوم", NOW),
    ("اليوم، الساعة 09:15", utc(2024, 5, 10, 9, 15)),
    ("أمس 22:15", utc(2024, 5, 9, 22, 15)),
    ("yesterday", NOW - timedelta(days=1)),
]


@pytest.mark.parametrize(("text", "expected"), RELATIVE)
def test_relative(text: str, expected: datetime) -> None:
    assert parse_date(text, now=NOW) == expected


def test_relative_uses_the_default_zone_for_day_words() -> None:
    riyadh = timezone(timedelta(hours=3))
    assert parse_date("اليوم 10:30", now=NOW, default_tz=riyadh) == utc(2024, 5, 10, 7, 30)


def test_naive_text_is_read_in_default_tz() -> None:
    cairo = timezone(timedelta(hours=2))
    assert parse_date("2020-12-01 02:00:00", default_tz=cairo) == utc(2020, 12, 1, 0, 0)


@pytest.mark.parametrize("text", ["", "garbage", "منذ ساعات", "2020-13-45", "31 فبراير 2020", "اليوم السابع"])
def test_no_date(text: str) -> None:
    assert parse_date(text, now=NOW) is None


def test_tabular_hijri_known_dates() -> None:
    assert tabular_hijri_to_gregorian(1, 1, 1) == date(622, 7, 19)  # proleptic Gregorian of Julian 16 July 622
    assert tabular_hijri_to_gregorian(1441, 9, 1) == date(2020, 4, 24)  # Ramadan 1441 began 24 April 2020
    assert tabular_hijri_to_gregorian(1445, 1, 1) == date(2023, 7, 19)
    assert hijri_to_gregorian(1, 1, 1) == date(622, 7, 19)  # before the Umm al-Qura table: tabular
    with pytest.raises(ValueError):
        hijri_to_gregorian(1441, 13, 1)


def test_umm_al_qura_hijri_known_dates() -> None:
    # Saudi official dates, where the tabular calendar is a day late.
    assert hijri_to_gregorian(1444, 10, 1) == date(2023, 4, 21)  # Eid al-Fitr 1444, Friday 21 April 2023
    assert hijri_to_gregorian(1444, 12, 10) == date(2023, 6, 28)  # Eid al-Adha 1444
    assert hijri_to_gregorian(1445, 9, 1) == date(2024, 3, 11)  # Ramadan 1445
    assert tabular_hijri_to_gregorian(1444, 12, 10) == date(2023, 6, 29)
    # Ramadan 1444 had 29 days there: a site's "30 Ramadan" is the day after the 29th.
    assert hijri_to_gregorian(1444, 9, 30) == date(2023, 4, 21)
    assert parse_date("الجمعة 10 ذو الحجة 1444 هـ", now=NOW) == utc(2023, 6, 28)


# ---- fold and the digit/mark clean-up by str.replace of the characters present: the same as str.translate
_REPLACED = [*dates._CLEAN, *date_words._FOLD, *date_words._FOLD.values(), "\u064e", "\u0651", "\u0640", "ع", "a",
             " ", "1", "😀", "é"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_REPLACED), max_size=30))
def test_clean_and_fold_agree_with_translate(chars: list[str]) -> None:
    text = "".join(chars)
    assert dates._clean(text) == text.translate(str.maketrans(dates._CLEAN))
    expected = date_words._TASHKEEL.sub("", text).translate(str.maketrans(date_words._FOLD))
    assert date_words.fold(text) == expected


def test_clean_and_fold_on_a_real_date_line() -> None:
    line = "الأربعاء\u200f، ٢٨ آب/أغسطس ٢٠١٣، آخر تحديث ١٤:٠٠"
    assert date_words.fold(dates._clean(line)) == "الاربعاء, 28 اب/اغسطس 2013, اخر تحديث 14:00"


@pytest.mark.parametrize("table", [{"ا": "أ", "أ": "ا"}, {"ab": "x"}, {"a": "b"}])
def test_char_replacer_refuses_tables_translate_would_read_otherwise(table: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        date_words.char_replacer(table)
