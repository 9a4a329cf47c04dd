"""One UTC day of the story index, stored compactly.

Band keys live in a sorted ``array('Q')`` of packed ``key prefix (40 bits) << 24 | slot`` words searched
with bisect, plus a dict of recent additions merged in when it grows past MERGE_AT entries. The merge
is a sort of two sorted runs, which timsort does in linear time. 40 bits of key are plenty inside one
day: a stray prefix match costs one similarity check, never a wrong answer.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator

from scraper.dedupe.fingerprint import Signature

MERGE_AT = 65_536  # pending keys before a merge (or an eighth of the merged part, whichever is larger,
# so merges stay amortized O(log n) per key as a day fills up instead of O(n))
_SLOT_BITS = 24
_SLOT_MASK = (1 << _SLOT_BITS) - 1
_MAX_SLOTS = 1 << _SLOT_BITS  # 16.7M articles per day


class DayPartition:
    def __init__(self, num_bins: int) -> None:
        self.num_bins = num_bins
        self.ids = array("q")
        self.times = array("d")
        self.stories = array("q")
        self.sizes = array("I")
        self.shingle_sizes = array("B")
        self.values = array("I")  # num_bins per article, flat
        self.frozen = array("Q")
        self.pending: dict[int, list[int]] = {}
        self.pending_keys = 0

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, article_id: int, sig: Signature, ts: float, story: int, keys: list[bytes]) -> None:
        slot = len(self.ids)
        if slot >= _MAX_SLOTS:
            raise OverflowError("more than 16.7M articles in one day")
        if len(sig.values) != self.num_bins:
            raise ValueError("signature has a different number of bins than the index")
        self.ids.append(article_id)
        self.times.append(ts)
        self.stories.append(story)
        self.sizes.append(sig.size)
        self.shingle_sizes.append(sig.shingle_size)
        self.values.extend(sig.values)
        for key in keys:
            self.pending.setdefault(key_prefix(key), []).append(slot)
        self.pending_keys += len(keys)
        if self.pending_keys >= max(MERGE_AT, len(self.frozen) >> 3):
            self._merge()

    def candidates(
        self, prefixes: list[int], lo: float | None, hi: float | None
    ) -> Iterator[tuple[int, int, Signature]]:
        """(article id, story id, signature) of each article sharing a band key prefix, within [lo, hi]."""
        slots: set[int] = set()
        frozen = self.frozen
        n = len(frozen)
        for prefix in prefixes:
            slots.update(self.pending.get(prefix, ()))
            i = bisect_left(frozen, prefix << _SLOT_BITS)
            while i < n and frozen[i] >> _SLOT_BITS == prefix:
                slots.add(frozen[i] & _SLOT_MASK)
                i += 1
        for slot in slots:
            ts = self.times[slot]
            if (lo is None or ts >= lo) and (hi is None or ts <= hi):
                yield self.ids[slot], self.stories[slot], self.signature(slot)

    def signature(self, slot: int) -> Signature:
        k = self.num_bins
        return Signature(tuple(self.values[slot * k : (slot + 1) * k]), self.sizes[slot], self.shingle_sizes[slot])

    def entries(self) -> Iterator[tuple[int, Signature, float, int]]:
        for slot in range(len(self.ids)):
            yield self.ids[slot], self.signature(slot), self.times[slot], self.stories[slot]

    def _merge(self) -> None:
        fresh = [p << _SLOT_BITS | s for p, slots in self.pending.items() for s in slots]
        fresh.sort()
        merged = self.frozen.tolist() + fresh
        merged.sort()  # two sorted runs: linear
        self.frozen = array("Q", merged)
        self.pending.clear()
        self.pending_keys = 0


def key_prefix(key: bytes) -> int:
    return int.from_bytes(key[:5], "big")
