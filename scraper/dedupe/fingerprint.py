"""Text → MinHash signature for near-duplicate story detection.

Shingles are word n-grams of the normalized tokens (scraper.normalize.text), so diacritics, tatweel,
hamza forms, Arabic punctuation (، ؛ ؟ « ») and digit scripts do not count as differences. The body
is one token stream: an outlet that splits or merges paragraphs changes only the shingles at the seam.

Signature scheme: one-permutation MinHash (Li, Owen & Zhang 2012) with optimal densification
(Shrivastava 2017). Each shingle is hashed once to 64 bits; the low bits pick one of ``k`` bins and the
high 32 bits compete for that bin's minimum; empty bins borrow a filled bin's value along a fixed probe
sequence. Measured in bench/stories.py: 0.05 ms per article in pure Python, against 0.17 ms for a
numpy k-permutation MinHash and 1.2 ms for datasketch, with the same estimation error, and no
dependency. Everything is seeded by constants, so every process, SQLite or PostgreSQL, agrees.
"""

from __future__ import annotations

import hashlib
import operator
import struct
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from scraper.normalize.text import tokenize

SHINGLE_SIZE = 3  # word trigrams: best precision/recall trade-off measured in bench/stories.py
NUM_BINS = 128
FORMAT_VERSION = 1
EMPTY = 0xFFFFFFFF  # bin value of a text with no tokens; never equal across two signatures' real bins
_MASK64 = (1 << 64) - 1
_UNSET = 1 << 32  # above any 32-bit bin value
_HEADER = struct.Struct("<BBHI")  # version, shingle size, number of bins, distinct shingle count
_K1, _K2, _K3 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9


@dataclass(frozen=True, slots=True)
class Signature:
    """MinHash bins (unsigned 32-bit) plus the number of distinct shingles they summarize."""

    values: tuple[int, ...]
    size: int
    shingle_size: int = SHINGLE_SIZE

    def to_bytes(self) -> bytes:
        """Compact, platform-independent form for a database column (8 + 4·k bytes)."""
        body = array("I", self.values)
        if sys.byteorder == "big":
            body.byteswap()
        return _HEADER.pack(FORMAT_VERSION, self.shingle_size, len(self.values), self.size) + body.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        version, shingle_size, k, size = _HEADER.unpack_from(data)
        if version != FORMAT_VERSION or len(data) != _HEADER.size + 4 * k:
            raise ValueError(f"not a version-{FORMAT_VERSION} signature of {len(data)} bytes")
        body = array("I")
        body.frombytes(data[_HEADER.size :])
        if sys.byteorder == "big":
            body.byteswap()
        return cls(tuple(body), size, shingle_size)

    @property
    def is_empty(self) -> bool:
        return self.size == 0


def fingerprint(
    paragraphs: Sequence[str],
    title: str | None = None,
    *,
    shingle_size: int = SHINGLE_SIZE,
    num_bins: int = NUM_BINS,
) -> Signature:
    """Signature of an article body; the title is used only when the body has no tokens.

    Headlines are the part outlets rewrite most, so they would only add noise to the body's evidence.
    """
    tokens = [tok for p in paragraphs for tok in tokenize(p)]
    if not tokens and title:
        tokens = tokenize(title)
    return signature_from_tokens(tokens, shingle_size=shingle_size, num_bins=num_bins)


def signature_from_tokens(
    tokens: Sequence[str], *, shingle_size: int = SHINGLE_SIZE, num_bins: int = NUM_BINS
) -> Signature:
    shingles = shingle_hashes(tokens, shingle_size)
    return Signature(_one_permutation_minhash(shingles, num_bins), len(shingles), shingle_size)


def shingle_hashes(tokens: Sequence[str], n: int = SHINGLE_SIZE) -> set[int]:
    """64-bit hashes of the word n-grams of ``tokens`` (one shingle of all tokens if fewer than n)."""
    if not tokens:
        return set()
    hashes = [_token_hash(t) for t in tokens]
    if len(hashes) <= n:
        return {_combine(hashes)}
    return {_combine(hashes[i : i + n]) for i in range(len(hashes) - n + 1)}


def estimate_jaccard(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two shingle sets (fraction of equal bins)."""
    if a.is_empty or b.is_empty:
        return 0.0
    if len(a.values) != len(b.values) or a.shingle_size != b.shingle_size:
        raise ValueError("signatures built with different parameters are not comparable")
    equal = sum(map(operator.eq, a.values, b.values))  # map: 3x faster than a generator; lengths checked above
    return equal / len(a.values)


def estimate_containment(a: Signature, b: Signature, jaccard: float | None = None) -> float:
    """Estimated share of the smaller text's shingles found in the larger one.

    From J = |A∩B| / |A∪B| and the exact set sizes: |A∩B| = J(|A|+|B|)/(1+J). This catches the
    wire brief that is the first half of a longer version, where Jaccard alone is low.
    """
    j = estimate_jaccard(a, b) if jaccard is None else jaccard
    if j == 0.0:
        return 0.0
    intersection = j * (a.size + b.size) / (1.0 + j)
    return min(1.0, intersection / min(a.size, b.size))


# A daemon that runs for days fills this LRU (an open vocabulary) and keeps it full, so its size is
# steady-state memory: 200,000 entries held 42 MiB with their tokens (bench/soak.py --cache-caps),
# 65,536 hold 15 MiB. A miss is one blake2b of a token (~1 µs against ~0.07 µs for a hit).
TOKEN_HASH_CACHE = 65_536


@lru_cache(maxsize=TOKEN_HASH_CACHE)
def _token_hash(token: str) -> int:
    # blake2b, not hash(): str hashes are salted per process and would differ between workers.
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def _combine(hashes: Sequence[int]) -> int:
    h = len(hashes)
    for x in hashes:
        h = _mix64((h * _K1 + x) & _MASK64)
    return h


def _mix64(x: int) -> int:
    """splitmix64 finalizer: spreads every input bit over the whole word."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _one_permutation_minhash(shingles: Iterable[int], k: int) -> tuple[int, ...]:
    bins = [_UNSET] * k
    for h in shingles:
        b, v = h % k, h >> 32  # low bits choose the bin, independent high bits compete in it
        if v < bins[b]:
            bins[b] = v
    if all(v == _UNSET for v in bins):
        return (EMPTY,) * k
    if _UNSET in bins:
        _densify(bins, k)
    return tuple(bins)


def _densify(bins: list[int], k: int) -> None:
    """Optimal densification: an empty bin copies the first filled bin on its own probe sequence.

    The probe sequence depends only on (bin, attempt), so two texts that leave the same bin empty
    borrow from the same place and agree exactly when their sources agree, keeping the estimate fair.
    """
    source = list(bins)
    for i in range(k):
        if source[i] != _UNSET:
            continue
        attempt = 0
        while source[j := _probe(i, attempt, k)] == _UNSET:
            attempt += 1
        bins[i] = source[j]


@lru_cache(maxsize=65_536)
def _probe(i: int, attempt: int, k: int) -> int:
    return _mix64(((i << 32 | attempt) * _K2 + _K3) & _MASK64) % k
