"""Generic article-body extractor on selectolax (lexbor): prune boilerplate, score text blocks by
length, punctuation and link density, pick the densest container and keep its story paragraphs.

Speed is a feature here (bench/extraction.py): every tree walk is a CSS query that runs in C, and the
Python loops only touch the text blocks, never every node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.boilerplate import drop_junk_tags, is_boilerplate_text, prune_widgets

PARA_BREAK = "\u2029"  # stands in for <br> so text() keeps line structure inside one block
# Blocks that hold running text. Containers count only when they hold text directly (leaf-ish
# divs, or divs broken up by <br>): their block children are units of their own.
_LEAF_BLOCKS = "p, pre, h2, h3, h4, h5, h6"
_UNIT_SELECTOR = (
    f"{_LEAF_BLOCKS}, blockquote:not(:has(p, div)), li:not(:has(p, li, div)), dd:not(:has(p, div)), "
    "td:not(:has(p, div, table, td)), div:not(:has(div, p, ul, ol, table, section, article, blockquote, pre, "
    "h2, h3, h4, h5, h6, li, dl, header, footer)), div:has(> br), section:has(> br), article:has(> br)"
)
_POSITIVE = re.compile(r"article|body|content|entry|main|page|post|text|blog|story|detail|news", re.I)
_NEGATIVE = re.compile(
    r"comment|meta|foot|sidebar|share|related|recommend|promo|widget|social|sponsor|ad-|ads|banner|"
    r"nav|menu|tag|author|byline|caption|subscribe|newsletter|popular|most-read", re.I
)
_SENTENCE_END = frozenset('.!?؟…"”»:)\'')
_MIN_SCORED = 25  # characters; shorter blocks only feed link density


@dataclass(slots=True)
class _Unit:
    node: LexborNode
    text: str
    length: int
    link_length: int
    heading: bool


def extract_paragraphs(tree: LexborHTMLParser) -> list[str]:
    """Story paragraphs of the page, in order. Mutates ``tree`` (boilerplate is removed)."""
    body = tree.body
    if body is None:
        return []
    drop_junk_tags(tree)
    units = _collect_units(body)
    if not units:
        return []
    best = _best_container(units)
    if best is None:
        return []
    prune_widgets(best)
    for br in best.css("br"):
        br.insert_before(PARA_BREAK)  # insert, not replace: "div:has(> br)" must still match
    return _paragraphs_in(best, units)


def _collect_units(body: LexborNode) -> dict[int, _Unit]:
    units: dict[int, _Unit] = {}
    for node in body.css(_UNIT_SELECTOR):
        text = " ".join(node.text(deep=True).split())
        if not text:
            continue
        length = len(text)
        link_length = 0
        if node.css_first("a") is not None:
            link_length = sum(len(a.text(deep=True).strip()) for a in node.css("a"))
        units[node.mem_id] = _Unit(node, text, length, link_length, node.tag[0] == "h")
    return units


def _best_container(units: dict[int, _Unit]) -> LexborNode | None:
    """Readability-style: each text block votes for its parent (full) and grandparent (half)."""
    scores: dict[int, float] = {}
    sizes: dict[int, list[int]] = {}  # container → [text length, link text length] of blocks below
    nodes: dict[int, LexborNode] = {}
    for unit in units.values():
        weight = 0.0
        if unit.length >= _MIN_SCORED and unit.link_length * 2 < unit.length:
            text = unit.text
            weight = 1 + text.count(",") + text.count("،") + min(unit.length / 100, 3)
        ancestor = unit.node.parent
        for level in (1.0, 0.5, 0.25):
            if ancestor is None or ancestor.tag in ("html", "#document"):
                break
            key = ancestor.mem_id
            if key not in nodes:
                nodes[key] = ancestor
                scores[key] = _class_weight(ancestor)
                sizes[key] = [0, 0]
            scores[key] += weight * level
            size = sizes[key]
            size[0] += unit.length
            size[1] += unit.link_length
            ancestor = ancestor.parent
    best_key, best_score = None, 0.0
    for key, score in scores.items():
        text_len, link_len = sizes[key]
        final = score * (1 - link_len / text_len) if text_len else 0.0
        if final > best_score:
            best_key, best_score = key, final
    return nodes[best_key] if best_key is not None else None


def _class_weight(node: LexborNode) -> float:
    attrs = node.attributes
    label = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    if not label.strip():
        return 0.0
    weight = 0.0
    if _NEGATIVE.search(label):
        weight -= 25
    if _POSITIVE.search(label):
        weight += 25
    return weight


def _paragraphs_in(container: LexborNode, units: dict[int, _Unit]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()  # nested text blocks (a <br> div inside a <br> div) repeat their text
    for node in container.css(_UNIT_SELECTOR):
        unit = units.get(node.mem_id)
        if unit is None or unit.link_length * 2 > unit.length:
            continue
        text = node.text(deep=True) if node.css_first("br") is not None else unit.text
        for piece in text.split(PARA_BREAK):
            line = " ".join(piece.split())
            if line and line not in seen and not is_boilerplate_text(line):
                seen.add(line)
                out.append(line)
    return _trim_edges(out)


def _trim_edges(lines: list[str]) -> list[str]:
    """Drop short non-sentence lines before the first and after the last real paragraph: reading
    times, date lines, section labels, "next/previous" links. Short lines between paragraphs stay
    (they are subheadings)."""
    good = [i for i, line in enumerate(lines) if _is_sentence(line)]
    return lines[good[0] : good[-1] + 1] if good else lines


def _is_sentence(line: str) -> bool:
    return len(line) >= 80 or (len(line) >= 25 and line[-1] in _SENTENCE_END)
