"""Match articles against many rules at once (see ARABIC_MATCHING.md, "Engine that stays fast").

All rules' terms live in one :class:`TermIndex`. An article is tokenized once per paragraph, each
distinct token is looked up once (memoized), and only the rules that own a term that hit are
evaluated, so the cost does not grow with the number of rules.

Scopes: ``document`` evaluates the whole expression over the title and body together;
``paragraph`` and ``sentence`` require it to hold inside one unit (the title is a unit of its own;
sentences end at . ! ? ؟ and newlines). ``title:`` parts always look at the title. NOT is evaluated
in the same unit, so in document scope it vetoes the whole article. A term occurrence lying inside
one of the rule's ``except_phrases`` does not count.
"""

from __future__ import annotations

from dataclasses import dataclass

from scraper.errors import QuerySyntaxError
from scraper.match.evaluate import (
    NEAR,
    NOT,
    Code,
    Context,
    T,
    Unit,
    compile_node,
    count_sentences,
    evaluate,
    positive_leaves,
    split_sentences,
)
from scraper.match.query import Query, make_term, parse_query, query_terms
from scraper.match.snippet import highlight_spans, make_snippet
from scraper.match.termindex import TermIndex, UnitHits

SCOPES = ("document", "paragraph", "sentence")

__all__ = ["Hit", "RuleIndex", "RuleMatch", "RuleSpec", "highlight_query", "highlight_spans", "match_query"]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    query: str
    scope: str = "document"  # document | paragraph | sentence
    except_phrases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"rule {self.name!r}: scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")


@dataclass
class Hit:
    term: str  # the term as written in the rule
    field: str  # "title" | "body"
    paragraph: int  # index into the paragraphs (0 for the title)
    start: int  # char offsets in that original paragraph or title
    end: int


@dataclass
class RuleMatch:
    rule: str
    terms: list[str]
    hits: list[Hit]
    snippet: str  # original body text, hits wrapped in [[ ]]


@dataclass(slots=True)
class _Rule:
    name: str
    scope: str
    code: Code
    positive: tuple[tuple[int, int, str], ...]  # (term id, field, term as written)
    term_ids: frozenset[int]
    except_ids: frozenset[int]


class _Article:
    """The scanned title and paragraphs of one article, shared by every rule evaluated on it."""

    def __init__(self, index: TermIndex, title: str, paragraphs: list[str]) -> None:
        self.paragraphs = paragraphs
        self.title = Unit("title", 0, title, index.scan(title) if title else {})
        self.body = [Unit("body", i, p, h) for i, p in enumerate(paragraphs) if (h := index.scan(p))]
        self.hit_ids: set[int] = set(self.title.hits).union(*(u.hits for u in self.body))
        self._sentences: int | None = None

    def total_sentences(self) -> int:
        if self._sentences is None:
            self._sentences = sum(count_sentences(t) for t in [self.title.text, *self.paragraphs])
        return self._sentences


class RuleIndex:
    """Compiled rules. Build once, call :meth:`match` per article; not thread-safe (memo)."""

    def __init__(self) -> None:
        self._terms = TermIndex()
        self._rules: list[_Rule] = []
        self._postings: dict[int, list[int]] = {}  # term id -> rules that fire on it

    @classmethod
    def build(cls, rules: list[RuleSpec]) -> RuleIndex:
        """Compile ``rules``; a bad query raises :class:`QuerySyntaxError` with ``rule_name`` set."""
        index = cls()
        for spec in rules:
            index._add(spec)
        return index

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def terms(self) -> TermIndex:
        return self._terms

    def expression_term_ids(self) -> frozenset[int]:
        """Ids of the terms used in rule expressions (except phrases are indexed too, but apart)."""
        return frozenset().union(*(r.term_ids for r in self._rules))

    def except_ids_for(self, tid: int) -> frozenset[int]:
        """Except-phrase term ids of the rules that use term ``tid``."""
        return frozenset().union(*(r.except_ids for r in self._rules if tid in r.term_ids))

    def _add(self, spec: RuleSpec) -> None:
        try:
            rule = self._compile(spec)
        except QuerySyntaxError as e:
            err = QuerySyntaxError(f"rule {spec.name!r}: {e.message}", e.query, e.position)
            err.rule_name = spec.name  # type: ignore[attr-defined]
            raise err from None
        rid = len(self._rules)
        self._rules.append(rule)
        for tid in {tid for tid, _, _ in rule.positive}:
            self._postings.setdefault(tid, []).append(rid)

    def _compile(self, spec: RuleSpec) -> _Rule:
        q = parse_query(spec.query)
        code = compile_node(q.root, self._terms)
        if evaluate(code, Context(([], [], []))):
            raise QuerySyntaxError("rule would match articles that contain none of its terms", spec.query, 0)
        positive: dict[tuple[int, int], str] = {}
        for term, where in positive_leaves(q.root):
            positive.setdefault((self._terms.add(term), where), term.text)
        excepts = frozenset(self._terms.add(make_term(p.strip('"«»“” '), phrase=True)) for p in spec.except_phrases)
        term_ids = frozenset(tid for tid, _ in positive) | _all_ids(code)
        return _Rule(spec.name, spec.scope, code, tuple((t, w, s) for (t, w), s in positive.items()), term_ids, excepts)

    def match(self, title: str, paragraphs: list[str]) -> list[RuleMatch]:
        """Every rule that fires on the article, in the order the rules were given."""
        art = _Article(self._terms, title, paragraphs)
        candidates: set[int] = set()
        for tid in art.hit_ids:
            candidates.update(self._postings.get(tid, ()))
        out = []
        for rid in sorted(candidates):
            m = self._match_rule(self._rules[rid], art)
            if m is not None:
                out.append(m)
        return out

    def _match_rule(self, rule: _Rule, art: _Article) -> RuleMatch | None:
        title, body = art.title, art.body
        if rule.except_ids & art.hit_ids:
            title, body = _drop_excepted(title, rule.except_ids), [_drop_excepted(u, rule.except_ids) for u in body]
        contexts = _contexts(rule, art, title, body)
        hits: dict[tuple[str, int, int, int], Hit] = {}
        matched = False
        for ctx in contexts:
            if evaluate(rule.code, ctx):
                matched = True
                for tid, where, text in rule.positive:
                    for u in ctx.units[where]:
                        for _, _, cs, ce in u.hits.get(tid, ()):
                            hits.setdefault((u.field, u.paragraph, cs, ce), Hit(text, u.field, u.paragraph, cs, ce))
        if not matched:
            return None
        ordered = sorted(hits.values(), key=lambda h: (h.field != "title", h.paragraph, h.start, h.end))
        terms = [text for _, _, text in rule.positive if any(h.term == text for h in ordered)]
        return RuleMatch(rule.name, list(dict.fromkeys(terms)), ordered, _snippet(art.paragraphs, ordered))


def _all_ids(code: Code) -> frozenset[int]:
    op = code[0]
    if op == T:
        return frozenset((code[1],))
    if op == NOT:
        return _all_ids(code[1])
    if op == NEAR:
        return frozenset(tid for g in code[2] for tid in g)
    return frozenset().union(*(_all_ids(c) for c in code[1]))


def _contexts(rule: _Rule, art: _Article, title: Unit, body: list[Unit]) -> list[Context]:
    if rule.scope == "document":
        return [Context(([title, *body], [title], body))]
    units = [title, *body]
    total = 1 + len(art.paragraphs)
    if rule.scope == "sentence":
        units = [s for u in units for s in split_sentences(u)]
        total = art.total_sentences()
    mine = [u for u in units if rule.term_ids.intersection(u.hits)]
    out = [Context(([u], [title], [u] if u.field == "body" else [])) for u in mine]
    if len(mine) < total:
        # Every unit without the rule's terms evaluates alike (only title: parts can make it true).
        empty = Unit("body", -1, "", {})
        out.append(Context(([empty], [title], [empty])))
    return out


def _drop_excepted(unit: Unit, except_ids: frozenset[int]) -> Unit:
    """``unit`` without the hits that lie inside an occurrence of an except phrase."""
    covers = [(s, e) for tid in except_ids for s, e, _, _ in unit.hits.get(tid, ())]
    if not covers:
        return unit
    kept: UnitHits = {}
    for tid, hs in unit.hits.items():
        if tid in except_ids:
            continue
        rest = [h for h in hs if not any(s <= h[0] and h[1] <= e for s, e in covers)]
        if rest:
            kept[tid] = rest
    return Unit(unit.field, unit.paragraph, unit.text, kept)


def _snippet(paragraphs: list[str], hits: list[Hit]) -> str:
    body = [h for h in hits if h.field == "body"]
    if not body:
        first = next((p for p in paragraphs if p.strip()), "")
        return make_snippet(first, [])
    p = body[0].paragraph
    return make_snippet(paragraphs[p], [(h.start, h.end) for h in body if h.paragraph == p])


def match_query(
    query: str,
    title: str,
    paragraphs: list[str],
    scope: str = "document",
    except_phrases: tuple[str, ...] = (),
) -> RuleMatch | None:
    """Match one query against one article (for previews and tests; build a RuleIndex for many)."""
    found = RuleIndex.build([RuleSpec("query", query, scope, tuple(except_phrases))]).match(title, paragraphs)
    return found[0] if found else None


def highlight_query(query: str | Query, text: str) -> str:
    """``text`` with the positive terms of ``query`` wrapped in ``[[`` ``]]`` (search results)."""
    q = parse_query(query) if isinstance(query, str) else query
    index = TermIndex()
    ids = {index.add(t) for t in query_terms(q)}
    hits = index.scan(text)
    return highlight_spans(text, [(cs, ce) for tid in ids for _, _, cs, ce in hits.get(tid, ())])
