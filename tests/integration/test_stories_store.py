"""Stories on the database: syndicated copies join one story, hard negatives do not, one alert per story
across a restart, edits are updates — on SQLite and PostgreSQL, with the same clusters on both."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections import defaultdict
from pathlib import Path

from sqlmodel import select

from scraper.config import Config, Settings
from scraper.fetch.client import Fetcher
from scraper.models import ArticleDraft, FeedItem
from scraper.normalize.urls import canonical_url, url_hash
from scraper.pipeline import Runtime, store_article
from scraper.store import repo
from scraper.store.db import make_engine
from scraper.store.db import session as open_session
from scraper.store.tables import Alert, Article, ArticleRevision, Story

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
