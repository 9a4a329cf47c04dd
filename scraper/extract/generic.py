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
    "h2, h3, h4, h5, h6, li, dl, header, footer, br))"
)
_MIXED_SELECTOR = "div, section, article, td"  # may hold text of their own between child blocks
_INLINE = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "kbd", "mark",
     "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr", "-text"}
)
_POSITIVE = re.compile(r"article|body|content|entry|main|page|post|text|blog|story|detail|news", re.I)
_NEGATIVE = re.compile(
    r"comment|meta|foot|sidebar|share|related|recommend|promo|widget|social|sponsor|ad-|ads|banner|"
    r"nav|menu|tag|author|byline|caption|subscribe|newsletter|popular|most-read", re.I
)
_SENTENCE_END = frozenset('.!?؟…"”»:\'')
# Comment-section preambles that sit right under the story ("الآراء الواردة أدناه لا تعبر عن رأي ...").
_COMMENT_POLICY = re.compile(
    r"التعليقات|الآراء الواردة|لا تعبر عن رأي|comment(?:s|ing)? (?:policy|guidelines|section)|"
    r"views expressed (?:below|in the comments)",
    re.I,
)
_MIN_SCORED = 25  # characters; shorter blocks only feed link density
_LEVELS = (1.0, 0.5, 0.25)  # share of a block's score given to its parent, grandparent, great-grandparent
_LD_POWER = 2.0  # link density punishes squared: nav-heavy wrappers lose to the story's own container
_DIRECT_TEXT = 40  # a div with this much text of its own (not in child blocks) is a text block
_SIBLING_SHARE = 0.2  # a sibling container scoring this share of the best one is story text too


@dataclass(slots=True)
class _Unit:
    node: LexborNode
    text: str
    length: int
    link_length: int
    heading: bool
    own: bool = False  # text taken from the node's inline children only, <br> already turned to breaks


def extract_paragraphs(tree: LexborHTMLParser) -> list[str]:
    """Story paragraphs of the page, in order. Mutates ``tree`` (boilerplate is removed)."""
    body = tree.body
    if body is None:
        return []
    drop_junk_tags(tree)
    units = _collect_units(body)
    if not units:
        return []
    paragraphs: list[str] = []
    seen: set[str] = set()  # nested text blocks (a <br> div inside a <br> div) repeat their text
    for container in _best_containers(units):
        prune_widgets(container)
        for br in container.css("p br, li br, blockquote br, td br, dd br, pre br"):
            br.insert_before(PARA_BREAK)
        paragraphs.extend(_paragraphs_in(container, units, seen))
    return _trim_edges(paragraphs)


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
    _add_mixed_divs(body, units)
    return units


def _add_mixed_divs(body: LexborNode, units: dict[int, _Unit]) -> None:
    """Containers holding story text next to child blocks or <br>s (``<div>text<br>more<div
    class=ad/></div>``): their own inline text is a block; the child blocks are units of their own."""
    for node in body.css(_MIXED_SELECTOR):
        if node.mem_id in units or len(node.text(deep=False, strip=True)) < _DIRECT_TEXT:
            continue
        text, link_length = _own_text(node)
        length = len(text) - text.count(PARA_BREAK)
        if length:
            units[node.mem_id] = _Unit(node, text, length, link_length, False, own=True)


def _own_text(node: LexborNode) -> tuple[str, int]:
    """Text of the node's inline children, a paragraph break at each <br> or child block."""
    parts: list[str] = []
    link_length = 0
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag in _INLINE:
            piece = child.text(deep=True)
            parts.append(piece)
            if tag == "a":
                link_length += len(piece.strip())
        elif tag != "-comment":
            parts.append(PARA_BREAK)
    pieces = (" ".join(p.split()) for p in "".join(parts).split(PARA_BREAK))
    return PARA_BREAK.join(p for p in pieces if p), link_length


def _best_containers(units: dict[int, _Unit]) -> list[LexborNode]:
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
        for level in _LEVELS:
            if ancestor is None or ancestor.tag in ("html", "#document"):
                break
            key = ancestor.mem_id
            if key not in nodes:
                nodes[key] = ancestor
                scores[key] = 0.0
                sizes[key] = [0, 0]
            scores[key] += weight * level
            size = sizes[key]
            size[0] += unit.length
            size[1] += unit.link_length
            ancestor = ancestor.parent
    finals: dict[int, float] = {}
    for key, score in scores.items():
        text_len, link_len = sizes[key]
        if score > 0 and text_len:
            finals[key] = score * (1 - link_len / text_len) ** _LD_POWER * _class_weight(nodes[key])
    if not finals:
        return []
    best_key = max(finals, key=finals.__getitem__)
    return _with_siblings(nodes[best_key], finals[best_key], finals)


def _with_siblings(best: LexborNode, best_score: float, finals: dict[int, float]) -> list[LexborNode]:
    """The best container plus siblings that also read like story text (an intro block, or the
    second half of an article split around an ad), in document order."""
    parent = best.parent
    if parent is None:
        return [best]
    chosen = []
    for child in parent.iter():
        key = child.mem_id
        if key == best.mem_id or finals.get(key, 0.0) >= _SIBLING_SHARE * best_score:
            chosen.append(child)
    return chosen


def _class_weight(node: LexborNode) -> float:
    """A multiplier: class/id names hint at story text or widgets, but only tip close calls (an
    additive bonus let a near-empty "content-wrapper" beat the real article)."""
    attrs = node.attrs
    label = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    if not label.strip():
        return 1.0
    weight = 1.0
    if _NEGATIVE.search(label):
        weight *= 0.5
    if _POSITIVE.search(label):
        weight *= 1.25
    return weight


def _paragraphs_in(container: LexborNode, units: dict[int, _Unit], seen: set[str]) -> list[str]:
    out: list[str] = []
    nodes = container.css(f"{_UNIT_SELECTOR}, {_MIXED_SELECTOR}")
    if container.mem_id in units:  # a sibling that is a text block itself
        nodes.insert(0, container)
    for node in nodes:
        unit = units.get(node.mem_id)
        if unit is None or unit.link_length * 2 > unit.length:
            continue
        # <p> and <li> with <br>s are re-read now that the breaks are marked; own-text units have them.
        has_breaks = not unit.own and node.css_first("br") is not None
        text = node.text(deep=True) if has_breaks else unit.text
        for piece in text.split(PARA_BREAK):
            line = " ".join(piece.split())
            if line and line not in seen and not is_boilerplate_text(line):
                seen.add(line)
                out.append(line)
    return out


def _trim_edges(lines: list[str]) -> list[str]:
    """Drop short non-sentence lines before the first and after the last real paragraph: reading
    times, date lines, section labels, "next/previous" links. Short lines between paragraphs stay
    (they are subheadings)."""
    for _ in range(3):  # at most a few: a story about comments must keep its paragraphs
        tail = [i for i, line in enumerate(lines) if _is_sentence(line)]
        if len(tail) < 2 or not _COMMENT_POLICY.search(lines[tail[-1]]):
            break
        lines = lines[: tail[-1]]
    good = [i for i, line in enumerate(lines) if _is_sentence(line)]
    return lines[good[0] : good[-1] + 1] if good else lines


def _is_sentence(line: str) -> bool:
    return len(line) >= 80 or (len(line) >= 25 and line[-1] in _SENTENCE_END)
