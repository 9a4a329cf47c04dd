"""StoryIndex: LSH banding over MinHash signatures, bounded to a time window.

Persisting: ``band_keys(signature)`` gives the 8-byte keys a store keeps as (band_key, article_id,
published_at) rows in an indexed table; candidates are ``WHERE band_key IN (...)``, then scored with
``story_similarity`` on the stored signatures. Everything is a pure function of the signature, so
SQLite, PostgreSQL and this in-memory index find the same candidates and form the same clusters.

In memory, articles are grouped per UTC day (eviction drops whole days). A day's band keys are packed
into one sorted ``array('Q')`` of (key prefix << 24 | slot) searched with bisect, plus a small dict for
recent additions merged in batches: 8 bytes per key instead of ~90 for a dict entry, which is what
lets a 1,000,000-article window fit in a few hundred MB (bench/stories.py scale).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scraper.dedupe.fingerprint import Signature
from scraper.dedupe.partition import DayPartition, key_prefix
from scraper.dedupe.similarity import DEFAULT_THRESHOLD, story_similarity

BANDS = 42  # 42 bands × 3 rows of the 128 bins: candidate probability 0.68 at J=0.3, 0.996 at J=0.5
ROWS = 3
DEFAULT_WINDOW = timedelta(days=7)
_BAND_PREFIX = struct.Struct("<BB")


def band_keys(signature: Signature, bands: int = BANDS, rows: int = ROWS) -> list[bytes]:
    """One 8-byte key per band; the band number is hashed in so keys never match across bands."""
    if signature.is_empty:
        return []  # an empty text is no evidence of anything: never a candidate
    if bands * rows > len(signature.values):
        raise ValueError(f"{bands}×{rows} bands need {bands * rows} bins, signature has {len(signature.values)}")
    vals = signature.values
    return [
        hashlib.blake2b(
            _BAND_PREFIX.pack(b, rows) + struct.pack(f"<{rows}I", *vals[b * rows : (b + 1) * rows]),
            digest_size=8,
        ).digest()
        for b in range(bands)
    ]


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One indexed article, as dump() yields it and load() takes it back."""

    article_id: int
    signature: Signature
    published_at: datetime
    story_id: int


class StoryIndex:
    """Near-duplicate candidates and story assignment within a sliding time window."""

    def __init__(self, window: timedelta = DEFAULT_WINDOW, bands: int = BANDS, rows: int = ROWS) -> None:
        self.window = window
        self.bands = bands
        self.rows = rows
        self._days: dict[int, DayPartition] = {}
        self._latest: datetime | None = None

    def __len__(self) -> int:
        return sum(len(p) for p in self._days.values())

    def add(self, article_id: int, signature: Signature, published_at: datetime, story_id: int | None = None) -> None:
        """Index an article (its own story unless ``story_id`` says which story it joined)."""
        published_at = _utc(published_at)
        keys = band_keys(signature, self.bands, self.rows)
        day = _day(published_at)
        part = self._days.get(day)
        if part is None:
            part = self._days[day] = DayPartition(len(signature.values))
        part.add(article_id, signature, published_at.timestamp(), story_id or article_id, keys)
        if self._latest is None or published_at > self._latest:
            self._latest = published_at
            self._evict()

    def find(self, signature: Signature, around: datetime | None = None) -> list[tuple[int, float]]:
        """Candidate article ids with their story_similarity, best first (ties: older id first).

        With ``around``, only articles published within the window of that time count.
        """
        return [(aid, score) for aid, _story, score in self._scored(signature, around)]

    def assign(
        self, article_id: int, signature: Signature, published_at: datetime, threshold: float = DEFAULT_THRESHOLD
    ) -> int | None:
        """Index the article and return the story id (first article id) it joins, or None if new."""
        published_at = _utc(published_at)
        story: int | None = None
        for _aid, cand_story, score in self._scored(signature, published_at):
            if score >= threshold:
                story = cand_story
            break  # best first: only the best candidate can decide
        self.add(article_id, signature, published_at, story)
        return story

    def dump(self) -> Iterator[IndexEntry]:
        """Every entry in the window, oldest day first; load() rebuilds an identical index."""
        for day in sorted(self._days):
            for aid, sig, ts, story in self._days[day].entries():
                yield IndexEntry(aid, sig, datetime.fromtimestamp(ts, UTC), story)

    def load(self, entries: Iterator[IndexEntry] | list[IndexEntry]) -> None:
        for e in entries:
            self.add(e.article_id, e.signature, e.published_at, e.story_id)

    def _scored(self, signature: Signature, around: datetime | None) -> list[tuple[int, int, float]]:
        keys = band_keys(signature, self.bands, self.rows)
        if not keys:
            return []
        lo = hi = None
        if around is not None:
            around = _utc(around)
            lo, hi = (around - self.window).timestamp(), (around + self.window).timestamp()
        elif self._latest is not None:  # days are evicted whole; trim the oldest one to the window
            lo = (self._latest - self.window).timestamp()
        prefixes = [key_prefix(k) for k in keys]
        found: list[tuple[int, int, float]] = []
        for day, part in self._days.items():
            if (lo is not None and (day + 1) * 86_400 <= lo) or (hi is not None and day * 86_400 > hi):
                continue  # the whole day is outside the time range
            for aid, story, other in part.candidates(prefixes, lo, hi):
                found.append((aid, story, story_similarity(signature, other)))
        found.sort(key=lambda t: (-t[2], t[0]))
        return found

    def _evict(self) -> None:
        assert self._latest is not None
        # Keep a day while any moment of it is still inside the window.
        oldest_day = _day(self._latest - self.window)
        for day in [d for d in self._days if d < oldest_day]:
            del self._days[day]


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("published_at must be timezone-aware")
    return dt.astimezone(UTC)


def _day(dt: datetime) -> int:
    return int(dt.timestamp() // 86_400)
