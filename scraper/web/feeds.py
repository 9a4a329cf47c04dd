"""Feeds out: Atom and RSS 2.0 for every rule and for any search.

Built with ElementTree, so every scraped string is escaped by the serializer; characters XML 1.0
forbids (control characters a hostile page may carry) are removed first, because no escaping makes
them legal. Links are only ever http(s).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response

from scraper.store import search_browse as browse
from scraper.store.search import MAX_QUERY_CHARS, search_articles
from scraper.store.search_results import SearchResult
from scraper.store.tables import utcnow

router = APIRouter(prefix="/feeds", tags=["feeds"])
ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_SIZE = 50
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_MARKERS = re.compile(r"\[\[|\]\]")


def xml_text(value: str | None) -> str:
    return _ILLEGAL_XML.sub("", value or "")


def safe_link(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://", url, re.IGNORECASE) else None


@dataclass
class Entry:
    id: str
    title: str
    link: str | None
    source: str
    summary: str  # plain text; hit markers removed
    published: datetime | None
    updated: datetime


def _parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        el.text = xml_text(text)
    return el


def atom(title: str, self_url: str, feed_id: str, entries: list[Entry]) -> bytes:
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {XML_LANG: "ar"})
    a = f"{{{ATOM_NS}}}"
    _sub(feed, a + "title", title)
    _sub(feed, a + "id", feed_id)
    _sub(feed, a + "link", rel="self", href=xml_text(self_url))
    _sub(feed, a + "updated", max((e.updated for e in entries), default=utcnow()).isoformat())
    _sub(_sub(feed, a + "author"), a + "name", "scraper")
    for e in entries:
        el = _sub(feed, a + "entry")
        _sub(el, a + "id", e.id)
        _sub(el, a + "title", e.title, type="text")
        if e.link:
            _sub(el, a + "link", rel="alternate", href=xml_text(e.link))
        _sub(el, a + "updated", e.updated.isoformat())
        if e.published:
            _sub(el, a + "published", e.published.isoformat())
        _sub(_sub(el, a + "author"), a + "name", e.source)
        _sub(el, a + "summary", e.summary, type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False)


def rss(title: str, link: str, description: str, entries: list[Entry]) -> bytes:
    root = ET.Element("rss", version="2.0")
    ch = _sub(root, "channel")
    _sub(ch, "title", title)
    _sub(ch, "link", link)
    _sub(ch, "description", description)
    _sub(ch, "language", "ar")
    for e in entries:
        item = _sub(ch, "item")
        _sub(item, "title", e.title)
        if e.link:
            _sub(item, "link", e.link)
        _sub(item, "guid", e.id, isPermaLink="false")
        _sub(item, "pubDate", format_datetime(e.published or e.updated))
        _sub(item, "description", e.summary)
        _sub(item, "category", e.source)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _entry(article_id: int, title: str | None, url: str | None, source: str, snippet: str, published: str | None,
           fetched: str) -> Entry:
    return Entry(id=f"urn:scraper:article:{article_id}", title=title or "(بلا عنوان)", link=safe_link(url),
                 source=source, summary=_MARKERS.sub("", snippet), published=_parse_iso(published),
                 updated=_parse_iso(published) or _parse_iso(fetched) or utcnow())


def rule_entries(request: Request, name: str) -> list[Entry]:
    if name not in {r.name for r in request.app.state.config.rules}:
        raise HTTPException(404, f"no rule {name!r}")
    rows = browse.rule_matches(request.app.state.engine, name, FEED_SIZE)
    return [_entry(m["article"]["id"], m["article"]["title"], m["article"]["url"], m["article"]["source"],
                   m["snippet"], m["article"]["published_at"], m["article"]["fetched_at"]) for m in rows]


def _feed_response(body: bytes, kind: str) -> Response:
    media = "application/atom+xml" if kind == "atom" else "application/rss+xml"
    return Response(body, media_type=f"{media}; charset=utf-8")


@router.get("/rules/{name}.atom", summary="Atom feed of what a rule fired on")
def rule_atom(request: Request, name: str) -> Response:
    return _feed_response(atom(f"scraper: {name}", str(request.url), f"urn:scraper:rule:{name}",
                               rule_entries(request, name)), "atom")


@router.get("/rules/{name}.rss", summary="RSS 2.0 feed of what a rule fired on")
def rule_rss(request: Request, name: str) -> Response:
    return _feed_response(rss(f"scraper: {name}", str(request.url_for("rule_page", name=name)),
                              f"المقالات التي طابقت القاعدة {name}", rule_entries(request, name)), "rss")


def search_entry(r: SearchResult) -> Entry:
    return _entry(r.id, r.title, r.url, r.source, r.snippet, r.published_at, r.fetched_at)


def search_entries(request: Request, q: str, source: str | None) -> list[Entry]:
    return [search_entry(r) for r in search_articles(request.app.state.engine, q, source=source,
                                                     limit=FEED_SIZE).results]


@router.get("/search.atom", summary="Atom feed of a search")
def search_atom(request: Request, q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
                source: str | None = None) -> Response:
    return _feed_response(atom(f"scraper: {q}", str(request.url), "urn:scraper:search:" + quote(q),
                               search_entries(request, q, source)), "atom")


@router.get("/search.rss", summary="RSS 2.0 feed of a search")
def search_rss(request: Request, q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
               source: str | None = None) -> Response:
    return _feed_response(rss(f"scraper: {q}", str(request.url), f"نتائج البحث عن {q}",
                              search_entries(request, q, source)), "rss")
