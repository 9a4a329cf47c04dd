"""A 100,000-item feed must not stall the other sources: its parse and the check of which links are new
used to run on the event loop for 10-20 s, and every other fetch waited that long.

Measured by order of events, not by time: the small source's check starts once the huge feed has been
fetched (the test waits for that on the event loop, so with the work on the loop it starts only after
that work), and does all its work (fetch its feed, parse it, request its article) while the huge
source parses and selects. Its article request must reach the server before the huge source requests
its first article; with the work on the loop it came after."""

from __future__ import annotations

import asyncio
from pathlib import Path

from scraper.config import Config, Settings
from scraper.fetch.client import Fetcher, FetchResult
from scraper.normalize.urls import canonical_url, url_hash
from scraper.pipeline import RefreshReport, Runtime, _canonical_hash, _raw_hash, refresh_source
from scraper.store import repo
from scraper.store.db import make_engine, upgrade
from scraper.store.db import session as open_session
from tests.integration.chaos_server import ChaosHandler, ChaosServer, respond, send
from tests.reliability.harness import article_html, rss

HUGE_ITEMS = 100_000
TITLE = "وزير الخارجية يبحث في القاهرة ملف المياه"
BODY = ["بحث وزير الخارجية اليوم في القاهرة مع نظيره المصري ملف مياه النيل والتعاون الإقليمي."]


def _huge_feed(base: str) -> bytes:
    items = "".join(f"<item><link>{base}/article?n={i}&amp;utm_source=rss</link></item>" for i in range(HUGE_ITEMS))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>big</title>'
            f"{items}</channel></rss>").encode()


class Sites:
    """Two servers (two hosts for the politeness limits) that record the order of article requests."""

    def __init__(self) -> None:
        self.huge, self.small = ChaosServer().start(), ChaosServer().start()
        self.order: list[str] = []
        feed = _huge_feed(self.huge.url(""))
        page = article_html(TITLE, BODY).encode()

        def article(name: str):  # type: ignore[no-untyped-def]
            def route(h: ChaosHandler) -> None:
                self.order.append(name)
                send(h, 200, page)
            return route

        self.huge.route("/feed", respond(200, feed, {"Content-Type": "application/rss+xml"}))
        self.huge.route("/article", article("huge"))
        self.small.route("/feed", respond(200, rss([(TITLE, self.small.url("/article"))]).encode(),
                                          {"Content-Type": "application/rss+xml"}))
        self.small.route("/article", article("small"))

    def stop(self) -> None:
        self.huge.stop()
        self.small.stop()


class SignallingFetcher(Fetcher):
    """The real fetcher, which also says when the huge feed has arrived."""

    watched = ""
    arrived: asyncio.Event

    async def fetch(self, url: str, **kwargs) -> FetchResult:  # type: ignore[no-untyped-def]
        result = await super().fetch(url, **kwargs)
        if url == self.watched:
            self.arrived.set()
        return result


async def _both(tmp: Path, sites: Sites) -> tuple[RefreshReport, RefreshReport, Runtime]:
    db_url = f"sqlite:///{tmp / 'huge.db'}"
    upgrade(db_url)
    config = Config.model_validate({"sources": [
        {"name": "huge", "url": sites.huge.url("/feed"), "allow_private": True},
        {"name": "small", "url": sites.small.url("/feed"), "allow_private": True}]})
    settings = Settings(database_url=db_url, per_host_delay=0.0, max_body_bytes=50_000_000)
    engine = make_engine(db_url)
    with open_session(engine) as s:
        repo.sync_sources(s, config)
    async with SignallingFetcher(settings, per_host_concurrency=4, per_host_delay=0.0) as fetcher:
        fetcher.watched, fetcher.arrived = sites.huge.url("/feed"), asyncio.Event()
        rt = Runtime(settings=settings, config=config, engine=engine, fetcher=fetcher,
                     rules=Runtime.build_rules(config))
        huge = asyncio.create_task(refresh_source(rt, config.source("huge")))
        await fetcher.arrived.wait()
        small = await refresh_source(rt, config.source("small"))
        return await huge, small, rt


def test_a_huge_feed_does_not_hold_up_another_source(tmp_path: Path) -> None:
    sites = Sites()
    try:
        huge, small, rt = asyncio.run(_both(tmp_path, sites))
    finally:
        sites.stop()
    assert (huge.outcome, huge.items, huge.new_articles) == ("ok", HUGE_ITEMS, 100), huge
    assert (small.outcome, small.new_articles) == ("ok", 1), small
    assert "small" in sites.order and "huge" in sites.order
    # Every request the huge source made before the small source's article: the bound is none.
    assert sites.order.index("small") < sites.order.index("huge"), sites.order[:5]
    # Next pass: the 100 stored links are recognised by their raw hash, the next 100 are fetched.
    with open_session(rt.engine) as s:
        link = sites.huge.url("/article?n=0&utm_source=rss")
        assert repo.known_url_hashes(s, [_raw_hash(link), url_hash(link)]) == {_raw_hash(link), url_hash(link)}
    rt.engine.dispose()


def test_the_shortcut_hash_is_url_hash() -> None:
    for url in ("https://www.Example.com/a/b/?utm_source=x&id=3#top", "http://example.com/خبر/١٢",
                "https://example.com/amp/news/1"):
        assert _canonical_hash(canonical_url(url)) == url_hash(url)
