"""Stories on the database: syndicated copies join one story, hard negatives do not, one alert per story
across a restart, edits are updates — on SQLite and PostgreSQL, with the same clusters on both."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

from scraper.config import Config, Settings
from scraper.dedupe.fingerprint import Signature, fingerprint
from scraper.fetch.client import Fetcher
from scraper.models import ArticleDraft, FeedItem
from scraper.normalize.urls import canonical_url, url_hash
from scraper.pipeline import Runtime, store_article
from scraper.store import repo
from scraper.store import stories as story_store
from scraper.store.db import downgrade, make_engine, upgrade
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, Article, ArticleRevision, Story, StoryKey

FIXTURE = Path(__file__).parents[1] / "fixtures" / "stories" / "syndication.json.gz"
CONFIG = Config.model_validate({
    "channels": {"ops": {"type": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s"}},
    "rules": [{"name": "iran-russia", "query": "(إيران OR طهران) AND (روسيا OR موسكو)", "channels": ["ops"]}],
    "sources": [{"name": f"outlet-{i}", "url": f"https://outlet{i}.example/rss"} for i in range(10)],
})


def make_runtime(db_url: str) -> Runtime:
    engine = make_engine(db_url)
    with open_session(engine) as s:
        repo.sync_sources(s, CONFIG)
    return Runtime(settings=Settings(database_url=db_url), config=CONFIG, engine=engine,
                   fetcher=Fetcher(Settings()), rules=Runtime.build_rules(CONFIG))


def store(rt: Runtime, outlet: int, url: str, title: str, paragraphs: list[str]) -> tuple[str, int]:
    draft = ArticleDraft(url=url, title=title, paragraphs=paragraphs)
    return store_article(rt, CONFIG.sources[outlet], FeedItem(url=url), url_hash(canonical_url(url)), draft)


def close(rt: Runtime) -> None:
    asyncio.run(rt.fetcher.aclose())
    rt.engine.dispose()


def story_of(rt: Runtime, url: str) -> int:
    with open_session(rt.engine) as s:
        art = s.exec(select(Article).where(Article.url == url)).one()
        return art.story_id  # type: ignore[return-value]


def load_docs() -> list[dict]:
    return json.loads(gzip.decompress(FIXTURE.read_bytes()))


def cluster_fixture(db_url: str, limit: int | None = None) -> dict[int, set[str]]:
    """Store the fixture versions (each from its own outlet/URL); return clusters keyed by story id."""
    rt = make_runtime(db_url)
    clusters: dict[int, set[str]] = defaultdict(set)
    try:
        for i, doc in enumerate(load_docs()[:limit]):
            url = f"https://outlet{i % 10}.example/news/{doc['id']}"
            store(rt, i % 10, url, doc["title"], doc["paragraphs"])
            clusters[story_of(rt, url)].add(doc["story"])
    finally:
        close(rt)
    return clusters


def test_syndicated_versions_cluster_and_negatives_do_not(sqlite_url: str) -> None:
    docs = load_docs()
    clusters = cluster_fixture(sqlite_url)
    # precision: no stored story mixes two fixture stories (hard negatives share names and phrases)
    assert all(len(stories) == 1 for stories in clusters.values()), [s for s in clusters.values() if len(s) > 1]
    # recall: most fixture stories end up in a single stored story
    per_story = defaultdict(int)
    for stories in clusters.values():
        per_story[next(iter(stories))] += 1
    whole = sum(1 for n in per_story.values() if n == 1)
    assert whole / len({d["story"] for d in docs}) >= 0.9


def test_same_clusters_on_sqlite_and_postgresql(sqlite_url: str, pg_url: str) -> None:
    def shape(clusters: dict[int, set[str]]) -> list[tuple[str, ...]]:
        return sorted(tuple(sorted(s)) for s in clusters.values())

    sqlite_clusters = cluster_fixture(sqlite_url, limit=90)
    assert len(sqlite_clusters) >= 10  # the first 90 versions span ten stories, some hard negatives
    assert shape(sqlite_clusters) == shape(cluster_fixture(pg_url, limit=90))


def test_one_alert_per_story_across_a_restart_and_edits_are_updates(db_url: str) -> None:
    paragraphs = [
        "استقبل الرئيس الروسي في موسكو وزير الخارجية الإيراني وبحث معه ملفات التعاون الاقتصادي والطاقة.",
        "وقال الكرملين في بيان إن الجانبين اتفقا على تسريع مشروعات النقل وتوسيع التبادل التجاري بالعملات المحلية.",
        "وأكد الوزير الإيراني أن طهران ترى في العلاقة مع موسكو شراكة استراتيجية طويلة الأمد.",
    ]
    rt = make_runtime(db_url)
    assert store(rt, 0, "https://outlet0.example/a", "بوتين يستقبل عراقجي", paragraphs) == ("new", 1)
    close(rt)
    rt = make_runtime(db_url)  # a restart: a new process sees only what the database keeps
    reprint = ["موسكو - (وكالات)", *paragraphs[:2]]
    outcome, alerts = store(rt, 1, "https://outlet1.example/b", "عراقجي في الكرملين", reprint)
    assert (outcome, alerts) == ("new", 0)
    assert story_of(rt, "https://outlet1.example/b") == story_of(rt, "https://outlet0.example/a")
    # the first outlet edits its article: an update with a revision, never a new article or alert
    edited = [*paragraphs, "وفي وقت لاحق، أعلنت الخارجية الإيرانية موعد الجولة المقبلة من المحادثات."]
    assert store(rt, 0, "https://outlet0.example/a", "بوتين يستقبل عراقجي", edited) == ("updated", 0)
    assert store(rt, 0, "https://outlet0.example/a?utm_source=x#top", "بوتين يستقبل عراقجي", edited) == ("unchanged", 0)
    with open_session(rt.engine) as s:
        assert len(s.exec(select(Alert)).all()) == 1
        [story] = s.exec(select(Story)).all()
        assert story.article_count == 2 and story.first_source == "outlet-0"
        [rev] = s.exec(select(ArticleRevision)).all()
        assert rev.revision == 1 and "موعد الجولة" not in rev.body
        outlets = repo.story_outlets(s, story.id or 0)
        assert [o[0] for o in outlets] == ["outlet-0", "outlet-1"]
    close(rt)


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no migrations applied, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return request.getfixturevalue("empty_pg_url")


def story_key_layout(db_url: str) -> tuple[set[str], bool]:
    """(index names on story_keys, whether SQLite keeps the rows in the primary key: WITHOUT ROWID)."""
    engine = make_engine(db_url)
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("story_keys")}
    without_rowid = False
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'story_keys'").scalar_one()
        without_rowid = "WITHOUT ROWID" in sql.upper()
    engine.dispose()
    return {i for i in indexes if i}, without_rowid


def test_migration_0005_keeps_band_keys_both_ways(blank_url: str) -> None:
    """Band keys stored before 0005 still find their story after it and after its downgrade."""
    docs = load_docs()
    first = docs[0]
    other = next(d for d in docs if d["story"] != first["story"])
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    upgrade(blank_url, "0004_source_charset_fix")
    assert story_key_layout(blank_url) == ({"ix_story_keys_seen_at", "ix_story_keys_story_id"}, False)
    engine = make_engine(blank_url)
    sigs = {}
    with open_session(engine) as s:
        for i, doc in enumerate((first, other)):
            sig = sigs[doc["id"]] = fingerprint(doc["paragraphs"])
            url = f"https://outlet{i}.example/news/{doc['id']}"
            art = Article(url_hash=url_hash(url), url=url, canonical_url=url, source=f"outlet-{i}",
                          content_hash=url_hash(url), fingerprint=sig.to_bytes())
            s.add(art)
            s.flush()
            story_store.index_article(s, art.id or 0, 1000 + i, sig, now)
        s.commit()
        keys = len(s.exec(select(StoryKey)).all())
    engine.dispose()
    assert keys > 40  # two articles' band keys (an article repeating a key stores it once)

    def lookups() -> tuple[int, int | None, int | None]:
        engine = make_engine(blank_url)
        with open_session(engine) as s:
            out = (len(s.exec(select(StoryKey)).all()),
                   story_store.find_story(s, sigs[first["id"]], now), story_store.find_story(s, sigs[other["id"]], now))
        engine.dispose()
        return out

    upgrade(blank_url)
    without_rowid = blank_url.startswith("sqlite")  # PostgreSQL keeps its heap table
    assert story_key_layout(blank_url) == ({"ix_story_keys_seen_at"}, without_rowid)
    assert lookups() == (keys, 1000, 1001)
    downgrade(blank_url, "0004_source_charset_fix")
    assert story_key_layout(blank_url) == ({"ix_story_keys_seen_at", "ix_story_keys_story_id"}, False)
    assert lookups() == (keys, 1000, 1001)


# Hand-made signatures: bin i of QUERY is i + 1; band b covers bins 3b..3b+2 (42 bands × 3 rows, bins 126-127 in
# no band). A signature equal to QUERY at some bins and unique elsewhere shares exactly the bands it copies whole.
QUERY = Signature(tuple(range(1, 129)), size=300)


def like_query(equal: set[int], n: int) -> Signature:
    return Signature(tuple(v if i in equal else 1000 * (n + 1) + i for i, v in enumerate(QUERY.values)), size=300)


# Same story (estimated J ≈ 0.68) while sharing only band 0 (or bands 0-1): two rows of three in every other band.
ONE_BAND = {0, 1, 2, 126, 127} | {3 * b + r for b in range(1, 42) for r in (0, 1)}
TWO_BANDS = ONE_BAND | {3, 4, 5}
DECOY = set(range(6, 12))  # bands 2 and 3 only: J ≈ 0.05, never the same story


def test_only_the_articles_sharing_most_bands_are_scored_ties_to_older(db_url: str) -> None:
    """find_story scores the MAX_CANDIDATES articles sharing the most band keys (ties: older id), then the
    best score (ties: older article): the same rule on SQLite (ranked in Python) and PostgreSQL (in SQL)."""
    engine = make_engine(db_url)
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    added = 0

    def add(s: Session, sig: Signature, story: int, when: datetime) -> None:
        nonlocal added
        added += 1
        url = f"https://outlet{added % 10}.example/news/{added}"
        art = Article(url_hash=url_hash(url), url=url, canonical_url=url, source="outlet-0",
                      content_hash=url_hash(url), fingerprint=sig.to_bytes())
        s.add(art)
        s.flush()
        story_store.index_article(s, art.id or 0, story, sig, when)

    cap = story_store.MAX_CANDIDATES
    with open_session(engine) as s:
        add(s, like_query(ONE_BAND, 0), 7, t0)
        for i in range(cap - 1):
            add(s, like_query(DECOY, i + 1), 100 + i, t0)
        assert story_store.find_story(s, QUERY, t0) == 7  # 50 candidates: all scored
        add(s, like_query(DECOY, cap), 200, t0)
        assert story_store.find_story(s, QUERY, t0) is None  # 51: the one sharing a single band is left out

        t1 = t0 + timedelta(days=30)  # the keys above are out of this lookup's window
        add(s, like_query(TWO_BANDS, 0), 8, t1)
        for i in range(cap):
            add(s, like_query(DECOY, i + 1), 300 + i, t1)
        assert story_store.find_story(s, QUERY, t1) == 8  # 51 tied on 2 bands: the 50 oldest are scored

        t2 = t1 + timedelta(days=30)
        add(s, QUERY, 9, t2)
        add(s, QUERY, 10, t2)
        assert story_store.find_story(s, QUERY, t2) == 9  # equal scores: the older article's story
    engine.dispose()
