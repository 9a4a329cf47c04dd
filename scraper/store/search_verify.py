"""Verify a candidate article with the real matcher (the one that fires rules), so search results
are exactly what a rule with the same query would fire on (document scope)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from scraper.match.matcher import RuleIndex, RuleSpec
from scraper.match.query import And, Field, Near, Node, Not, Or, Query, Term, parse_query
from scraper.match.snippet import make_snippet

TITLE_WEIGHT = 3.0
CACHED_QUERIES = 32  # each compiled query keeps a token memo (bounded by the matcher)


@dataclass
class Verdict:
    terms: list[str]
    snippet: str
    score: float


Verifier = Callable[[str, list[str]], Verdict | None]


def _first_paragraph(paragraphs: list[str]) -> str:
    return next((p for p in paragraphs if p.strip()), "")


def accept_all(_title: str, paragraphs: list[str]) -> Verdict:
    """The verifier of an empty query (filters only): every candidate, its opening as the snippet."""
    return Verdict([], make_snippet(_first_paragraph(paragraphs), []), 0.0)


def _rule_verifier(q: Query) -> Verifier:
    index = RuleIndex.build([RuleSpec("search", q.text)])  # built once per search, not per article

    def verify(title: str, paragraphs: list[str]) -> Verdict | None:
        found = index.match(title, paragraphs)
        if not found:
            return None
        m = found[0]
        title_hits = sum(1 for h in m.hits if h.field == "title")
        score = TITLE_WEIGHT * title_hits + (len(m.hits) - title_hits) + len(m.terms)
        return Verdict(m.terms, m.snippet, float(score))

    return verify


def _leaf_text(node: Node, where: str | None) -> str:
    """Query text of a positional leaf (a term or NEAR group), restricted to ``where`` if set."""
    if isinstance(node, Term):
        text = node.text
    elif isinstance(node, Or):
        text = "(" + " OR ".join(_leaf_text(c, None) for c in node.children) + ")"
    else:
        assert isinstance(node, Near)
        text = f" NEAR/{node.distance} ".join(_leaf_text(c, None) for c in node.operands)
    return f"{where}:({text})" if where else text


class _Boolean:
    """The query's boolean structure over leaves; each leaf is a rule of one RuleIndex."""

    def __init__(self, q: Query) -> None:
        self.specs: list[RuleSpec] = []
        self.positive: set[str] = set()  # leaves that count as hits (not under NOT)
        self.tree = self._compile(q.root, None, False)

    def _compile(self, node: Node, where: str | None, negated: bool) -> tuple:  # type: ignore[type-arg]
        if isinstance(node, Field):
            return self._compile(node.child, node.name, negated)
        if isinstance(node, Not):
            return ("not", self._compile(node.child, where, not negated))
        if isinstance(node, And | Or):
            kids = tuple(self._compile(c, where, negated) for c in node.children)
            return ("and" if isinstance(node, And) else "or", kids)
        name = f"leaf{len(self.specs)}"
        self.specs.append(RuleSpec(name, _leaf_text(node, where)))
        if not negated:
            self.positive.add(name)
        return ("leaf", name)

    def holds(self, tree: tuple, fired: set[str]) -> bool:  # type: ignore[type-arg]
        op = tree[0]
        if op == "leaf":
            return tree[1] in fired
        if op == "not":
            return not self.holds(tree[1], fired)
        results = (self.holds(t, fired) for t in tree[1])
        return all(results) if op == "and" else any(results)


def _vacuous_verifier(q: Query) -> Verifier:
    """Queries true on an article without any of their terms (``NOT A``, ``B OR NOT A``): the rule
    engine refuses those as rules, so each term or NEAR group is a rule of its own (document scope,
    the same matcher) and the boolean structure is evaluated here."""
    boolean = _Boolean(q)
    index = RuleIndex.build(boolean.specs)

    def verify(title: str, paragraphs: list[str]) -> Verdict | None:
        found = {m.rule: m for m in index.match(title, paragraphs)}
        if not boolean.holds(boolean.tree, set(found)):
            return None
        hits = [m for name, m in found.items() if name in boolean.positive]
        if not hits:
            return Verdict([], make_snippet(_first_paragraph(paragraphs), []), 0.0)
        terms = list(dict.fromkeys(t for m in hits for t in m.terms))
        return Verdict(terms, hits[0].snippet, float(sum(len(m.hits) for m in hits)))

    return verify


def _is_vacuous(node: Node) -> bool:
    """True when ``node`` holds for an article that contains none of its terms."""
    if isinstance(node, Not):
        return not _is_vacuous(node.child)
    if isinstance(node, Field):
        return _is_vacuous(node.child)
    if isinstance(node, And):
        return all(_is_vacuous(c) for c in node.children)
    if isinstance(node, Or):
        return any(_is_vacuous(c) for c in node.children)
    return False


def _serialized(verify: Verifier) -> Verifier:
    lock = threading.Lock()  # a RuleIndex memoizes tokens and is not thread-safe; API workers are threads

    def locked(title: str, paragraphs: list[str]) -> Verdict | None:
        with lock:
            return verify(title, paragraphs)

    return locked


@lru_cache(maxsize=CACHED_QUERIES)
def make_verifier(query: str) -> tuple[Query | None, Verifier]:
    """(parsed query or None for an empty one, verifier); raises QuerySyntaxError.

    Cached per query text: the matcher learns each distinct token once per index (cold, most of a
    search's time goes there), so the next page, a feed poll or a repeated search reuse that work."""
    if not query.strip():
        return None, accept_all
    q = parse_query(query)
    return q, _serialized(_vacuous_verifier(q) if _is_vacuous(q.root) else _rule_verifier(q))
