"""Translate a query AST into a full-text prefilter (SQLite FTS5 MATCH text, PostgreSQL tsquery).

The prefilter only has to return a superset of the articles the matcher accepts: every candidate
is then verified with the real matcher, so a search and an alert agree exactly. Clitics are
attached in the stored text (وإيران → "وايران"), so each term word becomes the set of token
spellings the matcher's proclitic readings accept (see scraper/match/terms.py):
``(و|ف)?(ب|ك|ل)?(ال)?`` before the base, with ل + ال written لل. Plain words are exact tokens
(cheap lookups); nisba terms (ending in ي) and ``prefix*`` terms become prefix queries.

Phrases and NEAR are positional on both databases. SQLite (FTS5 ``detail=full``): a phrase is the
OR of FTS5 phrases over the spellings of its words (clitics on the first word, only the article on
later ones, as the matcher reads them), and NEAR is the OR of FTS5 NEAR groups over the spellings of
its operands. PostgreSQL: a tsquery phrase (``<->``) whose slots are ORs of spellings, and NEAR as
the OR of ``<g>`` phrases for every gap up to the distance in both orders (:func:`to_tsquery`);
scraper/store/search_pg.py covers the articles whose tsvector positions may not be the matcher's.
Without positions almost every candidate of a common-word phrase is rejected by the matcher, which
made phrases and NEAR 10-30x slower than a word.

NOT and anything under it impose no constraint, so a NOT-only query has no prefilter (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from scraper.match.query import Field, Near, Node, Not, Or, Term, WordPattern

_CONJ = ("", "و", "ف")
_PREP = ("", "ب", "ك", "ل")
# FTS5 alternatives (phrases or NEAR groups) one positional filter may expand to. Alternatives whose
# spellings never occur cost one empty doclist lookup each; past this the filter is loosened instead.
MAX_ALTERNATIVES = 600


@dataclass(frozen=True)
class Tok:
    """One token spelling in the index; ``prefix`` matches every token that starts with it.
    ``open``: the matcher too accepts any continuation (a ``word*`` term), not only the nisba
    endings a prefix stands for otherwise."""

    text: str
    prefix: bool
    open: bool = False


@dataclass(frozen=True)
class AllOf:
    children: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Seq:
    """Consecutive tokens (a phrase): each slot is one of its spellings."""

    slots: tuple[tuple[Tok, ...], ...]


@dataclass(frozen=True)
class Close:
    """NEAR: one occurrence per operand with max(start) - min(end) <= distance, ends inclusive (the
    matcher's definition). Each operand is its alternatives: single tokens are one-slot sequences."""

    operands: tuple[tuple[Seq, ...], ...]
    distance: int


Filter = Tok | AllOf | AnyOf | Seq | Close


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


def _word_toks(word: WordPattern, first: bool) -> tuple[Tok, ...]:
    """Token spellings that can match one word of a term (later phrase words take only ال)."""
    if first:
        forms = _clitic_forms(word.base, word.need_article)
    else:  # scraper.match.terms.continuation_readings: the token itself, or ال + stem
        forms = ["ال" + word.base] if word.need_article else [word.base, "ال" + word.base]
    prefix = word.prefix or word.nisba  # nisba endings follow the base: الايرانيه for ايراني
    toks = tuple(Tok(f, prefix, word.prefix) for f in forms)
    if word.adjective:  # ايران also finds الايراني، الايرانيه: the base + ي, as a prefix
        toks += tuple(Tok(f + "ي", True) for f in forms)
    return toks


def _term_seq(term: Term) -> Seq:
    return Seq(tuple(_word_toks(w, i == 0) for i, w in enumerate(term.words)))


def _leaves(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    assert isinstance(node, Or)  # the parser only lets terms and OR-groups into NEAR
    return [t for c in node.children for t in _leaves(c)]


def _seq_filter(seq: Seq) -> Filter:
    if len(seq.slots) > 1:
        return seq
    toks = seq.slots[0]
    return toks[0] if len(toks) == 1 else AnyOf(toks)


def prefilter(node: Node) -> Filter | None:
    """A superset filter for ``node``, or None when it cannot be narrowed (NOT-only, ``A OR NOT B``)."""
    if isinstance(node, Term):
        return _seq_filter(_term_seq(node))
    if isinstance(node, Field):
        return prefilter(node.child)  # the index does not separate title from body; the matcher does
    if isinstance(node, Not):
        return None
    if isinstance(node, Or):
        subs = [prefilter(c) for c in node.children]
        return None if any(s is None for s in subs) else AnyOf(tuple(s for s in subs if s is not None))
    if isinstance(node, Near):
        return Close(tuple(tuple(_term_seq(t) for t in _leaves(op)) for op in node.operands), node.distance)
    kept = tuple(s for s in (prefilter(c) for c in node.children) if s is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else AllOf(kept)


def flat(f: Filter) -> Filter:
    """``f`` without positions: a phrase becomes an AND of its words, NEAR an AND of its operands."""
    if isinstance(f, Tok):
        return f
    if isinstance(f, AllOf | AnyOf):
        return type(f)(tuple(flat(c) for c in f.children))
    if isinstance(f, Seq):
        words = tuple(_seq_filter(Seq((slot,))) for slot in f.slots)
        return words[0] if len(words) == 1 else AllOf(words)
    alts = [AnyOf(tuple(flat(s) for s in op)) if len(op) > 1 else flat(op[0]) for op in f.operands]
    return AllOf(tuple(alts))


def positional_toks(f: Filter) -> set[Tok]:
    """The spellings inside phrases and NEAR groups, whose combinations multiply (see :func:`prune`)."""
    if isinstance(f, Seq):
        return {t for slot in f.slots for t in slot}
    if isinstance(f, Close):
        return {t for op in f.operands for s in op for t in positional_toks(s)}
    if isinstance(f, AllOf | AnyOf):
        return set().union(*(positional_toks(c) for c in f.children))
    return set()


def _prune_seq(seq: Seq, present: set[Tok]) -> Seq:
    # An empty slot keeps one (absent) spelling: the phrase then finds nothing, cheaply, and stays valid.
    return Seq(tuple(tuple(t for t in slot if t in present) or slot[:1] for slot in seq.slots))


def prune(f: Filter, present: set[Tok]) -> Filter:
    """``f`` without the phrase and NEAR spellings that occur in no article (``present`` holds those
    that do). A two-word NEAR is 24 x 24 FTS5 NEAR groups, each setting up its own doclist readers:
    ~40 ms at 200,000 articles although only a handful of spellings occur; pruned, ~1 ms."""
    if isinstance(f, Seq):
        return _prune_seq(f, present)
    if isinstance(f, Close):
        return Close(tuple(tuple(_prune_seq(s, present) for s in op) for op in f.operands), f.distance)
    if isinstance(f, AllOf | AnyOf):
        return type(f)(tuple(prune(c, present) for c in f.children))
    return f


def has_positions(f: Filter) -> bool:
    """Does ``f`` hold a phrase or NEAR group anywhere?"""
    if isinstance(f, Seq | Close):
        return True
    return isinstance(f, AllOf | AnyOf) and any(has_positions(c) for c in f.children)


def _common_core(texts: set[str]) -> str:
    """The longest substring every one of ``texts`` contains ("" if none): لرييس for الرييس،
    للرييس، والرييس."""
    shortest = min(texts, key=len)
    for size in range(len(shortest), 0, -1):
        for start in range(len(shortest) - size + 1):
            if all(shortest[start : start + size] in t for t in texts):
                return shortest[start : start + size]
    return ""


def _slot_cores(slot: tuple[Tok, ...]) -> set[str]:
    """Substrings such that every token one of ``slot``'s spellings matches contains one of them:
    the longest substring common to the spellings (the word under its clitics), else each."""
    texts = {t.text for t in slot}
    core = _common_core(texts)
    return {core} if core else texts


def positional_cores(f: Filter) -> set[str]:
    """The cores of every phrase and NEAR slot (see :func:`_slot_cores`)."""
    if isinstance(f, Seq):
        return set().union(*(_slot_cores(slot) for slot in f.slots))
    if isinstance(f, Close):
        return set().union(*(positional_cores(s) for op in f.operands for s in op))
    if isinstance(f, AllOf | AnyOf):
        return set().union(*(positional_cores(c) for c in f.children))
    return set()


# -- SQLite FTS5 -------------------------------------------------------------------------------------

def _fts_tok(t: Tok) -> str:
    return '"' + t.text.replace('"', '""') + '"' + ("*" if t.prefix else "")


def _fts_phrase(toks: tuple[Tok, ...]) -> str:
    """An FTS5 phrase: ``"a" + "b"*`` (each token quoted, so each may be a prefix)."""
    return " + ".join(_fts_tok(t) for t in toks)


def _spellings(seq: Seq) -> int:
    n = 1
    for slot in seq.slots:
        n *= len(slot)
    return n


def _fts_seq(seq: Seq) -> str:
    """OR of FTS5 phrases, one per combination of spellings. When there are too many combinations,
    the longest leading run of words that fits stays positional and the rest are ANDed (looser)."""
    k, n = 0, 1
    while k < len(seq.slots) and n * len(seq.slots[k]) <= MAX_ALTERNATIVES:
        n *= len(seq.slots[k])
        k += 1
    k = max(k, 1)
    phrases = [_fts_phrase(combo) for combo in product(*seq.slots[:k])]
    head = phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"
    rest = [to_fts5(_seq_filter(Seq((slot,)))) for slot in seq.slots[k:]]
    return head if not rest else "(" + " AND ".join([head, *rest]) + ")"


def _fts_close(c: Close) -> str:
    """OR of FTS5 NEAR groups, one per combination of operand spellings.

    FTS5's ``NEAR(p q, N)`` holds when max(start) - (start + length) of every phrase <= N, i.e.
    max(start) - min(end) - 1 <= N with inclusive ends: exactly the matcher's NEAR/d with N = d - 1
    (checked against FTS5's fts5ExprNearIsMatch). FTS5 positions run on across the paragraphs of
    the body, so a window may span two paragraphs where the matcher's may not: looser, which is
    allowed. With three or more operands each one is paired with the first (every pair of a
    window of d is itself within d; looser again), which keeps the number of groups small."""
    gap = c.distance - 1
    first = [p for s in c.operands[0] for p in product(*s.slots)]
    groups: list[str] = []
    for op in c.operands[1:]:
        other = [p for s in op for p in product(*s.slots)]
        if len(first) * len(other) > MAX_ALTERNATIVES:
            groups.append(to_fts5(AllOf((flat(_seq_any(c.operands[0])), flat(_seq_any(op))))))
            continue
        near = [f"NEAR({_fts_phrase(a)} {_fts_phrase(b)}, {gap})" for a in first for b in other]
        groups.append(near[0] if len(near) == 1 else "(" + " OR ".join(near) + ")")
    return groups[0] if len(groups) == 1 else "(" + " AND ".join(groups) + ")"


def _seq_any(op: tuple[Seq, ...]) -> Filter:
    return AnyOf(op) if len(op) > 1 else op[0]


def to_fts5(f: Filter) -> str:
    """FTS5 MATCH text: quoted tokens (quotes doubled), ``*`` for prefixes, AND/OR in parentheses,
    phrases and NEAR groups for positional filters."""
    if isinstance(f, Tok):
        return _fts_tok(f)
    if isinstance(f, Seq):
        return _fts_seq(f)
    if isinstance(f, Close):
        return _fts_close(f)
    joiner = " AND " if isinstance(f, AllOf) else " OR "
    return "(" + joiner.join(to_fts5(c) for c in f.children) + ")"


# -- PostgreSQL tsquery ------------------------------------------------------------------------------

# A NEAR pair becomes 2 x distance phrase clauses per pair of operand alternatives; past this many
# the pair is loosened to an AND of its two operands (each still a phrase).
MAX_TS_CLAUSES = 64


def _ts_tok(t: Tok) -> str:
    lexeme = t.text.replace("\\", "\\\\").replace("'", "''")
    return f"'{lexeme}'" + (":*" if t.prefix else "")


def _ts_slot(slot: tuple[Tok, ...]) -> str:
    return _ts_tok(slot[0]) if len(slot) == 1 else "(" + " | ".join(_ts_tok(t) for t in slot) + ")"


def _ts_seq(seq: Seq) -> str:
    """A tsquery phrase: each slot an OR of single lexemes (all of width 0, which PostgreSQL's
    phrase operator handles; an OR of alternatives of different widths it does not)."""
    text = " <-> ".join(_ts_slot(slot) for slot in seq.slots)
    return text if len(seq.slots) == 1 else "(" + text + ")"


def _may_share_token(a: Tok, b: Tok) -> bool:
    if a.prefix and b.text.startswith(a.text):
        return True
    return (b.prefix and a.text.startswith(b.text)) or a.text == b.text


def _may_overlap(x: Seq, y: Seq) -> bool:
    """Could one token serve both operands (the matcher lets NEAR operands overlap)?"""
    return any(_may_share_token(a, b) for sx in x.slots for a in sx for sy in y.slots for b in sy)


def _ts_near_pair(xs: tuple[Seq, ...], ys: tuple[Seq, ...], distance: int) -> str:
    """Operand X within ``distance`` of Y, as the matcher counts it: disjoint occurrences with
    start(later) - end(earlier) = g for g in 1..distance, in either order (PostgreSQL's ``<g>``
    is exactly that gap); overlapping occurrences (the same word in both, possible only when their
    spellings can coincide) are an AND of the two."""
    if len(xs) * len(ys) * 2 * distance > MAX_TS_CLAUSES:
        return f"({_ts_any(xs)} & {_ts_any(ys)})"
    clauses: list[str] = []
    for x in xs:
        for y in ys:
            tx, ty = _ts_seq(x), _ts_seq(y)
            clauses += [f"{a} <{g}> {b}" for g in range(1, distance + 1) for a, b in ((tx, ty), (ty, tx))]
            if _may_overlap(x, y):
                clauses.append(f"{tx} & {ty}")
    return "(" + " | ".join(clauses) + ")"


def _ts_any(seqs: tuple[Seq, ...]) -> str:
    return _ts_seq(seqs[0]) if len(seqs) == 1 else "(" + " | ".join(_ts_seq(s) for s in seqs) + ")"


def _ts_close(c: Close) -> str:
    """NEAR with three or more operands: each paired with the first (looser; see :func:`_fts_close`)."""
    pairs = [_ts_near_pair(c.operands[0], op, c.distance) for op in c.operands[1:]]
    return pairs[0] if len(pairs) == 1 else "(" + " & ".join(pairs) + ")"


def to_tsquery(f: Filter, positional: bool = True) -> str:
    """tsquery text, cast directly (no parser): the tokens are already in the normalized form.
    Phrases use ``<->`` and NEAR ``<g>`` (see :func:`_ts_near_pair`); ``positional=False`` gives
    the same filter with positions flattened to ANDs."""
    if not positional:
        f = flat(f)
    if isinstance(f, Tok):
        return _ts_tok(f)
    if isinstance(f, Seq):
        return _ts_seq(f)
    if isinstance(f, Close):
        return _ts_close(f)
    joiner = " & " if isinstance(f, AllOf) else " | "
    return "(" + joiner.join(to_tsquery(c, positional) for c in f.children) + ")"
