"""One index over every term of every rule, and the scan that finds their occurrences.

Terms are deduplicated and keyed by the base form of their first word (article removed), so a
token is looked up once per reading whatever the number of rules. Results are memoized per raw
token, so on a warm index a paragraph costs one ``findall`` plus C-level ``map``/``compress``
passes; only tokens that start a term reach Python code.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate, chain, compress

from scraper.match.query import Term, WordPattern
from scraper.match.terms import continuation_matches, nisba_bases, readings, stem_matches
from scraper.normalize.text import TOKEN_RE, normalize_token

# (token start, token end, char start, char end): one occurrence in one paragraph or title.
HitRec = tuple[int, int, int, int]
UnitHits = dict[int, list[HitRec]]

# The shared tokenizer plus Arabic presentation forms inside Arabic runs: normalize_token applies
# NFKC to such tokens, so offsets stay those of the original text and no per-paragraph check is needed.
_ARABIC_CLASS_END = "\u0640\u200c\u200d]+"
if _ARABIC_CLASS_END not in TOKEN_RE.pattern:
    raise RuntimeError("scraper.normalize.text.TOKEN_RE changed; update the matcher's token pattern")
MATCH_TOKEN_RE = re.compile(
    TOKEN_RE.pattern.replace(_ARABIC_CLASS_END, "\u0640\u200c\u200d\ufb50-\ufdff\ufe70-\ufeff]+", 1)
)
_findall = MATCH_TOKEN_RE.findall
_finditer = MATCH_TOKEN_RE.finditer
MEMO_LIMIT = 300_000  # raw tokens; a long-running daemon sees an open vocabulary


class TermIndex:
    def __init__(self) -> None:
        self.terms: list[Term] = []
        self._ids: dict[Term, int] = {}
        self._exact: dict[str, list[int]] = {}  # first-word base -> term ids
        self._prefix: dict[str, list[int]] = {}  # first 3 letters of a prefix term -> term ids
        self._rest: dict[int, tuple[WordPattern, ...]] = {}  # phrase continuations
        self._memo: dict[str, tuple[int, ...]] = {}

    def add(self, term: Term) -> int:
        """Intern ``term`` (by matching form) and return its id."""
        tid = self._ids.get(term)
        if tid is not None:
            return tid
        tid = len(self.terms)
        self.terms.append(term)
        self._ids[term] = tid
        first = term.words[0]
        bucket = self._prefix if first.prefix else self._exact
        bucket.setdefault(first.base[:3] if first.prefix else first.base, []).append(tid)
        if len(term.words) > 1:
            self._rest[tid] = term.words[1:]
        self._memo.clear()  # cached lookups no longer cover every term
        return tid

    def first_word_hits(self, norm: str) -> list[tuple[int, str]]:
        """Terms whose first word matches token ``norm``, with the clitics peeled for each."""
        out: list[tuple[int, str]] = []
        for r in readings(norm):
            for key in (r.stem, *nisba_bases(r.stem)):
                for tid in self._exact.get(key, ()):
                    if stem_matches(r.stem, r.article, self.terms[tid].words[0]):
                        out.append((tid, r.clitics))
            for tid in self._prefix.get(r.stem[:3], ()):
                if stem_matches(r.stem, r.article, self.terms[tid].words[0]):
                    out.append((tid, r.clitics))
        return out

    def _learn(self, token: str) -> tuple[int, ...]:
        norm = normalize_token(token)
        found = tuple(sorted({tid for tid, _ in self.first_word_hits(norm)})) if norm else ()
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[token] = found
        return found

    def scan(self, text: str) -> UnitHits:
        """Occurrences of every indexed term in ``text`` (one paragraph or the title)."""
        return self.scan_many([text]).get(0, {})

    def scan_many(self, texts: list[str]) -> dict[int, UnitHits]:
        """Occurrences per text (title, paragraphs), keyed by the index of the texts that have any.

        All texts go through one ``map``/``compress`` pass (C loops); phrases never continue into
        the next text.
        """
        per_text = list(map(_findall, texts))
        toks = list(chain.from_iterable(per_text))
        found = list(map(self._memo.get, toks))
        if None in found:
            for i, f in enumerate(found):
                if f is None:
                    found[i] = self._learn(toks[i])
        starts = list(compress(range(len(toks)), found))
        if not starts:
            return {}
        ends = list(accumulate(map(len, per_text)))
        local: dict[int, dict[int, list[tuple[int, int]]]] = {}
        for i in starts:
            k = bisect_right(ends, i)
            base = ends[k - 1] if k else 0
            for tid in found[i]:  # type: ignore[union-attr]
                last = self._phrase_end(tid, toks, i, ends[k])
                if last >= 0:
                    local.setdefault(k, {}).setdefault(tid, []).append((i - base, last - base))
        out: dict[int, UnitHits] = {}
        for k, hits in local.items():
            spans = [m.span() for m in _finditer(texts[k])]
            out[k] = {tid: [(s, e, spans[s][0], spans[e][1]) for s, e in hs] for tid, hs in hits.items()}
        return out

    def _phrase_end(self, tid: int, toks: list[str], i: int, limit: int) -> int:
        """Index of the last token of term ``tid`` starting at ``i``, or -1 if it does not continue
        before token ``limit``."""
        rest = self._rest.get(tid)
        if rest is None:
            return i
        if i + len(rest) >= limit:
            return -1
        for k, pattern in enumerate(rest, start=i + 1):
            if not continuation_matches(normalize_token(toks[k]), pattern):
                return -1
        return i + len(rest)
