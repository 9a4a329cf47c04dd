"""Homepage + robots.txt → candidate feeds and sitemaps, best first, and their sources.yaml entries.

Scores say how much evidence we have, not how good the source is: a feed the page declares in
<link rel=alternate> is near-certain; a Sitemap: line in robots.txt is the site's own statement; an <a>
whose URL mentions rss/feed is likely; a common path nobody mentioned is a guess to be checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urldefrag, urlsplit

from selectolax.lexbor import LexborHTMLParser

from scraper.parse.fields import absolute_http_url, plain_text, same_site

Kind = Literal["feed", "sitemap"]

FEED_TYPES = {
    "application/rss+xml": 1.0, "application/atom+xml": 1.0, "application/feed+json": 0.95,
    "application/rdf+xml": 0.9, "application/json": 0.7, "text/xml": 0.7, "application/xml": 0.7,
}
GUESSES: tuple[tuple[str, Kind], ...] = (
    ("/feed", "feed"), ("/rss", "feed"), ("/rss.xml", "feed"),
    ("/sitemap-news.xml", "sitemap"), ("/news-sitemap.xml", "sitemap"), ("/sitemap.xml", "sitemap"),
)
_FEEDISH_PATH = re.compile(r"(?:^|[/._-])(?:rss|feeds?|atom)(?:$|[/._-])", re.IGNORECASE)
_SITEMAP_LINE = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
# Per-post comment feeds (WordPress, Blogger) are not news listings.
_COMMENTS = re.compile(r"comments?|تعليقات", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    url: str
    kind: Kind
    title: str | None
    score: float  # 0..1, evidence that this URL is a working feed/sitemap of the site
    reason: str


def discover_sources(homepage_html: str, homepage_url: str, robots_txt: str | None) -> list[Candidate]:
    """Candidates from <link rel=alternate>, feed-looking <a href>, robots.txt Sitemap: lines and
    common paths (flagged "guess"), one per URL, best first."""
    tree = LexborHTMLParser(homepage_html or "<html></html>")
    base = _base(tree, homepage_url)
    found = [
        *_declared_feeds(tree, base),
        *_robots_sitemaps(robots_txt, homepage_url),
        *_linked_feeds(tree, base, homepage_url),
    ]
    found += _guesses(homepage_url, {c.url for c in found})
    return _best_per_url(found)


def _base(tree: LexborHTMLParser, url: str) -> str:
    node = tree.css_first("base[href]")
    return (absolute_http_url(node.attributes.get("href"), url) if node is not None else None) or url


def _declared_feeds(tree: LexborHTMLParser, base: str) -> list[Candidate]:
    out = []
    for node in tree.css("link[href]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        ctype = (node.attributes.get("type") or "").lower().split(";")[0].strip()
        url = absolute_http_url(node.attributes.get("href"), base)
        if "alternate" not in rel or ctype not in FEED_TYPES or url is None:
            continue
        title = plain_text(node.attributes.get("title"))
        score = FEED_TYPES[ctype] * (0.5 if _COMMENTS.search(f"{title or ''} {url}") else 1.0)
        out.append(Candidate(urldefrag(url)[0], "feed", title, score, f"<link rel=alternate type={ctype}>"))
    return out


def _linked_feeds(tree: LexborHTMLParser, base: str, homepage_url: str) -> list[Candidate]:
    out = []
    for node in tree.css("a[href]"):
        url = absolute_http_url(node.attributes.get("href"), base)
        if url is None or not _FEEDISH_PATH.search(urlsplit(url).path):
            continue
        title = plain_text(node.text(separator=" ")) or plain_text(node.attributes.get("title"))
        # Off-site links are mostly "subscribe with …" buttons of feed readers; keep them, lower.
        score = 0.6 if same_site(url, homepage_url) else 0.35
        if _COMMENTS.search(f"{title or ''} {url}"):
            score /= 2
        out.append(Candidate(urldefrag(url)[0], "feed", title, score, "<a href> to an rss/feed URL"))
    return out


def _robots_sitemaps(robots_txt: str | None, homepage_url: str) -> list[Candidate]:
    out = []
    for raw in _SITEMAP_LINE.findall(robots_txt or ""):
        url = absolute_http_url(raw, homepage_url)
        if url is None:
            continue
        news = "news" in url.lower()  # a news sitemap lists only recent articles: the better poll target
        out.append(Candidate(url, "sitemap", None, 0.95 if news else 0.8, "robots.txt Sitemap: line"))
    return out


def _guesses(homepage_url: str, known: set[str]) -> list[Candidate]:
    parts = urlsplit(homepage_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return [
        Candidate(origin + path, kind, None, 0.2 if kind == "feed" else 0.15, f"guess: common {kind} path")
        for path, kind in GUESSES
        if origin + path not in known
    ]


def _best_per_url(found: list[Candidate]) -> list[Candidate]:
    best: dict[str, Candidate] = {}
    for cand in found:
        kept = best.get(cand.url)
        if kept is None or cand.score > kept.score:
            title = cand.title or (kept.title if kept else None)
            best[cand.url] = Candidate(cand.url, cand.kind, title, cand.score, cand.reason)
    return sorted(best.values(), key=lambda c: -c.score)  # stable: page order among equals


def render_candidates_yaml(cands: list[Candidate], name_prefix: str) -> str:
    """sources.yaml entries (to paste under ``sources:``); guesses are commented out until checked."""
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "-", name_prefix).strip("-") or "source"
    lines: list[str] = []
    used: set[str] = set()
    for cand in cands:
        name = _unique_name(f"{prefix}-{cand.kind}", used)
        entry = [
            f"- name: {name}",
            *([f"  title: {_yaml_str(cand.title)}"] if cand.title else []),
            f"  url: {_yaml_str(cand.url)}",
            f"  kind: {cand.kind}",
            f"  interval: {'10m' if cand.kind == 'feed' else '15m'}",
        ]
        guess = cand.reason.startswith("guess")
        note = "; unverified, uncomment once it answers" if guess else ""
        lines.append(f"# {cand.reason}; score {cand.score:.2f}{note}")
        lines += [("# " if guess else "") + line for line in entry]
    return "\n".join("  " + line for line in lines) + "\n" if lines else ""


def _unique_name(stem: str, used: set[str]) -> str:
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return name


def _yaml_str(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: safe for ':' '#' and Arabic text alike.
    return json.dumps(value, ensure_ascii=False)
