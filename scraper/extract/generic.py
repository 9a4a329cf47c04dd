"""Generic article-body extractor on selectolax (lexbor): prune boilerplate, score text blocks by
length, punctuation and link density, pick the densest container and keep its story paragraphs.

Speed is a feature here (bench/extraction.py). One walk removes junk tags and records, per
remaining element in document order, its tag, its parent, where its subtree ends, which block tags
sit below it and how much link text it holds. Everything after that (which elements are text
blocks, ancestor votes, containment, widget pruning) is arithmetic on those arrays. Per-node CSS
queries are avoided on purpose: lexbor re-parses the selector on every call (~5-15 us each), which
made per-block ``css_first("a")`` the single biggest cost before.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract import native
from scraper.extract.boilerplate import (
    INS_ID,
    JUNK_TAG_IDS,
    KEEP_IDS,
    PHRASES,
    RIGHTS,
    is_boilerplate_text,
    is_widget,
    label_is_widget,
    style_hides,
)

PARA_BREAK = "\u2029"  # stands in for <br> so text() keeps line structure inside one block
_INLINE = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "kbd", "mark",
     "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr", "-text"}
)
# Class/id words that hint at story text, and at widgets. ASCII labels (all but ~1 in 7,000) are checked by
# substring in lower case (~1 us); the case-blind regexes (~7 us for both) only for the others, where
# re.I matches more than str.lower() finds (the Kelvin sign K for k, the long s for s).
_POSITIVE_WORDS = ("article", "body", "content", "entry", "main", "page", "post", "text", "blog", "story", "detail",
                   "news")
_NEGATIVE_WORDS = ("comment", "meta", "foot", "sidebar", "share", "related", "recommend", "promo", "widget",
                   "social", "sponsor", "ad-", "ads", "banner", "nav", "menu", "tag", "author", "byline", "caption",
                   "subscribe", "newsletter", "popular", "most-read")
_POSITIVE = re.compile("|".join(map(re.escape, _POSITIVE_WORDS)), re.I)
_NEGATIVE = re.compile("|".join(map(re.escape, _NEGATIVE_WORDS)), re.I)
_SENTENCE_END = frozenset('.!?؟…"”»:\'')
# Comment-section preambles that sit right under the story ("الآراء الواردة أدناه لا تعبر عن رأي ...").
_COMMENT_POLICY = re.compile(
    r"التعليقات|الآراء الواردة|لا تعبر عن رأي|comment(?:s|ing)? (?:policy|guidelines|section)|"
    r"views expressed (?:below|in the comments)",
    re.I,
)
# A piece of each alternative above, in lower case, that the line must hold for it to match: a case-blind
# search costs ~4 us a line, these ~0.3. No letter here has a case-blind match outside ASCII (as i, s and k
# have: ı, ſ, K), so str.lower() finds them wherever the regex would.
_COMMENT_POLICY_WORDS = ("التعليقات", "الآراء الواردة", "لا تعبر عن رأي", "comment", "expre")
_MIN_SCORED = 25  # characters; shorter blocks only feed link density
_LEVELS = (1.0, 0.5, 0.25)  # share of a block's score given to its parent, grandparent, great-grandparent
_LD_POWER = 2.0  # link density punishes squared: nav-heavy wrappers lose to the story's own container (and in C)
_DIRECT_TEXT = 40  # a div with this much text of its own (not in child blocks) is a text block
_SIBLING_SHARE = 0.2  # a sibling container scoring this share of the best one is story text too
_MAX_CLASS_WEIGHT = 1.25  # the most _class_weight gives (a positive name, no negative one)
_MAX_SHARE = 0.4  # a widget match holding more than this share of the container's text is a wrapper


def _tag_ids(*names: str) -> dict[str, int]:
    """lexbor's ids for standard tags are fixed; comparing ints beats reading ``.tag`` strings."""
    maker = LexborHTMLParser("")
    return {name: maker.create_node(name).tag_id for name in names}


_IDS = _tag_ids(
    "a", "p", "pre", "h2", "h3", "h4", "h5", "h6", "blockquote", "li", "dd", "td", "div", "section",
    "article", "ul", "ol", "table", "dl", "header", "footer", "br", "img",
)
_BIT = {tag_id: 1 << n for n, tag_id in enumerate(_IDS.values())}


def _bits(*names: str) -> int:
    out = 0
    for name in names:
        out |= _BIT[_IDS[name]]
    return out


_A, _BR = _IDS["a"], _IDS["br"]
_BR_BIT = _BIT[_BR]
_COMMENT = list(LexborHTMLParser("<body><!--c--></body>").body.traverse())[1].tag_id  # traverse() yields comments
# Anchors are widgets only as teaser cards (checked from the arrays); comments never are.
_NEVER_WIDGETS = frozenset({_A, _COMMENT})
# Nodes the parser never gives children (void elements, comments): the walk does not open an
# iterator on them.
_CHILDLESS = frozenset(
    {_COMMENT, *_tag_ids("area", "base", "br", "col", "hr", "img", "link", "meta", "param", "source", "track",
                         "wbr").values()}
)
# Text blocks, mirroring the CSS this replaced: leaf blocks always; containers only when no block of
# the listed kinds sits below them (their block children are blocks of their own).
_LEAF_BLOCKS = frozenset(_IDS[t] for t in ("p", "pre", "h2", "h3", "h4", "h5", "h6"))
_BLOCK_UNLESS = {
    _IDS["blockquote"]: _bits("p", "div"),
    _IDS["li"]: _bits("p", "li", "div"),
    _IDS["dd"]: _bits("p", "div"),
    _IDS["td"]: _bits("p", "div", "table", "td"),
    _IDS["div"]: _bits(
        "div", "p", "ul", "ol", "table", "section", "article", "blockquote", "pre", "h2", "h3", "h4", "h5",
        "h6", "li", "dl", "header", "footer", "br",
    ),
}
# Containers that may hold story text of their own between child blocks.
_MIXED = frozenset(_IDS[t] for t in ("div", "section", "article", "td"))
_TEXTUAL = _LEAF_BLOCKS | _BLOCK_UNLESS.keys() | _MIXED
_TEXTUAL_BITS = sum(_BIT[tag] for tag in _TEXTUAL)
# Tag → the tags whose presence below it stops it from being a text block (none for leaf blocks).
_UNIT_BLOCKERS = {**dict.fromkeys(_LEAF_BLOCKS, 0), **_BLOCK_UNLESS}
_TEASER_BLOCKS = _bits("div", "p", "h2", "h3", "h4", "h5", "img")  # a link around these is a card
_TEXT = next(LexborHTMLParser("<body>t</body>").body.iter(include_text=True)).tag_id
_NATIVE_TABLES: dict[str, Any] = {
    "junk": JUNK_TAG_IDS, "bits": _BIT, "blockers": _UNIT_BLOCKERS, "mixed": _MIXED,
    "inline": {_TEXT, *(_tag_ids(*(_INLINE - {"-text"})).values())}, "a": _A, "br": _BR,
    "textual": _TEXTUAL, "keep": KEEP_IDS, "ins": INS_ID, "textual_bits": _TEXTUAL_BITS,
    "teaser_bits": _TEASER_BLOCKS,
}
_native: Any = native.load(**_NATIVE_TABLES)


@dataclass(slots=True)
class _Units:
    """Text blocks as parallel lists, in document order (lists, not one object per block: building
    those objects was a measurable share of the per-page time)."""

    index: list[int]  # position of the element in document order
    text: list[str]  # raw text (PARA_BREAK between lines for own-text blocks)
    line: list[str]  # whitespace-normalised text (what a block without breaks contributes as its line)
    length: list[int]  # characters of ``line``
    link_length: list[int]
    own: list[bool]  # text taken from the node's inline children only, <br> already turned to breaks
    commas: list[int]  # in ``text``, Latin and Arabic

    def weights(self) -> list[float]:
        """Each block's vote: commas and length say running prose; short or link-heavy blocks get none."""
        return [
            0.0 if length < _MIN_SCORED or links * 2 >= length else 1 + commas + min(length / 100, 3)
            for commas, length, links in zip(self.commas, self.length, self.link_length, strict=True)
        ]


class _Page(ABC):
    """The pruned body as arrays indexed by document order (index 0 is <body>). Comments are kept
    as childless entries: filtering them out costs more than carrying them.

    Two builders give the same arrays: ``_PythonPage`` (the reference, used by extract_paragraphs when
    the extension is missing or fails its self-check) and ``_NativePage`` (the C walk in _lexwalk.c). The
    extractor itself runs _lexwalk.paragraphs, which does the walk and every step after it in C; the
    _NativePage arrays and reads let the self-check, the tests and the fuzz target compare it with the
    reference step by step, not only by its final paragraphs."""

    __slots__ = ("below", "block_commas", "block_lines", "block_texts", "blocks", "ends", "links", "mixed_units",
                 "parents", "tags")

    tags: list[int]
    parents: list[int]
    ends: list[int]
    below: list[int]  # bits of the tags in each subtree
    links: list[int]  # characters of link text in each subtree
    blocks: list[int]  # text blocks: the subtree holds none of the tags that disqualify them
    block_texts: list[str]  # node.text(deep=True) of each of ``blocks``
    block_lines: list[str]  # ... whitespace-normalised
    block_commas: list[int]  # ... its commas (Latin and Arabic): running prose has them
    # Containers with text of their own beside child blocks: (index, own text, link text length).
    mixed_units: list[tuple[int, str, int]]

    @abstractmethod
    def attrs(self, index: int) -> dict[str, str | None]:
        """The element's attributes (the C walk gives the ones native.ATTRIBUTES names)."""

    @abstractmethod
    def direct_text(self, index: int) -> str:
        """``text(deep=False)``."""

    @abstractmethod
    def stripped_len(self, index: int, deep: bool) -> int:
        """``len(text(deep=deep, strip=True))``."""

    @abstractmethod
    def own_text(self, index: int) -> tuple[str, int]:
        """Inline children's text with PARA_BREAK for each <br> or child block, and link text length."""

    @abstractmethod
    def text_with_breaks(self, index: int) -> str:
        """A block's text with a paragraph break at each <br>."""

    @abstractmethod
    def vote(self, units: _Units) -> dict[int, float]:
        """Each container's base score, in the order of first votes (see _best_containers)."""

    @abstractmethod
    def widget_candidates(self, container: int) -> Iterator[int]:
        """The elements inside the container that boilerplate.is_widget calls widgets, in document order
        (including ones inside others: _widgets keeps the outermost)."""


class _PythonPage(_Page):
    """Built by one depth-first walk over element children (``iter()``) that removes junk subtrees as
    it meets them, without entering them: the walk yields each parent directly, where a full
    ``traverse()`` had to visit the ~680 elements of a typical body (most inside nav/header/footer)
    to prune, then walk the ~250 left again and look every parent up by address."""

    __slots__ = ("nodes",)

    def __init__(self, body: LexborNode) -> None:
        nodes, tags, parents, ends, below, links = [body], [body.tag_id], [-1], [1], [0], [0]
        blocks: list[int] = []
        mixed: list[int] = []
        bit, blockers = _BIT.get, _UNIT_BLOCKERS
        stack = [(0, body.iter())]  # (element, iterator over its children): the open path of the walk
        push, pop = stack.append, stack.pop
        while stack:
            index, children = stack[-1]
            for child in children:
                tag = child.tag_id
                if tag in JUNK_TAG_IDS:
                    child.decompose()  # iter() already holds the next sibling, so this is safe
                    continue
                i = len(nodes)
                nodes.append(child)
                tags.append(tag)
                parents.append(index)
                ends.append(i + 1)
                below.append(0)
                links.append(0)
                if tag in _CHILDLESS:
                    below[index] |= bit(tag, 0)
                    continue
                push((i, child.iter()))
                break
            else:  # every child seen: the subtree is final, fold it into the parent
                pop()
                ends[index] = len(nodes)
                tag = tags[index]
                if tag == _A:  # read now, after the junk inside the link is gone
                    links[index] += len(nodes[index].text(deep=True).strip())
                elif (blocked_by := blockers.get(tag)) is not None and not below[index] & blocked_by:
                    blocks.append(index)
                elif tag in _MIXED:
                    mixed.append(index)
                parent = parents[index]
                if parent >= 0:
                    below[parent] |= below[index] | bit(tag, 0)
                    links[parent] += links[index]
        self.nodes, self.tags, self.parents, self.ends, self.below, self.links = (
            nodes, tags, parents, ends, below, links
        )
        blocks.sort()  # found when their subtree closed; document order from here on
        self.blocks = blocks
        self.block_texts = [nodes[i].text(deep=True) for i in blocks]
        self.block_lines = [_normalise(raw) for raw in self.block_texts]
        self.block_commas = [raw.count(",") + raw.count("،") for raw in self.block_texts]
        self.mixed_units = [(i, *self.own_text(i)) for i in mixed if _has_own_text(self, i)]

    def attrs(self, index: int) -> dict[str, str | None]:
        return self.nodes[index].attributes

    def direct_text(self, index: int) -> str:
        return self.nodes[index].text(deep=False)

    def stripped_len(self, index: int, deep: bool) -> int:
        return len(self.nodes[index].text(deep=deep, strip=True))

    def own_text(self, index: int) -> tuple[str, int]:
        parts: list[str] = []
        link_length = 0
        for child in self.nodes[index].iter(include_text=True):
            tag = child.tag
            if tag in _INLINE:
                piece = child.text(deep=True)
                parts.append(piece)
                if tag == "a":
                    link_length += len(piece.strip())
            elif tag != "-comment":
                parts.append(PARA_BREAK)
        return "".join(parts), link_length

    def text_with_breaks(self, index: int) -> str:
        # Marks the tree: an enclosing block read later would see a break twice, which only makes an
        # empty line that is dropped.
        for i in range(index + 1, self.ends[index]):
            if self.tags[i] == _BR:
                self.nodes[i].insert_before(PARA_BREAK)
        return self.nodes[index].text(deep=True)

    def vote(self, units: _Units) -> dict[int, float]:
        return _vote(self.parents, units.index, units.weights(), units.length, units.link_length)

    def widget_candidates(self, container: int) -> Iterator[int]:
        tags, below = self.tags, self.below
        for i in range(container + 1, self.ends[container]):
            tag = tags[i]
            if tag not in _TEXTUAL and not below[i] & _TEXTUAL_BITS:
                continue  # holds no text block: removing it would change nothing
            teaser = tag == _A and below[i] & _TEASER_BLOCKS != 0
            if (teaser or tag not in _NEVER_WIDGETS) and is_widget(self.attrs, i, tag, teaser):
                yield i


class _NativePage(_Page):
    """The same walk in C (_lexwalk.c): node ids instead of selectolax wrappers, junk unlinked, block
    texts read in the same call. ``tree`` is held so that the ids stay valid."""

    __slots__ = ("ids", "tree")

    def __init__(self, tree: LexborHTMLParser, body: LexborNode) -> None:
        self.tree = tree
        (self.ids, self.tags, self.parents, self.ends, self.below, self.links, self.blocks, self.block_texts,
         self.block_lines, self.block_commas, self.mixed_units) = _native.walk(body.mem_id)

    def attrs(self, index: int) -> dict[str, str | None]:
        return _native.attrs(self.ids[index])

    def direct_text(self, index: int) -> str:
        return _native.direct_text(self.ids[index])

    def stripped_len(self, index: int, deep: bool) -> int:
        return _native.stripped_len(self.ids[index], deep)

    def own_text(self, index: int) -> tuple[str, int]:
        return _native.own_text(self.ids[index])

    def text_with_breaks(self, index: int) -> str:
        return _native.text_with_breaks(self.ids[index])

    def vote(self, units: _Units) -> dict[int, float]:
        return _native.vote(self.parents, units.index, units.weights(), units.length, units.link_length)

    def widget_candidates(self, container: int) -> Iterator[int]:
        # The C scan decides all but the class/id label and display:none, which stay with boilerplate.py.
        for i, verdict, data in _native.widget_candidates(self.ids, self.tags, self.below, self.ends, container):
            if verdict == 1 or (verdict == 2 and label_is_widget(data)) or (verdict == 3 and style_hides(data)):
                yield i


def extract_paragraphs(tree: LexborHTMLParser, native: bool | None = None) -> list[str]:
    """Story paragraphs of the page, in order. Mutates ``tree`` (boilerplate is removed). ``native``:
    force the C extractor (True: _lexwalk.paragraphs, the walk and every step below in one call) or the
    Python one (False, the reference); by default the C one when it is available."""
    body = tree.body
    if body is None:
        return []
    if native is None:
        native = _native is not None
    if native:
        return _native.paragraphs(body.mem_id)  # type: ignore[no-any-return]
    return _paragraphs(_PythonPage(body))


def _paragraphs(page: _Page) -> list[str]:
    """The steps after the walk, in Python (_lexwalk.paragraphs does them in C)."""
    units = _collect_units(page)
    if not units.index:
        return []
    paragraphs: list[str] = []
    seen: set[str] = set()  # nested text blocks (a <br> div inside a <br> div) repeat their text
    for container in _best_containers(page, units):
        skipped = _widgets(page, container)
        paragraphs.extend(_paragraphs_in(page, container, units, skipped, seen))
    return _trim_edges(paragraphs)


def _collect_units(page: _Page) -> _Units:
    links, blocks, lines = page.links, page.blocks, page.block_lines
    kept = [at for at, line in enumerate(lines) if line]  # empty blocks (image wrappers, spacers)
    index = [blocks[at] for at in kept]
    text = [page.block_texts[at] for at in kept]
    line = [lines[at] for at in kept]
    commas = [page.block_commas[at] for at in kept]
    mixed = [found for unit in page.mixed_units if (found := _mixed_block(*unit)) is not None]
    if not mixed:  # the usual case: no sorting, no tuples
        return _Units(index, text, line, [len(x) for x in line], [links[i] for i in index], [False] * len(index),
                      commas)
    found = sorted([*zip(index, text, line, [len(x) for x in line], [links[i] for i in index],
                         [False] * len(index), commas, strict=True), *mixed])  # mixed blocks back into document order
    return _Units(*map(list, zip(*found, strict=True)))


def _normalise(raw: str) -> str:
    """``" ".join(raw.split())``, without splitting text that is already normal (two blocks in
    three): isprintable() is false for every whitespace character but the ASCII space."""
    if raw.isprintable():
        if "  " not in raw and raw[:1] != " " and raw[-1:] != " ":
            return raw
    elif not raw or raw.isspace():
        return ""
    return " ".join(raw.split())


def _has_own_text(page: _Page, index: int) -> bool:
    """Whether a container holds story text next to child blocks or <br>s (``<div>text<br>more<div
    class=ad/></div>``): enough text of its own, not counting whitespace."""
    direct = page.direct_text(index)  # one decode; strip=True decodes every text node separately
    if len(direct) < _DIRECT_TEXT or direct.isspace():  # stripping only shortens: no need to strip
        return False
    return page.stripped_len(index, False) >= _DIRECT_TEXT


def _mixed_block(index: int, raw: str, link_length: int) -> tuple[int, str, str, int, int, bool, int] | None:
    """Such a container's own inline text is a block; the child blocks are units of their own.
    ``raw``: its inline children's text with a paragraph break at each <br> or child block."""
    pieces = (" ".join(p.split()) for p in raw.split(PARA_BREAK))
    text = PARA_BREAK.join(p for p in pieces if p)
    length = len(text) - text.count(PARA_BREAK)
    commas = text.count(",") + text.count("،")
    return (index, text, text, length, link_length, True, commas) if length else None


def _best_containers(page: _Page, units: _Units) -> list[int]:
    """Readability-style: each text block votes for its parent (full), grandparent (half) and
    great-grandparent (quarter); link density and class names then scale each container's votes."""
    bases = page.vote(units)
    if not bases:
        return []
    best, best_score = _pick_best(page, bases)
    return _with_siblings(page, best, best_score, bases)


def _vote(parents: list[int], index: list[int], weights: list[float], lengths: list[int], link_lengths: list[int]
          ) -> dict[int, float]:
    """The votes, as base scores {container: score x (1 - link share) ** 2} in the order of first
    votes (ties go to the first voted). _lexwalk.vote is the same in C, step for step."""
    count = len(parents)
    scores = [0.0] * count
    text_lens = [0] * count  # text length and link text length of the blocks below each container
    link_lens = [0] * count
    voted: list[int] = []  # containers in the order of their first vote
    first, second, third = _LEVELS
    for unit, weight, length, link_length in zip(index, weights, lengths, link_lengths, strict=True):
        # The three levels written out: a loop over _LEVELS cost a third of the voting time.
        ancestor = parents[unit]
        if ancestor < 0:
            continue
        if not text_lens[ancestor]:  # every block has text, so this is the first vote
            voted.append(ancestor)
        scores[ancestor] += weight * first
        text_lens[ancestor] += length
        link_lens[ancestor] += link_length
        ancestor = parents[ancestor]
        if ancestor < 0:
            continue
        if not text_lens[ancestor]:
            voted.append(ancestor)
        scores[ancestor] += weight * second
        text_lens[ancestor] += length
        link_lens[ancestor] += link_length
        ancestor = parents[ancestor]
        if ancestor < 0:
            continue
        if not text_lens[ancestor]:
            voted.append(ancestor)
        scores[ancestor] += weight * third
        text_lens[ancestor] += length
        link_lens[ancestor] += link_length
    bases: dict[int, float] = {}
    for key in voted:
        score, text_len = scores[key], text_lens[key]
        if score > 0 and text_len:
            bases[key] = score * (1 - link_lens[key] / text_len) ** _LD_POWER
    return bases


def _pick_best(page: _Page, bases: dict[int, float]) -> tuple[int, float]:
    """The container with the highest score × class weight. Class names are read in descending
    score order, and only while a weight (at most _MAX_CLASS_WEIGHT) could still change the answer:
    reading them for every container cost more than the voting."""
    finals: dict[int, float] = {}
    top = 0.0
    for key in sorted(bases, key=bases.__getitem__, reverse=True):
        if bases[key] * _MAX_CLASS_WEIGHT < top:
            break
        finals[key] = bases[key] * _class_weight(page.attrs(key))
        top = max(top, finals[key])
    best = max((key for key in bases if key in finals), key=finals.__getitem__)  # ties: first voted
    return best, finals[best]


def _with_siblings(page: _Page, best: int, best_score: float, bases: dict[int, float]) -> list[int]:
    """The best container plus siblings that also read like story text (an intro block, or the
    second half of an article split around an ad), in document order."""
    parent = page.parents[best]
    if parent < 0:
        return [best]
    threshold = _SIBLING_SHARE * best_score
    chosen = []
    child, end = parent + 1, page.ends[parent]
    while child < end:
        base = bases.get(child, 0.0)
        if child == best or (
            base * _MAX_CLASS_WEIGHT >= threshold and base * _class_weight(page.attrs(child)) >= threshold
        ):
            chosen.append(child)
        child = page.ends[child]
    return chosen


def _class_weight(attrs: dict[str, str | None]) -> float:
    """A multiplier: class/id names hint at story text or widgets, but only tip close calls (an
    additive bonus let a near-empty "content-wrapper" beat the real article)."""
    return _label_weight(f"{attrs.get('class') or ''} {attrs.get('id') or ''}")


@lru_cache(maxsize=4096)
def _label_weight(label: str) -> float:
    """Cached: sites reuse a few dozen class names."""
    if not label.strip():
        return 1.0
    if label.isascii():
        lower = label.lower()
        negative = any(map(lower.__contains__, _NEGATIVE_WORDS))
        positive = any(map(lower.__contains__, _POSITIVE_WORDS))
    else:
        negative, positive = _NEGATIVE.search(label) is not None, _POSITIVE.search(label) is not None
    return (0.5 if negative else 1.0) * (_MAX_CLASS_WEIGHT if positive else 1.0)


def _widgets(page: _Page, container: int) -> list[tuple[int, int]]:
    """Document-order ranges of share bars, "read also" boxes, comments, captions... inside the
    container, whose text blocks are left out. Done on the chosen containers only: scoring already
    votes down widget-classed containers elsewhere.

    Only outermost widgets count, and a match holding much of the container's text is a wrapper that
    happens to carry a widget-ish name, not a widget."""
    ends = page.ends
    container_len = 0
    out: list[tuple[int, int]] = []
    inside = 0  # end of the last widget kept: candidates before it are inside it
    for i in page.widget_candidates(container):
        if i < inside:
            continue
        if not container_len:
            container_len = page.stripped_len(container, True) or 1
        if page.stripped_len(i, True) <= _MAX_SHARE * container_len:
            out.append((i, ends[i]))
            inside = ends[i]
    return out


def _paragraphs_in(page: _Page, container: int, units: _Units, skipped: list[tuple[int, int]],
                   seen: set[str]) -> list[str]:
    """Lines of the text blocks inside the container (itself included), minus widgets' blocks."""
    out: list[str] = []
    end = page.ends[container]
    ranges = iter(skipped)
    skip = next(ranges, None)
    order, below = units.index, page.below
    for at in range(bisect_left(order, container), len(order)):
        index = order[at]
        if index >= end:
            break
        while skip is not None and index >= skip[1]:
            skip = next(ranges, None)
        if (skip is not None and index >= skip[0]) or units.link_length[at] * 2 > units.length[at]:
            continue
        if units.own[at]:
            pieces = [" ".join(piece.split()) for piece in units.text[at].split(PARA_BREAK)]
        elif not below[index] & _BR_BIT and PARA_BREAK not in units.text[at]:
            pieces = [units.line[at]]  # one line, normalised when the block was collected
        else:
            pieces = [" ".join(piece.split()) for piece in page.text_with_breaks(index).split(PARA_BREAK)]
        for line in pieces:
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
        if len(tail) < 2 or not _is_comment_policy(lines[tail[-1]]):
            break
        lines = lines[: tail[-1]]
    good = [i for i, line in enumerate(lines) if _is_sentence(line)]
    return lines[good[0] : good[-1] + 1] if good else lines


def _is_comment_policy(line: str) -> bool:
    return any(map(line.lower().__contains__, _COMMENT_POLICY_WORDS)) and _COMMENT_POLICY.search(line) is not None


def _is_sentence(line: str) -> bool:
    return len(line) >= 80 or (len(line) >= 25 and line[-1] in _SENTENCE_END)


# The C walk reads lexbor's structs through a copy of their layout: before trusting it, both walks
# must agree on a page that exercises every read (junk inside links, attributes from lexbor's fixed
# table and from the document's own, <br>s, mixed text, comments, Arabic).
_SELF_CHECK_PAGE = """<html><body><div id="main" class="article-body">
<p>أعلنت <a href="/a">وزارة <script>x()</script>الخارجية</a> أن الوفد وصل، وقال المتحدث إن المحادثات ستستمر.</p>
<div class="share-bar" role="navigation" hidden aria-hidden="true" style="display:none">شارك <nav>x</nav></div>
<div>نص مباشر داخل الحاوية يكفي ليكون فقرة مستقلة بذاته<br>وسطر ثان بعد الفاصل<p>فقرة فرعية</p><!-- c --></div>
<ul><li>عنصر أول في القائمة</li><li><a href="/b">رابط</a></li></ul><custom-tag data-x="1">مخصص</custom-tag>
<blockquote>اقتباس<br>ثان</blockquote><td>خلية</td><a href="/c"><div>بطاقة</div></a></div></body></html>"""


def _self_check(module: object) -> object:
    if module is None:
        return None
    python_page = _PythonPage(LexborHTMLParser(_SELF_CHECK_PAGE).body)
    tree = LexborHTMLParser(_SELF_CHECK_PAGE)
    native_page = _NativePage(tree, tree.body)
    def fixed(tags: list[int]) -> list[int]:  # a custom tag's id is an address in its own document
        return [tag if tag < 256 else -1 for tag in tags]

    if fixed(python_page.tags) != fixed(native_page.tags):
        native.refuse("walk differs in tags")
        return None
    for name in ("parents", "ends", "below", "links", "blocks", "block_texts", "block_lines", "block_commas"):
        if getattr(python_page, name) != getattr(native_page, name):
            native.refuse(f"walk differs in {name}")
            return None
    if sorted(python_page.mixed_units) != sorted(native_page.mixed_units):
        native.refuse("walk differs in mixed_units")
        return None
    for index in range(len(python_page.tags)):
        full = python_page.attrs(index)
        wanted = {k: v for k, v in full.items() if k in native.ATTRIBUTES}
        reads = (
            (wanted, native_page.attrs(index)),
            (python_page.direct_text(index), native_page.direct_text(index)),
            (python_page.stripped_len(index, True), native_page.stripped_len(index, True)),
            (python_page.stripped_len(index, False), native_page.stripped_len(index, False)),
            (python_page.own_text(index), native_page.own_text(index)),
        )
        if any(a != b for a, b in reads):
            native.refuse(f"node reads differ at element {index}")
            return None
    if list(python_page.widget_candidates(0)) != list(native_page.widget_candidates(0)):
        native.refuse("widget scan differs")
        return None
    tree = LexborHTMLParser(_SELF_CHECK_PAGE)  # held: the C call reads it by address
    if _paragraphs(_PythonPage(LexborHTMLParser(_SELF_CHECK_PAGE).body)) != module.paragraphs(tree.body.mem_id):  # type: ignore[attr-defined]
        native.refuse("paragraphs differ")
        return None
    for index in python_page.blocks:  # last: the Python read marks the tree
        python_lines = [x for x in python_page.text_with_breaks(index).split(PARA_BREAK) if x]
        if python_lines != [x for x in native_page.text_with_breaks(index).split(PARA_BREAK) if x]:
            native.refuse(f"block text differs at element {index}")
            return None
    return module


if _native is not None:  # the steps after the walk call these for what stays in regular expressions
    _native.configure_rules(_label_weight, label_is_widget, style_hides, PHRASES.match, RIGHTS,
                            _is_comment_policy, "".join(sorted(_SENTENCE_END)))
_native = _self_check(_native)


def native_module() -> Any:
    """The C extension when it is in use (it also serves article.py's tag count), else None."""
    return _native
