"""Word tables for Arabic (and English) date parsing: month names in every regional family, Hijri
months, relative-time units, number words and time-zone names.

Keys are written in *folded* form (see ``fold``): alef variants → ا, ى → ي, ة → ه, no tashkeel or
tatweel. Folding both the tables and the input lets one entry match "أغسطس", "اغسطس" and "أغُسطس".
"""

from __future__ import annotations

import re
from collections.abc import Callable


def char_replacer(table: dict[str, str | None]) -> Callable[[str], str]:
    """``text.translate(str.maketrans(table))`` for a few non-ASCII characters, as str.replace of the ones
    present: translate looks every character of a non-ASCII str up in its table (~50 ns each: 2.8 us for a
    55-character date line), a membership test costs ~30 ns a key. One pass like translate's, so no
    replacement may hold a key."""
    pairs = tuple((key, value or "") for key, value in table.items())
    if any(len(key) != 1 or key.isascii() for key, _ in pairs):
        raise ValueError("keys must be single non-ASCII characters")
    if any(key in value for key, _ in pairs for _, value in pairs):
        raise ValueError("a replacement holds a key: replacing in turn would differ from translate")

    def replace(text: str) -> str:
        if text.isascii():
            return text
        for key, value in pairs:
            if key in text:
                text = text.replace(key, value)
        return text

    return replace


_TASHKEEL = re.compile("[\u064b-\u065f\u0670\u0640]")  # harakat, superscript alef, tatweel
_FOLD = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و"}
_fold_letters = char_replacer(_FOLD)


def fold(text: str) -> str:
    """Fold Arabic spelling variants so table look-ups ignore hamza seats, tashkeel and tatweel."""
    return text if text.isascii() else _fold_letters(_TASHKEEL.sub("", text))


def _family(names: str) -> dict[str, int]:
    """'a b|c ...' (12 space-separated slots, '|' for variants) → {folded name: month number}."""
    out: dict[str, int] = {}
    for month, slot in enumerate(names.split(), start=1):
        for variant in slot.split("|"):
            out[fold(variant.replace("_", " "))] = month
    return out


# Egypt / Gulf (transliterated Latin names).
_EASTERN = _family(
    "يناير فبراير|فبرایر مارس ابريل|أبريل|إبريل|ابرِيل مايو|مايوه يونيو|يونية يوليو|يولية "
    "اغسطس|أغسطس|اغسطوس سبتمبر|سيبتمبر اكتوبر|أكتوبر نوفمبر ديسمبر"
)
# Levant / Iraq (Syriac names). Two-word names use '_' for the space; "كانون ثاني" without the
# article is common in Iraqi and Syrian copy.
_LEVANT = _family(
    "كانون_الثاني|كانون_ثاني|كانون_الثانى شباط آذار|اذار نيسان أيار|ايار حزيران تموز آب|اب "
    "أيلول|ايلول تشرين_الأول|تشرين_اول|تشرين_الاول تشرين_الثاني|تشرين_ثاني|تشرين_الثانى "
    "كانون_الأول|كانون_اول|كانون_الاول"
)
# Algeria / Tunisia (French names).
_MAGHREB = _family(
    "جانفي فيفري مارس أفريل|افريل ماي جوان جويلية|جويليه أوت|اوت سبتمبر أكتوبر نوفمبر ديسمبر"
)
# Morocco.
_MOROCCO = _family("يناير فبراير مارس أبريل ماي يونيو يوليوز غشت شتنبر أكتوبر نونبر دجنبر")
_ENGLISH = _family(
    "january|jan february|feb march|mar april|apr may june|jun july|jul august|aug "
    "september|sept|sep october|oct november|nov december|dec"
)

GREGORIAN_MONTHS: dict[str, int] = {**_ENGLISH, **_MOROCCO, **_MAGHREB, **_LEVANT, **_EASTERN}

HIJRI_MONTHS: dict[str, int] = _family(
    "محرم|المحرم صفر ربيع_الأول|ربيع_الاول|ربيع_أول ربيع_الثاني|ربيع_الآخر|ربيع_ثاني|ربيع_الاخر "
    "جمادى_الأولى|جمادى_الأول|جمادى_الاولى|جمادي_الاولي جمادى_الآخرة|جمادى_الثانية|جمادى_الاخرة|جمادي_الاخره "
    "رجب شعبان رمضان شوال ذو_القعدة|ذي_القعدة ذو_الحجة|ذي_الحجة"
)

# Relative units → seconds. Singular, dual and plural forms, folded.
RELATIVE_UNITS: dict[str, tuple[float, int]] = {}
for _secs, _forms in (
    (1, "ثانيه:1 ثانيتين:2 ثانيتان:2 ثوان:0 ثواني:0 ثواني:0 second:1 seconds:0 sec:1 secs:0"),
    (60, "دقيقه:1 دقيقتين:2 دقيقتان:2 دقائق:0 دقايق:0 minute:1 minutes:0 min:1 mins:0"),
    (3600, "ساعه:1 ساعتين:2 ساعتان:2 ساعات:0 hour:1 hours:0 hr:1 hrs:0"),
    (86400, "يوم:1 يومين:2 يومان:2 ايام:0 day:1 days:0"),
    (604800, "اسبوع:1 اسبوعين:2 اسبوعان:2 اسابيع:0 week:1 weeks:0"),
    (2592000, "شهر:1 شهرين:2 شهران:2 اشهر:0 شهور:0 month:1 months:0"),
    (31536000, "سنه:1 سنتين:2 سنتان:2 سنوات:0 عام:1 عامين:2 اعوام:0 year:1 years:0"),
):
    for _form in _forms.split():
        _word, _count = _form.split(":")
        RELATIVE_UNITS[fold(_word)] = (float(_secs), int(_count))  # count 0 = needs a number

NUMBER_WORDS: dict[str, int] = {
    fold(w): n
    for n, words in enumerate(
        [
            "",
            "واحد واحده",
            "اثنين اثنتين اثنان",
            "ثلاث ثلاثه",
            "اربع اربعه",
            "خمس خمسه",
            "ست سته",
            "سبع سبعه",
            "ثماني ثمان ثمانيه",
            "تسع تسعه",
            "عشر عشره",
        ]
    )
    for w in words.split()
}

# Zone words. Fixed offsets: news sites in these places stamp local wall-clock time, and where DST
# applies the IANA name is tried first (see dates._zone), the offset is only the fallback.
ZONE_WORDS: dict[str, tuple[str | None, int]] = {
    fold(k): v
    for k, v in {
        "غرينتش": (None, 0), "غرينيتش": (None, 0), "جرينتش": (None, 0), "جرينيتش": (None, 0),
        "مكة": ("Asia/Riyadh", 180), "مكه المكرمة": ("Asia/Riyadh", 180), "الرياض": ("Asia/Riyadh", 180),
        "السعودية": ("Asia/Riyadh", 180), "الكويت": ("Asia/Kuwait", 180), "الدوحة": ("Asia/Qatar", 180),
        "قطر": ("Asia/Qatar", 180), "بغداد": ("Asia/Baghdad", 180), "العراق": ("Asia/Baghdad", 180),
        "البحرين": ("Asia/Bahrain", 180), "عمان": ("Asia/Amman", 180), "الأردن": ("Asia/Amman", 180),
        "دمشق": ("Asia/Damascus", 180), "سوريا": ("Asia/Damascus", 180),
        "الإمارات": ("Asia/Dubai", 240), "أبوظبي": ("Asia/Dubai", 240), "دبي": ("Asia/Dubai", 240),
        "مسقط": ("Asia/Muscat", 240),
        "القاهرة": ("Africa/Cairo", 120), "مصر": ("Africa/Cairo", 120), "بيروت": ("Asia/Beirut", 120),
        "لبنان": ("Asia/Beirut", 120), "القدس": ("Asia/Jerusalem", 120), "فلسطين": ("Asia/Gaza", 120),
        "طرابلس": ("Africa/Tripoli", 120), "ليبيا": ("Africa/Tripoli", 120), "الخرطوم": ("Africa/Khartoum", 120),
        "الجزائر": ("Africa/Algiers", 60), "تونس": ("Africa/Tunis", 60), "الرباط": ("Africa/Casablanca", 60),
        "المغرب": ("Africa/Casablanca", 60),
    }.items()
}

# Latin abbreviations seen on Arabic sites (GST = Gulf Standard Time, not Georgia).
ZONE_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "GST": 240, "AST": 180, "KSA": 180, "EET": 120,
    "EEST": 180, "CET": 60, "CEST": 120, "WET": 0, "WEST": 60, "MSK": 180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
    "BST": 60,
}

AM_WORDS = frozenset(fold(w) for w in ("ص", "صباحا", "صباحاً", "صباحًا", "فجرا", "فجراً", "am", "a.m."))
PM_WORDS = frozenset(
    fold(w) for w in ("م", "مساء", "مساءً", "مساءا", "ظهرا", "ظهراً", "عصرا", "عصراً", "ليلا", "ليلاً",
                      "pm", "p.m.")
)
