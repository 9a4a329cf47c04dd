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

from scraper.match.query import Term
from scraper.match.terms import continuation_readings, nisba_bases, readings, stem_matches
from scraper.normalize.text import TOKEN_RE, normalize_token

# (first token, last token): one occurrence in one paragraph or title. Char offsets are derived
# only for the hits a fired rule reports (token_spans), which most hits never need.
HitRec = tuple[int, int]
UnitHits = dict[int, list[HitRec]]
# What a raw token can start: () or (one-word term ids, ((phrase id, words after the first), ...)).
Starts = tuple[()] | tuple[tuple[int, ...], tuple[tuple[int, int], ...]]

# The shared tokenizer plus Arabic presentation forms inside Arabic runs: normalize_token applies
# NFKC to such tokens, so offsets stay those of the original text and no per-paragraph check is needed.
_ARABIC_CLASS_END = "\u0640\u200c\u200d]+"
if _ARABIC_CLASS_END not in TOKEN_RE.pattern:
    raise RuntimeError("scraper.normalize.text.TOKEN_RE changed; update the matcher's token pattern")
MATCH_TOKEN_RE = re.compile(
    TOKEN_RE.pattern.replace(_ARABIC_CLASS_END, "\u0640\u200c\u200d\ufb50-\ufdff\ufe70-\ufeff]+", 1)
)
# Splitting with a capturing group yields [gap, token, gap, token, ..., gap] in C: the tokens are
# every second item, and char offsets come from summing lengths, only for texts that need them.
_split = re.compile(f"({MATCH_TOKEN_RE.pattern})").split
MEMO_LIMIT = 300_000  # raw tokens; a long-running daemon sees an open vocabulary


class TermIndex:
    def __init__(self) -> None:
        self.terms: list[Term] = []
        self._ids: dict[Term, int] = {}
        self._exact: dict[str, list[int]] = {}  # first-word base -> term ids
        self._prefix: dict[str, list[int]] = {}  # first 3 letters of a prefix term -> term ids
        self._later: dict[str, list[tuple[int, int]]] = {}  # base of word k >= 1 -> (term id, k)
        self._more: dict[int, int] = {}  # phrase term id -> number of words after the first
        self._memo: dict[str, Starts] = {}  # raw token -> terms it can start
        self._later_memo: dict[str, frozenset[tuple[int, int]]] = {}  # raw token -> (term, k) it can be

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
            self._more[tid] = len(term.words) - 1
            for k, word in enumerate(term.words[1:], start=1):
                self._later.setdefault(word.base, []).append((tid, k))
        self._memo.clear()  # cached lookups no longer cover every term
        self._later_memo.clear()
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

    def _learn(self, token: str) -> Starts:
        norm = normalize_token(token)
        tids = sorted({tid for tid, _ in self.first_word_hits(norm)}) if norm else []
        found: Starts = ()
        if tids:
            singles = tuple(t for t in tids if t not in self._more)
            found = (singles, tuple((t, self._more[t]) for t in tids if t in self._more))
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[token] = found
        return found

    def scan(self, text: str) -> UnitHits:
        """Occurrences of every indexed term in ``text`` (one paragraph or the title)."""
        return self.scan_many([text])[0].get(0, {})

    def scan_many(self, texts: list[str]) -> tuple[dict[int, UnitHits], list[list[str]]]:
        """Occurrences per text (title, paragraphs), keyed by the index of the texts that have any,
        and the split of each text (see :func:`char_offsets`).

        All texts go through one ``map``/``compress`` pass (C loops); only tokens that start a
        term reach the Python loop. Phrases never continue into the next text.
        """
        pieces = list(map(_split, texts))
        per_text = [p[1::2] for p in pieces]
        toks = list(chain.from_iterable(per_text))
        try:  # warm memo: no per-token Python code at all
            found: list[Starts] = list(map(self._memo.__getitem__, toks))
        except KeyError:
            memo = self._memo
            found = [memo[t] if t in memo else self._learn(t) for t in toks]
        starts = list(compress(range(len(toks)), found))
        if not starts:
            return {}, pieces
        ends = list(accumulate(map(len, per_text)))
        local: dict[int, UnitHits] = {}
        k, base, end, cur = -1, 0, 0, {}
        for i in starts:  # increasing, so the text index only moves forward
            if i >= end:
                k = bisect_right(ends, i)
                base, end = (ends[k - 1] if k else 0), ends[k]
                cur = local[k] = {}
            singles, phrases = found[i]  # type: ignore[misc]  # non-empty: compress kept it
            pos = (i - base, i - base)
            for tid in singles:
                if tid in cur:
                    cur[tid].append(pos)
                else:
                    cur[tid] = [pos]
            for tid, more in phrases:
                last = self._phrase_end(tid, more, toks, i, end)
                if last >= 0:
                    cur.setdefault(tid, []).append((i - base, last - base))
        return {k: hits for k, hits in local.items() if hits}, pieces

    def _phrase_end(self, tid: int, more: int, toks: list[str], i: int, limit: int) -> int:
        """Index of the last token of phrase ``tid`` starting at ``i``, or -1 if it does not continue
        before token ``limit``."""
        if i + more >= limit:
            return -1
        for k in range(1, more + 1):
            tok = toks[i + k]
            cont = self._later_memo.get(tok)
            if cont is None:
                cont = self._learn_later(tok)
            if (tid, k) not in cont:
                return -1
        return i + more

    def _learn_later(self, token: str) -> frozenset[tuple[int, int]]:
        """Which (phrase, word index) pairs ``token`` can fill: later words take only the article."""
        found = set()
        for stem, article in continuation_readings(normalize_token(token)):
            for key in (stem, *nisba_bases(stem)):
                for tid, k in self._later.get(key, ()):
                    if stem_matches(stem, article, self.terms[tid].words[k]):
                        found.add((tid, k))
        if len(self._later_memo) >= MEMO_LIMIT:
            self._later_memo.clear()
        result = self._later_memo[token] = frozenset(found)
        return result


def char_offsets(pieces: list[str]) -> list[int]:
    """Running lengths of a text's split: token i spans ``[offsets[2*i], offsets[2*i + 1])``."""
    return list(accumulate(map(len, pieces)))
