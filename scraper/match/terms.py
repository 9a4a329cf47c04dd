"""How one normalized text token can match a term word (see ARABIC_MATCHING.md).

A token is read as ``(و|ف)?(ب|ك|ل)?(ال)? + stem``, with ل + ال written لل; every reading is tried
and the stem is looked up whole, so a term never matches inside an unrelated word (بيلاروسيا has
no proclitic reading that leaves روسيا). A stem may also carry a nisba ending when the term ends
in ي (إيراني → الإيرانية، والإيرانيين), and a name matches its relational adjective (إيران →
الإيرانية). No stemming beyond that.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from scraper.match.query import WordPattern

NISBA_ENDINGS = ("ه", "ان", "ين", "ون", "ات", "تان", "تين")
_CONJ = ("", "و", "ف")
_PREP = ("", "ب", "ك", "ل")
MIN_STEM = 2


class Reading(NamedTuple):
    """One way to split a token: ``clitics`` are the peeled و/ف/ب/ك/ل letters (article apart)."""

    stem: str
    article: bool
    clitics: str


def readings(token: str) -> list[Reading]:
    """Every proclitic split of a normalized token, the unsplit token first."""
    out = [Reading(token, False, "")]
    if not token or token[0] not in "وفبكلا":  # fast exit: most tokens start with a root letter
        return out
    for conj in _CONJ:
        if not token.startswith(conj):
            continue
        rest = token[len(conj) :]
        for prep in _PREP:
            if prep and not rest.startswith(prep):
                continue
            _add_readings(out, rest[len(prep) :], conj + prep)
    return out


def _add_readings(out: list[Reading], stem: str, clitics: str) -> None:
    if clitics and len(stem) >= MIN_STEM:
        out.append(Reading(stem, False, clitics))
    if clitics.endswith("ل"):
        # ل + ال is written لل, and ل + الل (الليل) is written لل too (لليل).
        if stem.startswith("ل"):
            if len(stem) - 1 >= MIN_STEM:
                out.append(Reading(stem[1:], True, clitics))
            out.append(Reading(stem, True, clitics))
    elif stem.startswith("ال") and len(stem) - 2 >= MIN_STEM:
        out.append(Reading(stem[2:], True, clitics))


def nisba_bases(stem: str) -> Iterator[str]:
    """Bases ending in ي that ``stem`` extends by a nisba ending (ايرانيين → ايراني)."""
    for ending in NISBA_ENDINGS:
        n = len(ending)
        if len(stem) > n + 1 and stem.endswith(ending) and stem[-n - 1] == "ي":
            yield stem[:-n]


def adjective_bases(stem: str) -> Iterator[str]:
    """Names that ``stem`` is the relational adjective of (ايراني، ايرانيه، ايرانيين → ايران)."""
    if len(stem) > 3 and stem.endswith("ي"):
        yield stem[:-1]
    for base in nisba_bases(stem):
        if len(base) > 3:
            yield base[:-1]


def lookup_keys(stem: str) -> tuple[str, ...]:
    """Every term base a token stem may match: itself, nisba bases, and adjective bases."""
    if not stem.endswith(("ي", "ه", "ان", "ين", "ون", "ات")):
        return (stem,)  # fast path: no ending to peel
    return (stem, *nisba_bases(stem), *adjective_bases(stem))


def stem_matches(stem: str, article: bool, pattern: WordPattern) -> bool:
    """Does one reading of a token match one word pattern?"""
    if pattern.need_article and not article:
        return False
    if pattern.prefix:
        return stem.startswith(pattern.base)
    if stem == pattern.base:
        return True
    if pattern.nisba:
        return pattern.base in nisba_bases(stem)
    return pattern.adjective and pattern.base in adjective_bases(stem)


def continuation_readings(token: str) -> list[tuple[str, bool]]:
    """Readings allowed for the later words of a phrase: the token itself, or ال + stem."""
    if token.startswith("ال"):
        return [(token, False), (token[2:], True)]
    return [(token, False)]
