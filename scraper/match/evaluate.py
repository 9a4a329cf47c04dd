"""Compiled rule expressions and their evaluation against the term hits of one article.

A query AST is compiled to nested tuples of small ints (less memory than closures for 10,000
rules, and only rules whose terms hit are ever evaluated). ``title:``/``body:`` are pushed down to
the leaves, so evaluation never needs to know where it is in the tree.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from scraper.match.query import And, Field, Near, Node, Not, Or, Term
from scraper.match.termindex import TermIndex, TextLayout, UnitHits
from scraper.normalize.text import SENTENCE_END_RE

ANY, TITLE, BODY = 0, 1, 2
_FIELDS = {"title": TITLE, "body": BODY}
T, AND, OR, NOT, NEAR = range(5)
Code = tuple  # (T, tid, field) | (AND|OR, children) | (NOT, child) | (NEAR, distance, groups, field)


@dataclass(slots=True)
class Unit:
    """The title, one paragraph or one sentence of an article, with its term hits."""

    field: str  # "title" | "body"
    paragraph: int
    text: str
    hits: UnitHits
    layout: TextLayout  # where its tokens are (TermIndex.scan_many); shared by units derived from it

    def char_span(self, first: int, last: int) -> tuple[int, int]:
        """Char offsets of tokens ``first``..``last``; computed on use, as most units never need them."""
        return self.layout.span(first, last)


Where = dict[int, list[Unit]]  # term id -> the units holding it


def where_map(units: list[Unit]) -> Where:
    where: Where = {}
    for u in units:
        for tid in u.hits:
            where.setdefault(tid, []).append(u)
    return where


@dataclass(slots=True)
class Context:
    """What an expression sees: units per field (ANY, TITLE, BODY), and per field which units
    hold each term id (so presence is one dict lookup and hits are collected without a scan)."""

    units: tuple[list[Unit], list[Unit], list[Unit]]
    present: tuple[Where, Where, Where]

    @classmethod
    def of(cls, any_units: list[Unit], title: list[Unit], body: list[Unit]) -> Context:
        return cls((any_units, title, body), (where_map(any_units), where_map(title), where_map(body)))


def compile_node(node: Node, index: TermIndex, where: int = ANY) -> Code:
    """Compile ``node``; terms are interned in ``index``."""
    if isinstance(node, Term):
        return (T, index.add(node), where)
    if isinstance(node, And | Or):
        return (AND if isinstance(node, And) else OR, tuple(compile_node(c, index, where) for c in node.children))
    if isinstance(node, Not):
        return (NOT, compile_node(node.child, index, where))
    if isinstance(node, Near):
        groups = tuple(tuple(index.add(t) for t in _leaves(op)) for op in node.operands)
        return (NEAR, node.distance, groups, where)
    assert isinstance(node, Field)
    return compile_node(node.child, index, _FIELDS[node.name])


def positive_leaves(node: Node, where: int = ANY, negated: bool = False) -> list[tuple[Term, int]]:
    """(term, field) pairs that count as hits when the rule fires; negated terms never do."""
    if isinstance(node, Term):
        return [] if negated else [(node, where)]
    if isinstance(node, Field):
        return positive_leaves(node.child, _FIELDS[node.name], negated)
    if isinstance(node, Not):
        return positive_leaves(node.child, where, not negated)
    children = node.operands if isinstance(node, Near) else node.children
    return [leaf for c in children for leaf in positive_leaves(c, where, negated)]


def _leaves(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    assert isinstance(node, Or)  # the parser only lets terms and OR-groups into NEAR
    return [t for c in node.children for t in _leaves(c)]


def evaluate(code: Code, ctx: Context) -> bool:
    op = code[0]
    if op == T:
        return code[1] in ctx.present[code[2]]
    if op == AND:
        return all(evaluate(c, ctx) for c in code[1])
    if op == OR:
        return any(evaluate(c, ctx) for c in code[1])
    if op == NOT:
        return not evaluate(code[1], ctx)
    _, distance, groups, where = code
    present = ctx.present[where]
    # Only units holding the first group can satisfy the window.
    return any(near_in_unit(u.hits, groups, distance) for tid in groups[0] for u in present.get(tid, ()))


def near_in_unit(hits: UnitHits, groups: tuple[tuple[int, ...], ...], distance: int) -> bool:
    """One hit per group such that max(start) - min(end) <= distance (tokens).

    For single words this is "at most ``distance`` tokens apart". For each hit taken as the one
    that starts last, the best partner in every other group is the one (starting no later) that
    ends last; so checking every hit as that anchor is exact.
    """
    lists = []
    for group in groups:
        hs = [h for tid in group for h in hits.get(tid, ())]
        if not hs:
            return False
        lists.append(hs)
    for k, anchors in enumerate(lists):
        for a_start, a_end in anchors:
            low = a_end
            for j, others in enumerate(lists):
                if j == k:
                    continue
                ends = [e for s, e in others if s <= a_start]
                if not ends:
                    break
                low = min(low, max(ends))
            else:
                if a_start - low <= distance:
                    return True
    return False


def split_sentences(unit: Unit) -> list[Unit]:
    """The sentences of ``unit`` that contain hits (split at . ! ? ؟ and newlines)."""
    bounds = [m.end() for m in SENTENCE_END_RE.finditer(unit.text)]
    parts: dict[int, UnitHits] = {}
    for tid, hs in unit.hits.items():
        for h in hs:
            parts.setdefault(bisect_right(bounds, unit.char_span(h[0], h[0])[0]), {}).setdefault(tid, []).append(h)
    # Sentences keep the paragraph's text and token numbering, so offsets stay valid.
    return [Unit(unit.field, unit.paragraph, unit.text, parts[k], unit.layout) for k in sorted(parts)]


def count_sentences(text: str) -> int:
    return sum(1 for s in SENTENCE_END_RE.split(text) if s.strip())
