"""Story assignment on the database: near-duplicate lookup through the persistent LSH band-key table.

Pure similarity lives in scraper.dedupe; this module only stores band keys and fetches candidates, so
SQLite and PostgreSQL (and every worker) reach the same clusters."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, func, insert
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
# PostgreSQL: the same candidates in one round trip, ranked and capped by the server (most shared bands, then
# older id) and joined to their fingerprints. Two statements cost a second execute and round trip and a Python
# Counter over every matched row. At 1M, near copies: p95 2.4-3.4 ms with two statements, 1.8-2.6 with one
# (quiet machine, bench/RESULTS.stories.md). Expanding IN, not = ANY(array): psycopg escapes a bytea[]
# array in Python (+0.07 ms client CPU a lookup), 42 bytea parameters go as they are.
# An article's keys all carry the story_id index_article wrote with them, so min() only names that one value.
# SQLite keeps the two statements: in-process, it has no round trip to save (target met there).
_RANKED = (select(StoryKey.article_id, func.min(StoryKey.story_id).label("story_id"))
           .where(col(StoryKey.band_key).in_(bindparam("keys", expanding=True)),
                  col(StoryKey.seen_at) >= bindparam("since"))
           .group_by(col(StoryKey.article_id))
           .order_by(func.count().desc(), col(StoryKey.article_id))
           .limit(MAX_CANDIDATES)
           .subquery())
_CANDIDATES = select(Article.id, _RANKED.c.story_id, Article.fingerprint).join_from(
    _RANKED, Article, col(Article.id) == _RANKED.c.article_id)


def find_story(session: Session, signature: Signature, now: datetime, window: timedelta = WINDOW,
               threshold: float = DEFAULT_THRESHOLD) -> int | None:
    """The story of the most similar recent article, if it is similar enough; else None."""
    keys = band_keys(signature)
    if not keys:
        return None
    # The session's connection, so the lookup runs inside the caller's transaction (the pipeline's).
    conn = session.connection()
    story_of, fingerprints = _candidates(conn, keys, now - window)
    scored = [(story_similarity(signature, Signature.from_bytes(blob)), -aid, aid)
              for aid, blob in fingerprints if blob]
    if not scored:
        return None
    score, _neg, best = max(scored)  # ties go to the older article: deterministic on every database
    return story_of[best] if score >= threshold else None


_Candidates = tuple[dict[int, int], list[tuple[int, bytes | None]]]  # story of each article; (article, fingerprint)


def _candidates(conn: Connection, keys: list[bytes], since: datetime) -> _Candidates:
    """Story of each candidate article and the candidates' fingerprints: the MAX_CANDIDATES articles sharing
    the most band keys seen since ``since`` (ties: older id), the same set on every dialect."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(_CANDIDATES, {"keys": keys, "since": since}).all()
        return {aid: sid for aid, sid, _blob in rows}, [(aid, blob) for aid, _sid, blob in rows]
    rows = conn.execute(_KEYS, {"keys": keys, "since": since}).all()
    if not rows:
        return {}, []
    shared = Counter(aid for aid, _sid in rows)
    ids = [aid for aid, _n in sorted(shared.items(), key=lambda t: (-t[1], t[0]))[:MAX_CANDIDATES]]
    return dict(rows), [(aid, blob) for aid, blob in conn.execute(_FINGERPRINTS, {"ids": ids}).all()]


def index_article(session: Session, article_id: int, story_id: int, signature: Signature, seen_at: datetime) -> None:
    rows = [{"band_key": key, "article_id": article_id, "story_id": story_id, "seen_at": seen_at}
            for key in sorted(set(band_keys(signature)))]
    if rows:  # one executemany instead of 42 ORM objects per article
        session.exec(insert(StoryKey), params=rows)  # type: ignore[call-overload]


def prune(session: Session, now: datetime, window: timedelta = WINDOW) -> int:
    """Drop band keys older than the window so lookups stay fast as the archive grows."""
    result = session.exec(delete(StoryKey).where(col(StoryKey.seen_at) < now - window))  # type: ignore[call-overload]
    return int(result.rowcount or 0)
