"""Sitemap bytes → recent article links (urlset, Google News sitemap) or child sitemaps (index).

News sites publish a news sitemap of the last two days (Google's rule) and often a large index of
archive sitemaps. We stream with lxml's iterparse and clear each entry, so a 50 MB sitemap does not
become a 300 MB tree, and keep only entries recent enough to matter to a poller.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from lxml import etree

from scraper.errors import ParseError
from scraper.models import FeedItem
from scraper.parse.fields import absolute_http_url, iso_to_utc, plain_text
from scraper.parse.xmlsafe import inspect_prolog, maybe_gunzip, refuse_entities

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
SITEMAP_ROOTS = {"urlset", "sitemapindex"}


@dataclass
class SitemapResult:
    items: list[FeedItem] = field(default_factory=list)
    child_sitemaps: list[str] = field(default_factory=list)


@dataclass
class _Entry:
    loc: str | None = None
    lastmod: str | None = None
    news_date: str | None = None
    news_title: str | None = None
    is_news: bool = False


def parse_sitemap(body: bytes, url: str, now: datetime, max_age: timedelta = timedelta(days=2)) -> SitemapResult:
    """Recent entries of a urlset (by news:publication_date, else lastmod; undated entries only in news
    sitemaps), or the children of a sitemap index, most recent lastmod first."""
    body, root = _checked_body(body)
    if root in ("rss", "feed", "rdf"):
        return _from_feed(body, url, now, max_age)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    entries = list(_iter_entries(body))
    if root == "sitemapindex":
        return SitemapResult(child_sitemaps=_children(entries, url))
    news_doc = NEWS_NS.encode() in body[:8192]  # declared on the root in every news sitemap seen
    cutoff = now - max_age
    items: list[FeedItem] = []
    for entry in entries:
        item = _recent_item(entry, url, cutoff, keep_undated=news_doc or entry.is_news)
        if item is not None:
            items.append(item)
    return SitemapResult(items=items)


def _checked_body(body: bytes) -> tuple[bytes, str]:
    if not body or not body.strip():
        raise ParseError("empty body: expected a sitemap")
    body = maybe_gunzip(body)
    prolog = inspect_prolog(body)
    refuse_entities(prolog, "sitemap")
    if prolog.root == "html" or (prolog.root is None and prolog.doctype == "html"):
        raise ParseError("expected a sitemap, got an HTML page")
    if prolog.root is None:
        raise ParseError("not a sitemap: no XML element found (binary or text body)")
    if prolog.root not in SITEMAP_ROOTS | {"rss", "feed", "rdf"}:
        raise ParseError(f"not a sitemap: root element is <{prolog.root}>, not urlset or sitemapindex")
    return body, prolog.root


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _iter_entries(body: bytes) -> Iterator[_Entry]:
    """Yield one _Entry per <url> or <sitemap>, clearing parsed elements as we go."""
    parser = etree.iterparse(
        io.BytesIO(body), events=("end",), recover=True, resolve_entities=False, no_network=True,
        load_dtd=False, huge_tree=True, remove_comments=True,
    )
    entry, yielded = _Entry(), 0
    try:
        for _event, elem in parser:
            name = _local(elem.tag)
            if name in ("url", "sitemap"):
                yield entry
                entry, yielded = _Entry(), yielded + 1
                elem.clear(keep_tail=False)
                parent = elem.getparent()
                while parent is not None and elem.getprevious() is not None:
                    del parent[0]  # cleared siblings would otherwise still hold a node each
                continue
            _collect(entry, name, elem)
    except etree.XMLSyntaxError as exc:
        # recover=True still gives up on some damage; what was read so far is kept.
        if yielded == 0:
            raise ParseError(f"malformed sitemap XML: {exc}") from exc
    errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
    if errors and yielded == 0:
        # A truncated or broken body that yielded nothing is an error, not an empty sitemap.
        raise ParseError(f"malformed sitemap XML, no entries recovered: {errors[0].message.strip()}")


def _collect(entry: _Entry, name: str, elem: etree._Element) -> None:
    text = (elem.text or "").strip() or None
    ns = elem.tag.split("}", 1)[0][1:] if isinstance(elem.tag, str) and elem.tag.startswith("{") else ""
    if ns == NEWS_NS:
        entry.is_news = True
        if name == "publication_date":
            entry.news_date = text
        elif name == "title":
            entry.news_title = text
    elif name == "loc" and entry.loc is None and ns != "http://www.google.com/schemas/sitemap-image/1.1":
        entry.loc = text
    elif name == "lastmod":
        entry.lastmod = text


def sitemap_date(value: str | None) -> datetime | None:
    """W3C datetime (2025-06-03, 2025-06-03T10:00+03:00, ...) or, as some CMSs write, RFC 822."""
    if not value:
        return None
    parsed = iso_to_utc(value)
    if parsed is None and len(value) in (4, 7) and value[:4].isdigit():  # "2025" or "2025-06"
        parsed = iso_to_utc(value + ("-01-01" if len(value) == 4 else "-01"))
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: a 100-digit second (atheris)
            return None
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parsed


def _recent_item(entry: _Entry, base: str, cutoff: datetime, keep_undated: bool) -> FeedItem | None:
    url = absolute_http_url(entry.loc, base)
    if url is None:
        return None
    published = sitemap_date(entry.news_date) or sitemap_date(entry.lastmod)
    if published is None and not keep_undated:
        return None
    if published is not None and published < cutoff:
        return None
    return FeedItem(url=url, title=plain_text(entry.news_title), published_at=published)


def _children(entries: list[_Entry], base: str) -> list[str]:
    dated: list[tuple[datetime, int, str]] = []
    for position, entry in enumerate(entries):
        url = absolute_http_url(entry.loc, base)
        if url is not None:
            when = sitemap_date(entry.lastmod) or datetime.min.replace(tzinfo=UTC)
            dated.append((when, -position, url))  # undated last; ties keep document order
    seen: set[str] = set()
    ordered = [u for _w, _p, u in sorted(dated, reverse=True)]
    return [u for u in ordered if not (u in seen or seen.add(u))]


def _from_feed(body: bytes, url: str, now: datetime, max_age: timedelta) -> SitemapResult:
    """sitemaps.org accepts RSS and Atom feeds as sitemaps; some sites list theirs in robots.txt."""
    from scraper.parse.feeds import parse_feed

    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    items = parse_feed(body, url).items
    return SitemapResult(items=[i for i in items if i.published_at is None or i.published_at >= now - max_age])
