"""One index over every term of every rule, and the scan that finds their occurrences.

Terms are deduplicated and keyed by the base form of their first word (article removed), so a
token is looked up once per reading whatever the number of rules. Results are memoized per
whitespace-separated chunk of text, so on a warm index a paragraph costs one ``str.split`` plus
C-level ``map``/``compress`` passes; only chunks that start a term (or hold other than exactly one
token, such as ``-`` or ``إيران/روسيا``) reach Python code. Token character classes never include
whitespace, so the tokens of a text are exactly the tokens of its chunks, in order; ``str.split``
costs about a fifth of the instructions of a regex split, which was most of the scan.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate, chain, compress, islice
from typing import Any

from scraper.match.query import Term
from scraper.match.terms import continuation_readings, lookup_keys, readings, stem_matches
from scraper.normalize.text import TOKEN_RE, normalize_token

# (first token, last token): one occurrence in one paragraph or title. Char offsets are derived
# only for the hits a fired rule reports (TextLayout.span), which most hits never need.
HitRec = tuple[int, int]
UnitHits = dict[int, list[HitRec]]
# What a raw token can start: () or (one-word term ids, ((phrase id, words after the first), ...)).
Starts = tuple[()] | tuple[tuple[int, ...], tuple[tuple[int, int], ...]]
# What a chunk holds: () for the common chunk of exactly one token that starts nothing, else
# (number of tokens, Starts of each token).
ChunkInfo = tuple[()] | tuple[int, tuple[Starts, ...]]
ChunkTokens = tuple[tuple[str, int, int], ...]  # (raw token, start, end) inside the chunk

# The shared tokenizer plus Arabic presentation forms inside Arabic runs: normalize_token applies
# NFKC to such tokens, so offsets stay those of the original text and no per-paragraph check is needed.
_ARABIC_CLASS_END = "\u0640\u200c\u200d]+"
if _ARABIC_CLASS_END not in TOKEN_RE.pattern:
    raise RuntimeError("scraper.normalize.text.TOKEN_RE changed; update the matcher's token pattern")
MATCH_TOKEN_RE = re.compile(
    TOKEN_RE.pattern.replace(_ARABIC_CLASS_END, "\u0640\u200c\u200d\ufb50-\ufdff\ufe70-\ufeff]+", 1)
)
_finditer = MATCH_TOKEN_RE.finditer
# Entries per memo. A long-running daemon sees an open vocabulary (names, numbers, typos), so every
# memo reaches its limit within days and then stays there: the limit IS its steady-state memory.
# Measured with an open Arabic vocabulary (bench/soak.py --cache-caps): _chunks plus _memo at 300,000
# each held 36 MiB (plus the token strings, shared with normalize_token's LRU), 100,000 hold 13.5 MiB;
# the daemon itself is ~100 MB. A full memo drops its older half, not everything, so the recently seen
# (mostly the frequent) tokens stay warm.
MEMO_LIMIT = 100_000
_PLAIN: ChunkInfo = ()


class TermIndex:
    def __init__(self) -> None:
        self.terms: list[Term] = []
        self._ids: dict[Term, int] = {}
        self._exact: dict[str, list[int]] = {}  # first-word base -> term ids
        self._prefix: dict[str, list[int]] = {}  # first 3 letters of a prefix term -> term ids
        self._later: dict[str, list[tuple[int, int]]] = {}  # base of word k >= 1 -> (term id, k)
        self._more: dict[int, int] = {}  # phrase term id -> number of words after the first
        self._memo: dict[str, Starts] = {}  # raw token -> terms it can start
        self._chunks: dict[str, ChunkInfo] = {}  # whitespace-separated chunk -> its tokens' starts
        self._chunk_toks: dict[str, ChunkTokens] = {}  # chunk -> its tokens (phrase checks, offsets)
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
        self._chunks.clear()
        self._later_memo.clear()
        return tid

    def first_word_hits(self, norm: str) -> list[tuple[int, str]]:
        """Terms whose first word matches token ``norm``, with the clitics peeled for each."""
        out: list[tuple[int, str]] = []
        for r in readings(norm):
            for key in lookup_keys(r.stem):
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
            drop_oldest_half(self._memo)
        self._memo[token] = found
        return found

    def _learn_chunk(self, chunk: str) -> ChunkInfo:
        memo = self._memo
        toks = _tokens_of(chunk)
        starts = tuple(memo[t] if t in memo else self._learn(t) for t, _, _ in toks)
        info = _PLAIN if len(starts) == 1 and not starts[0] else (len(starts), starts)
        if len(self._chunks) >= MEMO_LIMIT:
            drop_oldest_half(self._chunks)
        self._chunks[chunk] = info
        return info

    def chunk_tokens(self, chunk: str) -> ChunkTokens:
        """The tokens of one whitespace-free chunk with their offsets in it (memoized)."""
        toks = self._chunk_toks.get(chunk)
        if toks is None:
            if len(self._chunk_toks) >= MEMO_LIMIT:
                drop_oldest_half(self._chunk_toks)
            toks = self._chunk_toks[chunk] = _tokens_of(chunk)
        return toks

    def scan(self, text: str) -> UnitHits:
        """Occurrences of every indexed term in ``text`` (one paragraph or the title)."""
        return self.scan_many([text])[0].get(0, {})

    def scan_many(self, texts: list[str]) -> tuple[dict[int, UnitHits], Layouts]:
        """Occurrences per text (title, paragraphs), keyed by the index of the texts that have any,
        and the layout of each text (char offsets of its tokens, computed on demand).

        All texts go through one ``map``/``compress`` pass (C loops); only chunks that start a
        term or hold other than one token reach the Python loop. Phrases never continue into the
        next text.
        """
        chunk_lists = list(map(str.split, texts))
        flat = list(chain.from_iterable(chunk_lists))
        memo = self._chunks
        try:  # warm memo: no per-chunk Python code at all
            infos: list[ChunkInfo] = list(map(memo.__getitem__, flat))
        except KeyError:
            infos = [memo[c] if c in memo else self._learn_chunk(c) for c in flat]
        layouts = Layouts(self, texts, chunk_lists)
        irregular = layouts.irregular
        marks = list(compress(range(len(flat)), infos))
        if not marks:
            return {}, layouts
        ends = list(accumulate(map(len, chunk_lists)))
        local: dict[int, UnitHits] = {}
        k, base, end, shift = -1, 0, 0, 0
        cur: UnitHits = {}
        for c in marks:  # increasing, so the text index only moves forward
            if c >= end:
                k = bisect_right(ends, c)
                base, end, shift = (ends[k - 1] if k else 0), ends[k], 0
                cur = local[k] = {}
            ntok, starts = infos[c]  # type: ignore[misc]  # non-empty: compress kept it
            first = c - base + shift  # token number of the chunk's first token in its text
            if ntok != 1:
                irregular.setdefault(k, []).append((c - base, ntok))
                shift += ntok - 1
            for j, found in enumerate(starts):
                if not found:
                    continue
                singles, phrases = found  # type: ignore[misc]
                pos = (first + j, first + j)
                for tid in singles:
                    if tid in cur:
                        cur[tid].append(pos)
                    else:
                        cur[tid] = [pos]
                for tid, more in phrases:
                    if self._phrase_continues(tid, more, flat, c, j + 1 if j + 1 < ntok else 0, end):
                        cur.setdefault(tid, []).append((first + j, first + j + more))
        return {k: hits for k, hits in local.items() if hits}, layouts

    def _phrase_continues(self, tid: int, more: int, flat: list[str], c: int, j: int, end: int) -> bool:
        """Do the ``more`` tokens from token ``j`` of chunk ``c`` on (or from the next chunk when ``j``
        is 0: a phrase's first word usually fills its chunk) up to chunk ``end`` continue phrase ``tid``?"""
        later = self._later_memo
        toks: ChunkTokens = self.chunk_tokens(flat[c]) if j else ()
        k = 1
        while True:
            while j < len(toks):
                tok = toks[j][0]
                cont = later.get(tok)
                if cont is None:
                    cont = self._learn_later(tok)
                if (tid, k) not in cont:
                    return False
                if k == more:
                    return True
                k += 1
                j += 1
            c += 1
            if c >= end:
                return False
            toks = self.chunk_tokens(flat[c])
            j = 0

    def _learn_later(self, token: str) -> frozenset[tuple[int, int]]:
        """Which (phrase, word index) pairs ``token`` can fill: later words take only the article."""
        found = set()
        for stem, article in continuation_readings(normalize_token(token)):
            for key in lookup_keys(stem):
                for tid, k in self._later.get(key, ()):
                    if stem_matches(stem, article, self.terms[tid].words[k]):
                        found.add((tid, k))
        if len(self._later_memo) >= MEMO_LIMIT:
            drop_oldest_half(self._later_memo)
        result = self._later_memo[token] = frozenset(found)
        return result


def drop_oldest_half(memo: dict[str, Any]) -> None:
    """Forget the older half of ``memo`` (dicts keep insertion order). Not an LRU: a hit would have
    to move its entry, and the warm scan reads the memo with a C-level ``map`` that cannot. A frequent
    token dropped here is simply learned again on its next occurrence, once per half-fill."""
    for key in list(islice(memo, len(memo) // 2)):
        del memo[key]


def _tokens_of(chunk: str) -> ChunkTokens:
    return tuple((m.group(), m.start(), m.end()) for m in _finditer(chunk))


class Layouts:
    """The layouts of the texts of one scan, made only for the texts asked for (those with hits)."""

    __slots__ = ("_index", "chunk_lists", "irregular", "texts")

    def __init__(self, index: TermIndex, texts: list[str], chunk_lists: list[list[str]]) -> None:
        self._index = index
        self.texts = texts
        self.chunk_lists = chunk_lists
        self.irregular: dict[int, list[tuple[int, int]]] = {}  # text -> (chunk, tokens) when tokens != 1

    def __getitem__(self, k: int) -> TextLayout:
        return TextLayout(self._index, self.texts[k], self.chunk_lists[k], self.irregular.get(k, []))


class TextLayout:
    """Where the tokens of one text are: built from its whitespace split during the scan, and
    turned into char offsets only for the tokens a reported hit needs."""

    __slots__ = ("_index", "_starts", "chunks", "irregular", "text")

    def __init__(self, index: TermIndex, text: str, chunks: list[str], irregular: list[tuple[int, int]]) -> None:
        self._index = index
        self.text = text
        self.chunks = chunks
        self.irregular = irregular  # (chunk number, token count) of chunks with other than one token
        self._starts: list[int] | _SingleSpaced | None = None

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Char offsets of tokens ``first``..``last`` in the text."""
        starts = self._starts
        if starts is None:
            starts = self._starts = self._chunk_starts()
        tokens = self._index.chunk_tokens
        if self.irregular:
            c, j = self._locate(first)
            start = starts[c] + tokens(self.chunks[c])[j][1]
            if last != first:
                c, j = self._locate(last)
            return start, starts[c] + tokens(self.chunks[c])[j][2]
        # Every chunk holds one token: token n is chunk n (the common case).
        _, s, e = tokens(self.chunks[first])[0]
        if last != first:
            return starts[first] + s, starts[last] + tokens(self.chunks[last])[0][2]
        return starts[first] + s, starts[first] + e

    def _locate(self, n: int) -> tuple[int, int]:
        """(chunk number, token number inside it) of token ``n``: chunks hold one token each except
        the few listed in ``irregular``."""
        shift = 0
        for chunk, count in self.irregular:
            first = chunk + shift
            if n < first:
                break
            if n < first + count:
                return chunk, n - first
            shift += count - 1
        return n - shift, 0

    def _chunk_starts(self) -> list[int] | _SingleSpaced:
        chunks, text = self.chunks, self.text
        ends = list(accumulate(map(len, chunks)))  # C loops; cheaper than building the starts in Python
        if ends and ends[-1] + len(chunks) - 1 == len(text):
            # Exactly one whitespace char between chunks and none around them (the usual paragraph):
            # chunk c starts after the c chunks and c separators before it.
            return _SingleSpaced(ends)
        starts = []
        at = 0
        for chunk in chunks:
            # Only whitespace lies between the previous chunk and this one, so this finds it.
            at = text.find(chunk, at)
            starts.append(at)
            at += len(chunk)
        return starts


class _SingleSpaced:
    """Chunk starts of a single-spaced text, from the running chunk lengths (indexable like a list)."""

    __slots__ = ("ends",)

    def __init__(self, ends: list[int]) -> None:
        self.ends = ends

    def __getitem__(self, c: int) -> int:
        return self.ends[c - 1] + c if c else 0
