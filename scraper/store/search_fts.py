"""Translate a query AST into a full-text prefilter (SQLite FTS5 MATCH text, PostgreSQL tsquery).

The prefilter only has to return a superset of the articles the matcher accepts: every candidate
is then verified with the real matcher, so a search and an alert agree exactly. Clitics are
attached in the stored text (وإيران → "وايران"), so each term word becomes the set of token
spellings the matcher's proclitic readings accept (see scraper/match/terms.py):
``(و|ف)?(ب|ك|ل)?(ال)?`` before the base, with ل + ال written لل. Plain words are exact tokens
(cheap lookups); nisba terms (ending in ي) and ``prefix*`` terms become prefix queries.

Phrases and NEAR become an AND of their words (positions are checked by the matcher); NOT and
anything under it impose no constraint, so a NOT-only query has no prefilter (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

from scraper.match.query import And, Field, Near, Node, Not, Or, Term, WordPattern

_CONJ = ("", "و", "ف")
_PREP = ("", "ب", "ك", "ل")


@dataclass(frozen=True)
class Tok:
    """One token spelling in the index; ``prefix`` matches every token that starts with it."""

    text: str
    prefix: bool


@dataclass(frozen=True)
class AllOf:
    children: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Filter, ...]


Filter = Tok | AllOf | AnyOf


def _is_arabic_letter(c: str) -> bool:
    return "\u0621" <= c <= "\u06ff" or "\u0750" <= c <= "\u08ff"


def _clitic_forms(base: str, need_article: bool) -> list[str]:
    """Every spelling of ``base`` with the proclitics the matcher can peel off it."""
    if not _is_arabic_letter(base[0]):
        return [base]  # clitics are Arabic letters: the tokenizer splits them from Latin or digits
    forms: list[str] = []
    for conj in _CONJ:
        for prep in _PREP:
            if not need_article:
                forms.append(conj + prep + base)
            forms.append(conj + ("لل" if prep == "ل" else prep + "ال") + base)
            if prep == "ل" and base.startswith("ل"):
                forms.append(conj + "ل" + base)  # ل + الليل is written لليل
    return list(dict.fromkeys(forms))


def _word_filter(word: WordPattern, first: bool) -> Filter:
    """Token spellings that can match one word of a term (later phrase words take only ال)."""
    if first:
        forms = _clitic_forms(word.base, word.need_article)
    else:
        forms = ["ال" + word.base] if word.need_article else [word.base, "ال" + word.base]
    prefix = word.prefix or word.nisba  # nisba endings follow the base: الايرانيه for ايراني
    toks = tuple(Tok(f, prefix) for f in forms)
    return toks[0] if len(toks) == 1 else AnyOf(toks)


def _term_filter(term: Term) -> Filter:
    parts = tuple(_word_filter(w, i == 0) for i, w in enumerate(term.words))
    return parts[0] if len(parts) == 1 else AllOf(parts)


def prefilter(node: Node) -> Filter | None:
    """A superset filter for ``node``, or None when it cannot be narrowed (NOT-only, ``A OR NOT B``)."""
    if isinstance(node, Term):
        return _term_filter(node)
    if isinstance(node, Field):
        return prefilter(node.child)  # the index does not separate title from body; the matcher does
    if isinstance(node, Not):
        return None
    if isinstance(node, Or):
        subs = [prefilter(c) for c in node.children]
        return None if any(s is None for s in subs) else AnyOf(tuple(s for s in subs if s is not None))
    children = node.operands if isinstance(node, Near) else node.children
    assert isinstance(node, And | Near)
    kept = tuple(s for s in (prefilter(c) for c in children) if s is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else AllOf(kept)


def to_fts5(f: Filter) -> str:
    """FTS5 MATCH text: quoted tokens (quotes doubled), ``*`` for prefixes, AND/OR in parentheses."""
    if isinstance(f, Tok):
        return '"' + f.text.replace('"', '""') + '"' + ("*" if f.prefix else "")
    joiner = " AND " if isinstance(f, AllOf) else " OR "
    return "(" + joiner.join(to_fts5(c) for c in f.children) + ")"


def to_tsquery(f: Filter) -> str:
    """tsquery text, cast directly (no parser): the tokens are already in the normalized form."""
    if isinstance(f, Tok):
        lexeme = f.text.replace("\\", "\\\\").replace("'", "''")
        return f"'{lexeme}'" + (":*" if f.prefix else "")
    joiner = " & " if isinstance(f, AllOf) else " | "
    return "(" + joiner.join(to_tsquery(c) for c in f.children) + ")"
