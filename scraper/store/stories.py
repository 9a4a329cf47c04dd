"""Story assignment on the database: near-duplicate lookup through the persistent LSH band-key table.

Pure similarity lives in scraper.dedupe; this module only stores band keys and fetches candidates, so
SQLite and PostgreSQL (and every worker) reach the same clusters."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, delete, select

from scraper.dedupe.fingerprint import Signature
from scraper.dedupe.similarity import DEFAULT_THRESHOLD, story_similarity
from scraper.dedupe.stories import band_keys
from scraper.store.tables import Article, StoryKey

WINDOW = timedelta(days=7)
MAX_CANDIDATES = 50  # score only the articles sharing the most bands; the best match shares many

# Built once: building and cache-keying an ORM select per call cost more than SQLite's 42 key probes
# (0.67 vs 0.27 ms p50 at 100k articles, bench/RESULTS.stories.md). Expanding IN works on every dialect.
_KEYS = select(StoryKey.article_id, StoryKey.story_id).where(
    col(StoryKey.band_key).in_(bindparam("keys", expanding=True)), col(StoryKey.seen_at) >= bindparam("since"))
_FINGERPRINTS = select(Article.id, Article.fingerprint).where(col(Article.id).in_(bindparam("ids", expanding=True)))


def find_story(session: Session, signature: Signature, now: datetime, window: timedelta = WINDOW,
               threshold: float = DEFAULT_THRESHOLD) -> int | None:
    """The story of the most similar recent article, if it is similar enough; else None."""
    keys = band_keys(signature)
    if not keys:
        return None
    # The session's connection, so the lookup runs inside the caller's transaction (the pipeline's).
    conn = session.connection()
    rows = conn.execute(_KEYS, {"keys": keys, "since": now - window}).all()
    if not rows:
        return None
    story_of = {aid: sid for aid, sid in rows}
    shared = Counter(aid for aid, _sid in rows)
    ids = [aid for aid, _n in sorted(shared.items(), key=lambda t: (-t[1], t[0]))[:MAX_CANDIDATES]]
    scored = []
    for aid, blob in conn.execute(_FINGERPRINTS, {"ids": ids}).all():
        if blob:
            scored.append((story_similarity(signature, Signature.from_bytes(blob)), -aid, aid))
    if not scored:
        return None
    score, _neg, best = max(scored)  # ties go to the older article: deterministic on every database
    return story_of[best] if score >= threshold else None


def index_article(session: Session, article_id: int, story_id: int, signature: Signature, seen_at: datetime) -> None:
    rows = [{"band_key": key, "article_id": article_id, "story_id": story_id, "seen_at": seen_at}
            for key in sorted(set(band_keys(signature)))]
    if rows:  # one executemany instead of 42 ORM objects per article
        session.exec(insert(StoryKey), params=rows)  # type: ignore[call-overload]


def prune(session: Session, now: datetime, window: timedelta = WINDOW) -> int:
    """Drop band keys older than the window so lookups stay fast as the archive grows."""
    result = session.exec(delete(StoryKey).where(col(StoryKey.seen_at) < now - window))  # type: ignore[call-overload]
    return int(result.rowcount or 0)
