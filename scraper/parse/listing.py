"""Section page HTML → article links chosen by a per-source CSS selector (declared in sources.yaml)."""

from __future__ import annotations

from urllib.parse import urldefrag

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from scraper.errors import ParseError
from scraper.models import FeedItem, ParsedFeed
from scraper.parse.fields import absolute_http_url, plain_text, same_site


def parse_listing(html: str, url: str, links_selector: str) -> ParsedFeed:
    """Links matched by ``links_selector`` (an <a>, or any element holding one), resolved against the
    page (and its <base href>), kept on the page's own site, deduplicated, titled by anchor text."""
    if not html or not html.strip():
        raise ParseError("empty body: expected a section page")
    tree = LexborHTMLParser(html)
    try:
        matched = tree.css(links_selector)
    except SelectolaxError as exc:
        raise ParseError(f"invalid CSS selector {links_selector!r}: {exc}") from exc
    if not matched:
        # A redesign that breaks the selector must show up as an error on the source, not as "no news".
        raise ParseError(f"selector {links_selector!r} matched nothing on the page")
    base = _document_base(tree, url)
    page = urldefrag(url)[0]
    titles: dict[str, str | None] = {}  # insertion-ordered: first position wins, first real title wins
    for node in matched:
        href, title = _link_of(node)
        link = absolute_http_url(href, base)
        if link is None or not same_site(link, url):
            continue
        link = urldefrag(link)[0]
        if link != page and titles.get(link) is None:
            titles[link] = title
    if not titles:
        raise ParseError(f"selector {links_selector!r} matched no same-site article links")
    items = [FeedItem(url=link, title=title) for link, title in titles.items()]
    head_title = tree.css_first("title")
    return ParsedFeed(items=items, title=plain_text(head_title.text()) if head_title else None, parser="selectolax")


def _document_base(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    resolved = absolute_http_url(base.attributes.get("href"), url) if base is not None else None
    return resolved or url


def _link_of(node: LexborNode) -> tuple[str | None, str | None]:
    """(href, title) of a link, or of a card holding links: its first link, titled by the first link
    to the same place that has text (cards often put an image link before the headline link)."""
    if node.tag == "a":
        return node.attributes.get("href"), _anchor_title(node)
    anchors = node.css("a[href]")
    if not anchors:
        return None, None
    href = anchors[0].attributes.get("href")
    texts = (plain_text(a.text(separator=" ")) for a in anchors if a.attributes.get("href") == href)
    return href, next((t for t in texts if t), None) or _anchor_title(anchors[0])


def _anchor_title(anchor: LexborNode) -> str | None:
    text = plain_text(anchor.text(separator=" "))
    if text:
        return text
    img = anchor.css_first("img[alt]")
    return plain_text(anchor.attributes.get("title") or (img.attributes.get("alt") if img is not None else None))
