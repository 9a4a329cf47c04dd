"""One article as the matcher sees it: its units (title, paragraphs with hits, their sentences) and
the evaluation contexts that every rule evaluated on it shares, built lazily and once."""

from __future__ import annotations

from dataclasses import dataclass

from scraper.match.evaluate import Context, Unit, count_sentences, split_sentences, where_map
from scraper.match.termindex import TermIndex, UnitHits


@dataclass(frozen=True, init=False)
class Hit:
    """One occurrence of a rule term (re-exported by matcher.py). Frozen: rules share them."""

    term: str  # the term as written in the rule
    field: str  # "title" | "body"
    paragraph: int  # index into the paragraphs (0 for the title)
    start: int  # char offsets in that original paragraph or title
    end: int

    def __init__(self, term: str, field: str, paragraph: int, start: int, end: int) -> None:
        # The generated frozen __init__ calls object.__setattr__ per field (~1.9 µs a Hit); writing
        # the instance dict directly is ~0.8 µs, and articles produce dozens of hits. Callers read
        # ``hit.__dict__`` (pipeline.py), so Hit keeps a dict rather than slots.
        d = self.__dict__
        d["term"] = term
        d["field"] = field
        d["paragraph"] = paragraph
        d["start"] = start
        d["end"] = end


class ArticleView:
    """Title and body units of one article, with the evaluation contexts every rule shares."""

    def __init__(self, title: Unit, body: list[Unit], paragraphs: list[str]) -> None:
        self.title = title
        self.body = body  # only the paragraphs with hits
        self.paragraphs = paragraphs
        self.title_where = where_map([title])
        self._doc: Context | None = None
        self._units: tuple[list[Unit], dict[int, list[int]]] | None = None
        self._split: dict[int, list[Unit]] = {}  # paragraph position -> its sentences with hits
        self._unit_contexts: dict[tuple[int, ...], Context] = {}  # (k,) paragraph, (k, j) sentence
        self._empty: Context | None = None
        self._sentences: int | None = None
        self._term_hits: dict[tuple[int, int, str], list[Hit]] = {}
        self.snippets: dict[tuple[int, tuple[tuple[int, int], ...]], str] = {}  # many rules share a hit

    def without(self, except_ids: frozenset[int]) -> ArticleView:
        """This article minus the hits lying inside occurrences of the ``except_ids`` phrases."""
        title = drop_excepted(self.title, except_ids)
        body = [drop_excepted(u, except_ids) for u in self.body]
        return ArticleView(title, body, self.paragraphs)

    def document(self) -> Context:
        if self._doc is None:
            body_where = where_map(self.body)
            any_where = dict(body_where)
            for tid in self.title.hits:
                any_where[tid] = [self.title, *body_where.get(tid, ())]
            units = ([self.title, *self.body], [self.title], self.body)
            self._doc = Context(units, (any_where, self.title_where, body_where))
        return self._doc

    def document_hits(self, tid: int, where: int, text: str) -> list[Hit]:
        """Hits of term ``tid`` in field ``where`` of the whole article, in reading order."""
        key = (tid, where, text)
        hits = self._term_hits.get(key)
        if hits is None:
            hits = self._term_hits[key] = [
                Hit(text, u.field, u.paragraph, *u.layout.span(s, e))
                for u in self.document().present[where].get(tid, ())
                for s, e in u.hits[tid]
            ]
        return hits

    def unit_contexts(self, scope: str, term_ids: frozenset[int]) -> list[Context]:
        """Contexts of the paragraphs or sentences (the title first) holding any of ``term_ids``."""
        if self._units is None:
            units = [self.title, *self.body]
            index: dict[int, list[int]] = {}  # term id -> positions in units
            for k, u in enumerate(units):
                for tid in u.hits:
                    index.setdefault(tid, []).append(k)
            self._units = (units, index)
        units, index = self._units
        ks = sorted({k for tid in term_ids for k in index.get(tid, ())})
        if scope == "paragraph":
            return [self._unit_context((k,), units[k]) for k in ks]
        out = []
        for k in ks:  # split only the paragraphs that matter to this rule, once per article
            sentences = self._split.get(k)
            if sentences is None:
                sentences = self._split[k] = split_sentences(units[k])
            out += [self._unit_context((k, j), u) for j, u in enumerate(sentences) if not term_ids.isdisjoint(u.hits)]
        return out

    def _unit_context(self, key: tuple[int, ...], unit: Unit) -> Context:
        ctx = self._unit_contexts.get(key)
        if ctx is None:
            own = {tid: [unit] for tid in unit.hits}
            if unit.field == "body":
                ctx = Context(([unit], [self.title], [unit]), (own, self.title_where, own))
            else:
                ctx = Context(([unit], [self.title], []), (own, self.title_where, {}))
            self._unit_contexts[key] = ctx
        return ctx

    def empty(self) -> Context:
        """The context of any unit without hits (only title: parts can make a rule true there)."""
        if self._empty is None:
            unit = Unit("body", -1, "", {}, self.title.layout)  # never asked for offsets: it has no hits
            self._empty = Context(([unit], [self.title], [unit]), ({}, self.title_where, {}))
        return self._empty

    def total_units(self, scope: str) -> int:
        if scope == "paragraph":
            return 1 + len(self.paragraphs)
        if self._sentences is None:
            self._sentences = sum(count_sentences(t) for t in [self.title.text, *self.paragraphs])
        return self._sentences


def scan_article(index: TermIndex, title: str, paragraphs: list[str]) -> ArticleView:
    found, layouts = index.scan_many([title, *paragraphs])
    body = [Unit("body", k - 1, paragraphs[k - 1], found[k], layouts[k]) for k in sorted(found) if k > 0]
    return ArticleView(Unit("title", 0, title, found.get(0, {}), layouts[0]), body, paragraphs)


def drop_excepted(unit: Unit, except_ids: frozenset[int]) -> Unit:
    """``unit`` without the hits that lie inside an occurrence of an except phrase."""
    covers = [h for tid in except_ids for h in unit.hits.get(tid, ())]
    if not covers:
        return unit
    kept: UnitHits = {}
    for tid, hs in unit.hits.items():
        if tid in except_ids:
            continue
        rest = [h for h in hs if not any(s <= h[0] and h[1] <= e for s, e in covers)]
        if rest:
            kept[tid] = rest
    return Unit(unit.field, unit.paragraph, unit.text, kept, unit.layout)
