"""Collision check for a rule being saved (ARABIC_MATCHING.md, "Collision check").

Peeling a proclitic creates false hits: فروسية (horsemanship) reads as ف + روسية, بروسيا (Prussia)
as ب + روسيا. Running a word-frequency list through the compiled rule shows the author the words
that hit *only* because a و/ف/ب/ك/ل was peeled; the author adds the real collisions to the rule's
``except`` list. Nothing is blocked automatically: بروسيا is also "in Russia".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scraper.match.matcher import RuleIndex, RuleSpec
from scraper.match.wordlist import default_wordlist
from scraper.normalize.text import tokenize


@dataclass(frozen=True)
class Collision:
    word: str  # as given in the word list
    term: str  # the rule term it hits, as written
    count: int  # frequency in the word list
    clitics: str = ""  # the proclitic letters that had to be peeled, e.g. "ف"
    # The list also has ال + word (الفروسية): the letter is part of the word, not a clitic.
    seen_with_article: bool = False


def collision_report(
    rule_or_index: RuleSpec | RuleIndex | str,
    words: Iterable[tuple[str, int]] | None = None,
    min_count: int = 1,
) -> list[Collision]:
    """Words that hit a term of the rule(s) only through a peeled و/ف/ب/ك/ل.

    ``words`` defaults to :func:`default_wordlist`. Words already covered by one of the rule's
    one-word except phrases are left out. Most suspicious first: words also attested with the
    article, then by frequency.
    """
    index = _as_index(rule_or_index)
    rows = [(w, n) for w, n in (default_wordlist() if words is None else words) if n >= min_count]
    normalized = {w: toks[0] for w, _ in rows if len(toks := tokenize(w)) == 1}
    known = set(normalized.values())
    out: list[Collision] = []
    for word, count in rows:
        norm = normalized.get(word)
        if norm is None:
            continue
        for tid, clitics in _peeled_only(index, norm).items():
            out.append(Collision(word, index.terms.terms[tid].text, count, clitics, "ال" + norm in known))
    out.sort(key=lambda c: (not c.seen_with_article, -c.count, c.word, c.term))
    return out


def _as_index(rule_or_index: RuleSpec | RuleIndex | str) -> RuleIndex:
    if isinstance(rule_or_index, RuleIndex):
        return rule_or_index
    spec = rule_or_index if isinstance(rule_or_index, RuleSpec) else RuleSpec("rule", rule_or_index)
    return RuleIndex.build([spec])


def _peeled_only(index: RuleIndex, norm: str) -> dict[int, str]:
    """Rule terms (one word long) that ``norm`` hits only with clitics peeled -> those clitics."""
    readings: dict[int, set[str]] = {}
    for tid, clitics in index.terms.first_word_hits(norm):
        readings.setdefault(tid, set()).add(clitics)
    out: dict[int, str] = {}
    for tid, clitics in readings.items():
        if "" in clitics or len(index.terms.terms[tid].words) != 1:
            continue
        excepts = index.except_ids_for(tid)
        if excepts and any(e in readings and len(index.terms.terms[e].words) == 1 for e in excepts):
            continue
        if tid in index.expression_term_ids():
            out[tid] = min(clitics, key=len)
    return out
