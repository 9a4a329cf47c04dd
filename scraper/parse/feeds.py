"""Feed bytes → ParsedFeed, for RSS 0.9x/1.0/2.0, Atom and JSON Feed.

Two parsers, chosen by measurement (bench/feeds.py, bench/RESULTS.feeds.md): ``fastfeedparser`` (lxml,
10-30x faster end to end) first, ``feedparser`` (sax + a forgiving sgml parser) as the fallback when the
fast one raises, finds no items, or would be wrong for this document (it ignores xml:base).
Before either runs, the body is checked (xmlsafe: entities, HTML, garbage) and repaired (xmlfix:
HTML entities, bare ampersands, undeclared legacy charsets; fields: Arabic-region zone names), so both
parsers read the same well-formed text. After the fast parse we correct what it gets wrong per item:
Atom links other than the alternate, and guids marked ``isPermaLink="false"`` taken as links.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import re
import xml.sax
from typing import Any

import fastfeedparser
import feedparser

from scraper.errors import ParseError
from scraper.models import FeedItem, ParsedFeed
from scraper.parse.fields import (
    absolute_http_url,
    iso_to_utc,
    plain_text,
    rewrite_arab_timezones,
    struct_to_utc,
)
from scraper.parse.xmlfix import repair_entities, transcode_undeclared
from scraper.parse.xmlsafe import Prolog, inspect_prolog, maybe_gunzip, refuse_entities

FEED_ROOTS = {"rss", "feed", "rdf", "channel", "entry"}  # channel: CDF; entry: an Atom Entry Document
# First elements that mean "a web page": error pages and soft-404s often skip <html> and <head>.
HTML_ROOTS = {"html", "head", "body", "div", "meta", "script", "style", "table", "p", "h1"}
SUMMARY_HTML_CAP = 8192  # characters of summary HTML converted to text
_TTL = re.compile(rb"<ttl>\s*(\d{1,7})\s*</ttl>")
_NOT_PERMALINK = re.compile(rb"isPermaLink\s*=\s*[\"']false[\"']")
_GUID_NOT_PERMALINK = re.compile(
    rb"<guid[^<>]{0,200}?isPermaLink\s*=\s*[\"']false[\"'][^<>]{0,200}>\s*(?:<!\[CDATA\[)?\s*([^<\]\s]+)"
)
_FEED_START = re.compile(rb"<\?xml|<rss\b|<feed\b|<rdf:RDF\b")
_JSON_START = re.compile(rb"\s*[\[{]")
_LINK_TEXT = re.compile(rb"<link>\s*(?:<!\[CDATA\[)?\s*([^<\]\s]+)")


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed; raise ParseError (naming the cause) when ``body`` is not a usable feed."""
    body = _checked_body(body, content_type)
    try:
        fast = _parse_fast(body, url)
    except Exception as exc:  # a third-party parser on hostile bytes: any failure means "try the other"
        fast, fast_error = None, exc
    else:
        fast_error = None
    if fast is not None and fast.items and not _fast_unreliable(body):
        return fast
    if _looks_like_json(body):
        if fast is None:
            raise ParseError(f"invalid JSON Feed: {fast_error}")
        return fast  # feedparser 6 does not read JSON Feed; an empty fast result is the answer
    slow = _parse_slow(body, url, content_type, fast_error)
    if fast is not None and len(fast.items) > len(slow.items):
        return fast
    return slow


def _checked_body(body: bytes, content_type: str | None = None) -> bytes:
    """Refuse what is not a feed (naming why); return the bytes both parsers should read."""
    if not body or not body.strip():
        raise ParseError("empty body: expected a feed")
    body = maybe_gunzip(body).removeprefix(codecs.BOM_UTF8)  # a BOM would hide a JSON Feed's "{"
    prolog = inspect_prolog(body)
    if prolog.root not in FEED_ROOTS | {"html"} and prolog.first_char not in ("{", "["):
        body, prolog = _skip_leading_junk(body, prolog)
    refuse_entities(prolog, "feed")
    # By root element: a real feed may carry a stray XHTML DOCTYPE (feedparser's always_strip_doctype).
    if prolog.root in HTML_ROOTS or (prolog.root is None and prolog.doctype == "html"):
        raise ParseError("expected a feed, got an HTML page")
    if prolog.root is None and prolog.first_char not in ("{", "["):
        raise ParseError("not a feed: no XML element or JSON object found (binary or text body)")
    if prolog.root is not None and prolog.root not in FEED_ROOTS:
        raise ParseError(f"not a feed: root element is <{prolog.root}>, not rss, feed or rdf")
    body = transcode_undeclared(body, content_type)
    return rewrite_arab_timezones(repair_entities(body))


def _skip_leading_junk(body: bytes, prolog: Prolog) -> tuple[bytes, Prolog]:
    """PHP notices and stray text before ``<?xml`` are a common WordPress fault; feedparser reads past
    them, and so do we, when a feed start appears early in the body."""
    m = _FEED_START.search(body, 0, 65536)
    if m is None:
        return body, prolog
    return body[m.start():], inspect_prolog(body[m.start():])


def _looks_like_json(body: bytes) -> bool:
    return _JSON_START.match(body) is not None


def _fast_unreliable(body: bytes) -> bool:
    """Documents the fast parser is known to get wrong (see the module docstring)."""
    return b"xml:base" in body


def _ttl(body: bytes) -> int | None:
    m = _TTL.search(body)
    return int(m.group(1)) if m else None


# --- fast path -------------------------------------------------------------------------------------


def _parse_fast(body: bytes, url: str) -> ParsedFeed:
    if _looks_like_json(body):
        _check_json_feed(body)
    result = fastfeedparser.parse(
        body, include_content=True, include_tags=False, include_media=False, include_enclosures=False
    )
    fake_guids = _non_permalink_guids(body)
    atom = inspect_prolog(body).root == "feed"
    items = []
    for entry in result.entries:
        item = _fast_item(entry, url, fake_guids, atom)
        if item is not None:
            items.append(item)
    return ParsedFeed(
        items=items,
        title=plain_text(result.feed.get("title")),
        ttl_minutes=_ttl(body),
        parser="fastfeedparser",
    )


def _check_json_feed(body: bytes) -> None:
    """fastfeedparser accepts any JSON object; a JSON Feed must say so in ``version``."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise ParseError(f"invalid JSON Feed: {exc}") from exc
    version = doc.get("version", "") if isinstance(doc, dict) else ""
    if not (isinstance(version, str) and "jsonfeed.org" in version):
        raise ParseError("not a feed: JSON body without a jsonfeed.org version")


def _non_permalink_guids(body: bytes) -> frozenset[str]:
    """Guids marked isPermaLink="false": fastfeedparser uses them as links when they look like URLs."""
    if _NOT_PERMALINK.search(body) is None:
        return frozenset()
    guids = {_xml_text(g) for g in _GUID_NOT_PERMALINK.findall(body)}
    # A guid that is also some item's <link> text is a real link, whatever its attribute says.
    return frozenset(guids - {_xml_text(link) for link in _LINK_TEXT.findall(body)})


def _xml_text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


def _fast_link(entry: dict[str, Any], atom: bool) -> str | None:
    """The entry's page, as feedparser chooses it: an Atom alternate link, HTML first. For Atom,
    fastfeedparser's ``link`` may be a rel="self", "enclosure" or "related" link, not the article; its
    ``links`` omits self/edit links and lists the rest with their rel."""
    if not atom:
        return entry.get("link")
    links = entry.get("links") or []
    alternates = [x for x in links if (x.get("rel") or "alternate") == "alternate" and x.get("href")]
    pages = [x for x in alternates if (x.get("type") or "text/html") in ("text/html", "application/xhtml+xml")]
    best = pages or alternates
    return best[0]["href"] if best else None


def _fast_item(entry: dict[str, Any], base: str, fake_guids: frozenset[str], atom: bool) -> FeedItem | None:
    link = _fast_link(entry, atom)
    guid = entry.get("id") or None
    if link and link == guid and link in fake_guids:
        link = None  # the link came from a guid that says it is not a permalink
    url = absolute_http_url(link, base)
    if url is None:
        return None
    summary = entry.get("description") or _first_content(entry)
    return FeedItem(
        url=url,
        title=plain_text(entry.get("title")),
        published_at=iso_to_utc(entry.get("published") or entry.get("updated")),
        summary=_summary(summary),
        author=plain_text(entry.get("author")),
        guid=guid,
    )


def _summary(html_or_text: str | None) -> str | None:
    # Full-text feeds put whole articles here; a summary needs the start only, and converting 20 KB of
    # HTML per item would dominate the parse (the article itself is fetched and extracted later).
    return plain_text(html_or_text[:SUMMARY_HTML_CAP] if html_or_text else None)


def _first_content(entry: dict[str, Any]) -> str | None:
    content = entry.get("content") or []
    return content[0].get("value") if content else None


# --- fallback --------------------------------------------------------------------------------------


def _parse_slow(body: bytes, url: str, content_type: str | None, fast_error: Exception | None) -> ParsedFeed:
    # Without a content type feedparser flags the document "no Content-type specified" and may give up;
    # we have already checked that the body is XML.
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    # A BytesIO, never the bytes themselves: feedparser treats a str/bytes argument that looks like a
    # URL or a path as something to fetch or open.
    try:
        result = feedparser.parse(
            io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # feedparser's own bugs on hostile XML (e.g. a namespace URI with spaces breaks its SAX handler)
        raise ParseError(f"not a feed: the feed parser failed on this document ({exc.__class__.__name__})") from exc
    if not result.get("version") and not result.entries:
        cause = result.get("bozo_exception") or fast_error or "no RSS, Atom or RDF structure found"
        raise ParseError(f"not a feed: {cause}")
    items = [item for entry in result.entries if (item := _slow_item(entry, url)) is not None]
    if not items and isinstance(result.get("bozo_exception"), xml.sax.SAXParseException):
        # Truncated or broken XML from which neither parser recovered an entry: an error, not an empty feed.
        raise ParseError(f"malformed feed XML, no items recovered: {result.bozo_exception}")
    ttl = result.feed.get("ttl")
    return ParsedFeed(
        items=items,
        title=plain_text(result.feed.get("title")),
        ttl_minutes=int(ttl) if isinstance(ttl, str) and ttl.strip().isdigit() else _ttl(body),
        parser="feedparser",
    )


def _slow_item(entry: dict[str, Any], base: str) -> FeedItem | None:
    link = entry.get("link")
    if not link and entry.get("guidislink"):
        link = entry.get("id")
    url = absolute_http_url(link, base)
    if url is None:
        return None
    return FeedItem(
        url=url,
        title=plain_text(entry.get("title")),
        published_at=struct_to_utc(entry.get("published_parsed") or entry.get("updated_parsed")),
        summary=_summary(entry.get("summary") or _first_content(entry)),
        author=plain_text(entry.get("author")),
        guid=entry.get("id") or None,
    )
