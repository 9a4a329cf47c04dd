"""Feeds out: Atom and RSS for rules and searches, parsed back with feedparser; Arabic intact,
xml:lang="ar", hostile scraped strings escaped (or removed where XML forbids them)."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree as ET

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from scraper.config import Config, Settings
from scraper.store.db import make_engine, session
from scraper.store.tables import Article, RuleMatch
from scraper.web.app import create_app
from tests.integration.test_search import add_article, load_articles

CONFIG = Config.model_validate({"rules": [{"name": "iran", "query": "إيران"}]})
HOSTILE_TITLE = '<script>alert(1)</script> إيران & "روسيا" \x01\x0b\u202eعكس'


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def client(engine: Engine) -> TestClient:
    ids = load_articles(engine)
    hostile = add_article(engine, 100, "evil", HOSTILE_TITLE, ["خبر عن إيران ]]> <b>بالخط العريض</b>"])
    with session(engine) as s:
        for art_id in (ids[0], hostile):
            s.add(RuleMatch(rule="iran", article_id=art_id, snippet="[[إيران]] & <i>x</i>\x02"))
        s.commit()
    with session(engine) as s:  # a javascript: link must never become a feed link
        art = s.get(Article, hostile)
        assert art is not None
        art.url = "javascript:alert(1)"
        s.add(art)
        s.commit()
    return TestClient(create_app(Settings(), CONFIG, engine))


def test_rule_atom_and_rss_parse_back(client: TestClient) -> None:
    for suffix, version in (("atom", "atom10"), ("rss", "rss20")):
        r = client.get(f"/feeds/rules/iran.{suffix}")
        assert r.status_code == 200 and "xml" in r.headers["content-type"]
        feed = feedparser.parse(r.content)
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.version == version
        titles = [e.title for e in feed.entries]
        assert "إيران تعلن موقفها" in titles
        evil = next(e for e in feed.entries if "alert(1)" in e.title)
        assert evil.title == '<script>alert(1)</script> إيران & "روسيا" \u202eعكس'  # text, control chars gone
        assert not evil.get("link", "").startswith("javascript")
        good = next(e for e in feed.entries if e.title == "إيران تعلن موقفها")
        assert good.link.startswith("https://alpha.example/")
        assert "[[" not in good.summary


def test_atom_declares_arabic_and_escapes(client: TestClient) -> None:
    raw = client.get("/feeds/rules/iran.atom").content
    root = ET.fromstring(raw)  # well-formed XML
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "ar"
    assert b"<script>" not in raw and b"&lt;script&gt;" in raw
    assert feedparser.parse(raw).feed.get("language") == "ar"


def test_search_feed(client: TestClient) -> None:
    r = client.get("/feeds/search.atom", params={"q": "الكرملين"})
    feed = feedparser.parse(r.content)
    assert not feed.bozo
    assert [e.title for e in feed.entries] == ["الكرملين يعلق"]
    assert "[[" not in feed.entries[0].summary and "الكرملين" in feed.entries[0].summary
    rss = feedparser.parse(client.get("/feeds/search.rss", params={"q": "نفط*"}).content)
    assert not rss.bozo and len(rss.entries) == 4
    bad = client.get("/feeds/search.atom", params={"q": "(نفط"})
    assert bad.status_code == 400 and bad.json()["position"] == 0
    assert client.get("/feeds/rules/nope.atom").status_code == 404
