"""Pick title, author, publication date and canonical URL from the sources a page offers, best
first, recording which method won. Runs before body extraction (which prunes the tree)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.date_words import fold
from scraper.extract.dates import parse_date
from scraper.extract.generic import native_module
from scraper.extract.metadata import AUTHOR_KEYS, DATE_KEYS, SITE_NAME_KEYS, TITLE_KEYS, JsonLdArticle, MetaTags

_SEPARATORS = re.compile(r"\s+(?:[-|–—:»«•·]|::)\s+")
# Elements that may print the date: the first _MAX_VISIBLE entries of tree.css() of this list, where
# lexbor lists a node once for every selector of the list it matches (see _visible_date_nodes).
_VISIBLE_DATE = (
    "[itemprop=datePublished], [class*=date], [class*=time], [class*=publish], [class*=created], "
    "[class*=posted], [id*=date], [id*=time], [class*=Date], [class*=Time], [class*=timestamp]"
)
# What lexbor is asked instead: a superset it matches in about half the instructions (one case-blind
# substring test where _VISIBLE_DATE has date, Date; time, Time, timestamp).
_VISIBLE_DATE_WIDE = (
    "[itemprop=datePublished], [class*=date i], [class*=time i], [class*=publish], [class*=created], "
    "[class*=posted], [id*=date], [id*=time]"
)
_VISIBLE_DATE_CLASS = ("date", "time", "publish", "created", "posted", "Date", "Time", "timestamp")
_VISIBLE_DATE_ID = ("date", "time")
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:[/-]|$)")
_BYLINE_PREFIX = re.compile(r"^(?:by|par|von|بقلم|كتب|كتبت|كتبه|إعداد|اعداد|تحرير)\s*[:：-]?\s*", re.I)
# http(s) URL with no query/fragment markers or whitespace: urljoin returns these as they are.
_PLAIN_ABSOLUTE = re.compile(r"https?://[^\s?#\[\]]+")
_MAX_VISIBLE = 40  # date-looking elements tried before giving up
# No "[itemprop=author] [itemprop=name]" first: css_first answers in document order, where its
# [itemprop=author] ancestor always comes first, so it never won and only cost a descendant match.
_AUTHOR_SELECTOR = "[itemprop=author], [rel=author], .byline, .author"
_TIME_TAG, _H1_TAG, _TITLE_TAG = (LexborHTMLParser("").create_node(tag).tag_id for tag in ("time", "h1", "title"))
_ARABIC_LETTER = re.compile("[\u0621-\u064a]")
_ARABIC_SCRIPT_LANGS = frozenset({"ar", "fa", "ur", "ps", "ku", "ckb", "sd", "ug"})


def pick_title(tree: LexborHTMLParser, ld: JsonLdArticle, meta: MetaTags, url: str) -> tuple[str | None, str | None]:
    # The <title> and <h1> lookups (a walk of the tree each) are made only when a candidate needs them, and
    # the site names only for a title split by a separator (" - ", " | "): clean_title returns any other whole.
    h1_text: str | None = None
    names: set[str] | None = None
    for value, method in (
        (ld.headline, "json-ld"),
        (meta.values.get(TITLE_KEYS[0]), "opengraph"),
        (meta.values.get(TITLE_KEYS[1]), "meta"),
        (None, "title-tag"),
    ):
        if method == "title-tag":
            value = _first_text(tree, "title", _TITLE_TAG)
        value = " ".join((value or "").split())
        if not value:
            continue
        if _SEPARATORS.search(value):  # else clean_title gives the value as it is
            h1_text = _h1_text(tree) if h1_text is None else h1_text
            names = site_names(meta, ld, url) if names is None else names
            value = clean_title(value, names, h1_text)
        if value:
            return value, method
    h1_text = _h1_text(tree) if h1_text is None else h1_text
    title = clean_title(h1_text, site_names(meta, ld, url) if names is None else names, h1_text)
    return (title, "generic") if title else (None, None)


def _h1_text(tree: LexborHTMLParser) -> str:
    text = _first_text(tree, "h1", _H1_TAG)
    return " ".join(text.split()) if text is not None else ""


def _first_text(tree: LexborHTMLParser, tag: str, tag_id: int) -> str | None:
    """css_first(tag).text(), or None: from a C walk when the extension is in use (a CSS query parses its
    selector and runs lexbor's matcher over the tree, ~10 us)."""
    native = native_module()
    if native is not None and tree.root is not None:
        ident = native.first_element(tree.root.mem_id, tag_id)
        return None if ident is None else native.text(ident)  # type: ignore[no-any-return]
    node = tree.css_first(tag)
    return node.text() if node is not None else None


def clean_title(title: str, site_names: set[str], h1_text: str = "") -> str:
    """Strip " - Site name" / " | اسم الموقع" (or a leading "Site - ") from a title."""
    title = " ".join(title.split())
    parts = _SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    h1_key = fold(h1_text).casefold()
    for part in parts:  # the on-page headline settles it when it is one of the parts
        if h1_key and fold(part).casefold() == h1_key:
            return part
    names = {fold(n).casefold() for n in site_names if n}
    if _is_site(parts[-1], names) or (" | " in title and len(parts[-1].split()) <= 5 < len(title.split())):
        return clean_title(title[: title.rfind(parts[-1])].rstrip(" -|–—:»«•·"), site_names, h1_text)
    if _is_site(parts[0], names):
        return clean_title(title[len(parts[0]):].lstrip(" -|–—:»«•·"), site_names, h1_text)
    return title


def _is_site(part: str, names: set[str]) -> bool:
    key = fold(part).casefold().strip()
    return bool(key) and any(key == n or (len(key) > 3 and (key in n or n in key)) for n in names)


def site_names(meta: MetaTags, ld: JsonLdArticle, url: str) -> set[str]:
    host = url.split("/")[2].removeprefix("www.") if url.count("/") >= 2 else ""
    names = {meta.values.get(k, "").lstrip("@") for k in SITE_NAME_KEYS} | {ld.publisher or "", host}
    return {n for n in names if n and not n.startswith("http")}


def pick_author(tree: LexborHTMLParser, ld: JsonLdArticle, meta: MetaTags) -> tuple[str | None, str | None]:
    if ld.author:
        return clean_author(ld.author), "json-ld"
    for key in AUTHOR_KEYS:
        value = meta.values.get(key, "")
        if value and not value.startswith(("http://", "https://", "@")):
            return clean_author(value), "meta"
    found = _author_element(tree)
    if found is not None:
        content, text = found
        text = content or " ".join(text.split())
        if 2 < len(text) < 80 and "http" not in text:
            return clean_author(text), "generic"
    return None, None


def _author_element(tree: LexborHTMLParser) -> tuple[str | None, str] | None:
    """(content attribute, text) of the first element _AUTHOR_SELECTOR matches: from a C walk (which leaves
    a case-blind-only match to lexbor: namespace and quirks mode decide those), else by the selector."""
    native = native_module()
    if native is not None and tree.root is not None:
        found = native.author_element(tree.root.mem_id)
        if found is not False:
            return found  # type: ignore[no-any-return]
    node = tree.css_first(_AUTHOR_SELECTOR)
    return None if node is None else (node.attributes.get("content"), node.text())


def clean_author(value: str) -> str:
    return _BYLINE_PREFIX.sub("", " ".join(value.split())).strip()


def pick_date(tree: LexborHTMLParser, ld: JsonLdArticle, meta: MetaTags, url: str, now: datetime | None
              ) -> tuple[datetime | None, str | None]:
    if ld.date and (found := parse_date(ld.date, now)):
        return found, "json-ld"
    for key in DATE_KEYS:
        value = meta.values.get(key)
        if value and (found := parse_date(value, now)):
            return found, "opengraph" if ":" in key and key.startswith(("article", "og")) else "meta"
    sources = date_sources(tree)
    for value in sources.times:  # = css("time[datetime]") as parse_date("") is None
        if found := parse_date(value or "", now):
            return found, "time-tag"
    for content, read_text in sources.candidates:
        text = content or read_text()
        if text and len(text) < 200 and (found := parse_date(text, now)):
            return found, "text"
    for read_text in sources.near_headline:  # older templates print it in an unlabelled block after the <h1>
        text = read_text()
        if len(text) < 200 and (found := parse_date(text, now)):
            return found, "text"
    m = _URL_DATE.search(url)
    if m and (found := parse_date(f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}")):
        return found, "url"
    return None, None


@dataclass
class DateSources:
    """Where a page may print its date when its metadata does not say, each in document order."""

    times: list[str | None]  # the datetime attribute of each <time>
    candidates: list[tuple[str | None, Callable[[], str]]]  # date-looking elements: content attribute, text reader
    near_headline: list[Callable[[], str]]  # element siblings among the 6 nodes after each of the first 3 <h1>


def date_sources(tree: LexborHTMLParser) -> DateSources:
    """From one C walk of the document when the extension is in use, else from selectolax's tags() and
    _visible_date_nodes (the reference)."""
    native = native_module()
    if native is None or tree.root is None:
        return _python_date_sources(tree)
    times, found, near = native.date_sources(tree.root.mem_id, _MAX_VISIBLE, _TIME_TAG, _H1_TAG)
    return DateSources(times, [(content, partial(native.text, ident)) for ident, content in found],
                       [partial(native.text, ident) for ident in near])


def _python_date_sources(tree: LexborHTMLParser) -> DateSources:
    near: list[Callable[[], str]] = []
    for h1 in tree.tags("h1")[:3]:  # the first <h1> is sometimes the site logo
        node = h1.next
        for _ in range(6):
            if node is None:
                break
            if node.is_element_node:
                near.append(partial(node.text, deep=True))
            node = node.next
    return DateSources([node.attributes.get("datetime") for node in tree.tags("time")],
                       [(attrs.get("content"), node.text) for node, attrs in _visible_date_nodes(tree)], near)


def _visible_date_nodes(tree: LexborHTMLParser) -> Iterator[tuple[LexborNode, dict[str, str | None]]]:
    """The distinct nodes of tree.css(_VISIBLE_DATE)[:_MAX_VISIBLE], in order, with their attributes.
    A repeat of a node there changes nothing but how soon the cut comes, so each node is counted as
    many times as selectors of _VISIBLE_DATE match it."""
    budget = _MAX_VISIBLE
    seen: set[int] = set()
    for node in tree.css(_VISIBLE_DATE_WIDE):
        if node.mem_id in seen:  # lexbor repeats it for each selector of the wide list it matches
            continue
        seen.add(node.mem_id)
        attrs = node.attributes
        hits = _visible_date_hits(attrs)
        if hits:
            yield node, attrs
            budget -= hits
            if budget <= 0:
                return


def _visible_date_hits(attrs: dict[str, str | None]) -> int:
    """How many selectors of _VISIBLE_DATE match an element with these attributes (all case-sensitive,
    in lexbor as here, also in quirks mode)."""
    cls, ident = attrs.get("class") or "", attrs.get("id") or ""
    return ((attrs.get("itemprop") == "datePublished") + sum(word in cls for word in _VISIBLE_DATE_CLASS)
            + sum(word in ident for word in _VISIBLE_DATE_ID))


def pick_canonical(meta: MetaTags, url: str) -> tuple[str | None, str | None]:
    href = (meta.canonical or "").strip()
    if href and (absolute := _absolute(url, href)):
        return absolute, "link"
    og = meta.values.get("og:url", "").strip()
    if og and (absolute := _absolute(url, og)):
        return absolute, "opengraph"
    return None, None


def _absolute(base: str, href: str) -> str | None:
    """urljoin, skipped for the usual already-absolute href it would hand back unchanged (urljoin
    parses both URLs: a visible share of the per-page time). None for an href urljoin refuses."""
    if _PLAIN_ABSOLUTE.fullmatch(href):
        return href
    try:
        return urljoin(base, href)
    except ValueError:  # "http://[if lt IE 7]/": a bracketed host that is no IP (found by atheris)
        return None


def pick_language(tree: LexborHTMLParser, meta: MetaTags, title: str | None) -> str | None:
    """The declared language, unless an Arabic-script title contradicts it (templates often keep
    lang="en-US" on Arabic sites)."""
    html = tree.root  # the <html> element, as css_first("html") finds it, without a selector parse
    lang = (html.attributes.get("lang") or "") if html is not None else ""
    lang = lang or meta.values.get("og:locale", "") or meta.values.get("content-language", "")
    lang = lang.replace("_", "-").split("-")[0].lower()
    if title and lang not in _ARABIC_SCRIPT_LANGS and len(_ARABIC_LETTER.findall(title)) * 2 > len(title):
        return "ar"
    return lang or None
