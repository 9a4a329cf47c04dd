"""What is never story text: tags removed outright, class/id patterns for share bars, "read also"
boxes, comments, tag lists, captions, cookie banners, and the short phrases they leave behind."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

DROP_TAGS = [
    "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas", "button",
    "select", "input", "textarea", "nav", "footer", "aside", "header", "figure", "figcaption", "picture",
    "video", "audio", "map", "dialog", "menu", "label",
]
_WORDS = (
    "comment", "share", "social", "related", "recommend", "newsletter", "subscribe", "promo",
    "advert", "sponsor", "cookie", "consent", "gdpr", "breadcrumb", "sidebar", "widget", "popup",
    "modal", "caption", "read-more", "readmore", "read_more", "more-stories", "also-read",
    "readalso", "tags", "tag-list", "taglist", "keywords", "byline", "author-box", "author-bio",
    "toolbar", "pagination", "prev_next", "prev-next", "prevnext", "next-article", "next_article",
    "pager", "outbrain", "taboola", "dfp", "ad-container", "ad-slot", "adsbygoogle", "most-read",
    "mostread", "trending", "signup", "paywall", "visually-hidden", "sr-only", "copyright",
)
_WIDGET = re.compile("|".join(_WORDS))
# Attribute-only markers of hidden or non-story regions.
_HIDDEN_ROLES = frozenset({"navigation", "complementary", "contentinfo", "banner", "search"})
# One query, so matches come in document order (ancestors first) whatever made them match.
_CANDIDATES = "[class], [id], [role], [hidden], [aria-hidden], [style], ins, a"
_KEEP_TAGS = frozenset({"html", "body", "main", "article"})
# A class token naming the story container; the widget word must sit in another token.
_CONTENT = re.compile(r"article|body|content|entry|story")
_MAX_DEPTH = 256
_MAX_SHARE = 0.4  # a match holding more than this share of the page text is a wrapper, not a widget

_PHRASES = re.compile(
    r"^\W*(?:اقرأ|إقرأ|اقرا|إقرا)\s+(?:أيضا|أيضاً|ايضا|ايضاً|المزيد)|^\W*(?:شاهد|طالع)\s+(?:أيضا|أيضاً|ايضا)|"
    r"^\W*(?:read|see)\s+(?:more|also)\b|^\W*related\s*:|^advertisement$|^إعلان$|^شارك(?:وا)?\b|"
    r"^share\b|^(?:follow|تابعونا|تابعوا)\b|^(?:click here|اضغط هنا)|^(?:tags|الكلمات المفتاحية|وسوم)\s*:?$|"
    r"^(?:sign up|subscribe)\b|^all rights reserved|جميع الحقوق محفوظة",
    re.I,
)


def drop_junk_tags(tree: LexborHTMLParser) -> None:
    """Remove tags that never hold story text (scripts, navigation, forms controls, media)."""
    tree.strip_tags(DROP_TAGS)


def prune_widgets(container: LexborNode) -> None:
    """Remove share bars, "read also" boxes, comments, captions... inside the chosen container.

    Done on the container only, after scoring: matching class names across the whole page costs more
    than the rest of the extraction, and scoring already votes down widget-classed containers."""
    container_len = len(container.text(deep=True, strip=True)) or 1
    # Decide first, remove after: decomposing frees a subtree, and a later match inside it would then
    # point at freed memory. Only outermost matches are removed, so no removal touches another.
    doomed: dict[int, LexborNode] = {}
    for node in container.css(_CANDIDATES):
        if node.tag in _KEEP_TAGS or not _is_widget(node) or _inside(node, doomed):
            continue
        if len(node.text(deep=True, strip=True)) > _MAX_SHARE * container_len:
            continue
        doomed[node.mem_id] = node
    for node in doomed.values():
        node.decompose()


def _is_widget(node: LexborNode) -> bool:
    if node.tag == "a":  # a link wrapping blocks is a teaser card (next article, related story)
        return node.css_first("div, p, h2, h3, h4, h5, img") is not None
    attrs = node.attrs
    if node.tag == "ins" or "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if attrs.get("role") in _HIDDEN_ROLES:
        return True
    style = attrs.get("style") or ""
    if "none" in style and re.search(r"display\s*:\s*none", style):
        return True
    tokens = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower().split()
    widget = [t for t in tokens if _WIDGET.search(t)]
    # "entry-content no-share": a token naming the story container keeps the node.
    return bool(widget) and not any(_CONTENT.search(t) and not _WIDGET.search(t) for t in tokens)


def _inside(node: LexborNode, doomed: dict[int, LexborNode]) -> bool:
    if not doomed:
        return False
    parent = node.parent
    for _ in range(_MAX_DEPTH):
        if parent is None:
            return False
        if parent.mem_id in doomed:
            return True
        parent = parent.parent
    return True  # absurdly deep (hostile markup): leave it rather than walk 10,000 levels per match


def is_boilerplate_text(line: str) -> bool:
    """Short UI strings that survive pruning ("اقرأ أيضا: …", "Share", "Advertisement")."""
    return len(line) < 200 and _PHRASES.search(line) is not None
