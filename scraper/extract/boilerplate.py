"""What is never story text: tags removed outright, class/id patterns for share bars, "read also"
boxes, comments, tag lists, captions, cookie banners, and the short phrases they leave behind."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from selectolax.lexbor import LexborHTMLParser

DROP_TAGS = [
    "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas", "button",
    "select", "input", "textarea", "nav", "footer", "aside", "header", "figure", "figcaption", "picture",
    "video", "audio", "map", "dialog", "menu", "label",
]
_MAKER = LexborHTMLParser("")
# Tags that never hold story text, as lexbor's ids (fixed for standard tags); generic's walk drops them.
JUNK_TAG_IDS = frozenset(_MAKER.create_node(tag).tag_id for tag in DROP_TAGS)
_WORDS = (
    "comment", "share", "social", "related", "recommend", "newsletter", "subscribe", "promo",
    "advert", "sponsor", "cookie", "consent", "gdpr", "breadcrumb", "sidebar", "widget", "popup",
    "modal", "caption", "read-more", "readmore", "read_more", "more-stories", "also-read",
    "readalso", "tags", "tag-list", "taglist", "keywords", "byline", "author-box", "author-bio",
    "toolbar", "pagination", "prev_next", "prev-next", "prevnext", "next-article", "next_article",
    "pager", "outbrain", "taboola", "dfp", "ad-container", "ad-slot", "adsbygoogle", "most-read",
    "mostread", "trending", "signup", "paywall", "visually-hidden", "sr-only", "copyright",
)


def _word_trie_pattern(words: tuple[str, ...]) -> str:
    """A regex matching exactly the strings of ``words``, with shared prefixes factored ("ad(?:-slot|vert)"):
    the regex engine tries each alternative in turn, so a flat "a|b|..." of 55 words made a search of a
    class label cost ~2 us, about twice this."""
    trie: dict[str, Any] = {}  # char -> the same again; "" marks a word's end
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return pattern(trie)


_WIDGET = re.compile(_word_trie_pattern(_WORDS))
# Attribute-only markers of hidden or non-story regions.
_HIDDEN_ROLES = frozenset({"navigation", "complementary", "contentinfo", "banner", "search"})
_DISPLAY_NONE = re.compile(r"display\s*:\s*none")
KEEP_IDS = frozenset(_MAKER.create_node(tag).tag_id for tag in ("html", "body", "main", "article"))
INS_ID = _MAKER.create_node("ins").tag_id
# A class token naming the story container; the widget word must sit in another token.
_CONTENT = re.compile(r"article|body|content|entry|story")

# Anchored at the line start and run with .match(): an unanchored alternative made every search
# scan the whole line, the costliest regex of the extractor. _lexwalk.c calls PHRASES.match and looks for
# RIGHTS itself (configured by generic.py), as is_boilerplate_text does.
PHRASES = re.compile(
    r"\W*(?:اقرأ|إقرأ|اقرا|إقرا)\s+(?:أيضا|أيضاً|ايضا|ايضاً|المزيد)|\W*(?:شاهد|طالع)\s+(?:أيضا|أيضاً|ايضا)|"
    r"\W*(?:read|see)\s+(?:more|also)\b|\W*related\s*:|advertisement$|إعلان$|شارك(?:وا)?\b|"
    r"share\b|(?:follow|تابعونا|تابعوا)\b|(?:click here|اضغط هنا)|(?:tags|الكلمات المفتاحية|وسوم)\s*:?$|"
    r"(?:sign up|subscribe)\b|all rights reserved",
    re.I,
)
RIGHTS = "جميع الحقوق محفوظة"  # anywhere in the line


def is_widget(read_attrs: Callable[[int], Mapping[str, str | None]], index: int, tag_id: int, teaser: bool) -> bool:
    """Share bar, "read also" box, comments, caption, hidden block...? ``teaser``: a link wrapping
    blocks (a next-article or related-story card), which the caller sees from its tree arrays.
    ``read_attrs(index)`` gives the element's attributes, read only when the tag does not decide."""
    if teaser:
        return True
    if tag_id in KEEP_IDS:
        return False
    if tag_id == INS_ID:
        return True
    attrs = read_attrs(index)
    if not attrs:
        return False
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if attrs.get("role") in _HIDDEN_ROLES:
        return True
    return style_hides(attrs)


def style_hides(attrs: Mapping[str, str | None]) -> bool:
    """display:none in the style, else the class/id label decides (is_widget's last steps)."""
    style = attrs.get("style") or ""
    if "none" in style and _DISPLAY_NONE.search(style):
        return True
    return label_is_widget(f"{attrs.get('class') or ''} {attrs.get('id') or ''}")


@lru_cache(maxsize=4096)
def label_is_widget(label: str) -> bool:
    """Whether class and id names say widget. Cached: a page repeats a few dozen labels, and the
    search over ~60 alternatives was the costliest step of the widget pass."""
    label = label.lower()
    if not _WIDGET.search(label):  # one scan rejects most nodes; the words never span a space
        return False
    tokens = label.split()
    widget = [t for t in tokens if _WIDGET.search(t)]
    # "entry-content no-share": a token naming the story container keeps the node.
    return bool(widget) and not any(_CONTENT.search(t) and not _WIDGET.search(t) for t in tokens)


def is_boilerplate_text(line: str) -> bool:
    """Short UI strings that survive pruning ("اقرأ أيضا: …", "Share", "Advertisement")."""
    return len(line) < 200 and (PHRASES.match(line) is not None or RIGHTS in line)
