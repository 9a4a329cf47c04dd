"""A source's ``allow_private`` trusts its own host only: links in its feed to another private host, and
redirects from its own host to one, get the public-address check (``unsafe_url``) and are never
requested. ``SCRAPER_ALLOW_PRIVATE_NETWORKS`` still trusts every host.

One loopback server reached under two names: 127.0.0.1 (the source's host) and ``localhost`` (another
host, which resolves to a loopback address too)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from scraper.config import Config, Settings
from scraper.fetch.client import Fetcher
from scraper.pipeline import RefreshReport, Runtime, refresh_source
from scraper.store import repo
from scraper.store.db import make_engine, upgrade
from scraper.store.db import session as open_session
from scraper.store.tables import Article
from tests.integration.chaos_server import ChaosServer, redirect, respond
from tests.reliability.harness import article_html, rss

TITLE = "وزير الخارجية يبحث في القاهرة ملف المياه"
BODY = ["بحث وزير الخارجية اليوم في القاهرة مع نظيره المصري ملف مياه النيل والتعاون الإقليمي."]


def _site() -> ChaosServer:
    server = ChaosServer().start()
    page = respond(200, article_html(TITLE, BODY).encode())
    for path in ("/own/article", "/elsewhere/article", "/elsewhere/target"):
        server.route(path, page)
    server.route("/own/redirect", redirect(server.url("/elsewhere/target", host="localhost")))
    server.route("/feed", respond(200, rss([
        (TITLE, server.url("/own/article")),
        (f"{TITLE} ٢", server.url("/elsewhere/article", host="localhost")),
        (f"{TITLE} ٣", server.url("/own/redirect")),
    ]).encode(), {"Content-Type": "application/rss+xml"}))
    return server


async def _pass(db_url: str, server: ChaosServer, allow_all: bool) -> tuple[RefreshReport, list[str]]:
    config = Config.model_validate({"sources": [{"name": "intranet", "url": server.url("/feed"),
                                                 "allow_private": True}]})
    settings = Settings(database_url=db_url, per_host_delay=0.0, allow_private_networks=allow_all)
    engine = make_engine(db_url)
    with open_session(engine) as s:
        repo.sync_sources(s, config)
    try:
        async with Fetcher(settings, per_host_delay=0.0) as fetcher:
            rt = Runtime(settings=settings, config=config, engine=engine, fetcher=fetcher,
                         rules=Runtime.build_rules(config))
            report = await refresh_source(rt, config.source("intranet"))
        with open_session(engine) as s:
            urls = sorted(a.url for a in s.exec(select(Article)).all())
        return report, urls
    finally:
        engine.dispose()


def test_allow_private_covers_the_sources_own_host_only(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(db_url)
    server = _site()
    try:
        report, urls = asyncio.run(_pass(db_url, server, allow_all=False))
    finally:
        server.stop()
    assert report.outcome == "ok" and report.new_articles == 1, report
    assert urls == [server.url("/own/article")]
    assert sorted(e.split(": ")[1] for e in report.article_errors) == ["unsafe_url", "unsafe_url"], report
    assert server.hits["/elsewhere/article"] == 0 and server.hits["/elsewhere/target"] == 0
    assert server.hits["/own/redirect"] == 1  # the own host is asked; the hop it points to is refused


def test_allow_private_networks_still_trusts_every_host(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(db_url)
    server = _site()
    try:
        report, urls = asyncio.run(_pass(db_url, server, allow_all=True))
    finally:
        server.stop()
    assert report.new_articles == 3 and not report.article_errors, report
    assert server.hits["/elsewhere/article"] == 1 and server.hits["/elsewhere/target"] == 1
    assert len(urls) == 3
