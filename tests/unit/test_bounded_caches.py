"""The token caches a long-running daemon fills (an open vocabulary) stay within their limits, keep
the most recent entries when they evict, and matching and normalization stay right across evictions."""

from __future__ import annotations

import pytest

from scraper.dedupe import fingerprint
from scraper.dedupe.fingerprint import TOKEN_HASH_CACHE
from scraper.match import termindex
from scraper.match.matcher import RuleIndex, RuleSpec
from scraper.match.termindex import drop_oldest_half
from scraper.normalize.text import NORMALIZE_CACHE, normalize_token

LIMIT = 200
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def number(i: int) -> str:
    """A fresh token per article, as news keeps bringing (dates, counts, figures)."""
    return str(1000 + i).translate(_ARABIC_DIGITS)


def memo_sizes(index: RuleIndex) -> dict[str, int]:
    t = index.terms
    return {"memo": len(t._memo), "chunks": len(t._chunks), "chunk_toks": len(t._chunk_toks),
            "later": len(t._later_memo)}


def test_drop_oldest_half_keeps_the_newest_half_in_order() -> None:
    memo = {f"كلمة{i}": i for i in range(10)}
    drop_oldest_half(memo)
    assert list(memo.values()) == [5, 6, 7, 8, 9]
    drop_oldest_half(memo)
    assert list(memo.values()) == [7, 8, 9]


def test_matcher_memos_stay_bounded_and_matching_stays_right(monkeypatch: pytest.MonkeyPatch) -> None:
    # A small limit so the test goes through many evictions quickly; the code reads it at each insert.
    monkeypatch.setattr(termindex, "MEMO_LIMIT", LIMIT)
    index = RuleIndex.build([
        RuleSpec(name="iran", query="إيران"),
        RuleSpec(name="minister", query='"وزير الخارجية"'),
    ])
    peak = dict.fromkeys(memo_sizes(index), 0)
    floor = dict.fromkeys(peak, LIMIT)  # the smallest size once a memo has been full: evictions drop half
    for i in range(6 * LIMIT):
        n = number(i)
        # "وزير {n}" makes the phrase look at a fresh next token (later memo, chunk tokens);
        # "لإيران/{n}" is a fresh two-token chunk holding a hit (chunk memo, token memo, spans).
        title = f"وزير {n} يصل"
        body = [f"قال وزير الخارجية في اليوم {n} إن الزيارة لإيران/{n} ناجحة"]
        fired = {m.rule: m for m in index.match(title, body)}
        assert set(fired) == {"iran", "minister"}, (i, sorted(fired))
        # Spans are read through chunk_tokens: the offsets must still be those of the original text.
        assert [body[h.paragraph][h.start:h.end] for h in fired["iran"].hits] == ["لإيران"]
        assert [body[h.paragraph][h.start:h.end] for h in fired["minister"].hits] == ["وزير الخارجية"]
        for name, size in memo_sizes(index).items():
            if peak[name] == LIMIT:
                floor[name] = min(floor[name], size)
            peak[name] = max(peak[name], size)
    assert peak == dict.fromkeys(peak, LIMIT)  # every memo filled up, none went past its limit
    assert all(size <= LIMIT // 2 + 2 for size in floor.values()), floor  # ...so each one evicted
    assert all(size >= LIMIT // 2 for size in floor.values()), floor  # half, not everything
    chunks = index.terms._chunks
    assert f"لإيران/{number(6 * LIMIT - 1)}" in chunks  # the newest survive an eviction...
    assert f"لإيران/{number(0)}" not in chunks  # ...the oldest do not
    assert "وزير" in index.terms._memo  # seen in every article: learned again after each eviction


def test_normalize_token_cache_is_bounded_and_still_normalizes() -> None:
    assert normalize_token.cache_info().maxsize == NORMALIZE_CACHE
    for i in range(NORMALIZE_CACHE + 500):
        normalize_token(f"الإيرانيّة{number(i)}")
    assert normalize_token.cache_info().currsize == NORMALIZE_CACHE
    assert normalize_token("الإيرانيّة") == "الايرانيه"
    assert normalize_token(f"أحمد{number(3)}") == "احمد1003"  # Arabic-Indic digits fold to ASCII


def test_token_hash_cache_is_bounded_and_hashes_stay_the_same() -> None:
    assert fingerprint._token_hash.cache_info().maxsize == TOKEN_HASH_CACHE
    first = fingerprint._token_hash("الإيرانيّة")
    for i in range(TOKEN_HASH_CACHE + 500):  # pushes "الإيرانيّة" out of the LRU
        fingerprint._token_hash(f"الإيرانيّة{number(i)}")
    assert fingerprint._token_hash.cache_info().currsize == TOKEN_HASH_CACHE
    # Recomputed after eviction, the hash is the same: signatures stored earlier stay comparable.
    assert fingerprint._token_hash("الإيرانيّة") == first
    a = fingerprint.fingerprint(["قال وزير الخارجية الإيراني إن المحادثات مستمرة في مسقط هذا الأسبوع"])
    b = fingerprint.fingerprint(["قال وزير الخارجية الإيراني إن المحادثات مستمرة في مسقط هذا الأسبوع"])
    assert a == b and not a.is_empty
