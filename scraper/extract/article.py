"""extract_article: one article page → ArticleDraft.

Per-source selectors win; then JSON-LD; then OpenGraph/meta; then the generic extractor. The
method that produced each field is recorded in ``ArticleDraft.method``.
"""

from __future__ import annotations

import re
from datetime import datetime

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode

from scraper.config import Selectors
from scraper.errors import ExtractionError
from scraper.extract import native
from scraper.extract.boilerplate import DROP_TAGS, is_boilerplate_text
from scraper.extract.dates import parse_date
from scraper.extract.decode import DecodedPage, decode_for_parse, has_mojibake, repair_mojibake
from scraper.extract.fields import (
    clean_author,
    clean_title,
    pick_author,
    pick_canonical,
    pick_date,
    pick_language,
    pick_title,
)
from scraper.extract.generic import PARA_BREAK, extract_paragraphs
from scraper.extract.metadata import read_head
from scraper.models import ArticleDraft

# Without DOM mutation events: they only serve browser behaviours (<selectedcontent> mirroring its
# <option>) that text extraction never looks at, and skipping them makes the parse ~6% cheaper.
_PARSE_OPTIONS = LexborDocumentOptions.WO_EVENTS
# JSON-LD articleBody is often a teaser; it wins over the generic body only when about as long.
_LD_BODY_SHARE = 0.8
_scan_utf8, _encode_utf8 = native.scanner(), native.encoder()


MAX_DEPTH = 12_000  # news pages nest a few dozen deep; the parser slows quadratically far past this
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")
# The same on UTF-8 bytes: no byte of a multi-byte character is '>' or an ASCII letter, so it finds the same tags.
_TAG_BYTES = re.compile(_TAG.pattern.encode())
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr"})
_VOID_BYTES = frozenset(name.encode() for name in _VOID)


def _refuse_absurd_nesting(source: str | bytes, tags: int | None, url: str) -> None:
    """A hostile page nested 100,000 elements deep would stall the event loop in the parser (lexbor
    took 0.26 s for 10,000 nested divs and 38 s for 100,000). The scan runs only on pages with very
    many tags: a count first (``tags``, when decoding already counted the '<')."""
    if (tags if tags is not None else _count_tags(source)) < 2 * MAX_DEPTH:
        return
    pattern, void = (_TAG_BYTES, _VOID_BYTES) if isinstance(source, bytes) else (_TAG, _VOID)
    depth = 0
    for m in pattern.finditer(source):  # type: ignore[arg-type]  # the pattern's type follows the source's
        if m.group(1):
            depth -= 1
        elif not m.group(3) and m.group(2).lower() not in void:
            depth += 1
            if depth > MAX_DEPTH:
                raise ExtractionError(f"page nested more than {MAX_DEPTH} elements deep, refused: {url}")


def _count_tags(source: str | bytes) -> int:
    if isinstance(source, bytes) and _scan_utf8 is not None:
        return _scan_utf8(source)[1]  # type: ignore[no-any-return]  # SSE2, 16 bytes at a time
    return source.count(b"<" if isinstance(source, bytes) else "<")  # type: ignore[arg-type]


def extract_article(
    html: str | bytes | DecodedPage,
    url: str,
    selectors: Selectors | None = None,
    content_type: str | None = None,
    now: datetime | None = None,
) -> ArticleDraft:
    """Extract title, body paragraphs, author, date, canonical URL. Raises ExtractionError when the
    page has neither a title nor a body. ``html``: the page's bytes (decoded here, with
    ``content_type``'s charset), its text, or what decode_page made of it."""
    source, tags = _parse_input(html, content_type)
    if not source or source.isspace():  # not strip(): that copies the whole page
        raise ExtractionError(f"empty page: {url}")
    _refuse_absurd_nesting(source, tags, url)
    tree = LexborHTMLParser(source, options=_PARSE_OPTIONS)
    if tree.body is None and tree.head is None:
        raise ExtractionError(f"not an HTML page: {url}")
    draft = ArticleDraft(url=url, title=None, paragraphs=[])
    method = draft.method
    if selectors is not None:
        _apply_selectors(tree, selectors, draft, now)
    meta, ld = read_head(tree)
    _fill(draft, "title", pick_title(tree, ld, meta, url))
    _fill(draft, "author", pick_author(tree, ld, meta))
    _fill(draft, "published_at", pick_date(tree, ld, meta, url, now))
    _fill(draft, "canonical_url", pick_canonical(meta, url))
    draft.language = pick_language(tree, meta, draft.title)
    if not draft.paragraphs:
        paragraphs = extract_paragraphs(tree)
        ld_paragraphs = _split_body(ld.body or "")
        if ld_paragraphs and sum(map(len, ld_paragraphs)) >= _LD_BODY_SHARE * sum(map(len, paragraphs)):
            draft.paragraphs, method["paragraphs"] = ld_paragraphs, "json-ld"
        elif paragraphs:
            draft.paragraphs, method["paragraphs"] = paragraphs, "generic"
    if method.get("paragraphs") == "generic":  # its lines are unique and passed is_boilerplate_text already
        if draft.title in draft.paragraphs:
            draft.paragraphs.remove(draft.title)
    else:
        draft.paragraphs = _tidy(draft.paragraphs, draft.title)
    if not draft.title and not draft.paragraphs:
        raise ExtractionError(f"no title and no body found: {url}")
    return draft


def _parse_input(html: str | bytes | DecodedPage, content_type: str | None) -> tuple[str | bytes, int | None]:
    """What to parse (the page's own bytes when they are its plain UTF-8: lexbor reads UTF-8 as it is; else
    the text as the UTF-8 selectolax would encode it to), and the count of '<' in it when known."""
    if isinstance(html, DecodedPage):
        if html.utf8 is not None:
            return html.utf8, None
        html = html.text
    if isinstance(html, bytes):
        return decode_for_parse(html, content_type)
    if _encode_utf8 is None or not html or html.isspace():
        return (repair_mojibake(html)[0] if has_mojibake(html) else html), None
    # text.encode("utf-8", "ignore"), the count of '<' and whether an Ø or a Ù (mojibake's hint) is there, in one
    # C pass: has_mojibake's two scans of the str only when one is.
    encoded, tags, lead = _encode_utf8(html)
    if not lead or not has_mojibake(html):
        return encoded, tags
    return _encode_utf8(repair_mojibake(html)[0])[:2]  # type: ignore[no-any-return]


def _fill(draft: ArticleDraft, name: str, found: tuple[object, str | None]) -> None:
    """Set a field from (value, method) unless selectors already set it."""
    value, how = found
    if getattr(draft, name) is None and value is not None and how is not None:
        setattr(draft, name, value)
        draft.method[name] = how


def _apply_selectors(tree: LexborHTMLParser, sel: Selectors, draft: ArticleDraft, now: datetime | None) -> None:
    for css in sel.remove:
        for node in _outermost(tree.css(css)):
            node.decompose()
    if sel.title and (node := tree.css_first(sel.title)) is not None:
        _set(draft, "title", clean_title(node.text(), set()))
    if sel.author and (node := tree.css_first(sel.author)) is not None:
        _set(draft, "author", clean_author(node.text()))
    if sel.date and (node := tree.css_first(sel.date)) is not None:
        raw = node.attributes.get("datetime") or node.attributes.get("content") or node.text()
        _set(draft, "published_at", parse_date(raw or "", now))
    if sel.body:
        nodes = _outermost(tree.css(sel.body))
        _set(draft, "paragraphs", [p for node in nodes for p in _node_paragraphs(node)] or None)


def _set(draft: ArticleDraft, name: str, value: object) -> None:
    if value:
        setattr(draft, name, value)
        draft.method[name] = "selectors"


def _outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """Drop matches nested in earlier matches (decomposing both would free memory twice)."""
    seen: set[int] = set()
    out = []
    for node in nodes:
        parent, nested = node.parent, False
        for _ in range(256):
            if parent is None:
                break
            if parent.mem_id in seen:
                nested = True
                break
            parent = parent.parent
        if not nested:
            seen.add(node.mem_id)
            out.append(node)
    return out


def _node_paragraphs(node: LexborNode) -> list[str]:
    """A selector-chosen body: its blocks' text, with scripts and <br>s handled like the generic path."""
    node.strip_tags(DROP_TAGS)
    for br in node.css("br"):
        br.insert_before(PARA_BREAK)
    blocks = node.css("p, h2, h3, h4, h5, h6, li, blockquote, pre") or [node]
    return [line for block in blocks for line in _split_body(block.text(deep=True))]


def _split_body(text: str) -> list[str]:
    if "<" in text and ">" in text:  # some sites put HTML into articleBody
        fragment = LexborHTMLParser(text.replace("\n", " "))
        for br in fragment.css("br"):
            br.replace_with("\n")
        blocks = fragment.css("p, li, h2, h3, h4")
        text = "\n".join(b.text() for b in blocks) if blocks else (fragment.body.text() if fragment.body else "")
    lines = (" ".join(part.split()) for part in text.replace(PARA_BREAK, "\n").split("\n"))
    return [line for line in lines if line]


def _tidy(paragraphs: list[str], title: str | None) -> list[str]:
    out: list[str] = []
    for line in paragraphs:
        if line == title or (out and out[-1] == line) or is_boilerplate_text(line):
            continue
        out.append(line)
    return out
